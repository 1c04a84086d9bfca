#include "spec/smt/encoding.h"

#include <algorithm>

#include "spec/model/errors.h"
#include "spec/model/format.h"

namespace nostale::smt {

namespace {

constexpr unsigned kDevW = 8;   // device index
constexpr unsigned kLvlW = 3;   // page-table level
constexpr unsigned kPermW = 2;
enum : unsigned { kNone = 0, kLeaf = 1, kPtr = 2, kWild = 3 };

/// A walk result: what the walk ended on (kind), at which level, and the entry's payload.
struct Res {
  z3::expr kind, level, frame, perm, ptr;
};

Res ite(const z3::expr & c, const Res & a, const Res & b)
{
  return Res{z3::ite(c, a.kind, b.kind), z3::ite(c, a.level, b.level),
             z3::ite(c, a.frame, b.frame), z3::ite(c, a.perm, b.perm), z3::ite(c, a.ptr, b.ptr)};
}

/// Bits to hold values 0..n-1 (at least 1).
unsigned bits_for(std::size_t n)
{
  unsigned b = 1;
  while ((std::size_t{1} << b) < n) ++b;
  return b;
}

struct Time {
  z3::expr g, pos;
};

z3::expr lt(const Time & a, const Time & b)
{
  return z3::ult(a.g, b.g) || (a.g == b.g && z3::ult(a.pos, b.pos));
}
z3::expr le(const Time & a, const Time & b)
{
  return z3::ult(a.g, b.g) || (a.g == b.g && z3::ule(a.pos, b.pos));
}

/// Resolution of a PASID-table entry.
struct Attach {
  z3::expr ok, did, root, pgtt;
  z3::expr s2;     // nested: the parent's second-stage root
  z3::expr ssade;  // second-stage dirty tracking on
};
constexpr unsigned kPgttW = 3;

}  // namespace

/// One tracked cache entry and the fill that inserted it (see the header comment).
struct Instance {
  CacheKind kind;
  unsigned level;            // PSC level (fixed); 0 otherwise
  std::string name;
  z3::expr active;
  Time t;                    // when it was filled
  z3::expr w;                // walker device (PASID cache, device TLB: also the tag)
  z3::expr pc_use;           // the walk used a cached PASID entry ...
  Time pc_t;                 // ... filled at pc_t
  z3::expr start;            // 0: from the root; l: from the cached level-l PSC entry
  z3::expr from_tlb;         // device TLB: filled by ATS from the IOTLB instance
  z3::expr did, root;        // the walk's PASID-table entry (domain id = the entry's tag)
  z3::expr pgtt;             // ... and its translation type (stage tag)
  z3::expr s2;               // ... and, nested, the parent's second-stage root
  z3::expr ssade;            // ... and whether it tracked dirty bits (leaf entries record it)
  z3::expr wild, lvl, ptr, frame, perm;  // payload
  z3::expr neg;              // IOTLB: a cached not-present result (CM=1)
  z3::expr torn;             // its PASID-table entry was read torn (VTD-COH-3)
  z3::expr ctx_use;          // the PASID table was reached through a cached context entry ...
  Time ctx_t;                // ... filled at ctx_t (Config::context_cache)
  bool gpa = false;          // PSC: a second-stage entry of a nested walk, for the GPA gq
  std::optional<z3::expr> s2start = std::nullopt;  // nested fills: 0 root, l: cached npsc level l
  std::optional<z3::expr> walk_pasid = std::nullopt;  // the PASID of the walk, when not the witness's (below)
};

struct Encoding::Impl {
  z3::context & c;
  const Scenario & sc;
  const Config & cfg;
  const Geometry & geo;
  const Timeline & tl;
  std::size_t ci;
  const CheckPoint & cp;
  std::size_t s;
  unsigned AW, FW, PW, IW;
  unsigned GW, PSW;  // widths of gap indexes and of positions inside a gap (just enough)
  std::string pfx;
  z3::expr wd, wp, wa;
  z3::expr gq;  ///< the guest-physical address the second-stage entries of nested walks cover
  z3::expr_vector cons;

  struct MemTerms {
    const Memory * mem;
    std::map<std::tuple<u64, unsigned, unsigned, unsigned>, Res> memo;  // table, level, stop, address
  };
  struct Epoch {
    std::size_t last_gap;
    MemTerms terms;
  };
  std::vector<Epoch> epochs;
  MemTerms check_mem;

  struct Inv {
    std::size_t index;
    const InvPattern * pat;
    bool forced;  // a sync before the check point forces its completion
    z3::expr comp;
    Time c;
  };
  std::vector<Inv> invs;

  std::map<unsigned, Instance> psc;  // by level
  std::map<unsigned, Instance> npsc;  // second-stage entries of nested walks, by level
  std::optional<Instance> tlb, dtlb, pct;
  std::optional<Instance> cct;  // a context-cache entry as a target (Config::context_cache)
  /// A page request of (dev, witness PASID) issued at t and not drained (free_pasid only).
  struct PageRequest {
    z3::expr on, dev;
    Time t;
  };
  std::optional<PageRequest> prq;
  Time T;
  /// What the configuration entry is called in traces (VT-d legacy mode: the context entry).
  std::string entry_word = cfg.entry_name;
  /// Second-stage entries (no PASID tag) may come from walks for other PASIDs: only if an
  /// entry is second stage.
  bool ss_on = std::any_of(sc.steps.begin(), sc.steps.end(),
                           [](const Step & st) { return st.op == Op::Attach && st.pgtt == kPgttSecond; });
  /// Second-stage entries of nested walks exist only if an entry is nested.
  bool nested_on = std::any_of(sc.steps.begin(), sc.steps.end(),
                               [](const Step & st) { return st.op == Op::Attach && st.pgtt == kPgttNested; });
  /// Context entries matter only if a step changes one: otherwise every one is present
  /// throughout, and gating walks on them (and caching them) changes nothing.
  bool ctx_on = cfg.context_cache &&
                (std::any_of(sc.steps.begin(), sc.steps.end(), [](const Step & st) { return st.op == Op::Context; }) ||
                 std::any_of(cfg.devices.begin(), cfg.devices.end(), [](const Device & d) { return !d.context; }));

  Impl(z3::context & ctx, const Scenario & scen, const Timeline & timeline, std::size_t check)
      : c(ctx), sc(scen), cfg(scen.config), geo(scen.config.geo), tl(timeline), ci(check),
        cp(timeline.checks.at(check)), s(cp.step), AW(geo.iova_bits()), FW(64 - geo.page_shift),
        PW(cfg.pasid_bits), IW(cfg.did_bits), GW(bits_for(tl.n + 2)),
        PSW(bits_for(2 * (tl.invs.size() + 2 * geo.levels + 8))), pfx("c" + std::to_string(check) + "_"),
        wd(c.bv_const((pfx + "dev").c_str(), kDevW)), wp(c.bv_const((pfx + "pasid").c_str(), PW)),
        wa(c.bv_const((pfx + "addr").c_str(), AW)), gq(c.bv_const((pfx + "gpa").c_str(), AW)), cons(c), check_mem{&tl.mem_at_check(cp), {}},
        T{c.bv_val(static_cast<uint64_t>(s), GW), c.bv_val(static_cast<uint64_t>((1u << PSW) - 1), PSW)}
  {
    build_epochs();
    build_invs();
    build_instances();
    if (cp.freed_pasid) build_page_request();
  }

  z3::expr bv(u64 v, unsigned w) { return c.bv_val(static_cast<uint64_t>(v), w); }
  z3::expr var(const std::string & n, unsigned w) { return c.bv_const((pfx + n).c_str(), w); }
  z3::expr flag(const std::string & n) { return c.bool_const((pfx + n).c_str()); }

  Time new_time(const std::string & n)
  {
    Time t{var(n + "_g", GW), var(n + "_pos", PSW)};
    cons.push_back(z3::ult(t.pos, bv((1u << PSW) - 1, PSW)));
    return t;
  }

  // ---- memory as terms over the witness address ----------------------------------------

  Res mk(unsigned kind, z3::expr level, z3::expr frame, z3::expr perm, z3::expr ptr)
  {
    return Res{bv(kind, 2), level, frame, perm, ptr};
  }
  Res none(unsigned l) { return mk(kNone, bv(l, kLvlW), bv(0, FW), bv(0, kPermW), bv(0, FW)); }
  Res wild(unsigned l) { return mk(kWild, bv(l, kLvlW), bv(0, FW), bv(0, kPermW), bv(0, FW)); }

  z3::expr index(unsigned l, const z3::expr & addr)
  {
    unsigned lo = geo.shift(l);
    return addr.extract(lo + geo.level_bits - 1, lo);
  }

  /// Walk from the concrete table `t` of level `l` to a leaf, or to the pointer at `stop`, for
  /// the address `addr` (the witness, or a guest-physical address in a nested second stage).
  Res walk_concrete(MemTerms & m, u64 t, unsigned l, unsigned stop, const z3::expr & addr)
  {
    auto key = std::make_tuple(t, l, stop, addr.id());
    auto hit = m.memo.find(key);
    if (hit != m.memo.end()) return hit->second;
    Res acc = none(l);
    auto it = m.mem->tables().find(t);
    if (it == m.mem->tables().end() || it->second.level != l) {
      acc = wild(l);
    } else {
      const auto & ents = it->second.entries;
      for (auto e = ents.begin(); e != ents.end();) {
        const unsigned idx = e->first;
        const Pte & pte = e->second;
        if (pte.kind == Pte::Leaf) {
          // A run of leaves mapping consecutive frames with one permission is one term
          // (frame = first + (index - idx)): a 2 MiB buffer of 4 KiB pages stays small.
          auto last = e;
          for (auto n = std::next(e); n != ents.end() && n->second.kind == Pte::Leaf &&
                                      n->first == last->first + 1 && n->second.perm == pte.perm &&
                                      n->second.frame == last->second.frame + 1;
               ++n)
            last = n;
          z3::expr i = index(l, addr);
          if (last == e) {
            acc = ite(i == bv(idx, geo.level_bits),
                      mk(kLeaf, bv(l, kLvlW), bv(pte.frame, FW), bv(pte.perm, kPermW), bv(0, FW)), acc);
          } else {
            z3::expr off = z3::zext(i - bv(idx, geo.level_bits), FW - geo.level_bits);
            z3::expr in = z3::uge(i, bv(idx, geo.level_bits)) && z3::ule(i, bv(last->first, geo.level_bits));
            acc = ite(in, mk(kLeaf, bv(l, kLvlW), bv(pte.frame, FW) + off, bv(pte.perm, kPermW), bv(0, FW)), acc);
          }
          e = std::next(last);
          continue;
        }
        Res r = l == stop ? mk(kPtr, bv(l, kLvlW), bv(0, FW), bv(0, kPermW), bv(pte.frame, FW))
                          : walk_concrete(m, pte.frame, l - 1, stop, addr);
        acc = ite(index(l, addr) == bv(idx, geo.level_bits), r, acc);
        ++e;
      }
    }
    m.memo.emplace(key, acc);
    return acc;
  }

  /// Walk from a symbolic table frame X: anything but a level-`l` table reads as arbitrary.
  Res walk_sym(MemTerms & m, const z3::expr & X, unsigned l, unsigned stop) { return walk_sym(m, X, l, stop, wa); }
  Res walk_sym(MemTerms & m, const z3::expr & X, unsigned l, unsigned stop, const z3::expr & addr)
  {
    Res acc = wild(l);
    for (const auto & [frame, page] : m.mem->tables())
      if (page.level == l) acc = ite(X == bv(frame, FW), walk_concrete(m, frame, l, stop, addr), acc);
    return acc;
  }

  /// The PASID-table entry of (device w, the witness PASID) in memory m.
  Attach attach_at(const Memory & m, const z3::expr & w) { return attach_at(m, w, wp); }
  Attach attach_at(const Memory & m, const z3::expr & w, const z3::expr & pasid)
  {
    Attach a{c.bool_val(false), bv(0, IW), bv(0, FW), bv(0, kPgttW), bv(0, FW), c.bool_val(false)};
    for (const auto & [key, att] : m.attachments()) {
      const DomainState & ds = m.domains().at(static_cast<std::size_t>(att.domain));
      NOSTALE_CHECK(ds.did.has_value(), "attached domain without a domain id");
      z3::expr cond = w == bv(static_cast<u64>(key.first), kDevW) && pasid == bv(key.second, PW);
      u64 s2 = m.attached_parent_root(key.first, key.second);
      a = Attach{cond || a.ok, z3::ite(cond, bv(*ds.did, IW), a.did),
                 z3::ite(cond, bv(m.attached_root(key.first, key.second), FW), a.root), z3::ite(cond, bv(att.pgtt, kPgttW), a.pgtt),
                 z3::ite(cond, bv(s2, FW), a.s2), z3::ite(cond, c.bool_val(att.ssade), a.ssade)};
    }
    return a;
  }

  z3::expr is_free(const Memory & m, const z3::expr & f)
  {
    z3::expr r = c.bool_val(false);
    for (const auto & [lo, hi] : m.freed()) r = r || (z3::uge(f, bv(lo, FW)) && z3::ult(f, bv(hi, FW)));
    return r;
  }

  /// Fills read what the walker sees (Timeline::walk), grouped where it does not change.
  void build_epochs()
  {
    for (std::size_t g = 0; g <= s; ++g) {
      if (epochs.empty() || tl.walk_version[g] != tl.walk_version[g - 1])
        epochs.push_back(Epoch{g, MemTerms{&tl.walk[g], {}}});
      else
        epochs.back().last_gap = g;
    }
  }

  static bool same(const Res & a, const Res & b)
  {
    return a.kind.id() == b.kind.id() && a.level.id() == b.level.id() && a.frame.id() == b.frame.id() &&
           a.perm.id() == b.perm.id() && a.ptr.id() == b.ptr.id();
  }
  static bool same(const z3::expr & a, const z3::expr & b) { return a.id() == b.id(); }
  static bool same(const Attach & a, const Attach & b)
  {
    return a.ok.id() == b.ok.id() && a.did.id() == b.did.id() && a.root.id() == b.root.id() &&
           a.pgtt.id() == b.pgtt.id() && a.s2.id() == b.s2.id() && a.ssade.id() == b.ssade.id();
  }

  /// The term `f` builds from memory, at the symbolic gap g. Epochs whose terms are identical
  /// (Z3 shares equal terms) are merged, so memory changes elsewhere cost nothing here.
  template <class F>
  auto at_gap(const z3::expr & g, F f)
  {
    auto acc = f(epochs.back().terms);
    auto cur = acc;
    for (std::size_t i = epochs.size() - 1; i-- > 0;) {
      auto t = f(epochs[i].terms);
      if (same(t, cur)) continue;
      acc = ite(z3::ule(g, bv(epochs[i].last_gap, GW)), t, acc);
      cur = t;
    }
    return acc;
  }
  Attach ite(const z3::expr & cnd, const Attach & a, const Attach & b)
  {
    return Attach{z3::ite(cnd, a.ok, b.ok), z3::ite(cnd, a.did, b.did), z3::ite(cnd, a.root, b.root),
                  z3::ite(cnd, a.pgtt, b.pgtt), z3::ite(cnd, a.s2, b.s2), z3::ite(cnd, a.ssade, b.ssade)};
  }
  static Res ite(const z3::expr & cnd, const Res & a, const Res & b) { return smt::ite(cnd, a, b); }
  static z3::expr ite(const z3::expr & cnd, const z3::expr & a, const z3::expr & b) { return z3::ite(cnd, a, b); }

  // ---- invalidations ------------------------------------------------------------------

  void build_invs()
  {
    for (std::size_t j = 0; j < tl.invs.size(); ++j) {
      const Invalidation & inv = tl.invs[j];
      if (inv.step >= s) break;
      std::string n = "inv" + std::to_string(j);
      Time cj = new_time(n);
      cons.push_back(cj.pos != bv(0, PSW));  // position 0 of a gap: the instant of the step's writes
      z3::expr comp = flag(n + "_done");
      bool forced = inv.sync && *inv.sync <= s;
      std::size_t last = inv.sync ? *inv.sync : tl.n;
      if (forced) cons.push_back(comp);
      cons.push_back(z3::implies(comp, z3::uge(cj.g, bv(inv.step + 1, GW)) &&
                                           z3::ule(cj.g, bv(last, GW))));
      // In-order completion, and fences: an invalidation completes after those ordered before.
      for (const Inv & i : invs)
        if (ordered_before(cfg, tl.invs[i.index], inv))
          cons.push_back(z3::implies(comp, i.comp && le(i.c, cj)));
      invs.push_back(Inv{j, &inv.pat, forced, comp, cj});
    }
  }

  z3::expr filters(const InvPattern & p, const z3::expr & did) { return filters(p, did, wp); }
  /// `tag`: the entry's PASID tag (the witness's, or that of the walk that filled it).
  z3::expr filters(const InvPattern & p, const z3::expr & did, const z3::expr & tag)
  {
    z3::expr r = c.bool_val(true);
    if (p.pasid) r = r && tag == bv(*p.pasid, PW);
    if (p.did) r = r && did == bv(*p.did, IW);
    return r;
  }

  /// The entry of level `lvl` translating the witness overlaps the invalidated range.
  z3::expr overlap(const InvPattern & p, const z3::expr & lvl)
  {
    if (!p.ranged) return c.bool_val(true);
    // An aligned region of 2^s bytes around the witness overlaps [A, E) iff its index
    // (addr >> s) lies in [A >> s, (E - 1) >> s]: compare only the bits above s.
    z3::expr r = c.bool_val(false);
    for (unsigned l = 1; l <= geo.levels; ++l) {
      unsigned sh = geo.shift(l);
      if (sh >= AW) continue;
      z3::expr idx = wa.extract(AW - 1, sh);
      z3::expr in = z3::uge(idx, bv(p.addr >> sh, AW - sh)) &&
                    z3::ule(idx, bv((p.addr + p.size - 1) >> sh, AW - sh));
      r = z3::ite(lvl == bv(l, kLvlW), in, r);
    }
    return r;
  }

  z3::expr match_pc(const InvPattern & p, const z3::expr & did, const z3::expr & w, const z3::expr & pasid)
  {
    if (!p.pasid_cache) return c.bool_val(false);
    z3::expr r = filters(p, did, pasid);
    if (p.pc_device) r = r && w == bv(static_cast<u64>(*p.pc_device), kDevW);
    return r;
  }
  /// Second-stage IOTLB and paging-structure entries carry no PASID tag (VTD-CACHE-3,
  /// nostale::kNoPasid): a PASID filter never names them.
  z3::expr untagged(const Instance & I)
  {
    if (I.gpa) return c.bool_val(true);
    if (!I.walk_pasid) return c.bool_val(false);
    return I.pgtt == bv(kPgttSecond, kPgttW);
  }
  z3::expr tlb_filters(const InvPattern & p, const Instance & I)
  {
    z3::expr r = filters(p, I.did, I.walk_pasid ? *I.walk_pasid : wp);
    z3::expr u = untagged(I);
    return p.pasid && !u.is_false() ? r && !u : r;  // keep constant-false tests foldable
  }
  /// The entry's type is in `mask`.
  z3::expr pgtt_in(const z3::expr & pgtt, unsigned mask)
  {
    z3::expr r = c.bool_val(false);
    for (unsigned t : {kPgttNone, kPgttFirst, kPgttSecond, kPgttNested, kPgttPassThrough})
      if ((mask >> t) & 1) r = r || pgtt == bv(t, kPgttW);
    return r;
  }
  /// Where a stage-tagged entry is matched: its type regardless of address, or in range.
  z3::expr where(const InvPattern & p, const Instance & I, const z3::expr & lvl)
  {
    // A range of input addresses does not reach entries indexed by guest-physical address.
    z3::expr in_range = I.gpa ? c.bool_val(!p.ranged) : overlap(p, lvl);
    return pgtt_in(I.pgtt, p.pgtt_anyaddr) || (pgtt_in(I.pgtt, p.pgtt_mask) && in_range);
  }
  z3::expr match(const InvPattern & p, const Instance & I)
  {
    switch (I.kind) {
      case CacheKind::PasidCache: return match_pc(p, I.did, I.w, wp);
      case CacheKind::ContextCache: return match_cc(p, I.w);
      case CacheKind::Psc:
        return p.psc ? tlb_filters(p, I) && where(p, I, bv(I.level, kLvlW)) : c.bool_val(false);
      case CacheKind::Iotlb:
        return p.iotlb ? tlb_filters(p, I) && where(p, I, I.lvl) : c.bool_val(false);
      case CacheKind::DevTlb: {
        if (!p.devtlb) return c.bool_val(false);
        z3::expr r = overlap(p, I.lvl);
        if (p.pasid) r = r && wp == bv(*p.pasid, PW);
        if (p.device) r = r && I.w == bv(static_cast<u64>(*p.device), kDevW);
        return r;
      }
    }
    return c.bool_val(false);
  }

  /// No invalidation matching (per `m`) completes in (from, to].
  template <class M>
  z3::expr kept(M m, const Time & from, const Time & to)
  {
    z3::expr r = c.bool_val(true);
    for (Inv & j : invs) {
      z3::expr hit = m(*j.pat);
      if (hit.is_false()) continue;  // this kind of command never removes such an entry
      r = r && !(j.comp && lt(from, j.c) && le(j.c, to) && hit);
    }
    return r;
  }
  z3::expr kept(const Instance & I, const Time & from, const Time & to)
  {
    return kept([&](const InvPattern & p) { return match(p, I); }, from, to);
  }

  // ---- instances ----------------------------------------------------------------------

  Instance new_instance(CacheKind k, unsigned level, const std::string & n)
  {
    Instance I{k, level, n, flag(n + "_on"), new_time(n), var(n + "_w", kDevW), flag(n + "_pc"),
               new_time(n + "_pct"), var(n + "_start", kLvlW), flag(n + "_ats"),
               bv(0, IW), bv(0, FW), bv(0, kPgttW), bv(0, FW), c.bool_val(false), c.bool_val(false), bv(0, kLvlW), bv(0, FW),
               bv(0, FW), bv(0, kPermW), c.bool_val(false), c.bool_val(false), c.bool_val(false),
               Time{bv(0, GW), bv(0, PSW)}};
    if (ctx_on) {
      I.ctx_use = flag(n + "_cc");
      I.ctx_t = new_time(n + "_cct");
      cons.push_back(z3::ule(I.ctx_t.g, bv(s, GW)));
    }
    cons.push_back(z3::ult(I.w, bv(cfg.devices.size(), kDevW)));
    cons.push_back(z3::ule(I.t.g, bv(s, GW)));
    cons.push_back(z3::ule(I.pc_t.g, bv(s, GW)));
    return I;
  }

  /// The walk's PASID-table entry: memory at the walk, or a cached copy filled earlier.
  /// The PASID-table entry device `w` reads at time `t`: memory's, or, at the first instant
  /// after a non-atomic rewrite of that entry, any per-chunk mix of the old and new entries
  /// (chunks as in Entry torn_reads: qw0 present/PGTT/second-stage root, qw1 domain id, qw2
  /// first-stage root).
  Attach read_entry(const Time & t, const z3::expr & w, Instance & I)
  {
    z3::expr pasid = I.walk_pasid ? *I.walk_pasid : wp;
    Attach a = at_gap(t.g, [&](MemTerms & m) { return attach_at(*m.mem, w, pasid); });
    z3::expr torn_ok = c.bool_val(false);
    std::optional<Attach> mixed;
    z3::expr c0 = flag(I.name + "_qw0new"), c1 = flag(I.name + "_qw1new"), c2 = flag(I.name + "_qw2new");
    for (std::size_t g = 1; g <= s; ++g) {
      const Step & st = sc.steps[g - 1];
      if (!st.torn) continue;
      z3::expr here = t.g == bv(g, GW) && t.pos == bv(0, PSW) &&
                      w == bv(static_cast<u64>(st.device), kDevW) && pasid == bv(st.pasid, PW);
      Attach o = attach_at(tl.walk[g - 1], w, pasid), nw = attach_at(tl.walk[g], w, pasid);
      // qw0 holds the second-stage pointer (the parent's, when nested), qw2 the first-stage one.
      auto is = [&](const z3::expr & t, unsigned v) { return t == bv(v, kPgttW); };
      auto ssptr = [&](const Attach & x) {
        return z3::ite(is(x.pgtt, kPgttNested), x.s2, z3::ite(is(x.pgtt, kPgttFirst), bv(0, FW), x.root));
      };
      auto fsptr = [&](const Attach & x) {
        return z3::ite(is(x.pgtt, kPgttFirst) || is(x.pgtt, kPgttNested), x.root, bv(0, FW));
      };
      z3::expr pgtt = z3::ite(c0, nw.pgtt, o.pgtt);
      z3::expr ss = z3::ite(c0, ssptr(nw), ssptr(o)), fs = z3::ite(c2, fsptr(nw), fsptr(o));
      z3::expr root = z3::ite(is(pgtt, kPgttFirst) || is(pgtt, kPgttNested), fs, ss);
      Attach mix{z3::ite(c0, nw.ok, o.ok), z3::ite(c1, nw.did, o.did), root, pgtt,
                 z3::ite(is(pgtt, kPgttNested), ss, bv(0, FW)), z3::ite(c0, nw.ssade, o.ssade)};
      mixed = mixed ? ite(here, mix, *mixed) : mix;
      torn_ok = torn_ok || here;
    }
    I.torn = flag(I.name + "_torn");
    if (!mixed) {
      cons.push_back(!I.torn);
      return a;
    }
    cons.push_back(z3::implies(I.torn, torn_ok));
    return ite(I.torn, *mixed, a);
  }

  /// Device w's context entry is present in memory m (always, without context entries).
  z3::expr ctx_at(const Memory & m, const z3::expr & w)
  {
    z3::expr r = c.bool_val(true);
    if (!ctx_on) return r;
    for (std::size_t d = 0; d < cfg.devices.size(); ++d)
      if (!m.context_present(static_cast<int>(d))) r = r && w != bv(d, kDevW);
    return r;
  }
  z3::expr match_cc(const InvPattern & p, const z3::expr & w)
  {
    if (!p.context_cache) return c.bool_val(false);
    return p.pc_device ? w == bv(static_cast<u64>(*p.pc_device), kDevW) : c.bool_val(true);
  }
  /// Reading I's PASID-table entry from memory at `at` needs the device's context entry:
  /// memory's then, or a copy cached at ctx_t and not invalidated since (VTD-CACHE-1).
  void require_context(Instance & I, const Time & at)
  {
    if (!ctx_on) return;
    z3::expr w = I.w;
    z3::expr now = at_gap(at.g, [&](MemTerms & m) { return ctx_at(*m.mem, w); });
    z3::expr cached = lt(I.ctx_t, at) && at_gap(I.ctx_t.g, [&](MemTerms & m) { return ctx_at(*m.mem, w); }) &&
                      kept([&](const InvPattern & p) { return match_cc(p, w); }, I.ctx_t, at);
    cons.push_back(z3::implies(I.active, z3::ite(I.ctx_use, cached, now)));
  }

  void resolve(Instance & I)
  {
    Time at{z3::ite(I.pc_use, I.pc_t.g, I.t.g), z3::ite(I.pc_use, I.pc_t.pos, I.t.pos)};
    require_context(I, at);
    Attach a = read_entry(at, I.w, I);
    I.did = a.did;
    I.root = a.root;
    I.pgtt = a.pgtt;
    I.s2 = a.s2;
    I.ssade = a.ssade;
    cons.push_back(z3::implies(I.active, a.ok));
    z3::expr did = I.did, w = I.w, pasid = I.walk_pasid ? *I.walk_pasid : wp;
    cons.push_back(z3::implies(
        I.active && I.pc_use,
        lt(I.pc_t, I.t) && kept([&](const InvPattern & p) { return match_pc(p, did, w, pasid); }, I.pc_t, I.t)));
    // Only a second-stage entry (no PASID tag) may come from a walk for another PASID.
    if (I.walk_pasid) cons.push_back(z3::implies(I.active, *I.walk_pasid == wp || untagged(I)));
  }

  z3::expr is_pt(const z3::expr & pgtt) { return pgtt == bv(kPgttPassThrough, kPgttW); }
  /// The pass-through translation of the witness address (mirrors nostale::pass_through).
  Res pass_res()
  {
    z3::expr f = z3::zext(wa.extract(AW - 1, geo.page_shift), FW - (AW - geo.page_shift));
    return mk(kLeaf, bv(1, kLvlW), f, bv(kPermRW, kPermW), bv(0, FW));
  }

  /// The walk of I from its start down to level `stop`, with the start's conditions.
  Res walk(Instance & I, unsigned stop, const z3::expr & walking)
  {
    Res res = at_gap(I.t.g, [&](MemTerms & m) { return walk_sym(m, I.root, geo.levels, stop); });
    z3::expr ok_start = I.start == bv(0, kLvlW);
    for (unsigned l = stop + 1; l <= geo.levels; ++l) {
      if (!psc.count(l)) continue;
      Instance & U = psc.at(l);
      z3::expr is = I.start == bv(l, kLvlW);
      ok_start = ok_start || is;
      Res from = at_gap(I.t.g, [&](MemTerms & m) { return walk_sym(m, U.ptr, l - 1, stop); });
      from = ite(U.wild, wild(l - 1), from);
      res = ite(is, from, res);
      cons.push_back(z3::implies(walking && is, U.active && lt(U.t, I.t) && U.did == I.did &&
                                                    U.pgtt == I.pgtt && kept(U, U.t, I.t)));
    }
    cons.push_back(z3::implies(walking, ok_start));
    return res;
  }

  void leaf_payload(Instance & I, const Res & res, const std::string & n)
  {
    I.wild = res.kind == bv(kWild, 2);
    I.neg = res.kind == bv(kNone, 2);  // allowed only with negative caching (see callers)
    z3::expr arb = var(n + "_arblvl", kLvlW);
    unsigned maxl = geo.max_leaf_level();
    cons.push_back(z3::uge(arb, bv(1, kLvlW)) && z3::ule(arb, bv(maxl, kLvlW)) &&
                   z3::ule(arb, res.level));
    // A negative entry is cached as 4 KiB: the hardest size to invalidate stands for all.
    I.lvl = z3::ite(I.wild, arb, z3::ite(I.neg, bv(1, kLvlW), res.level));
    I.frame = res.frame;
    I.perm = res.perm;
  }

  void build_instances()
  {
    for (unsigned l = geo.levels; l >= 2; --l) {
      Instance I = new_instance(CacheKind::Psc, l, "psc" + std::to_string(l));
      if (ss_on) I.walk_pasid = var(I.name + "_p", PW);
      resolve(I);
      Res res = walk(I, l, I.active);
      cons.push_back(z3::implies(I.active, res.kind == bv(kPtr, 2) || res.kind == bv(kWild, 2)));
      cons.push_back(z3::implies(I.active, !is_pt(I.pgtt)));  // pass-through reads no table
      I.wild = res.kind == bv(kWild, 2);
      I.ptr = res.ptr;
      psc.emplace(l, I);
    }
    if (nested_on) {
      // Second-stage paging-structure entries of nested walks, for one guest-physical address
      // gq (any address a first stage may produce is walked: the interpreter's fills do the
      // same). Filled from the parent's root in memory; untagged by PASID (conservatively: no
      // PASID-based flush names them). A lookup by the witness hits them at its own
      // guest-physical address (hit), nested fills may go on from them (nest_at_fill).
      for (unsigned l = geo.levels; l >= 2; --l) {
        Instance I = new_instance(CacheKind::Psc, l, "npsc" + std::to_string(l));
        I.gpa = true;
        I.walk_pasid = var(I.name + "_p", PW);
        resolve(I);
        cons.push_back(I.start == bv(0, kLvlW) && !I.from_tlb);
        z3::expr s2 = I.s2;
        Res res = at_gap(I.t.g, [&](MemTerms & m) { return walk_sym(m, s2, geo.levels, l, gq); });
        cons.push_back(z3::implies(I.active, I.pgtt == bv(kPgttNested, kPgttW) &&
                                                 (res.kind == bv(kPtr, 2) || res.kind == bv(kWild, 2))));
        I.wild = res.kind == bv(kWild, 2);
        I.ptr = res.ptr;
        npsc.emplace(l, I);
      }
    }
    {
      Instance I = new_instance(CacheKind::Iotlb, 0, "tlb");
      if (ss_on) I.walk_pasid = var(I.name + "_p", PW);
      resolve(I);
      Res res = ite(is_pt(I.pgtt), pass_res(), nest_at_fill(I, walk(I, 1, I.active)));
      z3::expr ok = res.kind == bv(kLeaf, 2) || res.kind == bv(kWild, 2);
      if (cfg.negative_caching)  // CM=1, second-stage and untyped walks only (VTD-SEQ-11)
        ok = ok || (res.kind == bv(kNone, 2) && (I.pgtt == bv(kPgttNone, kPgttW) || I.pgtt == bv(kPgttSecond, kPgttW)));
      cons.push_back(z3::implies(I.active, ok));
      leaf_payload(I, res, "tlb");
      tlb.emplace(I);
    }
    {
      Instance I = new_instance(CacheKind::DevTlb, 0, "dtlb");
      z3::expr ats = c.bool_val(false);
      for (std::size_t d = 0; d < cfg.devices.size(); ++d)
        if (cfg.devices[d].ats) ats = ats || I.w == bv(d, kDevW);
      cons.push_back(z3::implies(I.active, ats));
      resolve(I);
      Res res = ite(is_pt(I.pgtt), pass_res(), nest_at_fill(I, walk(I, 1, I.active && !I.from_tlb)));
      cons.push_back(z3::implies(I.active && !I.from_tlb,
                                 res.kind == bv(kLeaf, 2) || res.kind == bv(kWild, 2)));
      leaf_payload(I, res, "dtlb");
      I.neg = c.bool_val(false);
      // ATS translation requests are answered from the IOTLB too (ATS-7).
      Instance & U = *tlb;
      cons.push_back(z3::implies(I.active && I.from_tlb, U.active && !U.neg && lt(U.t, I.t) &&
                                                             U.did == I.did &&
                                                             kept(U, U.t, I.t)));
      I.wild = z3::ite(I.from_tlb, U.wild, I.wild);
      I.lvl = z3::ite(I.from_tlb, U.lvl, I.lvl);
      I.frame = z3::ite(I.from_tlb, U.frame, I.frame);
      I.perm = z3::ite(I.from_tlb, U.perm, I.perm);
      I.ssade = z3::ite(I.from_tlb, U.ssade, I.ssade);
      dtlb.emplace(I);
    }
    {
      // The PASID-cache entry as a target: filled from memory only.
      Instance I = new_instance(CacheKind::PasidCache, 0, "pct");
      require_context(I, I.t);
      Attach a = read_entry(I.t, I.w, I);
      // A not-present entry may be cached too (CM=1): did, root and type then read as 0. Not
      // from a torn read: the same entry could be filled just before the write (mirrors
      // torn_reads, which yields present entries only).
      if (cfg.negative_config) {
        I.neg = !a.ok;
        cons.push_back(z3::implies(I.active && I.torn, a.ok));
      }
      else
        cons.push_back(z3::implies(I.active, a.ok));
      I.did = a.did;
      I.root = a.root;
      I.pgtt = a.pgtt;
      I.s2 = a.s2;
      I.ssade = a.ssade;
      pct.emplace(I);
    }
    if (ctx_on) {
      // A context-cache entry: present, or (CM=1) not present, as memory's then.
      Instance I = new_instance(CacheKind::ContextCache, 0, "cct");
      z3::expr w = I.w;
      I.neg = !at_gap(I.t.g, [&](MemTerms & m) { return ctx_at(*m.mem, w); });
      if (!cfg.negative_context) cons.push_back(z3::implies(I.active, !I.neg));
      cons.push_back(!I.ctx_use && !I.pc_use && !I.torn);
      cct.emplace(I);
    }
  }

  /// A PRI device bound to the PASID may issue a page request whenever the walker sees it
  /// bound; a wait with PD=1 drains every request issued before it (VTD-SEQ-9).
  void build_page_request()
  {
    PageRequest r{flag("prq_on"), var("prq_dev", kDevW), new_time("prq")};
    z3::expr pri = c.bool_val(false);
    for (std::size_t d = 0; d < cfg.devices.size(); ++d)
      if (cfg.devices[d].pri) pri = pri || r.dev == bv(d, kDevW);
    Attach a = at_gap(r.t.g, [&](MemTerms & m) { return attach_at(*m.mem, r.dev); });
    z3::expr ok = pri && z3::ule(r.t.g, bv(s, GW)) && a.ok;
    for (std::size_t k = 0; k < s; ++k)
      if (sc.steps[k].op == Op::Sync && sc.steps[k].drain) ok = ok && z3::ugt(r.t.g, bv(k, GW));
    cons.push_back(z3::implies(r.on, ok));
    prq.emplace(r);
  }

  std::vector<Instance *> all()
  {
    std::vector<Instance *> v;
    for (auto & [l, I] : psc) v.push_back(&I);
    v.push_back(&*tlb);
    v.push_back(&*dtlb);
    v.push_back(&*pct);
    if (cct) v.push_back(&*cct);
    for (auto & [l, I] : npsc) v.push_back(&I);
    return v;
  }

  // ---- judging at the check point -----------------------------------------------------

  struct Tr {
    z3::expr kind, out, perm;
  };

  z3::expr out_frame(const z3::expr & base, const z3::expr & lvl) { return out_frame(base, lvl, wa); }
  z3::expr out_frame(const z3::expr & base, const z3::expr & lvl, const z3::expr & addr)
  {
    z3::expr r = base;
    for (unsigned l = 2; l <= geo.max_leaf_level(); ++l) {
      unsigned sub = geo.level_bits * (l - 1);
      z3::expr off = z3::zext(addr.extract(geo.page_shift + sub - 1, geo.page_shift), FW - sub);
      r = z3::ite(lvl == bv(l, kLvlW), base + off, r);
    }
    return r;
  }

  Tr from_res(const Res & r) { return Tr{r.kind, out_frame(r.frame, r.level), r.perm}; }

  /// Nested translation (mirrors nostale::nest): the first-stage result's output is a
  /// guest-physical frame, translated by `walk_s2(gpa)`; the combined entry is 4 KiB.
  /// The guest-physical address of a first-stage result for the witness, and whether the
  /// second stage can translate it (mirrors nostale::guest_physical).
  std::pair<z3::expr, z3::expr> guest_physical(const Res & s1)
  {
    unsigned gbits = AW - geo.page_shift;  // guest frames the second stage can map
    z3::expr gpa_frame = out_frame(s1.frame, s1.level);
    z3::expr in = z3::ult(gpa_frame, bv(u64{1} << gbits, FW));
    z3::expr gpa = z3::concat(gpa_frame.extract(gbits - 1, 0), wa.extract(geo.page_shift - 1, 0));
    return {s1.kind == bv(kLeaf, 2) && in, gpa};
  }
  template <class W>
  Res nest(const Res & s1, W walk_s2)
  {
    auto [leaf1, gpa] = guest_physical(s1);
    Res s2 = walk_s2(gpa);
    z3::expr perm = s2.perm & s1.perm;
    z3::expr ok = leaf1 && s2.kind == bv(kLeaf, 2) && perm != bv(0, kPermW);
    z3::expr wild_any = s1.kind == bv(kWild, 2) || (leaf1 && s2.kind == bv(kWild, 2));
    Res leaf = mk(kLeaf, bv(1, kLvlW), out_frame(s2.frame, s2.level, gpa), perm, bv(0, FW));
    return ite(wild_any, wild(1), ite(ok, leaf, none(1)));
  }
  /// For an instance filled at time g: nested results go through the parent's second stage.
  /// The second stage may go on from a cached second-stage pointer (an npsc instance of the
  /// same domain id whose guest-physical address covers this walk's) instead of the root.
  Res nest_at_fill(Instance & I, const Res & s1)
  {
    Res n = nest(s1, [&](const z3::expr & gpa) {
      Res r = at_gap(I.t.g, [&](MemTerms & m) { return walk_sym(m, I.s2, geo.levels, 1, gpa); });
      if (npsc.empty()) return r;
      I.s2start = var(I.name + "_s2start", kLvlW);
      z3::expr ok = *I.s2start == bv(0, kLvlW);
      for (auto & entry : npsc) {
        unsigned l = entry.first;  // not a structured binding: clang 14 cannot capture one in a lambda
        auto & U = entry.second;
        z3::expr is = *I.s2start == bv(l, kLvlW);
        ok = ok || is;
        Res from = at_gap(I.t.g, [&](MemTerms & m) { return walk_sym(m, U.ptr, l - 1, 1, gpa); });
        r = ite(is, ite(U.wild, wild(l - 1), from), r);
        unsigned sh = geo.shift(l);
        cons.push_back(z3::implies(I.active && is, I.pgtt == bv(kPgttNested, kPgttW) && U.active && lt(U.t, I.t) &&
                                                       U.did == I.did && kept(U, U.t, I.t) &&
                                                       gq.extract(AW - 1, sh) == gpa.extract(AW - 1, sh)));
      }
      cons.push_back(ok);
      return r;
    });
    return ite(I.pgtt == bv(kPgttNested, kPgttW), n, s1);
  }
  /// At the check point, through the second stage `s2` in memory then.
  Res nest_at_check(const z3::expr & pgtt, const z3::expr & s2, const Res & s1)
  {
    Res n = nest(s1, [&](const z3::expr & gpa) { return walk_sym(check_mem, s2, geo.levels, 1, gpa); });
    return ite(pgtt == bv(kPgttNested, kPgttW), n, s1);
  }

  /// The witness's PASID-table entry at the check point (built once per encoding).
  std::optional<Attach> attach_T_;
  Attach attach_T()
  {
    if (!attach_T_) {
      // Without its context entry the device translates nothing (mirrors evaluate).
      Attach none{c.bool_val(false), bv(0, IW), bv(0, FW), bv(0, kPgttW), bv(0, FW), c.bool_val(false)};
      attach_T_.emplace(ite(ctx_at(*check_mem.mem, wd), raw_T(), none));
    }
    return *attach_T_;
  }

  /// The route a lookup by the witness takes to a PASID-table entry (mirrors Route in
  /// evaluate): 0 memory's, 1 the cached PASID entry (pct), 2 memory's PASID table through a
  /// context entry cleared in memory but still cached. One route per query: a violation needs
  /// one stale target, reached one way.
  struct RouteSel {
    z3::expr valid, did, pgtt, root, s2;
  };
  /// The routes themselves, each with the condition that it exists: memory's entry, the cached
  /// one (pct), and (with context entries) memory's table through a cached cleared context
  /// entry.
  std::vector<RouteSel> routes_;
  const std::vector<RouteSel> & routes()
  {
    if (!routes_.empty()) return routes_;
    Attach a = attach_T();
    Instance & P = *pct;
    routes_.push_back({a.ok, a.did, a.pgtt, a.root, a.s2});
    routes_.push_back({present(P) && !P.neg && P.w == wd, P.did, P.pgtt, P.root, P.s2});
    if (cct) {
      Attach r = raw_T();
      routes_.push_back({!a.ok && present(*cct) && !cct->neg && cct->w == wd && r.ok, r.did, r.pgtt, r.root, r.s2});
    }
    return routes_;
  }
  /// One route chosen per query, where the judgement depends on it.
  std::optional<RouteSel> route_;
  RouteSel route()
  {
    if (route_) return *route_;
    const std::vector<RouteSel> & rs = routes();
    z3::expr rt = var("route", 2);
    RouteSel sel = rs.back();
    sel.valid = rt == bv(rs.size() - 1, 2) && sel.valid;
    for (std::size_t i = rs.size() - 1; i-- > 0;) {
      z3::expr is = rt == bv(i, 2);
      sel = RouteSel{(is && rs[i].valid) || sel.valid, z3::ite(is, rs[i].did, sel.did),
                     z3::ite(is, rs[i].pgtt, sel.pgtt), z3::ite(is, rs[i].root, sel.root), z3::ite(is, rs[i].s2, sel.s2)};
    }
    route_.emplace(sel);
    return *route_;
  }
  /// The route's first-stage result for the witness (its own table walk).
  std::optional<Res> s1_T_;
  Res s1_T()
  {
    if (!s1_T_) s1_T_.emplace(walk_sym(check_mem, route().root, geo.levels, 1));
    return *s1_T_;
  }
  /// The guest-physical address the route's nested entry gives the witness: where the
  /// second-stage entries of nested walks are looked up.
  std::pair<z3::expr, z3::expr> gpa_T()
  {
    auto [ok, gpa] = guest_physical(s1_T());
    return {route().pgtt == bv(kPgttNested, kPgttW) && ok, gpa};
  }

  /// The witness's PASID-table entry in memory whether or not its context entry is present.
  std::optional<Attach> raw_T_;
  Attach raw_T()
  {
    if (!raw_T_) raw_T_.emplace(attach_at(*check_mem.mem, wd));
    return *raw_T_;
  }
  /// What that entry translates (a lookup through a cached context entry uses it).
  Tr raw_tr()
  {
    Attach r = raw_T();
    Res t = nest_at_check(r.pgtt, r.s2, walk_sym(check_mem, r.root, geo.levels, 1));
    return from_res(ite(r.ok, ite(is_pt(r.pgtt), pass_res(), t), none(geo.levels)));
  }

  Tr memory_tr()
  {
    Attach a = attach_T();
    Res r = nest_at_check(a.pgtt, a.s2, walk_sym(check_mem, a.root, geo.levels, 1));
    return from_res(ite(a.ok, ite(is_pt(a.pgtt), pass_res(), r), none(geo.levels)));
  }

  Tr built(Instance & I)
  {
    switch (I.kind) {
      case CacheKind::PasidCache:
        return from_res(ite(I.neg, none(geo.levels),
                            ite(is_pt(I.pgtt), pass_res(),
                                nest_at_check(I.pgtt, I.s2, walk_sym(check_mem, I.root, geo.levels, 1)))));
      case CacheKind::Psc: {
        if (I.gpa) {
          // A second-stage entry of a nested walk: memory's first stage, then on from it.
          Res r = nest(s1_T(), [&](const z3::expr & gpa) { return walk_sym(check_mem, I.ptr, I.level - 1, 1, gpa); });
          return from_res(ite(I.wild, wild(I.level - 1), r));
        }
        // A nested paging-structure entry goes on through the second stage the route uses.
        Res r = nest_at_check(I.pgtt, route().s2, walk_sym(check_mem, I.ptr, I.level - 1, 1));
        return from_res(ite(I.wild, wild(I.level - 1), r));
      }
      default:
        return Tr{z3::ite(I.wild, bv(kWild, 2), z3::ite(I.neg, bv(kNone, 2), bv(kLeaf, 2))),
                  out_frame(I.frame, I.lvl), I.perm};
    }
  }

  z3::expr present(Instance & I) { return I.active && kept(I, I.t, T); }

  z3::expr hit(Instance & I)
  {
    if (I.kind == CacheKind::PasidCache || I.kind == CacheKind::DevTlb || I.kind == CacheKind::ContextCache)
      return I.w == wd;
    // The lookup's domain id: that of a route's PASID-table entry. IOTLB lookups match any
    // translation type; paging-structure caches are per stage (see evaluate in cache.cpp).
    z3::expr any = c.bool_val(I.kind == CacheKind::Iotlb);
    z3::expr tags = c.bool_val(false);
    if (nested_on && I.kind == CacheKind::Psc) {
      // Judged through the route's second stage or guest-physical address (built): choose it.
      RouteSel r = route();
      tags = r.valid && I.did == r.did && I.pgtt == r.pgtt;
    } else {
      // Any route: what the entry translates does not depend on it.
      for (const RouteSel & r : routes()) tags = tags || (r.valid && I.did == r.did && (any || I.pgtt == r.pgtt));
    }
    // Second-stage entries of nested walks: looked up by the route's guest-physical address.
    if (!I.gpa) return tags;
    auto [ok, gpa] = gpa_T();
    return tags && ok && gq == gpa;
  }

  z3::expr allows(const z3::expr & perm) { return (perm & bv(cp.access, kPermW)) != bv(0, kPermW); }

  z3::expr reaches_free(const Tr & t)
  {
    const Memory & m = *check_mem.mem;
    return (t.kind == bv(kWild, 2) && c.bool_val(m.any_free())) ||
           (t.kind == bv(kLeaf, 2) && allows(t.perm) && is_free(m, t.out));
  }

  z3::expr unsafe(const Tr & b, const Tr & m)
  {
    z3::expr M = bv(cp.access, kPermW);
    return b.kind == bv(kWild, 2) ||
           (b.kind == bv(kLeaf, 2) && allows(b.perm) &&
            (m.kind != bv(kLeaf, 2) || b.out != m.out || (b.perm & M & ~m.perm) != bv(0, kPermW)));
  }
  z3::expr restrictive(const Tr & b, const Tr & m)
  {
    z3::expr M = bv(cp.access, kPermW);
    return !unsafe(b, m) && m.kind == bv(kLeaf, 2) && allows(m.perm) &&
           (b.kind != bv(kLeaf, 2) || (m.perm & M & ~b.perm) != bv(0, kPermW));
  }

  /// Per target: the condition that it is the violating entry (nullopt: memory itself).
  std::vector<std::pair<Instance *, z3::expr>> targets(const std::string & prop,
                                                       const std::string & sev)
  {
    std::vector<std::pair<Instance *, z3::expr>> v;
    Tr mt = memory_tr();
    if (prop == "no-dma-after-free") {
      // A pass-through device is trusted with all memory (mirrors evaluate in cache.cpp).
      Attach a = attach_T();
      auto granted = [&](const Tr & t) {
        return a.ok && is_pt(a.pgtt) && (t.kind == bv(kNone, 2) || (t.kind == bv(kLeaf, 2) && t.out == mt.out));
      };
      v.push_back({nullptr, reaches_free(mt) && !granted(mt)});
      for (Instance * I : all()) {
        if (I->kind == CacheKind::ContextCache) {
          // Cleared in memory, still cached: the PASID table as in memory.
          Tr b = raw_tr();
          v.push_back({I, present(*I) && hit(*I) && !I->neg && !attach_T().ok && reaches_free(b) && !granted(b)});
          continue;
        }
        Tr b = built(*I);
        v.push_back({I, present(*I) && hit(*I) && reaches_free(b) && !granted(b)});
      }
    } else if (prop == "no-missed-dirty") {
      // Dirty tracking on for the witness's second-stage or nested entry, and an entry filled
      // while it was off could serve a write (VTD-SEQ-6).
      Attach a = attach_T();
      z3::expr tracked = a.ok && a.ssade &&
                         (a.pgtt == bv(kPgttSecond, kPgttW) || a.pgtt == bv(kPgttNested, kPgttW));
      if (cp.access & kPermWrite)
        for (Instance * I : all()) {
          if (I->kind == CacheKind::Psc || I->kind == CacheKind::ContextCache) continue;
          z3::expr writes = I->kind == CacheKind::PasidCache
                                ? !I->neg
                                : !I->neg && (I->wild || (I->perm & bv(kPermWrite, kPermW)) != bv(0, kPermW));
          v.push_back({I, tracked && present(*I) && hit(*I) && !I->ssade && writes});
        }
    } else if (prop == "no-reuse-while-cached") {
      if (prq) v.push_back({nullptr, wp == bv(*cp.freed_pasid, PW) && prq->on});
      for (Instance * I : all()) {
        if (I->kind == CacheKind::ContextCache) continue;  // tagged by device only
        if (cp.freed_pasid) v.push_back({I, wp == bv(*cp.freed_pasid, PW) && present(*I) && !untagged(*I)});
        else if (cp.freed_did && I->kind != CacheKind::DevTlb)
          v.push_back({I, present(*I) && I->did == bv(*cp.freed_did, IW)});
      }
    } else {
      z3::expr mem_ok = mt.kind != bv(kWild, 2);
      for (Instance * I : all()) {
        if (I->kind == CacheKind::ContextCache) {
          // A cached context entry of a device whose entry memory has cleared; or a cached
          // not-present one where memory now translates (mirrors evaluate).
          z3::expr now = ctx_at(*check_mem.mem, wd);
          if (sev == "unsafe")
            v.push_back({I, present(*I) && hit(*I) && !I->neg && !now});
          else
            v.push_back({I, present(*I) && hit(*I) && I->neg && now && mt.kind == bv(kLeaf, 2) && allows(mt.perm)});
          continue;
        }
        if (I->kind == CacheKind::PasidCache) {
          Attach a = attach_T();
          if (sev == "unsafe")
            v.push_back({I, present(*I) && hit(*I) && !I->neg &&
                                (!a.ok || I->did != a.did || I->root != a.root || I->pgtt != a.pgtt ||
                                 I->s2 != a.s2)});
          else  // a cached not-present entry where memory now translates
            v.push_back({I, mem_ok && present(*I) && hit(*I) && I->neg && restrictive(built(*I), mt)});
          continue;
        }
        Tr b = built(*I);
        z3::expr bad = sev == "unsafe" ? unsafe(b, mt) : restrictive(b, mt);
        v.push_back({I, mem_ok && present(*I) && hit(*I) && bad});
      }
    }
    return v;
  }

  z3::expr witness()
  {
    z3::expr r = z3::ult(wd, bv(cfg.devices.size(), kDevW));
    if (cp.dma)
      r = r && wd == bv(static_cast<u64>(cp.device), kDevW) && wp == bv(cp.pasid, PW) &&
          wa == bv(cp.addr, AW);
    return r;
  }

  // ---- model reading ------------------------------------------------------------------

  u64 val(const z3::model & m, const z3::expr & e) { return m.eval(e, true).get_numeral_uint64(); }
  bool tru(const z3::model & m, const z3::expr & e) { return m.eval(e, true).is_true(); }

  Entry entry_of(const z3::model & m, Instance & I, u64 pasid, u64 addr)
  {
    Entry e;
    e.kind = I.kind;
    e.pasid = pasid;
    if (I.kind != CacheKind::DevTlb) e.pgtt = static_cast<unsigned>(val(m, I.pgtt));
    if (tru(m, untagged(I))) e.pasid = kNoPasid;
    switch (I.kind) {
      case CacheKind::ContextCache:
        e.dev = static_cast<int>(val(m, I.w));
        e.negative = tru(m, I.neg);
        e.pasid = 0;
        e.pgtt = kPgttNone;
        return e;
      case CacheKind::PasidCache:
        e.dev = static_cast<int>(val(m, I.w));
        e.did = val(m, I.did);
        e.root = val(m, I.root);
        e.parent = val(m, I.s2);
        e.negative = tru(m, I.neg);
        e.ssade = tru(m, I.ssade);
        break;
      case CacheKind::Psc:
        e.did = val(m, I.did);
        e.level = I.level;
        e.wild = tru(m, I.wild);
        if (!e.wild) e.ptr = val(m, I.ptr);
        if (I.gpa) {
          e.gpa = true;
          e.vpn = val(m, gq) >> geo.shift(e.level);
          return e;
        }
        break;
      case CacheKind::Iotlb:
      case CacheKind::DevTlb:
        if (I.kind == CacheKind::Iotlb) e.did = val(m, I.did);
        else e.dev = static_cast<int>(val(m, I.w));
        e.level = static_cast<unsigned>(val(m, I.lvl));
        e.wild = tru(m, I.wild);
        e.negative = !e.wild && tru(m, I.neg);
        e.ssade = tru(m, I.ssade);
        if (!e.wild && !e.negative) {
          e.frame = val(m, I.frame);
          e.perm = static_cast<unsigned>(val(m, I.perm));
        }
        break;
    }
    if (e.kind != CacheKind::PasidCache) e.vpn = addr >> geo.shift(e.level);
    return e;
  }
};

Encoding::Encoding(z3::context & ctx, const Scenario & sc, const Timeline & tl, std::size_t check)
    : impl_(std::make_unique<Impl>(ctx, sc, tl, check))
{
}

Encoding::~Encoding() = default;

z3::expr Encoding::constraints()
{
  z3::expr_vector v(impl_->c);
  for (unsigned i = 0; i < impl_->cons.size(); ++i) v.push_back(impl_->cons[i]);
  v.push_back(impl_->witness());
  return z3::mk_and(v);
}

std::optional<z3::expr> Encoding::violation(const std::string & property, const std::string & severity)
{
  if (property == "no-reuse-while-cached" && !impl_->cp.freed_pasid && !impl_->cp.freed_did)
    return std::nullopt;
  z3::expr_vector v(impl_->c);
  for (auto & [I, cond] : impl_->targets(property, severity)) v.push_back(cond);
  // No entry that could violate it: nothing to ask (and Z3 prints an empty disjunction as a
  // bare "or", which other solvers reject).
  if (v.empty()) return std::nullopt;
  return z3::mk_or(v);
}

z3::expr_vector Encoding::actions()
{
  Impl & d = *impl_;
  z3::expr_vector v(d.c);
  for (Instance * I : d.all()) {
    v.push_back(I->active);
    if (I->kind != CacheKind::PasidCache) v.push_back(I->active && I->pc_use);
    if (d.ctx_on) v.push_back(I->active && I->ctx_use);
  }
  for (auto & j : d.invs)
    if (!j.forced) v.push_back(j.comp && z3::ule(j.c.g, d.bv(d.s, d.GW)));
  if (d.prq) v.push_back(d.prq->on);
  return v;
}

Counterexample Encoding::extract(const z3::model & m, const std::string & property,
                                 const std::string & severity)
{
  Impl & d = *impl_;
  Counterexample cex;
  cex.check = d.ci;
  cex.property = property;
  cex.severity = property == "no-stale" ? severity : "";
  cex.device = static_cast<int>(d.val(m, d.wd));
  cex.pasid = d.val(m, d.wp);
  cex.addr = d.val(m, d.wa);

  bool found = false;
  for (auto & [I, cond] : d.targets(property, severity)) {
    if (!d.tru(m, cond)) continue;
    found = true;
    if (!I && property == "no-reuse-while-cached") {
      cex.page_request = true;
      cex.entry.dev = static_cast<int>(d.val(m, d.prq->dev));
      cex.entry.pasid = cex.pasid;
      HwEvent e;
      e.kind = HwEvent::PageRequest;
      e.gap = d.val(m, d.prq->t.g);
      e.pos = d.val(m, d.prq->t.pos);
      e.walker = cex.entry.dev;
      e.entry = cex.entry;
      cex.events.push_back(e);
    } else if (!I) {
      cex.from_memory = true;
    } else {
      cex.entry = d.entry_of(m, *I, cex.pasid, cex.addr);
    }
    break;
  }
  NOSTALE_CHECK(found, "model satisfies no target of the violation");

  auto source = [&](Instance & I) {
    std::string s = d.tru(m, I.pc_use) ? "cached " + d.entry_word : d.entry_word + " in memory";
    if (d.tru(m, I.torn)) s += ", read torn (half old, half new)";
    if (I.kind == CacheKind::DevTlb && d.tru(m, I.from_tlb)) return std::string("ATS request answered from the IOTLB");
    u64 st = d.val(m, I.start);
    if (d.val(m, I.pgtt) == kPgttPassThrough) return "the " + s + ": pass-through, no table walk";
    std::string s2 = I.s2start && d.val(m, *I.s2start) != 0
                         ? "; second stage from the cached level-" + std::to_string(d.val(m, *I.s2start)) + " pointer"
                         : std::string();
    if (I.gpa)
      return "second-stage walk of guest-physical " + hex(d.val(m, d.gq)) + " from the nesting parent's root, " + s;
    return "walk from the " + s + (st ? ", then the cached level-" + std::to_string(st) + " entry" : std::string(", root table")) + s2;
  };
  for (Instance * I : d.all()) {
    if (!d.tru(m, I->active)) continue;
    HwEvent e;
    e.kind = HwEvent::Fill;
    e.gap = d.val(m, I->t.g);
    e.pos = d.val(m, I->t.pos);
    e.entry = d.entry_of(m, *I, cex.pasid, cex.addr);
    e.walker = static_cast<int>(d.val(m, I->w));
    e.walker_pasid = I->walk_pasid ? d.val(m, *I->walk_pasid) : cex.pasid;
    e.torn = d.tru(m, I->torn) && !(I->kind != CacheKind::PasidCache && d.tru(m, I->pc_use));
    if (I->kind == CacheKind::ContextCache) {
      e.source = e.entry.negative ? "context entry in memory, not present" : "context entry in memory";
      cex.events.push_back(e);
      continue;
    }
    // A private fill by the same walker at t (a cached copy the walk used).
    auto private_fill = [&](const Time & t, CacheKind k) {
      HwEvent x;
      x.kind = HwEvent::Fill;
      x.gap = d.val(m, t.g);
      x.pos = d.val(m, t.pos);
      x.entry.kind = k;
      x.entry.dev = e.walker;
      x.walker = e.walker;
      x.walker_pasid = e.walker_pasid;
      return x;
    };
    if (d.ctx_on && d.tru(m, I->ctx_use)) {
      // The PASID table was reached through a context entry cached earlier.
      HwEvent x = private_fill(I->ctx_t, CacheKind::ContextCache);
      x.source = "context entry in memory";
      cex.events.push_back(x);
    }
    e.source = I->kind == CacheKind::PasidCache
                   ? (d.tru(m, I->torn) ? d.entry_word + " in memory, read torn (half old, half new)"
                                        : d.entry_word + " in memory")
                   : source(*I);
    cex.events.push_back(e);
    if (I->kind != CacheKind::PasidCache && d.tru(m, I->pc_use)) {
      HwEvent p = private_fill(I->pc_t, CacheKind::PasidCache);
      p.entry.pasid = e.walker_pasid;
      p.entry.did = d.val(m, I->did);
      p.entry.root = d.val(m, I->root);
      p.entry.pgtt = static_cast<unsigned>(d.val(m, I->pgtt));
      p.entry.parent = d.val(m, I->s2);
      p.entry.ssade = d.tru(m, I->ssade);
      p.torn = d.tru(m, I->torn);
      p.source = d.tru(m, I->torn) ? d.entry_word + " in memory, read torn (half old, half new)"
                                   : d.entry_word + " in memory";
      cex.events.push_back(p);
    }
  }
  for (auto & j : d.invs) {
    if (!d.tru(m, j.comp) || d.val(m, j.c.g) > d.s) continue;
    HwEvent e;
    e.kind = HwEvent::Complete;
    e.gap = d.val(m, j.c.g);
    e.pos = d.val(m, j.c.pos);
    e.inv = j.index;
    cex.events.push_back(e);
  }
  std::stable_sort(cex.events.begin(), cex.events.end(), [](const HwEvent & a, const HwEvent & b) {
    if (a.gap != b.gap) return a.gap < b.gap;
    if (a.pos != b.pos) return a.pos < b.pos;
    if (a.kind != b.kind) return a.kind == HwEvent::Complete;
    return a.inv < b.inv;
  });
  Violation v{cex.property, cex.severity, cex.from_memory, cex.entry, cex.page_request};
  cex.rule = rule_for(v, d.cp);
  return cex;
}

}  // namespace nostale::smt
