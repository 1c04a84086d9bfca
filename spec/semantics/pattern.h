// An invalidation pattern: what a completed invalidation removes, as filters over the tag fields
// a profile declares (spec/hw/description.h), an address range with a level hint, and the
// caches it names (leaf-only spares pointer caches). Every profile's commands decode to it
// (MOD-1); spec/semantics/match.h matches it against entries for both engines.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace nostale {

using u64 = std::uint64_t;

/// Translation types of a configuration record (VT-d PGTT, VTD-CACHE-3): which stage's caches
/// an entry filled through it belongs to; see spec/model/scenario.h.
constexpr unsigned kAllPgtt = 0x1f;

/// A present translating record when an invalidation is submitted: its key and domain tag.
struct RecordTag {
  int device = -1;
  u64 pasid = 0;
  u64 did = 0;
};

/// What an invalidation removes once it completes: the semantic pattern every profile's
/// commands decode to (MOD-1). Unset filters match everything.
struct InvPattern {
  bool pasid_cache = false;  ///< PASID-table entries cached per (device, PASID)
  bool context_cache = false;  ///< scalable-mode context entries cached per device (pc_device filters)
  bool iotlb = false;        ///< leaf translations
  bool psc = false;          ///< paging-structure (non-leaf) entries; false for LEAF (MOD-3)
  bool devtlb = false;       ///< device TLB / ATC entries
  std::optional<u64> did;    ///< domain tag filter (VT-d DID, ARCHID; SMMUv3 ASID and VMID)
  /// The bits of the packed domain tag (hw::Description::domain_tags) the filter compares: all
  /// of them, or one field's (an SMMUv3 invalidation by VMID alone spares no ASID).
  u64 did_mask = ~u64{0};
  std::optional<u64> pasid;  ///< PASID filter
  std::optional<int> device; ///< device filter (device-TLB entries only)
  std::optional<int> pc_device;  ///< device filter of PASID-cache / context-cache entries
  bool ranged = false;       ///< address filter: entries overlapping [addr, addr + size)
  u64 addr = 0;
  u64 size = 0;
  /// Level hint of a ranged invalidation (SMMUv3 TTL, Arm TLBI range): entries of the hinted
  /// level are removed; entries of other levels may survive, so none is counted removed.
  std::optional<unsigned> level;
  /// IOTLB / paging-structure entries of these translation types (bit 1 << pgtt) are matched,
  /// within the range if `ranged` ...
  unsigned pgtt_mask = kAllPgtt;
  /// ... and these regardless of the range (VT-d PSI drops every first-stage entry of its
  /// domain id, VTD-GRAN-1).
  unsigned pgtt_anyaddr = 0;
  /// Hardware whose not-present records take the domain tag memory's record holds when the
  /// invalidation is submitted (hw::Cache::negative_tag_current, VTD-SEQ-4): the present
  /// records then (filled in by build_timeline; a record not listed reads 0). nullopt:
  /// not-present records carry domain tag 0 (VTD-ID-1).
  std::optional<std::vector<RecordTag>> records_now;
};

}  // namespace nostale
