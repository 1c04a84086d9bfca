// CUT-1: where the encoding of later check points may start. Each check point's encoding
// covers every behaviour from the start of the scenario, so long flows cost quadratic time. A
// check point k is a cut when every cache state reachable at k is also reachable by filling
// empty caches at k from memory at k: then every behaviour after k is one that starts with
// empty caches at k and fills from then on, and the checks after k need not encode what came
// before k (Terms::lo).
//
// Why that holds: caches are sets of entries (MOD-2), and a fill at gap k inserts one entry
// that a walk of memory at k yields, whatever else is cached. If every entry present at k equals
// such a walk's result, for the same walker and tags, any set of them is reachable from empty
// caches by fills at k. The other state a behaviour carries across k must be empty: no
// invalidation pending (every one submitted before k was waited for before k), no page request
// in flight (no PRI device), no nested second-stage entries (their guest-physical addresses are
// not tracked per entry). cut_possible() says so from the timeline; inexact() asks the solver
// for an entry present at k that no such walk yields. The question is about reachable states,
// not about properties: it holds or not whatever was proved at k.
//
// CUT-2: a check point k after a cut c (or the start, where the caches are empty) is itself a
// cut, without asking, when no walk reads anything different at any gap from c to k
// (Memory::same_walks: only frames were freed, or nothing was written) and cut_possible() holds
// at k. Every entry present at k was present at c or filled in between, so it is what a walk
// of memory at c, or at a later gap, yields: all of them equal memory at k. That is the
// condition inexact() asks about, met by construction. Its own encoding may then start at k.
//
// The comparison is per field of the tracked instance (Instance in terms.h): a field added
// there must be compared here, or a cut could drop a behaviour. The static_assert below fails
// when Instance changes size, as a reminder.
#include <algorithm>

#include "spec/semantics/translate.h"
#include "spec/smt/encoding_impl.h"
#include "spec/smt/z3_domain.h"

namespace nostale::smt {

static_assert(sizeof(Instance) == 544,
              "Instance changed: compare the new field in exact() below (CUT-1), then update this size");

namespace {

/// The entry a walk by `I`'s walker for `I`'s PASID reads in memory W: its fields equal I's.
z3::expr same_record(const Attach & a, const Instance & I)
{
  return a.ok && a.did == I.did && a.root == I.root && a.pgtt == I.pgtt && a.s2 == I.s2 && a.ssade == I.ssade &&
         a.sre == I.sre;
}

/// I holds exactly what a fill at the check point's gap, reading memory W only, would insert.
z3::expr exact(Terms & t, MemoryTerms & mem, Instance & I, MemTerms & W)
{
  const unsigned levels = t.geo.levels;
  z3::expr pasid = I.walk_pasid ? *I.walk_pasid : t.wp;
  z3::expr ctx = mem.ctx_at(*W.mem, I.w);
  z3::expr untorn = !I.torn;
  switch (I.kind) {
    case CacheKind::ContextCache: {
      // With context entries that change tables, the cached copy's table too (VTD-CTX-1).
      z3::expr same_table = I.ctx_tab ? *I.ctx_tab == mem.tab_at(*W.mem, I.w) : t.c.bool_val(true);
      return z3::ite(I.neg, !ctx, ctx && same_table);
    }
    case CacheKind::PasidCache: {
      Attach a = mem.attach_at(*W.mem, I.w, pasid);
      return ctx && untorn && z3::ite(I.neg, !a.ok, same_record(a, I));
    }
    case CacheKind::Psc: {
      if (I.gpa) return t.c.bool_val(false);  // not covered (cut_possible excludes nesting)
      Attach a = mem.attach_at(*W.mem, I.w, pasid);
      Res r = mem.walk_sym(W, a.root, levels, I.level, t.wa);
      z3::expr same = ctx && untorn && same_record(a, I) && !t.is_pt(a.pgtt) && !I.wild && r.kind == t.bv(kPtr, 2) &&
                      r.ptr == I.ptr;
      if (I.next && r.next) same = same && *I.next == *r.next;
      else if (I.next || r.next) same = t.c.bool_val(false);
      return same;
    }
    case CacheKind::Iotlb:
    case CacheKind::DevTlb: {
      Attach a = mem.attach_at(*W.mem, I.w, pasid);
      Res r = ite(t.is_pt(a.pgtt), mem.pass_res(), mem.walk_sym(W, a.root, levels, 1, t.wa));
      // Each request class's rights, as a fill derives them (VTD-PRIV-1/2).
      z3::expr perm = t.priv_on ? sem::privileged(Z3Domain{t.c}, r.perm, a.pgtt, a.sre) : r.perm;
      z3::expr same = ctx && untorn && same_record(a, I) && !I.wild && !I.neg && r.kind == t.bv(kLeaf, 2) &&
                      I.lvl == r.level && I.frame == r.frame && I.perm == perm;
      if (I.kind == CacheKind::DevTlb && has_ats_steps(t.sc)) same = same && mem.ats_at(*W.mem, I.w);
      return same;
    }
  }
  return t.c.bool_val(false);
}

}  // namespace

z3::expr Encoding::cut_query()
{
  Terms & t = impl_->t;
  z3::expr_vector q(t.c);
  for (unsigned i = 0; i < t.cons.size(); ++i) q.push_back(t.cons[i]);
  q.push_back(cut_breach());
  return z3::mk_and(q);
}

z3::expr Encoding::cut_breach()
{
  Impl & e = *impl_;
  Terms & t = e.t;
  // Every witness: the values a DMA check point fixes (constraints()) would leave the entries
  // of other devices, PASIDs and addresses unasked.
  z3::expr_vector q(t.c);
  q.push_back(z3::ult(t.wd, t.bv(t.cfg.devices.size(), kDevW)));
  // What a fill at the check point's gap reads: the walker's memory there (its view, when it is
  // not coherent), the same the fills of the next encoding read at its first gap.
  MemTerms W{&t.tl.walk[t.s], {}, {}};
  z3::expr_vector v(t.c);
  for (Instance * I : e.fills.all()) v.push_back(I->active && e.inv.kept(*I, I->t, t.T) && !exact(t, e.mem, *I, W));
  q.push_back(v.empty() ? t.c.bool_val(false) : z3::mk_or(v));
  return z3::mk_and(q);
}

bool Encoding::cut_possible(const Scenario & sc, const Timeline & tl, std::size_t check)
{
  std::size_t s = tl.checks.at(check).step;
  if (std::any_of(sc.config.devices.begin(), sc.config.devices.end(), [](const Device & d) { return d.pri; }))
    return false;
  if (std::any_of(sc.steps.begin(), sc.steps.end(), [](const Step & st) { return attaches(st, kPgttNested); }))
    return false;
  for (const Invalidation & inv : tl.invs)
    if (inv.step < s && !(inv.sync && *inv.sync < s)) return false;  // may still be pending at s
  return true;
}

bool Encoding::quiet_cut(const Scenario & sc, const Timeline & tl, std::size_t lo, std::size_t check)
{
  std::size_t s = tl.checks.at(check).step;
  if (lo >= s) return false;
  // The gaps first: mostly the first write ends it; cut_possible reads every step.
  for (std::size_t g = lo + 1; g <= s; ++g)
    if (tl.walk_version[g] != tl.walk_version[g - 1] && !tl.walk[g].same_walks(tl.walk[g - 1])) return false;
  return cut_possible(sc, tl, check);
}

}  // namespace nostale::smt
