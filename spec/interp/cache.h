// The reference interpreter: caches as sets of (tag, payload) entries (MOD-2), what a hardware
// walk may insert, what a completed invalidation removes, and the properties judged at a check
// point for one witness (device, PASID, address). Concrete and explicit: the second engine, and
// the judge that every SMT counterexample is replayed on.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "spec/model/timeline.h"

namespace nostale {

/// The role a cache plays, as a hardware description declares it (spec/hw/description.h):
/// records of the translating structure (PASID cache; VT-d legacy context cache), pointers per
/// level (paging-structure / walk caches), leaves (IOTLB / TLB), device-side leaves (ATC), and
/// records of the structure above (VT-d scalable-mode context cache).
enum class CacheKind { PasidCache = 0, Psc = 1, Iotlb = 2, DevTlb = 3, ContextCache = 4 };
/// The built-in name of a role (the VT-d one), for configurations without a description.
const char * cache_name(CacheKind k);
/// The cache of `cfg.hw` that plays role `k` (nullptr: none is declared).
const hw::Cache * declared_cache(const Config & cfg, CacheKind k);
/// The hardware has a cache of role `k`: one is declared (a configuration without a
/// description, as unit tests build by hand, has every role). Both engines fill only these.
bool has_cache(const Config & cfg, CacheKind k);
/// Why the engines cannot model `d` as declared (empty: they can). Each cache must carry the
/// tags the engines give its role: records of the translating structure its key and the domain
/// tag, records of the structure above the requester, pointer and leaf caches the domain tag and
/// the PASID, device caches the requester and the PASID. A cache declared with fewer tags (an
/// ATC without PASID) would be hit by lookups the engines do not make, so it is refused, never
/// modelled as something it is not.
std::string unsupported(const hw::Description & d);
/// What traces call the cache of role `k`: its declared name.
std::string cache_label(const Config & cfg, CacheKind k);

/// The PASID tag of IOMMU TLB and paging-structure entries filled through a second-stage PASID
/// entry: none (VTD-CACHE-3: PASID-tagged for first-stage and nested translation only), so
/// every PASID of the same domain id hits them.
constexpr u64 kNoPasid = ~u64{0};
/// Does an entry tagged `tag` serve a lookup for `pasid`?
inline bool pasid_hits(u64 tag, u64 pasid) { return tag == kNoPasid || tag == pasid; }

/// One cache entry. Tags: PASID cache (dev, pasid); paging-structure cache and IOTLB
/// (did, pasid, level, vpn); device TLB (dev, pasid, level, vpn); context cache (dev: a present
/// scalable-mode context entry, Config::context_cache). vpn = addr >> shift(level).
struct Entry {
  CacheKind kind = CacheKind::Iotlb;
  int dev = -1;
  u64 pasid = 0;
  u64 did = 0;
  unsigned level = 0;
  u64 vpn = 0;
  unsigned pgtt = kPgttNone;  ///< translation type of the PASID entry it was filled through
  bool wild = false;   ///< filled by a walk through a frame that holds no such table: any content
  bool negative = false;  ///< IOTLB: a cached not-present translation (CM=1)
  bool ssade = false;  ///< PASID cache, IOTLB, device TLB: filled while dirty tracking was on
  bool sre = false;    ///< PASID cache: the entry's SRE (VTD-PRIV-2)
  /// Paging-structure cache: a second-stage entry read inside a nested walk, indexed by the
  /// guest-physical address (vpn = gpa >> shift(level)) and tagged with the nested DID.
  bool gpa = false;
  /// Context cache: the PASID table the cached context entry points to (VTD-CTX-1).
  unsigned table = 0;
  u64 root = 0;        ///< PASID cache: root table frame (first-stage root when nested)
  u64 parent = 0;      ///< PASID cache, nested: second-stage root of the nesting parent
  u64 ptr = 0;         ///< paging-structure cache: next-level table frame
  /// Paging-structure cache: the level of the table `ptr` points to when the entry skips
  /// levels (AMD-Vi NextLevel, AMD-PT-1); 0: level - 1.
  unsigned next = 0;
  u64 frame = 0;       ///< IOTLB / device TLB: output page frame (base)
  unsigned perm = 0;   ///< IOTLB / device TLB
  auto operator<=>(const Entry &) const = default;
};

std::string describe(const Config & cfg, const Entry & e);

/// Does a completed invalidation with pattern `p` remove `e`? (MOD-1, GAPI-3, ATS-3)
bool matches(const Geometry & geo, const InvPattern & p, const Entry & e);
/// Completion of an invalidation: removes every entry of `cache` it matches.
void complete(const Geometry & geo, const InvPattern & p, std::set<Entry> & cache);

/// A translation: what a device access to one address would use.
struct Translation {
  enum Kind { None, Leaf, Wild } kind = None;
  u64 out = 0;         ///< output frame of the accessed page
  unsigned perm = 0;
};

/// The pass-through translation of `addr`: identity, read and write (PGTT=100b).
Translation pass_through(const Config & cfg, u64 addr);

/// VTD-PRIV-1/2: what a record of type `pgtt` with SRE `sre` lets each request class use of a
/// walk's permission (sem::privileged); `perm` itself without first-stage privilege.
unsigned privileged(const Config & cfg, unsigned perm, unsigned pgtt, bool sre);
/// "rw", "r-", ...; with first-stage privilege also which request class has it, where they differ.
std::string perm_str(const Config & cfg, unsigned perm);

/// Output frame for `addr` of a leaf at `level` whose page starts at frame `base`.
u64 out_frame(const Geometry & geo, unsigned level, u64 base, u64 addr);

/// Nested translation: the second stage of `s1` (a first-stage result for `addr`, whose output
/// is a guest-physical frame) through the table at `s2_root`. The result is the combined
/// translation: the host frame, the permissions both stages grant (VTD-CACHE-3, nested).
Translation nest(const Config & cfg, const Memory & mem, u64 s2_root, const Translation & s1, u64 addr);
/// The same, with the second-stage walk starting at `table` of level `level` (a cached
/// second-stage pointer).
Translation nest_from(const Config & cfg, const Memory & mem, u64 table, unsigned level, const Translation & s1,
                      u64 addr);
/// The guest-physical address a first-stage result for `addr` gives (nullopt: no leaf, or
/// beyond what the second stage translates).
std::optional<u64> guest_physical(const Geometry & geo, const Translation & s1, u64 addr);
/// The guest-physical address the witness's nested PASID-table entry gives `addr` in memory
/// now (nullopt: not nested, or no first-stage leaf): where its second-stage paging-structure
/// entries are looked up.
std::optional<u64> nested_gpa(const Config & cfg, const Memory & mem, int dev, u64 pasid, u64 addr);

/// Every entry a hardware walk by device `w` for (pasid, addr) may insert now, given memory and
/// the cached entries it may use (PASID cache, paging-structure caches, IOTLB for ATS).
/// `torn`: PASID-table entries memory may also show at this instant (torn_reads).
std::set<Entry> fillable_for(const Config & cfg, const Memory & mem, const std::set<Entry> & cache,
                             int w, u64 pasid, u64 addr, const std::vector<Entry> * torn = nullptr);

/// What a walker may read of the PASID-table entry of (dev, pasid) while a step rewrites it
/// non-atomically (VTD-COH-3): per word of the structure's layout (Config::hw, e.g. the 64-bit
/// chunks of the VT-d scalable-mode entry: qw0 {present, PGTT, second-stage root}, qw1 {domain
/// id}, qw2 {first-stage root}) the old or the new content; present ones only.
std::vector<Entry> torn_reads(const Config & cfg, const Memory & before, const Memory & after, int dev, u64 pasid);

/// A violated property at a check point.
struct Violation {
  std::string property;   ///< no-dma-after-free | no-reuse-while-cached | no-stale
  std::string severity;   ///< unsafe | restrictive (no-stale only)
  bool from_memory = false;  ///< the translation in memory itself (no entry)
  Entry entry;
  /// no-reuse-while-cached: a page request of (entry.dev, entry.pasid) not yet drained.
  bool page_request = false;
  /// no-stale restrictive: a walk through what a non-coherent walker reads denies an access
  /// memory grants (no entry: a table write not yet flushed, VTD-COH-4).
  bool walker_view = false;
};

/// Page requests issued and not yet drained, by (device, PASID).
using PageRequests = std::set<std::pair<int, u64>>;

/// All violations at check point `cp` for witness (d, pasid, addr), in property order.
/// `walk`: what a non-coherent walker reads at the check point (Timeline::walk_at_check), to
/// judge a walk through it against memory; nullptr for a coherent walker.
std::vector<Violation> evaluate(const Config & cfg, const Memory & mem,
                                const std::set<Entry> & cache, const CheckPoint & cp, int d,
                                u64 pasid, u64 addr, const PageRequests & prq = {},
                                const Memory * walk = nullptr);

/// Violations of no-reuse-while-cached at `cp` (independent of the witness address): cached
/// entries tagged with the freed id, and page requests for a freed PASID not yet drained.
std::vector<Violation> evaluate_reuse(const std::set<Entry> & cache, const CheckPoint & cp,
                                      const PageRequests & prq = {});

/// The page requests a PRI device may issue during gap g: while (device, PASID) is attached
/// in what the walker sees (a translation request faults, VTD-SEQ-9).
PageRequests may_request(const Config & cfg, const Memory & walk);

}  // namespace nostale
