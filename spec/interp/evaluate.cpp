// The judgement of a check point for one witness (DESIGN.md §2): what memory grants, which
// cached entries a lookup by the witness hits (through which routes to a PASID-table entry),
// and which properties they violate, in report order. The judgement of a translation itself is
// the kernel's (spec/semantics/judge.h), shared with the encoding.
#include <algorithm>

#include "spec/interp/cache.h"
#include "spec/semantics/judge.h"

namespace nostale {

static Translation translate_memory_from(const Config & cfg, const Memory & mem, u64 table,
                                         unsigned level, u64 addr)
{
  WalkResult r = mem.walk_from(cfg.geo, table, level, addr, 1);
  Translation t;
  if (r.kind == WalkResult::Wild) t.kind = Translation::Wild;
  if (r.kind == WalkResult::Leaf) {
    t.kind = Translation::Leaf;
    t.out = out_frame(cfg.geo, r.level, r.frame, addr);
    t.perm = r.perm;
  }
  return t;
}

/// The witness's PASID-table entry in memory now, as a lookup sees it (none without a context
/// entry, in scalable mode).
static int effective_domain(const Config & cfg, const Memory & mem, int d, u64 pasid)
{
  return !cfg.context_cache() || mem.context_present(d) ? mem.attached(d, pasid) : -1;
}

std::optional<u64> nested_gpa(const Config & cfg, const Memory & mem, int d, u64 pasid, u64 addr)
{
  if (effective_domain(cfg, mem, d, pasid) < 0 || mem.attached_pgtt(d, pasid) != kPgttNested) return std::nullopt;
  Translation s1 = translate_memory_from(cfg, mem, mem.attached_root(d, pasid), cfg.geo.levels, addr);
  return guest_physical(cfg.geo, s1, addr);
}

/// What a PASID-table entry (type, table pointer, nesting parent's root) translates `addr` to
/// in memory: identity for pass-through, the table walk, then the parent's second stage when
/// nested. Memory's own entry, a cached copy and a route through a cached context entry all
/// read it this way.
static Translation through_entry(const Config & cfg, const Memory & mem, unsigned pgtt, u64 root, u64 s2,
                                 bool sre, u64 addr)
{
  if (pgtt == kPgttPassThrough) return pass_through(cfg, addr);
  Translation t = translate_memory_from(cfg, mem, root, cfg.geo.levels, addr);
  if (pgtt == kPgttNested) t = nest(cfg, mem, s2, t, addr);
  t.perm = privileged(cfg, t.perm, pgtt, sre);  // VTD-PRIV-1/2: what each request class may use
  return t;
}

/// What a lookup that hits `e` for `addr` can use: the entry itself, or the walk it starts.
/// `s2_root`: for nested paging-structure entries, the second stage the lookup uses; `s1`: the
/// first-stage result memory gives the witness (a second-stage entry of a nested walk goes on
/// from it).
static Translation built(const Config & cfg, const Memory & mem, const Entry & e, u64 addr, u64 s2_root,
                         const Translation & s1, bool sre)
{
  Translation t;
  switch (e.kind) {
    case CacheKind::PasidCache:
      if (e.negative) return t;
      return through_entry(cfg, mem, e.pgtt, e.root, e.parent, e.sre, addr);
    case CacheKind::Psc:
      if (e.wild) { t.kind = Translation::Wild; return t; }
      // The walk it starts is used under the lookup's PASID entry: its SRE (VTD-PRIV-2).
      if (e.gpa) {
        t = nest_from(cfg, mem, e.ptr, e.level - 1, s1, addr);
        t.perm = privileged(cfg, t.perm, kPgttNested, sre);
        return t;
      }
      // The walk it starts goes on at the level its NextLevel names, and only for an address
      // whose skipped index bits are zero (AMD-PT-1).
      if (!skipped_bits_zero(cfg.geo, e.level, level_below(e.level, e.next), addr)) return t;
      t = translate_memory_from(cfg, mem, e.ptr, level_below(e.level, e.next), addr);
      if (e.pgtt == kPgttNested) t = nest(cfg, mem, s2_root, t, addr);
      t.perm = privileged(cfg, t.perm, e.pgtt, sre);
      return t;
    case CacheKind::ContextCache: return t;  // judged on its own (evaluate)
    case CacheKind::Iotlb:
    case CacheKind::DevTlb:
      if (e.wild) { t.kind = Translation::Wild; return t; }
      if (e.negative) return t;  // not present
      t.kind = Translation::Leaf;
      t.out = out_frame(cfg.geo, e.level, e.frame, addr);
      t.perm = e.perm;
      return t;
  }
  return t;
}

/// A translation in the kernel's terms (spec/semantics/judge.h).
static sem::Tr<sem::Concrete> as_tr(const Translation & t)
{
  u64 kind = t.kind == Translation::Leaf ? sem::kTrLeaf : t.kind == Translation::Wild ? sem::kTrWild : sem::kTrNone;
  return {kind, t.out, t.perm};
}

PageRequests may_request(const Config & cfg, const Memory & walk)
{
  PageRequests r;
  for (const auto & [key, att] : walk.attachments())
    if (cfg.devices.at(static_cast<std::size_t>(key.first)).pri) r.insert(key);
  return r;
}

std::vector<Violation> evaluate_reuse(const std::set<Entry> & cache, const CheckPoint & cp,
                                      const PageRequests & prq)
{
  std::vector<Violation> v;
  if (cp.freed_pasid)
    for (auto [dev, pasid] : prq)
      if (pasid == *cp.freed_pasid) {
        Violation x{"no-reuse-while-cached", "", false, Entry{}, true};
        x.entry.dev = dev;
        x.entry.pasid = pasid;
        v.push_back(x);
      }
  for (const Entry & e : cache) {
    if (e.kind == CacheKind::ContextCache) continue;  // tagged by device only
    bool hit = (cp.freed_pasid && e.pasid == *cp.freed_pasid) ||
               (cp.freed_did && e.kind != CacheKind::DevTlb && e.did == *cp.freed_did);
    if (hit) v.push_back(Violation{"no-reuse-while-cached", "", false, e, false});
  }
  return v;
}

namespace {

/// One judgement of a check point for one witness (device d, pasid, addr), in steps: what
/// memory grants, the routes a lookup may take to a PASID-table entry, the cached entries the
/// lookup hits, then each property in report order (spec/model/properties.h).
class Evaluation {
 public:
  Evaluation(const Config & cfg, const Memory & mem, const std::set<Entry> & cache, const CheckPoint & cp, int d,
             u64 pasid, u64 addr, const Memory * walk)
      : cfg_(cfg), g_(cfg.geo), mem_(mem), cache_(cache), walk_(walk), M_(cp.access), d_(d), pasid_(pasid), addr_(addr)
  {
    memory();
    routes();
    hits();
    mtr_ = as_tr(mt_);
  }

  void dma_after_free(std::vector<Violation> & v);
  void stale(std::vector<Violation> & v);
  void missed_dirty(std::vector<Violation> & v);

 private:
  /// A route a lookup by the witness may take to a PASID-table entry.
  struct Route {
    u64 did;
    unsigned pgtt;
    u64 s2;
    Translation s1;  ///< nested: the first-stage result, computed once per route
    bool sre = false;  ///< the route's PASID entry's SRE (VTD-PRIV-2)
  };

  void memory();
  void add_route(u64 did, unsigned type, u64 table, u64 s2, bool sre);
  void routes();
  void hits();
  std::optional<u64> route_gpa(const Route & r) const;
  Translation judge(const Entry & e, const Route & r) const;
  bool reaches_free(const Translation & t) const;
  bool granted(const Translation & t) const;
  Translation walker_translation() const;

  const Config & cfg_;
  const Geometry & g_;
  const Memory & mem_;
  const std::set<Entry> & cache_;
  const Memory * walk_;  ///< what a non-coherent walker reads (nullptr: it reads memory)
  const unsigned M_;
  const int d_;
  const u64 pasid_, addr_;
  sem::Concrete V_;
  // What memory grants the witness (the PASID-table entry, then the page table).
  Translation mt_;
  sem::Tr<sem::Concrete> mtr_{};
  int dom_ = -1;
  unsigned pgtt_ = kPgttNone;
  bool sre_ = false;
  u64 s2_root_ = 0;
  std::optional<u64> lookup_did_, root_;
  std::vector<Route> routes_;
  /// What a PASID table's entry in memory translates, reached through a cached context entry
  /// pointing to that table (routes): by table.
  std::map<unsigned, Translation> raw_t_;
  /// Entries a lookup by the witness hits, each with what it translates through every route.
  std::vector<std::pair<Entry, std::vector<Translation>>> hits_;
};

void Evaluation::memory()
{
  // Without its context entry the device translates nothing (scalable mode).
  dom_ = effective_domain(cfg_, mem_, d_, pasid_);
  if (dom_ < 0) return;
  pgtt_ = mem_.attached_pgtt(d_, pasid_);
  s2_root_ = mem_.attached_parent_root(d_, pasid_);
  lookup_did_ = mem_.attached_did(d_, pasid_);  // the DID the entry holds (Attachment::did)
  root_ = mem_.attached_root(d_, pasid_);
  sre_ = mem_.attached_sre(d_, pasid_);
  mt_ = through_entry(cfg_, mem_, pgtt_, *root_, s2_root_, sre_, addr_);
}

void Evaluation::add_route(u64 did, unsigned type, u64 table, u64 s2, bool sre)
{
  Translation first;
  if (type == kPgttNested) first = translate_memory_from(cfg_, mem_, table, g_.levels, addr_);
  routes_.push_back({did, type, s2, first, sre});
}

/// Memory's entry, any cached PASID entry's, and, for a context entry cleared in memory but
/// still cached, the PASID table as it is in memory.
void Evaluation::routes()
{
  if (dom_ >= 0 && lookup_did_) add_route(*lookup_did_, pgtt_, *root_, s2_root_, sre_);
  for (const Entry & e : cache_)
    if (e.kind == CacheKind::PasidCache && !e.negative && e.dev == d_ && e.pasid == pasid_)
      add_route(e.did, e.pgtt, e.root, e.parent, e.sre);
  // Through a cached context entry: the PASID table it points to, as it is in memory, when
  // memory's context entry does not lead there (cleared, or pointing to another table).
  for (const Entry & e : cache_) {
    if (e.kind != CacheKind::ContextCache || e.negative || e.dev != d_) continue;
    const Attachment * a = mem_.attachment_in(d_, e.table, pasid_);
    if (!a || !(dom_ < 0 || e.table != mem_.context_table(d_))) continue;
    u64 rroot = mem_.root_of(*a), rs2 = mem_.parent_root_of(*a);
    add_route(a->did, a->pgtt, rroot, rs2, a->sre);
    raw_t_[e.table] = through_entry(cfg_, mem_, a->pgtt, rroot, rs2, a->sre, addr_);
  }
}

/// The guest-physical address a nested route's first stage gives the witness.
std::optional<u64> Evaluation::route_gpa(const Route & r) const
{
  if (r.pgtt != kPgttNested) return std::nullopt;
  return guest_physical(g_, r.s1, addr_);
}

/// What a lookup that hits `e` through route `r` can use (route-independent kinds: r unused).
Translation Evaluation::judge(const Entry & e, const Route & r) const
{
  if (e.kind == CacheKind::ContextCache) {
    auto it = raw_t_.find(e.table);
    return e.negative || it == raw_t_.end() ? Translation{} : it->second;
  }
  return built(cfg_, mem_, e, addr_, r.s2, r.s1, r.sre);
}

/// Entries a lookup by the witness hits (judged from every device that hits them).
void Evaluation::hits()
{
  for (const Entry & e : cache_) {
    std::vector<Translation> ts;
    bool by_dev = e.kind == CacheKind::PasidCache || e.kind == CacheKind::DevTlb || e.kind == CacheKind::ContextCache;
    if (by_dev) {
      bool ok = e.dev == d_ && (e.kind == CacheKind::ContextCache || e.pasid == pasid_);
      if (e.kind == CacheKind::DevTlb)  // ATS-9: not used while the ATS Enable bit is clear
        ok = ok && e.vpn == (addr_ >> g_.shift(e.level)) && mem_.ats_enabled(d_);
      if (ok) ts.push_back(judge(e, Route{0, kPgttNone, 0, Translation{}, false}));
    } else if (pasid_hits(e.pasid, pasid_)) {
      for (const Route & r : routes_) {
        // The IOTLB is one structure tagged by domain id and PASID: a lookup may hit an entry
        // of another translation type (the PGTT an entry remembers serves invalidation,
        // VTD-CACHE-3; VTD-ID-2 keeps first-stage and second-stage domain ids apart for this
        // reason). The paging-structure caches are per stage; second-stage entries of nested
        // walks are looked up by the route's guest-physical address.
        if (r.did != e.did || (e.kind == CacheKind::Psc && r.pgtt != e.pgtt)) continue;
        std::optional<u64> key = e.gpa ? route_gpa(r) : std::optional<u64>(addr_);
        if (!key || e.vpn != (*key >> g_.shift(e.level))) continue;
        ts.push_back(judge(e, r));
      }
    }
    if (!ts.empty()) hits_.push_back({e, ts});
  }
}

// The judgement itself is the kernel's (spec/semantics/judge.h), shared with the encoding.
bool Evaluation::reaches_free(const Translation & t) const
{
  return sem::reaches_free(V_, as_tr(t), M_, t.kind == Translation::Leaf && mem_.is_free(t.out), mem_.any_free());
}

/// A pass-through device is trusted with all memory by design (VTD-ID-2: identity domains):
/// reaching a free frame through its current identity mapping, or through an entry that agrees
/// with it, is no stale translation. An entry that disagrees is judged as usual.
bool Evaluation::granted(const Translation & t) const
{
  return sem::trusted(V_, pgtt_ == kPgttPassThrough && dom_ >= 0, as_tr(t), mtr_);
}

void Evaluation::dma_after_free(std::vector<Violation> & v)
{
  if (reaches_free(mt_) && !granted(mt_)) v.push_back(Violation{"no-dma-after-free", "", true, Entry{}});
  for (const auto & [e, ts] : hits_)
    if (std::any_of(ts.begin(), ts.end(), [&](const Translation & b) { return reaches_free(b) && !granted(b); }))
      v.push_back(Violation{"no-dma-after-free", "", false, e});
}

/// no-stale, unsafe ones first, then restrictive ones.
void Evaluation::stale(std::vector<Violation> & v)
{
  std::vector<Violation> restrictive;
  for (const auto & [e, ts] : hits_) {
    if (e.kind == CacheKind::ContextCache) {
      // A cached context entry of a device whose entry memory has cleared; or a cached
      // not-present one where memory now translates (the device faults, VTD-SEQ-1).
      // Or one that points to another PASID table than memory's (VTD-CTX-2).
      if (!e.negative && (!mem_.context_present(d_) || e.table != mem_.context_table(d_)))
        v.push_back(Violation{"no-stale", "unsafe", false, e});
      bool grants = sem::is_kind(V_, mtr_.kind, sem::kTrLeaf) && sem::allows(V_, mtr_.perm, M_);
      if (e.negative && mem_.context_present(d_) && grants)
        restrictive.push_back(Violation{"no-stale", "restrictive", false, e});
      continue;
    }
    if (e.kind == CacheKind::PasidCache && !e.negative) {
      if (dom_ < 0 || e.did != *lookup_did_ || e.root != *root_ || e.pgtt != pgtt_ || e.parent != s2_root_ ||
          e.sre != sre_)
        v.push_back(Violation{"no-stale", "unsafe", false, e});
      continue;
    }
    if (mt_.kind == Translation::Wild) continue;  // memory itself is broken: no-dma-after-free
    bool unsafe = false, restr = false;
    for (const Translation & b : ts) {
      unsafe |= sem::unsafe(V_, as_tr(b), mtr_, M_);
      restr |= sem::restrictive(V_, as_tr(b), mtr_, M_);
    }
    if (unsafe) v.push_back(Violation{"no-stale", "unsafe", false, e});
    else if (restr) restrictive.push_back(Violation{"no-stale", "restrictive", false, e});
  }
  // Nothing cached, and the walk the device makes on a miss reads memory as the non-coherent
  // walker sees it: a table write not yet flushed leaves the device faulting on a valid
  // mapping (VTD-COH-4). The other way round (it grants more) a fill shows it (VTD-COH-1).
  if (walk_ && mt_.kind != Translation::Wild && sem::restrictive(V_, as_tr(walker_translation()), mtr_, M_))
    restrictive.push_back(Violation{"no-stale", "restrictive", false, Entry{}, false, true});
  for (const Violation & r : restrictive) v.push_back(r);
}

/// What a walk from the root by the witness gives, reading what the walker sees: its context
/// and PASID-table entries and the page tables as last flushed.
Translation Evaluation::walker_translation() const
{
  const Memory & w = *walk_;
  if (effective_domain(cfg_, w, d_, pasid_) < 0) return Translation{};
  return through_entry(cfg_, w, w.attached_pgtt(d_, pasid_), w.attached_root(d_, pasid_),
                       w.attached_parent_root(d_, pasid_), w.attached_sre(d_, pasid_), addr_);
}

/// Dirty tracking on a second-stage (or nested) entry: a write through an entry filled while
/// it was off sets no dirty bit, and a migration misses the page (VTD-SEQ-6).
void Evaluation::missed_dirty(std::vector<Violation> & v)
{
  bool tracked = dom_ >= 0 && mem_.attached_ssade(d_, pasid_) && (pgtt_ == kPgttSecond || pgtt_ == kPgttNested);
  if (!tracked || !(M_ & kPermWrites)) return;
  for (const auto & [e, ts] : hits_) {
    if (e.ssade || e.negative || e.kind == CacheKind::Psc || e.kind == CacheKind::ContextCache) continue;
    bool writes = e.kind == CacheKind::PasidCache || e.wild || (e.perm & kPermWrites);
    if (writes) v.push_back(Violation{"no-missed-dirty", "", false, e});
  }
}

}  // namespace

std::vector<Violation> evaluate(const Config & cfg, const Memory & mem, const std::set<Entry> & cache,
                                const CheckPoint & cp, int d, u64 pasid, u64 addr, const PageRequests & prq,
                                const Memory * walk)
{
  Evaluation ev(cfg, mem, cache, cp, d, pasid, addr, walk);
  std::vector<Violation> v;
  ev.dma_after_free(v);
  for (const Violation & r : evaluate_reuse(cache, cp, prq)) v.push_back(r);
  ev.stale(v);
  ev.missed_dirty(v);
  return v;
}

}  // namespace nostale
