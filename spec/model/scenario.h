// The semantic form of a scenario: configuration and driver steps, independent of the JSON it
// was read from and of the profile whose commands it used. Both engines (the reference
// interpreter and the SMT encoding) consume only this.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "spec/hw/description.h"
#include "spec/semantics/geometry.h"
#include "spec/semantics/pattern.h"

namespace nostale {

using u64 = std::uint64_t;

/// Translation type of a PASID-table entry (VT-d PGTT, VTD-CACHE-3): which stage's caches an
/// entry filled through it belongs to. The generic profile has a single untyped stage.
/// Nested: a first-stage table whose output addresses are translated again by the second-stage
/// table of a parent domain; the IOTLB caches the combined result.
/// Pass-through: no table at all, the output is the input address with read and write (a
/// trusted device's identity mapping); the IOTLB caches it like a 4 KiB leaf (VTD-CACHE-3).
enum Pgtt : unsigned { kPgttNone = 0, kPgttFirst = 1, kPgttSecond = 2, kPgttNested = 3, kPgttPassThrough = 4 };

/// Permission bits of a leaf entry. Without first-stage privilege (Config::privilege) a
/// permission is read and write only. With it, a translation's permission holds one pair per
/// request class: user (PR=0) read and write in bits 0-1, supervisor (PR=1) in bits 2-3
/// (VTD-PRIV-1), so that one judgement covers both classes (sem::unsafe over the judged mask).
enum Perm : unsigned {
  kPermNone = 0, kPermRead = 1, kPermWrite = 2, kPermRW = 3,
  kPermSupRead = 4, kPermSupWrite = 8, kPermSup = 12, kPermAll = 15,
  kPermWrites = kPermWrite | kPermSupWrite,  ///< a write of either class
};

enum class Op {
  Map, Unmap, FreePgtables, FreeFrame,
  ConfigWrite,  ///< a write of one configuration record (ConfigWrite)
  FreePasid, FreeDid, AssignDid,
  Invalidate, Sync, Dma, Check,
  Fence,    ///< later invalidations complete only after earlier ones (VT-d inv_wait FN=1)
  Clflush,  ///< cache lines written back: what a non-coherent walker sees (VTD-COH-1, Step::flush)
  /// Link a table page of another domain into this domain's table (PT-SHARE-1: the kernel half
  /// every x86 mm shares, pgd_alloc / sync_global_pgds; a shared intermediate table).
  ShareTable,
  Ats,      ///< the device's PCIe ATS Enable bit set or cleared (pci_enable_ats / pci_disable_ats)
  /// The root-table pointer switched (VT-d RTADDR_REG, then GCMD.SRTP and a wait for GSTS.RTPS:
  /// iommu_set_root_entry): every device's context entry becomes the new root's (VTD-ROOT-1).
  SetRoot,
};

/// What a clflush step writes back to the memory a non-coherent walker reads (Linux
/// clflush_cache_range(addr, size) when !ecap_coherent). Only the cache lines it names become
/// visible (VTD-COH-5); a line is 64 bytes, 8 page-table entries or one PASID-table entry.
struct Flush {
  enum class Kind {
    All,     ///< every write so far (the whole-memory form, {"op": "clflush"})
    Tables,  ///< the lines of the step's domain's page-table entries over [iova, iova + size):
             ///< on every level a walk of the range reads, or only `level`
    Record,  ///< the configuration record of (device, pasid) at `depth`
    Directory,  ///< VT-d scalable mode: the PASID-directory entry of (device, pasid)
  } kind = Kind::All;
  unsigned level = 0;  ///< Tables: only entries of this level (0: every level)
  unsigned depth = 0;  ///< Record: 0 the PASID-table entry, 1 the device's context entry
};

/// A write of one configuration record: the driver step that every profile's structure writes
/// decode to (attach, detach, dirty tracking, context entries; later SMMUv3 STE / CD and AMD DTE
/// writes). The record's key is the step's device (and PASID), its domain the step's domain.
struct ConfigWrite {
  /// Which structure of the chain (Config::hw), counted from the inside: 0 is the record a walk
  /// translates through (VT-d PASID-table entry, or the context entry in legacy mode); 1 is the
  /// structure that points to it (VT-d scalable-mode context entry), kept as present or not.
  /// While a depth-1 record is not present the records below it translate nothing, unless the
  /// walker uses a cached copy (VTD-SEQ-2/3).
  unsigned depth = 0;
  /// What the write sets: the whole record, or only its dirty-tracking bit (VT-d SSADE of a
  /// live PASID-table entry, VTD-SEQ-6).
  enum class Fields { Whole, Dirty } fields = Fields::Whole;
  bool present = false;
  unsigned type = kPgttNone;  ///< translation type (VT-d PGTT, VTD-CACHE-3)
  int parent = -1;            ///< nested: the nesting parent (second-stage) domain
  bool dirty = false;         ///< second-stage accessed/dirty tracking on
  /// Written whole with several stores while live, so a walk during the step may read each word
  /// old or new (VTD-COH-3; the words are the structure's layout in Config::hw). false: the
  /// present bit is cleared first / set last, and a walk sees the old or the new record.
  bool torn = false;
  /// Supervisor Request Enable (VT-d PASID entry SRE, bit 128): without it a first-stage or
  /// nested entry blocks requests with PR=1 (VTD-PRIV-2).
  bool sre = false;
  /// depth 1, present: the PASID table the context entry points to from now on (index into
  /// Config::pasid_tables; -1: the one it points to already). VTD-CTX-1.
  int table = -1;
  /// depth 1: the root table whose context entry is written (index into Config::roots; -1:
  /// the one the root-table pointer selects now). VTD-ROOT-1.
  int root = -1;
};

const char * op_name(Op op);

struct Step {
  Op op = Op::Check;
  int domain = -1;
  int device = -1;
  u64 pasid = 0;
  u64 iova = 0;      ///< map / unmap start; dma address
  u64 size = 0;      ///< map / unmap / free_frame length in bytes
  u64 page_size = 0; ///< map
  u64 phys = 0;      ///< map output / free_frame start
  unsigned perm = kPermNone; ///< map permission; dma access (kPermRead or kPermWrite)
  /// map: the leaf and the tables it creates have U/S=0 (kernel SVA mappings); dma: the request
  /// has PR=1 (a supervisor request). VTD-PRIV-1.
  bool supervisor = false;
  /// dma: the address is not canonical for the first stage (bits above the modelled width not
  /// all equal to its top bit): the request faults and translates nothing, so the step judges
  /// nothing (VTD-PRIV-3).
  bool noncanonical = false;
  bool free_tables = false;
  u64 did = 0;       ///< assign_did
  int from = -1;     ///< share_table: the domain whose table page is linked
  unsigned level = 0;  ///< share_table: the level of the linked table page
  ConfigWrite cw;    ///< config_write
  /// sync: the wait also drains page requests issued before it (VT-d inv_wait PD=1, VTD-SEQ-9).
  bool drain = false;
  bool enable = false;  ///< ats: the ATS Enable bit is set (true) or cleared
  unsigned root = 0;    ///< set_root: the root table selected from now on (Config::roots)
  /// set_root: the SRTP flow itself invalidates the context cache, PASID cache, IOTLB and
  /// paging-structure caches before it completes (VT-d ESRTPS, VTD-ROOT-3): `inv` holds them.
  bool srtp_invalidates = false;
  InvPattern inv;    ///< invalidate
  Flush flush;       ///< clflush
  std::string rule;  ///< rule id of the command's semantics (e.g. GAPI-3)
  std::string text;  ///< one-line rendering in the profile's own terms, for traces
  std::string note;  ///< the author's note (e.g. the driver function)
  std::string verb;  ///< the scenario's own op ("attach", "context"), for JSON traces
  std::string path;  ///< JSON pointer of the step in its file, for messages
};

enum class Completion { AnyOrder, InOrder };

/// PASID tables a scenario may name (Config::pasid_tables; the encoding's table terms are
/// 3 bits wide).
constexpr unsigned kMaxPasidTables = 8;

struct Device {
  std::string name;
  bool ats = false;
  bool pri = false;  ///< PCIe Page Request Interface: may issue page requests while bound
  std::optional<u64> sid = std::nullopt;  ///< requester id (bus/dev/fn) for profiles whose commands name it
  bool context = true;  ///< its context entry is present at the start (Config::context_cache)
  unsigned pasid_table = 0;  ///< the PASID table its context entry points to at the start (Config::pasid_tables)
};

struct Domain {
  std::string name;
  std::optional<u64> did;
  /// Table levels the domain's page table skips (AMD-Vi NextLevel, AMD-PT-1): no table of these
  /// levels is allocated, the pointer entry above points straight to the table below. Only
  /// where the profile's page-table format allows it (hw::PageTableFormat::level_skipping).
  std::vector<unsigned> skip_levels = {};
};

struct Config {
  Geometry geo;
  unsigned pasid_bits = 20;
  unsigned did_bits = 16;
  Completion completion = Completion::AnyOrder;
  std::vector<Device> devices;
  std::vector<Domain> domains;
  u64 pt_pool = 0x7f0000000000ULL;  ///< physical address of the page-table page allocator
  /// Further hardware capabilities a profile checks its commands against (e.g. VT-d "psi").
  std::map<std::string, u64> caps;
  /// Names of the PASID tables context entries may point to (VTD-CTX-1); index 0 is every
  /// device's first table unless it names another. Each device has its own table of each name.
  std::vector<std::string> pasid_tables = {"default"};
  /// Names of the root tables the root-table pointer may select (VTD-ROOT-1); index 0 is the
  /// one selected at the start.
  std::vector<std::string> roots = {"default"};
  /// What the hardware is (its profile's declaration, spec/hw/description.h): the one source
  /// of what the flags below say.
  hw::Description hw;
  /// The scenario uses first-stage privilege (a supervisor map, an SRE entry or a supervisor
  /// request): permissions then hold one pair per request class (Perm). Off, every permission
  /// and judgement is exactly the read/write one, at no cost.
  bool privilege = false;
  /// Some address was written in canonical (sign-extended) form: traces print upper-half IOVAs
  /// so (VTD-PRIV-3). Only printing depends on it.
  bool canonical = false;

  /// The walker reads memory coherently (VT-d ECAP.C=1). When false it sees table writes only
  /// after a clflush step (VTD-COH-1).
  bool coherent() const { return !hw.features.non_coherent_walker; }
  /// Not-present leaf translations may be cached (VT-d CM=1, VTD-SEQ-11).
  bool negative_caching() const { return negative(hw.cache_of(hw::Holds::Leaf)); }
  /// Not-present translating records may be cached, under domain id 0 (VT-d CM=1, VTD-ID-1,
  /// VTD-SEQ-1).
  bool negative_config() const { return negative(hw.record_cache(0)); }
  /// ... but under the domain tag memory's record holds when an invalidation is submitted, not
  /// 0 (VT-d scalable mode, VTD-SEQ-4; hw::Cache::negative_tag_current).
  bool negative_tag_current() const { return negative_config() && hw.record_cache(0)->negative_tag_current; }
  /// A structure above the translating records, cached per device (VT-d scalable-mode context
  /// entries, VTD-CACHE-1): a walk reads a record from memory only through the structure above
  /// in memory or a cached copy. Off: the records are reached directly.
  bool context_cache() const { return hw.record_cache(1) != nullptr; }
  /// Not-present records of the structure above may be cached too (VT-d scalable mode, CM=1).
  bool negative_context() const { return negative(hw.record_cache(1)); }
  /// What traces call the translating record and its cache (VT-d legacy mode: the context
  /// entry and the context cache).
  std::string entry_name() const
  {
    const hw::Structure * st = hw.leaf_structure();
    return st ? st->name : "PASID-table entry";
  }
  /// Whether the translating record is selected by a PASID at all (VT-d legacy mode: the
  /// context entry, per device only): where it is not, traces name no PASID.
  bool pasid_keyed() const
  {
    const hw::Structure * st = hw.leaf_structure();
    if (!st) return true;
    for (const std::string & k : st->key)
      if (k == "pasid") return true;
    return false;
  }
  std::string entry_cache_name() const
  {
    const hw::Cache * c = hw.record_cache(0);
    return c ? c->name : "PASID-cache";
  }

 private:
  static bool negative(const hw::Cache * c) { return c && c->negative; }
};

struct Expectation {
  std::string verdict;   ///< safe | violation | unknown
  std::string property;  ///< for violations
  std::string severity;  ///< for no-stale violations
  std::optional<std::size_t> step;
  std::string rule;      ///< for violations: the rule id the counterexample must name
};

/// Where a scenario imported from a recorded trace came from (checker/import/): what the trace
/// does not show and was filled in, the caveats of its source, and each step's trace line.
struct Provenance {
  std::string from;    ///< the trace file
  std::string format;  ///< linux-ftrace | qemu-vtd | iommufd-vtd
  std::vector<std::string> assumptions;
  std::vector<std::string> caveats;  ///< TRACE-C1 / C2 where they apply
  std::vector<std::size_t> lines;    ///< per step: its line in the trace (1-based); 0: the importer added it
};

struct Scenario {
  std::string file;
  std::string name;
  std::string description;
  std::string profile;
  Config config;
  std::vector<Step> steps;
  Expectation expect;
  std::optional<Provenance> imported;
};

/// Every PASID a step names: an attach, detach, bind or other record write, a dma, a free_pasid,
/// a clflush of a record, and an invalidation's PASID filter. The explorer enumerates these
/// (and one fresh PASID), the SMT engine slices by them (SLICE-1), and a readable witness
/// prefers them.
inline std::set<u64> named_pasids(const Scenario & sc)
{
  std::set<u64> out;
  for (const Step & st : sc.steps) {
    if (st.op == Op::ConfigWrite || st.op == Op::Dma || st.op == Op::FreePasid || st.op == Op::Clflush)
      out.insert(st.pasid);
    if (st.inv.pasid) out.insert(*st.inv.pasid);
  }
  return out;
}

}  // namespace nostale
