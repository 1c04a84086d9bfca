// What every part of the encoding (memory_terms, invalidations, fills, judgement, extract) builds
// with: the term shapes (walk results, moments, PASID-table entries, tracked instances) and the
// per-check-point context (Z3 context, scenario, bit widths, the witness, the constraint list).
// Internal to spec/smt: the public interface is encoding.h.
#pragma once

#include <z3++.h>

#include <algorithm>
#include <optional>
#include <string>

#include "spec/interp/counterexample.h"
#include "spec/semantics/judge.h"
#include "spec/smt/slice.h"

namespace nostale::smt {

constexpr unsigned kDevW = 8;   // device index
constexpr unsigned kLvlW = 3;   // page-table level
/// Permission width without first-stage privilege; with it, sem::kPermWidth (Terms::PermW).
constexpr unsigned kPermW = 2;
enum : unsigned { kNone = 0, kLeaf = 1, kPtr = 2, kWild = 3 };
constexpr unsigned kPgttW = 3;
constexpr unsigned kTabW = 3;   // PASID table index (kMaxPasidTables)

/// A walk result: what the walk ended on (kind), at which level, and the entry's payload. `next`:
/// a pointer's NextLevel (Pte::next: 0 unless it skips levels, AMD-PT-1), only where a domain
/// skips levels (Terms::skip_on): no term is made for it otherwise.
struct Res {
  z3::expr kind, level, frame, perm, ptr;
  std::optional<z3::expr> next = std::nullopt;
};

inline Res ite(const z3::expr & c, const Res & a, const Res & b)
{
  Res r{z3::ite(c, a.kind, b.kind), z3::ite(c, a.level, b.level), z3::ite(c, a.frame, b.frame),
        z3::ite(c, a.perm, b.perm), z3::ite(c, a.ptr, b.ptr)};
  if (a.next || b.next) {
    z3::expr none = c.ctx().bv_val(0, kLvlW);
    r.next = z3::ite(c, a.next.value_or(none), b.next.value_or(none));
  }
  return r;
}

/// Bits to hold values 0..n-1 (at least 1).
inline unsigned bits_for(std::size_t n)
{
  unsigned b = 1;
  while ((std::size_t{1} << b) < n) ++b;
  return b;
}

struct Time {
  z3::expr g, pos;
};

inline z3::expr lt(const Time & a, const Time & b)
{
  return z3::ult(a.g, b.g) || (a.g == b.g && z3::ult(a.pos, b.pos));
}
inline z3::expr le(const Time & a, const Time & b)
{
  return z3::ult(a.g, b.g) || (a.g == b.g && z3::ule(a.pos, b.pos));
}

/// Resolution of a PASID-table entry.
struct Attach {
  z3::expr ok, did, root, pgtt;
  z3::expr s2;     // nested: the parent's second-stage root
  z3::expr ssade;  // second-stage dirty tracking on
  z3::expr sre;    // supervisor requests allowed (VTD-PRIV-2)
};

inline Attach ite(const z3::expr & cnd, const Attach & a, const Attach & b)
{
  return Attach{z3::ite(cnd, a.ok, b.ok), z3::ite(cnd, a.did, b.did), z3::ite(cnd, a.root, b.root),
                z3::ite(cnd, a.pgtt, b.pgtt), z3::ite(cnd, a.s2, b.s2), z3::ite(cnd, a.ssade, b.ssade),
                // The same term (false, without privilege): no new term, so queries stay as they were.
                a.sre.id() == b.sre.id() ? a.sre : z3::ite(cnd, a.sre, b.sre)};
}

/// Identical terms (Z3 shares equal terms, so equal ids mean equal terms).
inline bool same(const Res & a, const Res & b)
{
  return a.kind.id() == b.kind.id() && a.level.id() == b.level.id() && a.frame.id() == b.frame.id() &&
         a.perm.id() == b.perm.id() && a.ptr.id() == b.ptr.id() && a.next.has_value() == b.next.has_value() &&
         (!a.next || a.next->id() == b.next->id());
}
inline bool same(const z3::expr & a, const z3::expr & b) { return a.id() == b.id(); }
inline bool same(const Attach & a, const Attach & b)
{
  return a.ok.id() == b.ok.id() && a.did.id() == b.did.id() && a.root.id() == b.root.id() &&
         a.pgtt.id() == b.pgtt.id() && a.s2.id() == b.s2.id() && a.ssade.id() == b.ssade.id() &&
         a.sre.id() == b.sre.id();
}

/// One tracked cache entry and the fill that inserted it (see the header comment of encoding.h).
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
  z3::expr sre;              // ... and its SRE (VTD-PRIV-2; the PASID cache holds it)
  z3::expr wild, lvl, ptr, frame, perm;  // payload
  z3::expr neg;              // IOTLB: a cached not-present result (CM=1)
  z3::expr torn;             // its PASID-table entry was read torn (VTD-COH-3)
  z3::expr ctx_use;          // the PASID table was reached through a cached context entry ...
  Time ctx_t;                // ... filled at ctx_t (Config::context_cache)
  /// The PASID table that cached context entry points to (context cache: the one it caches);
  /// only when context entries change tables (Terms::tab_on, VTD-CTX-1).
  std::optional<z3::expr> ctx_tab = std::nullopt;
  bool gpa = false;          // PSC: a second-stage entry of a nested walk, for the GPA gq
  std::optional<z3::expr> s2start = std::nullopt;  // nested fills: 0 root, l: cached npsc level l
  std::optional<z3::expr> walk_pasid = std::nullopt;  // the PASID of the walk, when not the witness's (below)
  std::optional<z3::expr> next = std::nullopt;  // PSC, levels skipped: the entry's NextLevel (0: level - 1)
};

/// A step that writes a whole present record of translation type `type`.
inline bool attaches(const Step & st, unsigned type)
{
  return st.op == Op::ConfigWrite && st.cw.depth == 0 && st.cw.fields == ConfigWrite::Fields::Whole &&
         st.cw.present && st.cw.type == type;
}

/// The context of one check point's encoding, shared by its parts. Members are declared in the
/// order their terms are created (the witness first): the SMT-LIB2 dumps depend on it.
struct Terms {
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
  Time T;
  /// CUT-1: the gap of the cut this encoding starts at (0: the scenario's start). Caches are
  /// empty there and fills happen at gaps >= lo; invalidations completed before it are left out
  /// (spec/smt/cut.cpp says when a cut is valid).
  std::size_t lo;
  /// What the configuration entry is called in traces (VT-d legacy mode: the context entry).
  std::string entry_word = cfg.entry_name();
  /// Second-stage entries (no PASID tag) may come from walks for other PASIDs: only if an
  /// entry is second stage.
  /// First-stage privilege (VTD-PRIV-1..3): without it no permission term changes.
  bool priv_on = cfg.privilege;
  unsigned PermW = priv_on ? sem::kPermWidth : kPermW;  ///< read/write, per request class with privilege
  bool ss_on = std::any_of(sc.steps.begin(), sc.steps.end(),
                           [](const Step & st) { return attaches(st, kPgttSecond); });
  /// Second-stage entries of nested walks exist only if an entry is nested.
  bool nested_on = std::any_of(sc.steps.begin(), sc.steps.end(),
                               [](const Step & st) { return attaches(st, kPgttNested); });
  /// Context entries matter only if a step changes one: otherwise every one is present
  /// throughout, and gating walks on them (and caching them) changes nothing.
  /// Pointers may skip levels (AMD-PT-1) only if a domain's table skips some.
  bool skip_on = std::any_of(cfg.domains.begin(), cfg.domains.end(), [](const Domain & d) { return !d.skip_levels.empty(); });
  bool ctx_on = cfg.context_cache() &&
                (std::any_of(sc.steps.begin(), sc.steps.end(), [](const Step & st) {
                   return (st.op == Op::ConfigWrite && st.cw.depth > 0) || st.op == Op::SetRoot;
                 }) ||
                 std::any_of(cfg.devices.begin(), cfg.devices.end(), [](const Device & d) { return !d.context; }));

  /// Context entries point to one of several PASID tables only if a step moves one: otherwise
  /// each keeps its table throughout, and the table a walk reads is memory's (VTD-CTX-1).
  bool tab_on = ctx_on && std::any_of(sc.steps.begin(), sc.steps.end(), [](const Step & st) {
    return (st.op == Op::ConfigWrite && st.cw.depth > 0 && st.cw.table >= 0) || st.op == Op::SetRoot;
  });

  /// SLICE-1: the witness PASID class this encoding is about; none: every witness.
  std::optional<PasidSlice> slice;

  Terms(z3::context & ctx, const Scenario & scen, const Timeline & timeline, std::size_t check, std::size_t from = 0,
        const PasidSlice * sl = nullptr)
      : c(ctx), sc(scen), cfg(scen.config), geo(scen.config.geo), tl(timeline), ci(check),
        cp(timeline.checks.at(check)), s(cp.step), AW(geo.iova_bits()), FW(64 - geo.page_shift),
        PW(cfg.pasid_bits), IW(cfg.did_bits), GW(bits_for(tl.n + 2)),
        PSW(bits_for(2 * (tl.invs.size() + 2 * geo.levels + 8))), pfx("c" + std::to_string(check) + "_"),
        wd(c.bv_const((pfx + "dev").c_str(), kDevW)), wp(c.bv_const((pfx + "pasid").c_str(), PW)),
        wa(c.bv_const((pfx + "addr").c_str(), AW)), gq(c.bv_const((pfx + "gpa").c_str(), AW)), cons(c),
        T{c.bv_val(static_cast<uint64_t>(s), GW), c.bv_val(static_cast<uint64_t>((1u << PSW) - 1), PSW)}, lo(from)
  {
    if (!sl) return;
    slice = *sl;
    if (sl->pasid) {
      cons.push_back(wp == bv(*sl->pasid, PW));
    } else {
      for (u64 p : sl->named) cons.push_back(wp != bv(p, PW));
    }
  }

  /// SLICE-1: the witness PASID cannot be `pasid` in this encoding's slice.
  bool sliced_out(u64 pasid) const
  {
    if (!slice) return false;
    if (slice->pasid) return *slice->pasid != pasid;
    return std::find(slice->named.begin(), slice->named.end(), pasid) != slice->named.end();
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

  Res mk(unsigned kind, z3::expr level, z3::expr frame, z3::expr perm, z3::expr ptr)
  {
    return Res{bv(kind, 2), level, frame, perm, ptr};
  }
  Res none(unsigned l) { return mk(kNone, bv(l, kLvlW), bv(0, FW), bv(0, PermW), bv(0, FW)); }
  Res wild(unsigned l) { return mk(kWild, bv(l, kLvlW), bv(0, FW), bv(0, PermW), bv(0, FW)); }
  z3::expr is_pt(const z3::expr & pgtt) { return pgtt == bv(kPgttPassThrough, kPgttW); }
  /// A PASID-table entry that is not present: every field zero.
  Attach absent()
  {
    return Attach{c.bool_val(false), bv(0, IW), bv(0, FW), bv(0, kPgttW), bv(0, FW), c.bool_val(false), c.bool_val(false)};
  }
};

}  // namespace nostale::smt
