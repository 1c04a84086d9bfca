#include <cstdio>
#include <map>

#include "spec/interp/counterexample.h"
#include "spec/model/format.h"

namespace nostale {

std::string rule_text(const std::string & id)
{
  // Ids and sources: ../shared/reference/rules.md; see spec/docs/rules.md for how each is used.
  static const std::map<std::string, std::string> rules = {
      {"MOD-1", "a cached translation that differs from a fresh walk is stale; an invalidation "
                "covering it must have completed (include/uapi/linux/iommu.h, GAPI-3)"},
      {"MOD-3", "non-leaf (paging-structure) entries are removed only by non-leaf invalidations; "
                "LEAF keeps them (struct iommu_inv_addr_info doc)"},
      {"AMD-PT-1", "AMD-Vi: a page-directory entry's NextLevel may name a table several levels below, "
                   "skipping levels; a walk goes on there only if the address bits of the skipped levels "
                   "are zero, else it ends with no translation (I/O page fault)"},
      {"PT-SHARE-1", "a page-table page linked into several address spaces (the kernel half every mm shares, "
                     "pgd_alloc / sync_global_pgds): a change in it needs flushes under the domain id (and PASID) of "
                     "every address space that links it (Linux 72f98ef9a4be and its series: IOTLB flush of the kernel address "
                     "space before kernel page tables are freed)"},
      {"PT-SHARE-2", "a page-table page that another address space still links is never freed (Linux never "
                     "frees the kernel half): its walks, and the pointers they cached, would read a freed page"},
      {"MOD-4", "a frame (data or table page) is freed only when memory no longer maps it and the "
                "invalidation has completed"},
      {"CORE-1", "unmapped pages and freed table pages go back to the allocator only after the "
                 "invalidation completed (intel_iommu_tlb_sync: flush, then iommu_put_pages_list)"},
      {"CORE-2", "a leaf-only invalidation is legal only when no table page was freed "
                 "(Intel IH = freelist empty; Arm LEAF=0 for freed tables)"},
      {"ATS-7", "invalidate the IOMMU TLB first and the device TLB second, and wait for both: "
                "ATS refills the device TLB from the IOTLB (arm_smmu_atc_inv_domain, "
                "qi_flush_dev_iotlb)"},
      {"VTD-PRIV-1", "first-stage entries carry U/S: a user request (PR=0) uses a translation only where U/S=1 on "
                     "every level, a supervisor request (PR=1) any present one (WPE=1: R/W still applies); a stale "
                     "supervisor-only leaf is judged for supervisor requests: flush the kernel PASID after a kernel "
                     "unmap (VT-d 3.6; flush_tlb_kernel_range -> qi_flush_piotlb; user PASIDs cannot use it)"},
      {"VTD-PRIV-2", "SRE (PASID-table entry bit 128) lets a first-stage or nested entry take supervisor requests; "
                     "it is cached with the entry: changing it on a live entry needs pc_inv and p_iotlb_inv of the "
                     "PASID (VT-d 9.6; intel_pasid_setup_first_level PASID_FLAG_SUPERVISOR_MODE, 54c80d907400)"},
      {"ATS-9", "disable ATS at the endpoint, then flush its device TLB, and enable ATS again only after: "
                "the ATC keeps its entries while ATS is off (arm_smmu_disable_ats; Intel before v6.15 skipped "
                "the flush once ATS was off, devtlb_invalidation_with_pasid)"},
      {"PASID-2", "a PASID is freed or bound to another address space only after every "
                  "per-(device, PASID) cache entry was flushed (iommu-sva.c, mm_pasid_drop)"},
      {"PASID-3", "an SVA PASID bound on several devices needs its invalidations fanned out to "
                  "every (device, PASID) attachment, IOTLB first then device TLB"},
      {"OPEN-5", "a domain id may be reallocated only if no cache entry carries it"},
      {"GAPI-1", "iommu_cache_invalidate_info: cache IOTLB|DEV_IOTLB|PASID, granularity "
                 "DOMAIN|PASID|ADDR"},
      {"GAPI-3", "addr_info: PASID / ARCHID / LEAF flags, addr, granule_size, nb_granules"},
      {"GAPI-4", "pasid_info: PASID / ARCHID flags, at least one"},
      {"VTD-ORDER-4", "VT-d: the IOTLB / PASID-IOTLB invalidation must complete before the device-TLB one "
                      "(a wait or fence between them, or in-order execution; cache_tag_flush_range)"},
      {"VTD-SEQ-10", "VT-d unmap: clear PTEs, flush IOTLB and device TLB, wait, and only then free the "
                     "pages (intel_iommu_tlb_sync)"},
      {"VTD-CACHE-4", "VT-d paging-structure caches are removed only with IH=0: IH=1 is legal only when no "
                      "table page was freed (intel_iommu_tlb_sync: ih = freelist empty)"},
      {"VTD-DESC-7", "VT-d: a page-selective invalidation covers the 2^(12+AM)-byte block that holds ADDR: hardware "
                     "masks the low AM bits of ADDR (IVA_REG / descriptor AM field; Linux 'PSI masks the low order "
                     "bits of the base address', iommu_flush_iotlb_psi v5.18)"},
      {"VTD-DESC-8", "VT-d: hardware ignores ADDR bits 63:MGAW of a page-selective invalidation and compares the "
                     "bits below (IVA_REG ADDR field)"},
      {"VTD-DESC-9", "VT-d: a page-selective invalidation with AM above CAP.MAMV, or on hardware without CAP.PSI, has "
                     "no effect to rely on (an invalid descriptor: Linux's qi_check_fault overwrites it with the "
                     "wait); flush domain-selectively instead, as cache_tag_flush_iotlb does"},
      {"VTD-GRAN-1", "VT-d: the invalidation must cover the entry: iotlb_inv PSI covers second-stage entries in "
                     "its range and every first-stage entry of the DID; p_iotlb_inv never covers second stage "
                     "(VTD-GRAN-2)"},
      {"VTD-GRAN-2", "VT-d: a page-selective p_iotlb_inv removes only first-stage and nested entries of its DID and "
                     "PASID in its range, never second-stage or pass-through ones (vtd_hash_remove_by_page_piotlb)"},
      {"VTD-ID-4", "VT-d: invalidate the PASID cache with the domain id programmed in the entry, read before "
                   "it is changed (intel_pasid_tear_down_entry, intel_pasid_flush_present)"},
      {"VTD-ID-6", "VT-d: a domain id is freed or reused only after its IOTLB and PASID-cache entries were "
                   "flushed"},
      {"VTD-SEQ-11", "VT-d caching mode (CM=1): a second-stage map needs an IOTLB invalidation, the not-present "
                     "entry may be cached (cache_tag_flush_range_np)"},
      {"VTD-SEQ-1", "VT-d caching mode: a context entry made present needs a device-selective cc_inv with "
                    "domain id 0, under which the not-present entry was cached (domain_context_mapping_one; "
                    "scalable mode: device_pasid_table_setup)"},
      {"VTD-SEQ-4", "VT-d caching mode (CM=1, scalable mode): a PASID entry made present needs a "
                    "PASID-selective pc_inv with its new DID and PASID, waited for: the not-present entry may be "
                    "cached, and the pc_inv names it by the DID the entry holds then (pasid_flush_caches)"},
      {"VTD-SEQ-2", "VT-d: a context entry cleared or changed needs a device-selective cc_inv, an iotlb_inv DSI "
                    "of the old domain id and a device-TLB flush (intel_context_flush_present)"},
      {"VTD-GRAN-3", "VT-d: tearing down a pass-through or first-stage PASID entry needs the PASID-selective "
                     "p_iotlb_inv (a page-selective one leaves pass-through entries); second-stage or nested "
                     "ones need iotlb_inv DSI (intel_pasid_tear_down_entry)"},
      {"VTD-SEQ-3", "VT-d scalable mode: a context entry changed or cleared while PASID entries are present "
                    "needs, after the device-selective cc_inv, a domain-selective pc_inv and an iotlb_inv DSI for "
                    "the DID of every present PASID entry, then the device TLB (intel_context_flush_present, "
                    "flush_domains=true)"},
      {"VTD-CACHE-3", "VT-d: second-stage IOTLB and paging-structure entries carry no PASID tag, so every "
                      "PASID whose entry uses the DID shares them: one DID per second-stage table (domain_id_iommu)"},
      {"VTD-GRAN-6", "VT-d: the device TLB needs its own invalidation, dev_tlb_inv for requests without PASID "
                     "and p_dev_tlb_inv per PASID, for every device of the domain (cache_tag_flush_devtlb_psi)"},
      {"VTD-SEQ-7", "VT-d PASID teardown: clear P, then pc_inv PASID-selective with the entry's DID, the "
                    "IOTLB flush of its type, the device TLB, a wait (intel_pasid_tear_down_entry)"},
      {"VTD-SEQ-9", "VT-d: before a PASID is freed or reused, drain its page requests: a wait with PD=1 "
                    "after the PASID entry was cleared (intel_iommu_drain_pasid_prq)"},
      {"VTD-SEQ-13", "VT-d nesting: a change of the nesting parent's second stage needs an IOTLB flush with the "
                     "DID of every nested domain on it, and a full device-TLB flush: the caches hold combined "
                     "first+second-stage results (cache_tag_flush_range, CACHE_TAG_NESTING_IOTLB)"},
      {"VTD-SEQ-14", "VT-d nesting: a guest stage-1 invalidation is a p_iotlb_inv with the nested domain's DID and "
                     "the PASID, plus the device TLB (intel_nested_cache_invalidate_user)"},
      {"VTD-SEQ-6", "VT-d: toggling dirty tracking (SSADE) of a live PASID entry needs pc_inv PASID-selective, "
                    "iotlb_inv DSI and the device TLB, waited: entries filled before set no dirty bits "
                    "(intel_pasid_setup_dirty_tracking)"},
      {"VTD-COH-3", "VT-d: a live PASID-table or context entry is changed present bit first (clear P, "
                    "flush, then zero the rest; write the fields, then set P): the walker may read the "
                    "wide entry in chunks (intel_pasid_tear_down_entry, pasid_set_present, context_set_present)"},
      {"VTD-COH-1", "VT-d without page-walk coherency (ECAP.C=0): clflush every table write before the "
                    "invalidation (__iommu_flush_cache)"},
      {"VTD-COH-4", "VT-d without page-walk coherency (ECAP.C=0): the walker reads memory, not the CPU cache; a "
                    "mapping written and not clflushed is not there for it, and the device faults on it "
                    "(domain_flush_cache after the PTE writes of __domain_mapping, pasid_flush_caches)"},
      {"VTD-COH-5", "VT-d without page-walk coherency (ECAP.C=0): clflush_cache_range writes back only the cache "
                    "lines it names; flush each written entry's own line (the leaf PTEs, a new upper-level entry, "
                    "the PASID-table entry, a new PASID-directory entry) (pfn_to_dma_pte, __domain_mapping, "
                    "dma_pte_clear_range, pasid_flush_caches, intel_pasid_get_entry)"},
      {"VTD-ROOT-1", "VT-d: the root-table pointer (RTADDR_REG, made active by GCMD.SRTP) selects the root table; "
                     "switching it changes every device's context entry at once, and the context cache, tagged by "
                     "requester id only, keeps the old root's entries"},
      {"VTD-ROOT-2", "VT-d: after SRTP (without ESRTPS) the caches may hold entries of the old root table's "
                     "structures: a global cc_inv, a global pc_inv (scalable mode) and a global iotlb_inv, waited "
                     "for (iommu_set_root_entry)"},
      {"VTD-ROOT-3", "VT-d CAP.ESRTPS: the SRTP flow itself invalidates the context cache, PASID cache, IOTLB and "
                     "paging-structure caches, so iommu_set_root_entry issues no flush (cap_esrtps)"},
      {"VTD-CTX-1", "VT-d scalable mode: a context entry points to one PASID directory and table (PASIDDIRPTR); "
                    "a walk through a cached context entry reads the PASID table that copy points to, whatever "
                    "memory's entry points to now"},
      {"VTD-CTX-2", "VT-d scalable mode: a context entry moved to another PASID table needs a device-selective "
                    "(or global) cc_inv, waited for, before it is used: the context cache keeps the old pointer "
                    "and walks read the old table through it (device_pasid_table_setup, kdump)"},
      {"VTD-CTX-3", "VT-d scalable mode: when a context entry moves to another PASID table, the PASID-cache, "
                    "IOTLB and device-TLB entries filled through the old table must go too: Linux knows neither "
                    "their DIDs nor their PASIDs and issues a global pc_inv, a global iotlb_inv and a device-TLB "
                    "flush (device_pasid_table_setup, kdump)"},
  };
  auto it = rules.find(id);
  return it == rules.end() ? id : it->second;
}

std::string describe_memory(const Config & cfg, const Memory & mem, int device, u64 pasid, u64 addr)
{
  if (cfg.context_cache() && !mem.context_present(device))
    return "the context entry of the device is not present: no translation";
  int dom = mem.attached(device, pasid);
  if (dom < 0)
    return cfg.pasid_keyed() ? "the " + cfg.entry_name() + " of (device, PASID) is not present: no translation"
                             : "the " + cfg.entry_name() + " of the device is not present: no translation";
  const DomainState & ds = mem.domains().at(static_cast<std::size_t>(dom));
  std::string head = "domain " + cfg.domains.at(static_cast<std::size_t>(dom)).name +
                     " (did " + std::to_string(mem.attached_did(device, pasid)) + ")" + ": ";
  if (mem.attached_pgtt(device, pasid) == kPgttPassThrough) {
    u64 out = (addr & cfg.geo.addr_mask()) >> cfg.geo.page_shift;
    return head + "pass-through: page " + hex(out << cfg.geo.page_shift) + " rw" +
           (mem.is_free(out) ? " (a freed frame: the device is trusted with it)" : "");
  }
  WalkResult r = mem.walk_from(cfg.geo, ds.root, cfg.geo.levels, addr, 1);
  switch (r.kind) {
    case WalkResult::Leaf: {
      u64 out = out_frame(cfg.geo, r.level, r.frame, addr);
      const unsigned pgtt = mem.attached_pgtt(device, pasid);
      const bool sre = mem.attached_sre(device, pasid);
      auto perm = [&](unsigned p) {
        const unsigned q = privileged(cfg, p, pgtt, sre);  // VTD-PRIV-1/2: per request class
        return q ? perm_str(cfg, q) : std::string("-- (no request class may use it)");
      };
      if (mem.attached_pgtt(device, pasid) == kPgttNested) {
        // The first stage gives a guest-physical page; the nesting parent's second stage goes on.
        Translation s1{Translation::Leaf, out, r.perm};
        Translation t = nest(cfg, mem, mem.attached_parent_root(device, pasid), s1, addr);
        std::string s = head + "first stage maps it to guest-physical " + hex(out << cfg.geo.page_shift) + ", which ";
        if (t.kind == Translation::Wild) return s + "the nesting parent walks through a freed page";
        if (t.kind == Translation::None) return s + "the nesting parent does not map (or grants nothing)";
        return s + "the nesting parent maps to page " + hex(t.out << cfg.geo.page_shift) + " " + perm(t.perm) +
               (mem.is_free(t.out) ? " (a freed frame)" : "");
      }
      return head + "maps it to page " + hex(out << cfg.geo.page_shift) + " " + perm(r.perm) + (mem.is_free(out) ? " (a freed frame)" : "");
    }
    case WalkResult::Wild:
      return head + "the walk goes through " + hex(r.bad_frame << cfg.geo.page_shift) +
             ", which holds no page table (freed)";
    default:
      return head + "not mapped";
  }
}

}  // namespace nostale
