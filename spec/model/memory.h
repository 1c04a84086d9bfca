// Memory: what software writes and owns. Page tables (table pages are frames), the PASID-table
// entries (attachments), domain ids, and which frames are free. Driver steps update it
// deterministically (apply_step); hardware never writes it. Both engines read the same
// per-gap snapshots, so the driver semantics is defined exactly once, here.
#pragma once

#include <map>
#include <set>
#include <utility>
#include <vector>

#include "spec/model/scenario.h"

namespace nostale {

/// Page-table entries per 64-byte cache line (8-byte entries): the unit a clflush writes back.
constexpr unsigned kPtesPerLine = 8;
/// VT-d scalable mode: PASIDs per PASID-table page (64 entries of 64 bytes); a PASID-directory
/// entry points to the table of PASIDs pasid >> kPasidTableShift (VT-d §9.4, Linux PASID_PDE_SHIFT).
constexpr unsigned kPasidTableShift = 6;

struct Pte {
  enum Kind { None, Leaf, Table } kind = None;
  u64 frame = 0;       ///< leaf: output frame number; table: frame of the next-level table
  /// Leaf only. With first-stage privilege (Config::privilege) per request class (Perm): the
  /// user pair only if U/S=1 here and on every pointer above (fixed when the map writes it).
  unsigned perm = 0;
  /// Table: the level of the table it points to when levels are skipped (AMD-Vi NextLevel,
  /// AMD-PT-1); 0: the level below.
  unsigned next = 0;
  /// Table: its U/S bit (first-stage privilege, VTD-PRIV-1): 0 when a supervisor map created
  /// it. A user leaf below a U/S=0 pointer is not usable by user requests.
  bool user = true;
  bool operator==(const Pte &) const = default;
};

/// The level a pointer entry of level `level` with NextLevel `next` (0: none) leads to.
inline unsigned level_below(unsigned level, unsigned next) { return next ? next : level - 1; }

/// AMD-PT-1: a walk through a pointer of level `level` to a table of level `below` goes on only
/// if the address's index bits of the skipped levels (below + 1 .. level - 1) are all zero.
inline bool skipped_bits_zero(const Geometry & geo, unsigned level, unsigned below, u64 addr)
{
  for (unsigned k = below + 1; k < level; ++k)
    if (geo.index(k, addr) != 0) return false;
  return true;
}

struct TablePage {
  unsigned level = 0;                ///< entries in this page are level-`level` entries
  std::map<unsigned, Pte> entries;   ///< present entries by index
  bool operator==(const TablePage &) const = default;
};

/// A present PASID-table entry: the domain it translates through and its translation type.
struct Attachment {
  int domain = -1;
  unsigned pgtt = kPgttNone;
  int parent = -1;  ///< nested: the domain whose second-stage table translates the output
  bool ssade = false;  ///< second-stage accessed/dirty tracking (VT-d SSADE, VTD-SEQ-6)
  /// The domain id written into the entry. The entry keeps it when the driver frees or
  /// reassigns the domain's id while the entry is present: a driver bug the checker reports
  /// (no-reuse-while-cached), not bad input.
  u64 did = 0;
  bool sre = false;  ///< Supervisor Request Enable (VTD-PRIV-2)
  bool operator==(const Attachment &) const = default;
};

struct DomainState {
  u64 root = 0;                      ///< frame of the top-level table
  std::optional<u64> did;
  std::vector<u64> freelist;         ///< unlinked table pages awaiting free_pgtables (CORE-1)
};

/// Result of walking memory for one address.
struct WalkResult {
  enum Kind { None, Leaf, Pointer, Wild } kind = None;
  unsigned level = 0;  ///< level of the leaf / pointer entry; for Wild, the level of the table
                       ///< page that was not a table (its content is arbitrary)
  u64 frame = 0;       ///< leaf: output frame of the page (base, not offset)
  unsigned perm = 0;
  u64 ptr = 0;         ///< pointer: next-level table frame
  u64 bad_frame = 0;   ///< wild: the frame that does not hold a table of that level
  unsigned next = 0;   ///< pointer: its NextLevel when it skips levels (Pte::next)
};

class Memory {
 public:
  /// Initial memory: one empty root table per domain, nothing attached.
  explicit Memory(const Config & cfg);

  /// Apply one driver step (throws ScenarioError naming step.path on inconsistent input).
  void apply_step(const Config & cfg, const Step & step);

  /// Walk from table `table` (expected to hold level-`level` entries) for `addr`, stopping at
  /// the first leaf, at a not-present entry, or at a pointer entry of level `stop` (stop >= 2
  /// asks for the level-`stop` pointer; stop = 1 walks to the leaf). A pointer that skips
  /// levels leads to the table of its NextLevel, and only if the skipped index bits of `addr`
  /// are zero (else the walk ends: None at the pointer's level, AMD-PT-1).
  WalkResult walk_from(const Geometry & geo, u64 table, unsigned level, u64 addr,
                       unsigned stop) const;

  /// The PASID-table entry of (device, pasid): the domain, or -1.
  int attached(int device, u64 pasid) const;
  unsigned attached_pgtt(int device, u64 pasid) const;
  /// The domain id the present PASID-table entry holds (0 if none).
  u64 attached_did(int device, u64 pasid) const;
  bool attached_ssade(int device, u64 pasid) const;
  bool attached_sre(int device, u64 pasid) const;
  /// The table pointer of the PASID-table entry: the domain's root (first-stage root when
  /// nested); 0 for pass-through, which has none.
  u64 attached_root(int device, u64 pasid) const;
  /// Nested entries: the second-stage root of the parent domain (0 otherwise).
  u64 attached_parent_root(int device, u64 pasid) const;

  /// The view of a non-coherent walker: this memory (as of the last clflush) without the table
  /// pages that `now` no longer holds (a freed frame reads as arbitrary whatever was flushed).
  Memory walker_view(const Memory & now) const;
  /// This memory as a non-coherent walker reads it, after the clflush step `s` wrote back the
  /// lines it names from `now` (Flush; VTD-COH-5). A table page the walker had not seen (or saw
  /// at another level) starts empty when one of its lines is written back: Linux flushes a
  /// table page it allocates zeroed (pfn_to_dma_pte).
  void flush_from(const Config & cfg, const Memory & now, const Step & s);
  /// Does a walker reading this memory see every table, record and domain id of `now`?
  bool walker_sees(const Memory & now) const;
  /// Does every walk, of any device, PASID and address, read the same here as in `o`? All
  /// state but the freed frames and the table-page pool, which no walk reads (a freed table
  /// page leaves tables(); CUT-2).
  bool same_walks(const Memory & o) const;
  /// PSC-1: is every present entry of a table page of level >= l here still present, and the
  /// same, in `later`, its page still a table of that level?
  bool upper_entries_kept(const Memory & later, unsigned l) const;
  /// PSC-1: does every pointer in a table page of level > l lead to a table page of the level
  /// below it (so that no walk down to a level-l entry reads a frame that is not a table)?
  bool upper_pointers_land(unsigned l) const;

  /// The device's context entry (a depth-1 ConfigWrite; present unless cleared).
  bool context_present(int device) const { return !ctx_absent_.count(device); }
  /// The PASID table the device's context entry points to (its PASID-directory pointer,
  /// VTD-CTX-1): an index into Config::pasid_tables, 0 the device's first one. Kept while the
  /// entry is not present; attach and detach write into this table.
  unsigned context_table(int device) const
  {
    auto it = ctx_table_.find(device);
    return it == ctx_table_.end() ? 0 : it->second;
  }
  /// The PASID-table entry of (device, pasid) in the device's table `table` (nullptr: none):
  /// what a walk through a context entry pointing there reads.
  const Attachment * attachment_in(int device, unsigned table, u64 pasid) const;
  /// The table pointer and the nesting parent's root an entry holds (as attached_root and
  /// attached_parent_root).
  u64 root_of(const Attachment & a) const;
  u64 parent_root_of(const Attachment & a) const;
  /// The PASID tables of the device that its context entry does not point to now.
  struct ParkedTable {
    std::map<u64, Attachment> attach;  ///< by PASID
    std::set<u64> dir;                 ///< present PASID-directory entries (pasid >> kPasidTableShift)
    bool operator==(const ParkedTable &) const = default;
  };
  const std::map<std::pair<int, unsigned>, ParkedTable> & parked() const { return parked_; }
  /// The root table the root-table pointer selects (Config::roots; VTD-ROOT-1).
  unsigned root() const { return root_; }
  /// A context entry of a root table the pointer does not select: present, and its PASID table.
  struct ContextEntry {
    bool present = false;
    unsigned table = 0;
    bool operator==(const ContextEntry &) const = default;
  };
  /// The device's ATS Enable bit (set at the start on ATS devices): while it is clear the device
  /// neither fills nor uses its device TLB, whose entries stay (ATS-9).
  bool ats_enabled(int device) const { return !ats_off_.count(device); }

  bool is_free(u64 frame) const;
  bool any_free() const { return !freed_.empty(); }
  bool is_table(u64 frame, unsigned level) const;
  /// Table pages linked by more than one pointer entry (PT-SHARE-1): a page shared by several
  /// address spaces.
  std::set<u64> shared_tables() const;
  /// The table pages a walk from `root` for `addr` reads, top first.
  std::vector<u64> walk_path(const Geometry & geo, u64 root, u64 addr) const;

  const std::map<u64, TablePage> & tables() const { return tables_; }
  const std::vector<DomainState> & domains() const { return domains_; }
  const std::map<std::pair<int, u64>, Attachment> & attachments() const { return attach_; }
  /// Freed frame ranges [first, second), normalised.
  const std::vector<std::pair<u64, u64>> & freed() const { return freed_; }

 private:
  u64 alloc_table(const Config & cfg, unsigned level);
  void write_record(const Step & s);
  void unlink_subtree(u64 table, std::vector<u64> & out);
  void map_page(const Config & cfg, const Step & s, u64 addr, unsigned leaf_level, u64 frame);
  void share_table(const Config & cfg, const Step & s);
  /// Clears leaves of [lo, hi) under `table`; returns true when the page became empty.
  bool unmap_range(const Config & cfg, const Step & s, u64 table, unsigned level, u64 base,
                   u64 lo, u64 hi, std::vector<u64> & unlinked);
  void mark_free(u64 lo, u64 hi);
  void flush_tables(const Geometry & geo, const Memory & now, u64 table, unsigned level, u64 base, u64 lo, u64 hi,
                    unsigned only);
  void flush_line(const Memory & now, u64 table, unsigned line);
  void mark_used(u64 lo, u64 hi);
  /// Point the device's context entry at its PASID table `table`: the entries of the table it
  /// pointed to are parked, those of `table` become the device's attachments.
  void point_to(int device, unsigned table);
  /// Select root table `r`: every device's context entry becomes r's (a root never written
  /// holds none), the current root's entries are parked.
  void select_root(const Config & cfg, unsigned r);

  std::map<u64, TablePage> tables_;
  std::vector<DomainState> domains_;
  std::map<std::pair<int, u64>, Attachment> attach_;
  std::vector<std::pair<u64, u64>> freed_;
  std::set<u64> pool_used_;  ///< page-table pool slots in use (linked, unlinked or pending)
  std::set<int> ctx_absent_;  ///< devices whose context entry is not present
  /// VT-d scalable mode (Config::context_cache): present PASID-directory entries, by (device,
  /// pasid >> kPasidTableShift). A walk reaches a PASID-table entry only through its directory
  /// entry; writing a PASID-table entry writes its directory entry first, and Linux never
  /// clears one (intel_pasid_get_entry, VTD-ID-5), so only a non-coherent walker can miss it.
  std::set<std::pair<int, u64>> pasid_dir_;
  bool has_dir_ = false;
  std::set<int> ats_off_;     ///< devices whose ATS Enable bit is clear
  /// Devices whose context entry points to a PASID table other than their first (VTD-CTX-1);
  /// attach_ holds the entries of the table each context entry points to, parked_ the others.
  std::map<int, unsigned> ctx_table_;
  std::map<std::pair<int, unsigned>, ParkedTable> parked_;
  unsigned root_ = 0;
  /// Context entries of the root tables not selected, by (root, device); absent: not present.
  std::map<std::pair<unsigned, int>, ContextEntry> parked_roots_;
};

}  // namespace nostale
