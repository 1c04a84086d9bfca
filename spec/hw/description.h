// A hardware description: what a profile declares about its IOMMU, with no Z3 and no JSON
// (issue 8, DESIGN.md §4). The engines read it instead of knowing a profile: which tag fields
// cache entries carry, which caches exist and what they hold, the chain of configuration
// structures a walk reads (with the word layout in which hardware may read a record torn), the
// page-table format, and the optional features that bring properties of their own.
//
// The engines read from here: which caches exist and whether they may hold not-present
// entries (Config's derived flags), the names traces give structures and caches, the chain's
// depth (a structure above the translating record), the record's word layout (torn reads), the
// domain tag fields an invalidation may filter with a mask, and the features.
#pragma once

#include <string>
#include <vector>

namespace nostale::hw {

/// A field that cache entries may be tagged with and invalidations may filter on (VT-d DID and
/// PASID, SMMUv3 ASID and VMID, AMD DomainID, the requester id).
struct TagField {
  std::string name;
  unsigned width = 0;
};

/// What one cache holds (DESIGN.md §1).
enum class Holds {
  Record,   ///< copies of one configuration structure's records (context cache, PASID cache, STE/CD cache)
  Pointer,  ///< non-leaf page-table entries, per level (paging-structure / walk caches)
  Leaf,     ///< leaf translations (IOTLB)
  Device,   ///< leaf translations held by the device (ATS device TLB / ATC)
};

struct Cache {
  std::string name;              ///< as the hardware spec names it, for traces
  Holds holds = Holds::Leaf;
  int structure = -1;            ///< Holds::Record: index into Description::chain
  std::vector<std::string> tags; ///< TagField names the entries carry (lookup and invalidation)
  bool per_level = false;        ///< one cache per page-table level (pointer caches)
  bool negative = false;         ///< may hold not-present entries (VT-d caching mode)
  /// Records only: a not-present record carries no domain tag of its own, and an invalidation
  /// names it by the domain tag memory's record holds when the invalidation is submitted (0:
  /// not present then), not by domain tag 0 (VT-d scalable mode under CM=1, VTD-SEQ-4: QEMU
  /// vtd_sm_pasid_table_walk_one compares the DID of a pc_inv with the new entry's).
  bool negative_tag_current = false;
};

/// Which field of a configuration record a word holds; torn reads mix words, not bits.
enum class RecordField { Present, Type, SecondStagePtr, FirstStagePtr, Domain, Dirty, Sre };

/// One configuration structure of the chain a walk reads before the page table (VT-d root /
/// context entry then PASID-table entry; SMMUv3 STE then CD; AMD DTE then GCR3).
struct Structure {
  std::string name;               ///< "PASID-table entry", "context entry", "STE"
  std::vector<std::string> key;   ///< what selects a record: "device", or "device" and "pasid"
  /// The words hardware reads one at a time (VT-d: 64-bit chunks of a 512-bit PASID entry),
  /// each listing the fields it holds. A non-atomic rewrite may be read with each word old or
  /// new (VTD-COH-3).
  std::vector<std::vector<RecordField>> words;
  /// The word that holds `f` (words.size() if none).
  unsigned word_of(RecordField f) const
  {
    for (unsigned w = 0; w < words.size(); ++w)
      for (RecordField g : words[w])
        if (g == f) return w;
    return static_cast<unsigned>(words.size());
  }
};

/// A page-table format: granule and levels (DESIGN.md §1). Leaf levels are a bit mask (bit l:
/// a leaf may sit at level l).
struct PageTableFormat {
  unsigned granule_shift = 12;
  unsigned level_bits = 9;
  unsigned levels = 4;
  unsigned leaf_levels = 0b1110;  ///< 4K, 2M, 1G
  bool level_skipping = false;    ///< AMD-Vi next-level field may skip levels
  bool contiguous_hint = false;   ///< Arm contiguous bit
};

/// Optional features and what they bring.
struct Features {
  bool non_coherent_walker = false;  ///< table writes visible only after a cache flush (VTD-COH-1)
  bool page_requests = false;        ///< PRI: no-reuse-while-cached waits for drained requests
  bool dirty_tracking = false;       ///< brings no-missed-dirty
  bool fences = false;               ///< a wait may order later invalidations after earlier ones (VT-d FN)
  bool level_hint = false;           ///< ranged invalidations may carry a level hint (SMMUv3 TTL)
  /// First-stage entries carry U/S and records SRE; requests carry PR (VT-d first-stage
  /// paging, VTD-PRIV-1..3): supervisor maps, SRE and supervisor requests may be written.
  bool privilege = false;
};

struct Description {
  std::string profile;
  /// Every tag field of the hardware. The domain tag of an entry is the tuple of `domain_tags`
  /// packed low field first (VT-d: DID; SMMUv3: ASID then VMID), so that a filter on some of
  /// them is a value and a mask over the packed tag.
  std::vector<TagField> tags;
  std::vector<std::string> domain_tags;
  /// The tag fields that hold the requester (VT-d sid) and the PASID (SMMUv3 SSID).
  std::string device_tag = "device", pasid_tag = "pasid";
  std::vector<Cache> caches;
  std::vector<Structure> chain;  ///< outermost first
  /// Translation types a record may have (bit t: ConfigWrite::type t; bit 0: one untyped stage).
  unsigned record_types = 1;
  PageTableFormat format;
  Features features;

  /// The innermost structure: the record a walk translates through (VT-d PASID-table entry).
  const Structure * leaf_structure() const { return chain.empty() ? nullptr : &chain.back(); }
  /// The cache of the records of the structure at `depth` (nullptr: not cached).
  const Cache * record_cache(unsigned depth) const
  {
    if (depth >= chain.size()) return nullptr;
    for (const Cache & c : caches)
      if (c.holds == Holds::Record && c.structure == static_cast<int>(chain.size() - 1 - depth)) return &c;
    return nullptr;
  }
  /// The first cache holding `h` (nullptr: none).
  const Cache * cache_of(Holds h) const
  {
    for (const Cache & c : caches)
      if (c.holds == h) return &c;
    return nullptr;
  }
  const TagField * tag(const std::string & name) const
  {
    for (const TagField & t : tags)
      if (t.name == name) return &t;
    return nullptr;
  }
  /// Bit offset of domain tag field `name` in the packed domain tag (-1: not a domain tag).
  int domain_tag_offset(const std::string & name) const
  {
    unsigned off = 0;
    for (const std::string & n : domain_tags) {
      if (n == name) return static_cast<int>(off);
      const TagField * t = tag(n);
      off += t ? t->width : 0;
    }
    return -1;
  }
  /// Bits of the packed domain tag.
  unsigned domain_tag_width() const
  {
    unsigned w = 0;
    for (const std::string & n : domain_tags)
      if (const TagField * t = tag(n)) w += t->width;
    return w;
  }
};

}  // namespace nostale::hw
