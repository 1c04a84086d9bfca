#include "spec/model/format.h"
#include "spec/interp/cache.h"
#include "spec/semantics/match.h"
#include "spec/semantics/record.h"
#include "spec/semantics/translate.h"

#include <algorithm>

#include <cstdio>

namespace nostale {

const char * cache_name(CacheKind k)
{
  switch (k) {
    case CacheKind::PasidCache: return "PASID-cache";
    case CacheKind::Psc: return "paging-structure-cache";
    case CacheKind::Iotlb: return "IOTLB";
    case CacheKind::DevTlb: return "device-TLB";
    case CacheKind::ContextCache: return "context-cache";
  }
  return "?";
}

const hw::Cache * declared_cache(const Config & cfg, CacheKind k)
{
  switch (k) {
    case CacheKind::PasidCache: return cfg.hw.record_cache(0);
    case CacheKind::ContextCache: return cfg.hw.record_cache(1);
    case CacheKind::Psc: return cfg.hw.cache_of(hw::Holds::Pointer);
    case CacheKind::Iotlb: return cfg.hw.cache_of(hw::Holds::Leaf);
    case CacheKind::DevTlb: return cfg.hw.cache_of(hw::Holds::Device);
  }
  return nullptr;
}

bool has_cache(const Config & cfg, CacheKind k) { return cfg.hw.caches.empty() || declared_cache(cfg, k); }

std::string unsupported(const hw::Description & d)
{
  using Tags = std::set<std::string>;
  const Tags domain(d.domain_tags.begin(), d.domain_tags.end());
  auto with = [](Tags t, std::initializer_list<std::string> more) {
    t.insert(more);
    return t;
  };
  for (const hw::Cache & c : d.caches) {
    Tags want;
    switch (c.holds) {
      case hw::Holds::Record: {
        if (c.structure < 0 || static_cast<std::size_t>(c.structure) >= d.chain.size())
          return c.name + " caches records of no structure of the chain";
        const hw::Structure & st = d.chain[static_cast<std::size_t>(c.structure)];
        const bool inner = static_cast<std::size_t>(c.structure) + 1 == d.chain.size();
        if (!inner && static_cast<std::size_t>(c.structure) + 2 != d.chain.size())
          return c.name + ": the engines model at most one structure above the translating record";
        const bool by_pasid = std::find(st.key.begin(), st.key.end(), "pasid") != st.key.end();
        want = inner ? with(domain, {d.device_tag}) : Tags{d.device_tag};
        if (inner && by_pasid) want.insert(d.pasid_tag);
        break;
      }
      case hw::Holds::Pointer:
      case hw::Holds::Leaf: want = with(domain, {d.pasid_tag}); break;
      case hw::Holds::Device: want = {d.device_tag, d.pasid_tag}; break;
    }
    const Tags got(c.tags.begin(), c.tags.end());
    if (got != want) {
      std::string w, g;
      for (const std::string & t : want) w += (w.empty() ? "" : ", ") + t;
      for (const std::string & t : got) g += (g.empty() ? "" : ", ") + t;
      return c.name + " is declared with tags {" + g + "}; the engines tag its entries with {" + w + "}";
    }
  }
  return "";
}

std::string cache_label(const Config & cfg, CacheKind k)
{
  const hw::Cache * c = declared_cache(cfg, k);
  return c ? c->name : cache_name(k);
}

std::string perm_str(const Config & cfg, unsigned p)
{
  auto rw = [](unsigned q) { return std::string((q & kPermRead) ? "r" : "-") + ((q & kPermWrite) ? "w" : "-"); };
  // VTD-PRIV-1: per request class, said only where the classes differ.
  if (!cfg.privilege || (p & kPermRW) == (p >> 2)) return rw(p);
  if ((p & kPermRW) == 0) return rw(p >> 2) + " supervisor only";
  return "user " + rw(p) + ", supervisor " + rw(p >> 2);
}

static std::string size_str(u64 bytes)
{
  if (bytes >= (u64{1} << 30) && bytes % (u64{1} << 30) == 0) return std::to_string(bytes >> 30) + "G";
  if (bytes >= (u64{1} << 20) && bytes % (u64{1} << 20) == 0) return std::to_string(bytes >> 20) + "M";
  if (bytes >= 1024 && bytes % 1024 == 0) return std::to_string(bytes >> 10) + "K";
  return std::to_string(bytes);
}

static std::string pasid_str(u64 pasid)
{
  return pasid == kNoPasid ? std::string(" any PASID") : " pasid " + std::to_string(pasid);
}

std::string describe(const Config & cfg, const Entry & e)
{
  const Geometry & g = cfg.geo;
  std::string dev = (e.dev >= 0 && static_cast<std::size_t>(e.dev) < cfg.devices.size())
                        ? cfg.devices[static_cast<std::size_t>(e.dev)].name
                        : "?";
  std::string s = cache_label(cfg, e.kind);
  // Where records have no PASID (VT-d legacy mode) entries name none either.
  auto pasid_str = [&](u64 pasid) { return cfg.pasid_keyed() ? nostale::pasid_str(pasid) : std::string(); };
  const std::string rec_pasid = cfg.pasid_keyed() ? " pasid " + std::to_string(e.pasid) : std::string();
  switch (e.kind) {
    case CacheKind::ContextCache:
      return s + " [dev " + dev + "] -> " +
             (e.negative ? std::string("not present (negative entry)")
                         : cfg.pasid_tables.size() > 1 ? "PASID table " + cfg.pasid_tables.at(e.table)
                                                       : std::string("present (its PASID table)"));
    case CacheKind::PasidCache:
      if (e.negative)
        return s + " [dev " + dev + rec_pasid + "] -> not present (negative entry" +
               (cfg.negative_tag_current() ? ", named by the DID its entry holds)" : ", did 0)");
      return s + " [dev " + dev + rec_pasid + "] -> did " +
             std::to_string(e.did) +
             (e.pgtt == kPgttPassThrough ? std::string(" pass-through") : " root " + hex(e.root << g.page_shift)) +
             (cfg.privilege && e.sre ? " SRE" : "");
    case CacheKind::Psc:
      s += " [did " + std::to_string(e.did) + pasid_str(e.pasid) + " level " +
           std::to_string(e.level) + (e.gpa ? " guest-physical " + hex(e.vpn << g.shift(e.level)) : " " + iova_hex(cfg, e.vpn << g.shift(e.level))) + "/" +
           size_str(g.size(e.level)) + (e.gpa ? ", second stage of a nested walk" : "") + "] -> ";
      return s + (e.wild ? std::string("arbitrary (read from a frame that holds no table)")
                         : "table " + hex(e.ptr << g.page_shift));
    case CacheKind::Iotlb:
    case CacheKind::DevTlb:
      if (e.kind == CacheKind::Iotlb)
        s += " [did " + std::to_string(e.did);
      else
        s += " [dev " + dev;
      s += pasid_str(e.pasid) + " " + iova_hex(cfg, e.vpn << g.shift(e.level)) + "/" +
           size_str(g.size(e.level)) + "] -> ";
      if (e.negative) return s + "not present (negative entry)";
      return s + (e.wild ? std::string("arbitrary (read from a frame that holds no table)")
                         : hex(e.frame << g.page_shift) + " " + perm_str(cfg, e.perm));
  }
  return s;
}

bool matches(const Geometry & g, const InvPattern & p, const Entry & e)
{
  // The kernel decides (spec/semantics/match.h); plain values stand for the entry's tags.
  const sem::Concrete V;
  const unsigned aw = g.iova_bits();
  const u64 addr = e.vpn << g.shift(e.level);
  switch (e.kind) {
    case CacheKind::PasidCache:
      return sem::match_record(V, p, e.did, 64, static_cast<u64>(e.dev), 64, e.pasid, 64, &e.negative);
    case CacheKind::ContextCache: return sem::match_upper(V, p, static_cast<u64>(e.dev), 64);
    case CacheKind::Psc:
    case CacheKind::Iotlb: {
      sem::Tagged<sem::Concrete> t{e.did, e.pasid, e.pasid == kNoPasid, e.pgtt, e.level, addr, e.gpa};
      return sem::match_tlb(V, p, e.kind == CacheKind::Psc, g, t, 64, 64, aw, 64);
    }
    case CacheKind::DevTlb:
      return sem::match_devtlb(V, p, g, static_cast<u64>(e.dev), 64, e.pasid, 64, e.level, addr, aw);
  }
  return false;
}

void complete(const Geometry & geo, const InvPattern & p, std::set<Entry> & cache)
{
  for (auto it = cache.begin(); it != cache.end();) it = matches(geo, p, *it) ? cache.erase(it) : std::next(it);
}

u64 out_frame(const Geometry & g, unsigned level, u64 base, u64 addr)
{
  unsigned sub = g.level_bits * (level - 1);
  return base + ((addr >> g.page_shift) & ((u64{1} << sub) - 1));
}

std::optional<u64> guest_physical(const Geometry & g, const Translation & s1, u64 addr)
{
  if (s1.kind != Translation::Leaf) return std::nullopt;
  if (s1.out >= (u64{1} << (g.iova_bits() - g.page_shift))) return std::nullopt;  // beyond stage 2
  return s1.out << g.page_shift | (addr & ((u64{1} << g.page_shift) - 1));
}

Translation nest(const Config & cfg, const Memory & mem, u64 s2_root, const Translation & s1, u64 addr)
{
  return nest_from(cfg, mem, s2_root, cfg.geo.levels, s1, addr);
}

/// The kernel's translation form (spec/semantics/translate.h) and back.
static sem::Tr<sem::Concrete> to_tr(const Translation & t)
{
  const unsigned k = t.kind == Translation::Leaf ? sem::kTrLeaf : t.kind == Translation::Wild ? sem::kTrWild : sem::kTrNone;
  return {k, t.out, t.perm};
}

static Translation from_tr(const sem::Tr<sem::Concrete> & t)
{
  const Translation::Kind k = t.kind == sem::kTrLeaf ? Translation::Leaf
                              : t.kind == sem::kTrWild ? Translation::Wild
                                                       : Translation::None;
  return {k, t.out, static_cast<unsigned>(t.perm)};
}

Translation nest_from(const Config & cfg, const Memory & mem, u64 table, unsigned level, const Translation & s1,
                      u64 addr)
{
  // The second-stage walk is memory's; how the two stages combine is the kernel's.
  const Geometry & g = cfg.geo;
  std::optional<u64> gpa = guest_physical(g, s1, addr);  // none: no leaf, or beyond stage 2
  Translation s2;
  if (gpa) {
    WalkResult r = mem.walk_from(g, table, level, *gpa, 1);
    if (r.kind == WalkResult::Wild) s2.kind = Translation::Wild;
    if (r.kind == WalkResult::Leaf) s2 = {Translation::Leaf, out_frame(g, r.level, r.frame, *gpa), r.perm};
  }
  return from_tr(sem::nest(sem::Concrete{}, to_tr(s1), gpa.has_value(), to_tr(s2), 64));
}

Translation pass_through(const Config & cfg, u64 addr)
{
  const Geometry & g = cfg.geo;
  return from_tr(sem::pass_through(sem::Concrete{}, (addr & g.addr_mask()) >> g.page_shift, cfg.privilege));
}

unsigned privileged(const Config & cfg, unsigned perm, unsigned pgtt, bool sre)
{
  return cfg.privilege ? static_cast<unsigned>(sem::privileged(sem::Concrete{}, perm, pgtt, sre)) : perm;
}

namespace {

struct Walker {
  const Config & cfg;
  const Memory & mem;
  u64 pasid;
  u64 addr;
  u64 did;
  unsigned pgtt;
  std::set<Entry> & out;
  u64 s2_root = 0;  ///< nested: the parent's second-stage root
  bool ssade = false;  ///< the PASID entry's dirty tracking (recorded in leaf entries)
  bool sre = false;    ///< the PASID entry's SRE: leaf entries keep what each class may use
  /// Cached entries the walk may use: nested walks may go on from a cached second-stage
  /// pointer of their domain id instead of the parent's root.
  const std::set<Entry> * cache = nullptr;

  Entry tagged(CacheKind k, unsigned level) const
  {
    Entry e;
    e.kind = k;
    // Second-stage entries carry no PASID (VTD-CACHE-3); the device TLB always does.
    e.pasid = pgtt == kPgttSecond && k != CacheKind::DevTlb ? kNoPasid : pasid;
    e.did = did;
    e.pgtt = pgtt;
    e.level = level;
    e.vpn = addr >> cfg.geo.shift(level);
    e.ssade = k == CacheKind::Iotlb && ssade;
    return e;
  }

  /// Arbitrary content from a table page of level `level` on: any pointer below, any leaf.
  void wild(unsigned level, std::vector<Entry> & leaves)
  {
    for (unsigned l = 2; l <= level; ++l) {
      Entry e = tagged(CacheKind::Psc, l);
      e.wild = true;
      out.insert(e);
    }
    // Nested entries are cached combined, as 4 KiB (see walk).
    unsigned top = pgtt == kPgttNested ? 1 : std::min(level, cfg.geo.max_leaf_level());
    for (unsigned l = 1; l <= top; ++l) {
      Entry e = tagged(CacheKind::Iotlb, l);
      e.wild = true;
      out.insert(e);
      leaves.push_back(e);
    }
  }

  /// Nested: the second-stage walk of `addr` taken as a guest-physical address, from the
  /// parent's root in memory, inserting every second-stage pointer it reads (VTD-CACHE-4,
  /// tagged with the nested DID). Any guest-physical address a first stage may produce is
  /// walked (the explorer enumerates them all; the encoding picks the witness's).
  void s2_walk()
  {
    u64 table = s2_root;
    for (unsigned level = cfg.geo.levels; level >= 2; --level) {
      WalkResult r = mem.walk_from(cfg.geo, table, level, addr, level);
      if (r.kind == WalkResult::Wild) {
        for (unsigned l = 2; l <= level; ++l) {
          Entry e = tagged(CacheKind::Psc, l);
          e.gpa = true;
          e.pasid = kNoPasid;
          e.wild = true;
          out.insert(e);
        }
        return;
      }
      if (r.kind != WalkResult::Pointer) return;
      Entry e = tagged(CacheKind::Psc, level);
      e.gpa = true;
      e.pasid = kNoPasid;  // conservatively untagged: no PASID-based flush names it
      e.ptr = r.ptr;
      out.insert(e);
      table = r.ptr;
    }
  }

  /// Pass-through: no walk, the identity leaf (VTD-CACHE-3, PGTT=100b).
  void pass_through(std::vector<Entry> & leaves)
  {
    Entry e = tagged(CacheKind::Iotlb, 1);
    Translation t = nostale::pass_through(cfg, addr);
    e.frame = t.out;
    e.perm = t.perm;
    out.insert(e);
    leaves.push_back(e);
  }

  /// A nested walk's first-stage leaf: the second stage goes on from the parent's root, or
  /// from a cached second-stage pointer covering the guest-physical address. The combined
  /// translation is cached as 4 KiB: the size both stages agree on at least, and the hardest
  /// to invalidate, so it stands for every size.
  void nested_leaf(unsigned level, const WalkResult & r, std::vector<Entry> & leaves)
  {
    Translation s1{Translation::Leaf, out_frame(cfg.geo, level, r.frame, addr), r.perm};
    std::vector<Translation> results{nest(cfg, mem, s2_root, s1, addr)};
    std::optional<u64> gpa = guest_physical(cfg.geo, s1, addr);
    if (cache && gpa)
      for (const Entry & p : *cache)
        if (p.kind == CacheKind::Psc && p.gpa && p.did == did && pasid_hits(p.pasid, pasid) &&
            p.vpn == (*gpa >> cfg.geo.shift(p.level)))
          results.push_back(p.wild ? Translation{Translation::Wild, 0, 0}
                                   : nest_from(cfg, mem, p.ptr, p.level - 1, s1, addr));
    for (const Translation & t : results) {
      if (t.kind == Translation::None) continue;
      Entry e = tagged(CacheKind::Iotlb, 1);
      e.wild = t.kind == Translation::Wild;
      if (!e.wild) {
        e.frame = t.out;
        e.perm = privileged(cfg, t.perm, pgtt, sre);
      }
      out.insert(e);
      leaves.push_back(e);
    }
  }

  /// A walk that ends with no translation. CM=1: the not-present result itself may be cached
  /// (as a 4 KiB entry: the smallest is the hardest to invalidate, so it stands for every
  /// size). Only for second-stage (and untyped) walks: first-stage maps need no flush under
  /// CM=1 (VTD-SEQ-11).
  void not_present()
  {
    if (cfg.negative_caching() && (pgtt == kPgttNone || pgtt == kPgttSecond)) {
      Entry e = tagged(CacheKind::Iotlb, 1);
      e.negative = true;
      out.insert(e);
    }
  }

  /// Go on below a (cached or read) pointer of level `level` to `ptr`, a table of level `below`:
  /// only if the skipped index bits of the address are zero (AMD-PT-1).
  void walk_below(u64 ptr, unsigned level, unsigned below, std::vector<Entry> & leaves)
  {
    if (skipped_bits_zero(cfg.geo, level, below, addr))
      walk(ptr, below, leaves);
    else
      not_present();
  }

  /// Walk from table `table` of level `level`, inserting every entry the walk reads.
  void walk(u64 table, unsigned level, std::vector<Entry> & leaves)
  {
    for (;;) {
      WalkResult r = mem.walk_from(cfg.geo, table, level, addr, level);
      if (r.kind == WalkResult::Wild) return wild(level, leaves);
      if (r.kind == WalkResult::None) return not_present();
      if (r.kind == WalkResult::Leaf) {
        if (pgtt == kPgttNested) return nested_leaf(level, r, leaves);
        Entry e = tagged(CacheKind::Iotlb, level);
        e.frame = r.frame;
        e.perm = privileged(cfg, r.perm, pgtt, sre);
        out.insert(e);
        leaves.push_back(e);
        return;
      }
      // Tagged with the level of the entry read, whatever level its table has.
      Entry e = tagged(CacheKind::Psc, level);
      e.ptr = r.ptr;
      e.next = r.next;
      out.insert(e);
      const unsigned below = level_below(level, r.next);
      if (!skipped_bits_zero(cfg.geo, level, below, addr)) return not_present();
      table = r.ptr;
      level = below;
    }
  }
};

}  // namespace

std::vector<Entry> torn_reads(const Config & cfg, const Memory & before, const Memory & after, int dev, u64 pasid)
{
  // The record each memory holds, as hardware stores it (spec/semantics/record.h), so that the
  // structure's word layout decides which fields a torn read takes old or new together.
  sem::Concrete V;
  auto read = [&](const Memory & m) {
    sem::Entry<sem::Concrete> e{false, 0, 0, kPgttNone, 0, false, false};
    int d = m.attached(dev, pasid);
    if (d >= 0)
      e = {true, m.attached_did(dev, pasid), m.attached_root(dev, pasid),
           m.attached_pgtt(dev, pasid), m.attached_parent_root(dev, pasid), m.attached_ssade(dev, pasid),
           m.attached_sre(dev, pasid)};
    return sem::store(V, e, 64);
  };
  const sem::Record<sem::Concrete> v[2] = {read(before), read(after)};
  const hw::Structure * s = cfg.hw.leaf_structure();
  const std::size_t words = s ? s->words.size() : 0;
  std::set<Entry> out;
  for (u64 choice = 0; choice < (u64{1} << words); ++choice) {
    std::vector<bool> take_new(words);
    for (std::size_t w = 0; w < words; ++w) take_new[w] = (choice >> w) & 1;
    sem::Entry<sem::Concrete> m = sem::load(V, sem::torn_mix(V, *s, v[0], v[1], take_new), 64);
    if (!m.ok) continue;  // a walker that reads P=0 stops there
    Entry e;
    e.kind = CacheKind::PasidCache;
    e.dev = dev;
    e.pasid = pasid;
    e.pgtt = static_cast<unsigned>(m.type);
    e.did = m.did;
    e.root = m.root;
    if (e.pgtt == kPgttNested) e.parent = m.s2;
    e.ssade = m.dirty;
    e.sre = m.sre;
    out.insert(e);
  }
  return {out.begin(), out.end()};
}

/// The PASID-table entries a walk by device `w` for `pasid` may resolve through now: memory's
/// (then cacheable, into `out`), cached copies, and torn reads. Scalable mode: the PASID table is
/// reached through the context entry, in memory (then cacheable) or cached (VTD-CACHE-1); cached
/// PASID entries are usable either way.
static std::vector<Entry> resolutions_for(const Config & cfg, const Memory & mem, const std::set<Entry> & cache,
                                          int w, u64 pasid, const std::vector<Entry> * torn, std::set<Entry> & out)
{
  std::vector<Entry> resolutions;
  // The PASID tables the walk may reach: the one memory's context entry points to, and those
  // cached context entries point to (VTD-CTX-1). Without context entries: the device's table.
  bool reach[kMaxPasidTables] = {};  // a fixed array: this is on the explorer's hot path
  const unsigned now = mem.context_table(w);
  if (cfg.context_cache()) {
    Entry cc;
    cc.kind = CacheKind::ContextCache;
    cc.dev = w;
    if (mem.context_present(w)) reach[now] = true;
    for (const Entry & e : cache)
      if (e.kind == CacheKind::ContextCache && !e.negative && e.dev == w) reach[e.table] = true;
    cc.negative = !mem.context_present(w);  // CM=1: a not-present entry may be cached too
    if (!cc.negative) cc.table = now;  // a not-present entry points nowhere
    if (!cc.negative || cfg.negative_context()) out.insert(cc);
  } else {
    reach[now] = true;
  }
  // Each PASID table the walk reaches (memory's, and any a cached context entry still points
  // to): its entry for `pasid`, or (CM=1) a not-present one, cached under domain id 0 (VTD-ID-1).
  for (unsigned t = 0; t < kMaxPasidTables; ++t) {
    if (!reach[t]) continue;
    Entry pc;
    pc.kind = CacheKind::PasidCache;
    pc.dev = w;
    pc.pasid = pasid;
    if (const Attachment * a = mem.attachment_in(w, t, pasid)) {
      // Every field of the entry, from one place (a field copied by hand is one forgotten).
      pc.did = a->did;
      pc.root = mem.root_of(*a);
      pc.pgtt = a->pgtt;
      pc.parent = mem.parent_root_of(*a);
      pc.ssade = a->ssade;
      pc.sre = a->sre;
      resolutions.push_back(pc);
      out.insert(pc);
    } else if (cfg.negative_config()) {
      pc.negative = true;
      out.insert(pc);
    }
  }
  const bool table = reach[now];
  for (const Entry & e : cache)
    if (e.kind == CacheKind::PasidCache && !e.negative && e.dev == w && e.pasid == pasid) resolutions.push_back(e);
  if (torn && table)
    for (const Entry & e : *torn)
      if (e.dev == w && e.pasid == pasid) {
        resolutions.push_back(e);
        out.insert(e);
      }
  return resolutions;
}

std::set<Entry> fillable_for(const Config & cfg, const Memory & mem, const std::set<Entry> & cache,
                             int w, u64 pasid, u64 addr, const std::vector<Entry> * torn)
{
  const Geometry & g = cfg.geo;
  std::set<Entry> out;
  std::vector<Entry> leaves;
  for (const Entry & r : resolutions_for(cfg, mem, cache, w, pasid, torn, out)) {
    const u64 did = r.did;
    Walker wk{cfg, mem, pasid, addr, did, r.pgtt, out, r.parent, r.ssade, r.sre, &cache};
    if (r.pgtt == kPgttPassThrough)
      wk.pass_through(leaves);
    else
      wk.walk(r.root, g.levels, leaves);
    if (r.pgtt == kPgttNested) wk.s2_walk();
    for (const Entry & e : cache) {
      if (e.kind != CacheKind::Psc || e.gpa || e.did != did || !pasid_hits(e.pasid, pasid) || e.pgtt != r.pgtt)
        continue;
      if (e.vpn != (addr >> g.shift(e.level))) continue;
      if (e.wild)
        wk.wild(e.level - 1, leaves);
      else
        wk.walk_below(e.ptr, e.level, level_below(e.level, e.next), leaves);
    }
    // ATS translation requests are answered from the IOTLB too (ATS-7).
    for (const Entry & e : cache)
      if (e.kind == CacheKind::Iotlb && !e.negative && e.did == did && pasid_hits(e.pasid, pasid) &&
          e.vpn == (addr >> g.shift(e.level)))
        leaves.push_back(e);
  }
  if (cfg.devices.at(static_cast<std::size_t>(w)).ats && mem.ats_enabled(w)) {  // ATS-9: no fills while disabled
    for (Entry e : leaves) {
      e.kind = CacheKind::DevTlb;
      e.dev = w;
      e.pasid = pasid;  // the ATC is per PASID
      e.did = 0;
      e.pgtt = kPgttNone;  // the device TLB knows nothing of stages
      out.insert(e);
    }
  }
  // Only the caches the hardware declares hold anything (spec/hw/description.h). Most
  // descriptions declare every role, and this runs on the explorer's hot path: look once.
  bool every_role = true;
  for (CacheKind k : {CacheKind::PasidCache, CacheKind::Psc, CacheKind::Iotlb, CacheKind::DevTlb, CacheKind::ContextCache})
    every_role &= has_cache(cfg, k);
  if (!every_role)
    for (auto it = out.begin(); it != out.end();) it = has_cache(cfg, it->kind) ? std::next(it) : out.erase(it);
  return out;
}

}  // namespace nostale
