// What VT-d is, as the engines read it (spec/hw/description.h): its tag fields, caches, the
// context / PASID-table chain with the word layout of a PASID-table entry, the second-stage page
// table format, and its optional features. Sources: VT-d spec 3.x §6.5 (caches), §9.4 / §9.6
// (context and PASID-table entries), rules VTD-CACHE-1..4, VTD-COH-1, VTD-COH-3.
#include "spec/profiles/vtd/hardware.h"

namespace nostale::vtd {

hw::Description hardware(const Config & cfg, Mode mode)
{
  using hw::Holds;
  using hw::RecordField;
  hw::Description d;
  d.profile = "vtd";
  d.tags = {{"sid", 16}, {"did", cfg.did_bits}, {"pasid", cfg.pasid_bits}};
  d.domain_tags = {"did"};
  d.device_tag = "sid";
  if (mode.legacy) {
    // Legacy mode: the context entry (per requester id) is the record a walk translates through
    // (TT: second-stage or pass-through). With CM=1 not-present context entries are cached under
    // domain id 0 (VTD-ID-1, VTD-SEQ-1).
    d.chain = {{"context entry", {"device"}, {{RecordField::Present, RecordField::Type, RecordField::SecondStagePtr},
                                              {RecordField::Domain}}}};
    d.caches.push_back({"context-cache", Holds::Record, 0, {"sid", "did"}, false, mode.cm});
  } else {
    // Scalable mode: context entry -> PASID-table entry. The PASID-table entry is 512 bits read
    // in 64-bit chunks: qw0 {P, PGTT, SLPTPTR, SSADE}, qw1 {DID}, qw2 {SRE (bit 128), FLPTPTR}
    // (§9.6, VTD-COH-3; Linux pasid_set_sre sets bit 0 of val[2]).
    d.chain = {{"context entry", {"device"}, {{RecordField::Present}}},
               {"PASID-table entry", {"device", "pasid"},
                {{RecordField::Present, RecordField::Type, RecordField::SecondStagePtr, RecordField::Dirty},
                 {RecordField::Domain},
                 {RecordField::Sre, RecordField::FirstStagePtr}}}};
    // The context cache is tagged by requester id only in scalable mode; with CM=1 a
    // not-present context entry may be cached (VTD-CACHE-1, VTD-SEQ-1). With CM=1 a
    // not-present PASID entry may be cached too (§6.1), and a pc_inv names it by the DID the
    // entry holds when the pc_inv is submitted: QEMU's vtd_sm_pasid_table_walk_one takes a
    // newly present entry in on a domain- or PASID-selective pc_inv only if its DID is the
    // entry's (VTD-SEQ-4; Linux pasid_flush_caches issues exactly that one).
    d.caches.push_back({"context-cache", Holds::Record, 0, {"sid"}, false, mode.cm});
    d.caches.push_back({"PASID-cache", Holds::Record, 1, {"sid", "pasid", "did"}, false, mode.cm, mode.cm});
  }
  d.caches.push_back({"paging-structure-cache", Holds::Pointer, -1, {"did", "pasid"}, true, false});
  d.caches.push_back({"IOTLB", Holds::Leaf, -1, {"did", "pasid"}, false, mode.cm});
  d.caches.push_back({"device-TLB", Holds::Device, -1, {"sid", "pasid"}, false, false});
  d.record_types = mode.legacy ? 1u << kPgttSecond
                              : (1u << kPgttFirst) | (1u << kPgttSecond) | (1u << kPgttNested) | (1u << kPgttPassThrough);
  d.format = {cfg.geo.page_shift, cfg.geo.level_bits, cfg.geo.levels, 0b1110, false, false};
  d.features = {!mode.coherent, true, true, true, false};
  // First-stage paging is x86 paging (U/S at every level); scalable-mode PASID entries have
  // SRE and requests-with-PASID carry PR (§3.6, §9.6; VTD-PRIV-1..3). Legacy mode has no first stage.
  d.features.privilege = !mode.legacy;
  return d;
}

}  // namespace nostale::vtd
