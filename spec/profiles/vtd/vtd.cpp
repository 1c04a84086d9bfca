// The `vtd` profile: Intel VT-d in scalable mode, first- and second-stage PASID-table entries,
// queued invalidation. Each `descriptor` step is one descriptor, readable or raw
// (descriptor.h); it decodes to a semantic invalidation (InvPattern), a fence, a wait, or a
// command with no translation effect (iec_inv, page_grp_resp). Rule ids: ../reference/rules.md
// §1 (VTD-*) and §4 (ATS-*); choices are listed in README.md next to this file.
#include <algorithm>
#include <cstdio>
#include <map>

#include "spec/model/format.h"
#include "spec/model/errors.h"
#include "spec/model/memory.h"
#include "spec/profiles/api/json_fields.h"
#include "spec/interp/survival.h"
#include "spec/profiles/api/profile.h"
#include "spec/profiles/vtd/descriptor.h"
#include "spec/profiles/vtd/hardware.h"

namespace nostale {

namespace {

using json = nlohmann::json;
using namespace json_fields;
using namespace vtd;

/// Capabilities kept in Config::caps: CAP.PSI (bit 39, page-selective IOTLB invalidation) and
/// CAP.MAMV (bits 53:48, the largest address mask of an iotlb_inv PSI).
constexpr const char * kPsi = "psi";
constexpr const char * kDit = "dit";  ///< ECAP.DIT: device-TLB invalidation throttling (PFSID used)
constexpr const char * kEsrtps = "esrtps";  ///< CAP.ESRTPS: SRTP invalidates the caches itself (VTD-ROOT-3)
constexpr const char * kPds = "pds";  ///< ECAP.PDS: page-request drain supported (inv_wait PD)
constexpr const char * kCm = "cm";  ///< CAP.CM: caching mode, not-present entries may be cached
constexpr const char * kCoherent = "coherent";  ///< ECAP.C: the walker snoops memory
constexpr const char * kLegacy = "legacy";  ///< legacy (context-entry) mode instead of scalable

/// The capability `k` as decode_caps stored it (`dflt` when absent).
u64 cap_of(const Config & cfg, const char * k, u64 dflt)
{
  auto it = cfg.caps.find(k);
  return it != cfg.caps.end() ? it->second : dflt;
}

bool legacy(const Config & cfg) { return cap_of(cfg, kLegacy, 0) != 0; }
constexpr const char * kMamv = "mamv";
/// CAP.MGAW: the address bits a page-selective invalidation compares (VTD-DESC-8); by default
/// the configured IOVA width.
constexpr const char * kMgaw = "mgaw";

/// The range an ATS invalidate request covers (ATS-1, VTD-DESC-4): S=0 one 4 KiB page; S=1 the
/// size is given by the lowest 0 bit at or above bit 12.
std::pair<u64, u64> ats_range(u64 addr, bool s, const std::string & path)
{
  if (!s) return {addr, 4096};
  unsigned bit = 12;
  while (bit < 64 && ((addr >> bit) & 1)) ++bit;
  if (bit == 64) throw ScenarioError(path, "device-TLB range with S=1 has no 0 bit in ADDR");
  if (bit == 63) return {0, 0};  // ADDR[63:12] = 0x7FFFFFFFFFFFF: the whole address space
  u64 size = u64{1} << (bit + 1);
  return {addr & ~(size - 1), size};
}

class Vtd final : public Profile {
 public:
  std::string_view id() const override { return "vtd"; }
  std::vector<std::string> ops() const override { return {"descriptor"}; }

  void decode_caps(const json & j, const std::string & path, Config & cfg) const override
  {
    only_keys(j, path, {"cm", "coherent", "psi", "mamv", "mgaw", "mode", "dit", "pds", "esrtps"});
    if (j.contains("esrtps")) cfg.caps[kEsrtps] = get_bool(j, path, "esrtps", false);  // read by set_root steps
    cfg.caps[kDit] = get_bool(j, path, "dit", false);
    cfg.caps[kPds] = get_bool(j, path, "pds", true);
    std::string mode = j.contains("mode") ? get_string(j["mode"], path + "/mode") : "scalable";
    if (mode != "scalable" && mode != "legacy")
      throw ScenarioError(path + "/mode", "mode is \"scalable\" or \"legacy\"");
    cfg.caps[kLegacy] = mode == "legacy";
    // CM=1 caches not-present entries, ECAP.C says whether the walker snoops: both become the
    // hardware description (vtd::hardware), which the engines read.
    cfg.caps[kCm] = get_bool(j, path, "cm", false);
    cfg.caps[kCoherent] = get_bool(j, path, "coherent", true);
    cfg.caps[kPsi] = get_bool(j, path, "psi", true);
    u64 m = get_u64(j, path, "mamv", 9);
    if (m > 63 - 12) throw ScenarioError(path + "/mamv", "MAMV is at most 51");
    cfg.caps[kMamv] = m;
    if (j.contains("mgaw")) {
      // CAP.MGAW is at least the width the page tables translate (the loader's iova_bits).
      u64 w = get_u64(j, path, "mgaw", 0);
      if (w < cfg.geo.iova_bits() || w > 64)
        throw ScenarioError(path + "/mgaw", "MGAW is between the IOVA width (" + std::to_string(cfg.geo.iova_bits()) +
                                                ") and 64 bits");
      cfg.caps[kMgaw] = w;
    }
  }

  hw::Description hardware(const Config & cfg) const override
  {
    return vtd::hardware(cfg, {legacy(cfg), cap_of(cfg, kCm, 0) != 0, cap_of(cfg, kCoherent, 1) != 0});
  }

  /// Scalable or legacy mode, caching mode or not, a walker that snoops or not.
  std::vector<hw::Description> variants(const Config & cfg) const override
  {
    std::vector<hw::Description> v;
    for (bool legacy : {false, true})
      for (bool cm : {false, true})
        for (bool coherent : {true, false}) v.push_back(vtd::hardware(cfg, {legacy, cm, coherent}));
    return v;
  }

  void check_config(const Config & cfg, const std::string & path) const override
  {
    for (std::size_t i = 0; i < cfg.domains.size(); ++i)
      if (cfg.domains[i].did == u64{0})
        throw ScenarioError(path + "/domains/" + std::to_string(i) + "/did",
                            "domain id 0 is reserved (VTD-ID-1: not-present entries are cached under it)");
    for (std::size_t i = 0; i < cfg.devices.size(); ++i)
      if (!cfg.devices[i].sid)
        throw ScenarioError(path + "/devices/" + std::to_string(i) + "/sid",
                            "vtd devices need their requester id (sid): descriptors name devices by it");
  }

  unsigned decode_record_type(const json * j, const std::string & path, const Config & cfg, u64) const override
  {
    if (legacy(cfg)) {
      // A legacy context entry translates requests without PASID through a second stage.
      if (j && get_string(*j, path) != "second")
        throw ScenarioError(path, "legacy mode has only second-stage translation");
      return kPgttSecond;
    }
    if (!j)
      throw ScenarioError(path, "vtd attach needs pgtt: \"first\", \"second\", \"nested\" or \"pass-through\" "
                                "(PASID-table entry PGTT)");
    std::string v = get_string(*j, path);
    if (v == "first") return kPgttFirst;
    // Identity domains: PGTT=100b under DID 1 (VTD-ID-2, intel_pasid_setup_pass_through).
    if (v == "pass-through") return kPgttPassThrough;
    // VTD-ID-2: DID 1 is for first-stage and pass-through entries. A second-stage or nested entry
    // under DID 1 is a driver bug the hardware accepts: its entries mix with theirs (no-stale).
    if (v == "nested") return kPgttNested;
    if (v == "second") return kPgttSecond;
    throw ScenarioError(path, "pgtt must be \"first\", \"second\", \"nested\" or \"pass-through\"");
  }

  std::string rule(const Counterexample & cex, const Scenario & sc, const Timeline & tl) const override
  {
    if (cex.page_request) return "VTD-SEQ-9";  // freed before its page requests were drained
    // The walker had not seen a table write: after a flush of some lines only, the line that
    // was left out (VTD-COH-5); else no flush at all (VTD-COH-4 a map the device faults on,
    // VTD-COH-1 a stale fill).
    auto lines_only = [&](std::size_t gap) {
      for (std::size_t i = std::min(gap, sc.steps.size()); i-- > 0;)
        if (sc.steps[i].op == Op::Clflush) return sc.steps[i].flush.kind != Flush::Kind::All;
      return false;
    };
    if (cex.walker_view) return lines_only(tl.checks.at(cex.check).step + 1) ? "VTD-COH-5" : "VTD-COH-4";
    // A PASID-table entry read torn: the entry was rewritten while present (VTD-COH-3).
    for (const HwEvent & e : cex.events)
      if (e.kind == HwEvent::Fill && e.torn) return "VTD-COH-3";
    // A fill made while the walker had not seen a table write: the clflush was missing.
    for (const HwEvent & e : cex.events)
      if (e.kind == HwEvent::Fill && e.gap < tl.behind.size() && tl.behind[e.gap])
        return lines_only(e.gap) ? "VTD-COH-5" : "VTD-COH-1";
    if (cex.entry.negative) {
      if (cex.entry.kind == CacheKind::Iotlb) return "VTD-SEQ-11";
      // A not-present PASID entry cached under CM=1 and not flushed after it became present
      // (pasid_flush_caches); a not-present context entry is VTD-SEQ-1's.
      if (cex.entry.kind == CacheKind::PasidCache && !legacy(sc.config)) return "VTD-SEQ-4";
      return "VTD-SEQ-1";
    }
    static const std::map<std::string, std::string> to_vtd = {
        {"ATS-7", "VTD-ORDER-4"}, {"CORE-1", "VTD-SEQ-10"}, {"CORE-2", "VTD-CACHE-4"},
        {"MOD-1", "VTD-GRAN-1"},  {"MOD-3", "VTD-CACHE-4"}, {"PASID-2", "VTD-ID-4"},
        {"OPEN-5", "VTD-ID-6"}};
    // A stale legacy context entry: it changed without the context-cache flush of VTD-SEQ-2.
    if (legacy(sc.config) && cex.entry.kind == CacheKind::PasidCache && !cex.from_memory) return "VTD-SEQ-2";
    // Scalable mode: a cleared context entry still cached (VTD-SEQ-2), or PASID-derived
    // entries of a device whose context entry was cleared while PASID entries were present
    // (VTD-SEQ-3: pc_inv and iotlb_inv DSI for the DID of each).
    // An entry of the context cache, PASID cache or IOTLB filled (or reached through a context
    // entry cached) before the root-table pointer was switched: the global flushes that follow
    // SRTP without ESRTPS (VTD-ROOT-2, iommu_set_root_entry).
    if (!cex.from_memory && !cex.page_request && cex.entry.kind != CacheKind::DevTlb) {
      std::optional<std::size_t> srtp;
      for (std::size_t k = 0; k < tl.checks.at(cex.check).step && k < sc.steps.size(); ++k)
        if (sc.steps[k].op == Op::SetRoot && !sc.steps[k].srtp_invalidates) srtp = k;
      if (srtp)
        for (const HwEvent & e : cex.events)
          if (e.kind == HwEvent::Fill && e.gap <= *srtp &&
              (e.entry == cex.entry || e.entry.kind == CacheKind::ContextCache))
            return "VTD-ROOT-2";
    }
    if (cex.entry.kind == CacheKind::ContextCache) {
      // Present in memory, but pointing to another PASID table than the cached copy (VTD-CTX-2).
      const Memory & m = tl.mem_at_check(tl.checks.at(cex.check));
      if (m.context_present(cex.entry.dev) && m.context_table(cex.entry.dev) != cex.entry.table) return "VTD-CTX-2";
      return "VTD-SEQ-2";
    }
    // An entry filled through a PASID table the device's context entry no longer points to
    // (VTD-CTX-3: the flushes of a move to another PASID table).
    if (!cex.from_memory && !cex.page_request && sc.config.pasid_tables.size() > 1) {
      const Memory & m = tl.mem_at_check(tl.checks.at(cex.check));
      // Filled while memory's context entry pointed to another table, or after a context entry
      // pointing to another table than memory's at the check was cached for the walker.
      for (const HwEvent & e : cex.events) {
        if (e.kind != HwEvent::Fill || !(e.entry == cex.entry) || e.gap >= tl.walk.size()) continue;
        if (tl.walk[e.gap].context_table(e.walker) != m.context_table(e.walker)) return "VTD-CTX-3";
        for (const HwEvent & c : cex.events)
          if (c.kind == HwEvent::Fill && c.entry.kind == CacheKind::ContextCache && !c.entry.negative &&
              c.entry.dev == e.walker && c.gap <= e.gap && c.entry.table != m.context_table(e.walker))
            return "VTD-CTX-3";
      }
    }
    // A domain id freed while entries tagged with it are cached, whichever entry the trace shows
    // and however it was filled.
    if (cex.property == "no-reuse-while-cached" && !tl.checks.at(cex.check).freed_pasid) return "VTD-ID-6";
    // A second-stage entry (no PASID tag) filled by a walk for another PASID: two
    // second-stage tables behind one DID (VTD-CACHE-3).
    if (cex.entry.pasid == kNoPasid)
      for (const HwEvent & e : cex.events)
        if (e.kind == HwEvent::Fill && e.entry == cex.entry && e.walker_pasid != cex.pasid) return "VTD-CACHE-3";
    if (sc.config.context_cache() && !cex.from_memory && !cex.page_request &&
        !tl.mem_at_check(tl.checks.at(cex.check)).context_present(cex.device))
      return "VTD-SEQ-3";
    // Why the entry survived (spec/interp/survival.h): a covering flush was submitted (and not
    // waited for, or the entry was refilled from another cache after it), a flush of its cache
    // missed it, or none was ever submitted.
    const Survival why = why_survived(sc, tl, cex);
    const bool covered = why.kind == Survival::NotWaited || why.kind == Survival::Refilled;
    // Dirty tracking turned on without the flushes of VTD-SEQ-6, whichever entry was left.
    if (cex.property == "no-missed-dirty") return "VTD-SEQ-6";
    // A table page linked into several address spaces, flushed under one domain id only, or
    // freed while another still links it (PT-SHARE-1/2).
    if (std::string r = shared_table_rule(sc, tl, cex, why); !r.empty()) return r;
    // A second-stage pointer of nested walks: only an iotlb_inv of the nested DID with IH=0
    // removes it (no PASID or address names it).
    if (!cex.from_memory && !covered && cex.entry.gpa) return "VTD-SEQ-13";
    if (!cex.from_memory && !covered && cex.entry.pgtt == kPgttNested) {
      // A combined entry nobody flushed with the nested DID: after a change of the nesting
      // parent (the first stage still maps the address) or of the guest's first stage.
      const Memory & m = tl.mem_at_check(tl.checks.at(cex.check));
      int dom = m.attached(cex.device, cex.pasid);
      bool s1_maps = dom >= 0 && m.walk_from(sc.config.geo, m.domains().at(static_cast<std::size_t>(dom)).root,
                                             sc.config.geo.levels, cex.addr, 1).kind == WalkResult::Leaf;
      return s1_maps ? "VTD-SEQ-13" : "VTD-SEQ-14";
    }
    // A device-TLB entry of a device whose ATS was disabled with the entry still in its ATC, and
    // no device-TLB flush removed it: disable ATS, flush the ATC, and enable it only after (ATS-9;
    // Linux before v6.15 skipped the flush because ATS was already off, devtlb_invalidation_with_pasid).
    if (!cex.from_memory && !covered && cex.entry.kind == CacheKind::DevTlb) {
      const std::size_t at = tl.checks.at(cex.check).step;
      for (std::size_t k = 0; k < at && k < sc.steps.size(); ++k)
        if (sc.steps[k].op == Op::Ats && !sc.steps[k].enable && sc.steps[k].device == cex.device) return "ATS-9";
    }
    // First-stage privilege: a stale leaf only supervisor requests may use (a kernel SVA
    // mapping, U/S=0), left by a flush that missed it (VTD-PRIV-1); a PASID-cache entry stale
    // in its SRE alone (VTD-PRIV-2).
    if (std::string r = privilege_rule(sc, tl, cex, covered); !r.empty()) return r;
    if (!cex.from_memory && !covered) {
      // A pass-through entry left by a flush that does not reach it (VTD-GRAN-3: PASID-selective
      // p_iotlb_inv, or a DSI).
      if (cex.entry.kind == CacheKind::Iotlb && cex.entry.pgtt == kPgttPassThrough) return "VTD-GRAN-3";
      if (cex.entry.kind == CacheKind::DevTlb) return "VTD-GRAN-6";  // no device-TLB flush for it
      if (cex.entry.kind == CacheKind::PasidCache)
        return why.kind == Survival::NotCovered ? "VTD-ID-4" : "VTD-SEQ-7";  // pc_inv with the wrong DID / none
      if (why.kind == Survival::NeverInvalidated) return "VTD-SEQ-10";  // no flush after the unmap at all
      if (why.kind == Survival::NotCovered) {
        // The flush that missed it names the cause: a leaf-only (IH=1) flush over freed tables
        // (VTD-CACHE-4), or the granularity of the command that was issued (its decoder's rule).
        const Invalidation & inv = tl.invs.at(*why.inv);
        if (cex.entry.kind == CacheKind::Psc && inv.pat.iotlb && !inv.pat.psc) return "VTD-CACHE-4";
        const std::string & r = sc.steps.at(inv.step).rule;
        if ((r.rfind("VTD-GRAN-", 0) == 0 || r.rfind("VTD-DESC-", 0) == 0) && rule_text(r) != r) return r;
      }
    }
    // A flush that covers the table pointer was issued but had not completed: wait first.
    if (!cex.from_memory && covered && cex.entry.kind == CacheKind::Psc) return "VTD-SEQ-10";
    Violation v{cex.property, cex.severity, cex.from_memory, cex.entry, cex.page_request, cex.walker_view};
    std::string generic = rule_for(v, tl.checks.at(cex.check), why);  // the cause, computed once above
    auto it = to_vtd.find(generic);
    return it == to_vtd.end() ? generic : it->second;
  }

  /// VTD-PRIV-1/2 (first-stage privilege only; "" otherwise).
  static std::string privilege_rule(const Scenario & sc, const Timeline & tl, const Counterexample & cex, bool covered)
  {
    if (!sc.config.privilege || cex.from_memory || cex.property != "no-stale") return "";
    const Entry & e = cex.entry;
    if ((e.kind == CacheKind::Iotlb || e.kind == CacheKind::DevTlb) && !covered && !e.wild && !e.negative &&
        (e.perm & kPermRW) == 0 && (e.perm & kPermSup) != 0)
      return "VTD-PRIV-1";
    if (e.kind == CacheKind::PasidCache && !e.negative) {
      const Memory & m = tl.mem_at_check(tl.checks.at(cex.check));
      if (m.attached(cex.device, cex.pasid) >= 0 && m.attached_sre(cex.device, cex.pasid) != e.sre &&
          m.attached_did(cex.device, cex.pasid) == e.did && m.attached_root(cex.device, cex.pasid) == e.root &&
          m.attached_pgtt(cex.device, cex.pasid) == e.pgtt)
        return "VTD-PRIV-2";
    }
    return "";
  }

  void decode(const json & j, const std::string & path, const DecodeContext & ctx, Step & out) const override
  {
    only_keys(j, path, {"op", "note", "desc", "raw", "poll"});
    Descriptor d;
    bool raw = j.contains("raw");
    if (raw == j.contains("desc"))
      throw ScenarioError(path, "a descriptor step has either \"desc\" (readable) or \"raw\" (hex words)");
    if (raw) {
      const json & r = j["raw"];
      if (!r.is_array()) throw ScenarioError(path + "/raw", "expected an array of 2 or 4 64-bit words");
      std::vector<u64> words;
      for (std::size_t i = 0; i < r.size(); ++i) words.push_back(get_u64(r[i], path + "/raw/" + std::to_string(i)));
      d = decode_raw(words, path + "/raw");
    } else {
      d = decode_json(j["desc"], path + "/desc");
    }
    std::string dpath = path + (raw ? "/raw" : "/desc");
    // Capabilities the descriptor fields depend on (DESCRIPTORS.md).
    if (d.wide && legacy(ctx.config))
      throw ScenarioError(dpath, "256-bit descriptors need scalable mode (IQA.DW=1)");
    auto pfsid = [&](u64 v) {
      if (v != 0 && !cap_of(ctx.config, kDit, 0))
        throw ScenarioError(dpath, "PFSID is reserved (must be 0) without ECAP.DIT (config/caps/dit)");
    };
    if (auto * x = std::get_if<DevTlbInv>(&d.body)) pfsid(x->pfsid);
    if (auto * x = std::get_if<PDevTlbInv>(&d.body)) pfsid(x->pfsid);
    if (auto * x = std::get_if<InvWait>(&d.body); x && x->pd && !cap_of(ctx.config, kPds, 1))
      throw ScenarioError(dpath, "inv_wait PD (page-request drain) needs ECAP.PDS (config/caps/pds)");
    out.text = describe(d);
    out.op = Op::Invalidate;
    InvPattern & p = out.inv;
    const Config & cfg = ctx.config;
    auto did_ok = [&](u64 did) {
      if (did >= (u64{1} << cfg.did_bits))
        throw ScenarioError(dpath, "domain id " + std::to_string(did) + " is wider than did_bits");
      return did;
    };
    auto pasid_ok = [&](u64 pasid) {
      if (pasid >= (u64{1} << cfg.pasid_bits))
        throw ScenarioError(dpath, "PASID " + std::to_string(pasid) + " is wider than pasid_bits");
      return pasid;
    };
    // A page-selective range as hardware reads it: AM masks the low ADDR bits, so the block is
    // the 2^(12+AM)-byte block that holds ADDR (VTD-DESC-7), and ADDR bits at and above MGAW are
    // ignored (VTD-DESC-8). Neither is bad input: older kernels issued unaligned addresses.
    bool nowhere = false;  // a page-selective block outside the modelled space
    auto page_range = [&](u64 addr, unsigned am) {
      const unsigned W = cfg.geo.iova_bits(), mgaw = static_cast<unsigned>(cap_of(cfg, kMgaw, W));
      const unsigned bits = 12 + am;  // am <= MAMV <= 51
      u64 base = addr & ~((u64{1} << bits) - 1);
      if (base != addr)
        out.text += "  (ADDR bits below 2^" + std::to_string(bits) + " ignored: the block at " + hex(base) + ", VTD-DESC-7)";
      if (mgaw < 64 && (base >> mgaw) != 0) {
        base &= (u64{1} << mgaw) - 1;
        out.text += "  (ADDR bits 63:" + std::to_string(mgaw) + " above MGAW ignored: " + hex(base) + ", VTD-DESC-8)";
      }
      if (bits >= W) {
        p.ranged = false;  // the block holds the whole modelled space
        out.text += "  (covers the whole " + std::to_string(W) + "-bit space)";
        return;
      }
      if ((base >> W) != 0) {
        // Bits between the page-table width and MGAW are compared: no modelled address matches,
        // but what the command removes whatever the address still goes (VTD-GRAN-1).
        nowhere = true;
        out.text += "  (above the " + std::to_string(W) + "-bit space: covers no modelled address, VTD-DESC-8)";
        return;
      }
      p.ranged = true;
      p.addr = base;
      p.size = u64{1} << bits;
    };
    // An AM above MAMV, or a PSI where CAP.PSI=0: the spec gives it no effect to rely on, and
    // hardware may report an invalid descriptor (IQE), which Linux's qi_check_fault handles by
    // overwriting it with the wait: it removes nothing (VTD-DESC-9).
    bool dropped = false;
    auto unsupported = [&](const std::string & why) {
      dropped = true;
      out.text += "  (" + why + ": removes nothing, VTD-DESC-9)";
    };
    if (j.contains("poll") && !std::holds_alternative<InvWait>(d.body))
      throw ScenarioError(path + "/poll", "poll only goes with inv_wait");

    bool pasid_based = std::holds_alternative<PIotlbInv>(d.body) || std::holds_alternative<PcInv>(d.body) ||
                       std::holds_alternative<PDevTlbInv>(d.body);
    if (pasid_based && legacy(cfg))
      throw ScenarioError(dpath, std::string(type_name(d.type())) + " needs scalable mode (config/caps/mode)");
    if (auto * c = std::get_if<CcInv>(&d.body)) {
      out.rule = "VTD-GRAN-5";
      if (legacy(cfg)) {
        // Legacy context cache: tagged by requester id and domain id (VTD-CACHE-1).
        p.pasid_cache = true;
        if (c->g != CcGran::Global) p.did = did_ok(c->did);
        if (c->g == CcGran::Device) {
          if (c->fm != 0)
            throw ScenarioError(dpath, "cc_inv function masks (FM) are not modelled: name one device");
          p.pc_device = ctx.device_by_sid(c->sid, dpath);
        }
      } else {
        // Scalable mode: the context cache is tagged by requester id only; the descriptor's DID
        // is ignored (VTD-CACHE-1). A domain-selective flush therefore names no entry nostale
        // can rely on: it removes nothing here (use device-selective or global).
        p.context_cache = true;
        if (c->g == CcGran::Device) {
          if (c->fm != 0)
            throw ScenarioError(dpath, "cc_inv function masks (FM) are not modelled: name one device");
          p.pc_device = ctx.device_by_sid(c->sid, dpath);
        } else if (c->g == CcGran::Domain) {
          p.context_cache = false;
          out.text += "  (scalable mode ignores the DID: no entry is sure to go)";
        }
      }
    } else if (auto * i = std::get_if<IotlbInv>(&d.body)) {
      p.iotlb = true;
      p.psc = true;
      out.rule = "VTD-GRAN-1";
      if (i->g != IotlbGran::Global) p.did = did_ok(i->did);
      if (i->g == IotlbGran::Psi) {
        if (!cap_of(cfg, kPsi, 1)) {
          unsupported("page-selective iotlb_inv on hardware without PSI (CAP.PSI=0)");
        } else if (i->am > cap_of(cfg, kMamv, 9)) {
          unsupported("address mask " + std::to_string(i->am) + " exceeds MAMV " + std::to_string(cap_of(cfg, kMamv, 9)));
        } else {
          page_range(i->addr, i->am);
          p.psc = p.psc && !i->ih;  // IH=1: leaf entries only (MOD-3, VTD-CACHE-4)
        }
        // VTD-GRAN-1: second-stage and pass-through entries in the range, every first-stage and
        // nested entry of the DID.
        p.pgtt_mask = (1u << kPgttSecond) | (1u << kPgttPassThrough);
        p.pgtt_anyaddr = (1u << kPgttFirst) | (1u << kPgttNested);
      }
    } else if (auto * dv = std::get_if<DevTlbInv>(&d.body)) {
      p.devtlb = true;
      p.device = ctx.device_by_sid(dv->sid, dpath);
      auto [a, sz] = ats_range(dv->addr, dv->s, dpath);
      p.ranged = sz != 0;
      p.addr = a;
      p.size = sz;
      // A request without PASID also removes PASID-tagged entries (ATS-3, VTD-GRAN-6).
      out.rule = "VTD-GRAN-6";
    } else if (std::get_if<IecInv>(&d.body)) {
      out.rule = "VTD-CACHE-6";
      out.text += "  (interrupt-entry cache: no translation effect)";
    } else if (auto * w = std::get_if<InvWait>(&d.body)) {
      // VTD-ORDER-1: only a wait completes what came before it, and only a wait software polls
      // (status write or interrupt) tells the driver so. FN=1 orders what follows (VTD-ORDER-3).
      bool poll = get_bool(j, path, "poll", w->sw || w->if_);
      if (poll && !w->sw && !w->if_)
        throw ScenarioError(path + "/poll", "a wait without SW or IF cannot be polled");
      if (poll) {
        out.op = Op::Sync;
        out.drain = w->pd;  // PD: page requests issued before the wait are drained (VTD-SEQ-9)
        out.rule = w->pd ? "VTD-SEQ-9" : "VTD-ORDER-1";
      } else if (w->fn) {
        out.op = Op::Fence;
        out.rule = "VTD-ORDER-3";
      } else {
        out.rule = "VTD-ORDER-1";
        out.text += "  (not polled: orders nothing)";
      }
      if (w->pd && !poll) out.text += "  (not polled: the drain is not awaited)";
    } else if (auto * pi = std::get_if<PIotlbInv>(&d.body)) {
      p.iotlb = true;
      p.psc = true;
      p.did = did_ok(pi->did);
      p.pasid = pasid_ok(pi->pasid);
      // VTD-GRAN-2/3: first-stage and nested entries of the DID and PASID, never second-stage
      // ones (they carry no PASID tag, VTD-CACHE-3). Pass-through entries only PASID-selectively:
      // the page-selective form leaves them (QEMU vtd_hash_remove_by_page_piotlb quoting the
      // spec), while Linux tears a pass-through entry down with the PASID-selective form
      // (intel_pasid_tear_down_entry).
      p.pgtt_mask = (1u << kPgttFirst) | (1u << kPgttNested) | (1u << kPgttPassThrough);
      if (pi->g == PIotlbGran::Psi) {
        p.pgtt_mask = (1u << kPgttFirst) | (1u << kPgttNested);
        if (pi->am > cap_of(cfg, kMamv, 9)) {
          unsupported("address mask " + std::to_string(pi->am) + " exceeds MAMV " + std::to_string(cap_of(cfg, kMamv, 9)));
        } else {
          page_range(pi->addr, pi->am);
          p.psc = p.psc && !pi->ih;
        }
      }
      out.rule = "VTD-GRAN-2";
    } else if (auto * pc = std::get_if<PcInv>(&d.body)) {
      p.pasid_cache = true;
      if (pc->g != PcGran::Global) p.did = did_ok(pc->did);
      if (pc->g == PcGran::Pasid) p.pasid = pasid_ok(pc->pasid);
      out.rule = "VTD-GRAN-4";
    } else if (auto * pd = std::get_if<PDevTlbInv>(&d.body)) {
      p.devtlb = true;
      p.device = ctx.device_by_sid(pd->sid, dpath);
      if (!pd->g) p.pasid = pasid_ok(pd->pasid);
      auto [a, sz] = ats_range(pd->addr, pd->s, dpath);
      p.ranged = sz != 0;
      p.addr = a;
      p.size = sz;
      out.rule = "VTD-GRAN-6";
    } else if (auto * r = std::get_if<PageGrpResp>(&d.body)) {
      // The answer to a page request group software read from the page request queue: the
      // hardware sends it to the device `rid` as a PCIe PRG Response, after which the device
      // retries its translation request. It invalidates no cache and waits for nothing, so the
      // pattern stays empty. Nor does it retire outstanding page requests: the device may issue
      // more while the PASID is bound, and those already in flight are drained only by a polled
      // inv_wait with PD=1 (VTD-SEQ-9, intel_iommu_drain_pasid_prq). Removing nothing is the
      // sound reading; DESCRIPTORS.md has the sources.
      if (legacy(cfg))
        throw ScenarioError(dpath, "page_grp_resp needs scalable mode: only a scalable-mode context entry "
                                   "enables page requests (PRE)");
      const int dev = ctx.device_by_sid(r->rid, dpath);
      if (!cfg.devices.at(static_cast<std::size_t>(dev)).pri)
        throw ScenarioError(dpath, "page_grp_resp answers page requests, but device '" +
                                       cfg.devices.at(static_cast<std::size_t>(dev)).name +
                                       "' (rid " + hex(r->rid) + ") cannot issue any (config/devices/" +
                                       std::to_string(dev) + "/pri)");
      if (r->pp) pasid_ok(r->pasid);
      out.rule = "VTD-SEQ-9";
      out.text += "  (a page response: removes no cached entry and no outstanding page request)";
    }
    if (dropped) {
      // Still an IOTLB invalidation that was issued, so a trace names it as the one that missed.
      p.ranged = false;
      p.pgtt_mask = p.pgtt_anyaddr = 0;
      out.rule = "VTD-DESC-9";
    } else if (nowhere) {
      p.ranged = false;
      p.pgtt_mask = 0;  // no entry by address; p.pgtt_anyaddr still applies
    } else if (p.ranged && p.addr >= (u64{1} << cfg.geo.iova_bits())) {
      // Whole-space device-TLB flushes (ADDR = 0x7FFFFFFFFFFFF, S=1) reach past the IOVA width.
      p.ranged = false;
    } else if (p.ranged && p.size > (u64{1} << cfg.geo.iova_bits()) - p.addr) {
      p.size = (u64{1} << cfg.geo.iova_bits()) - p.addr;
    }
  }
};

}  // namespace

const Profile & vtd_profile()
{
  static const Vtd v;
  return v;
}

}  // namespace nostale
