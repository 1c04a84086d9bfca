// Invalidations and time (see invalidations.h).
#include "spec/smt/invalidations.h"

#include "spec/semantics/match.h"
#include "spec/smt/z3_domain.h"

namespace nostale::smt {

Invalidations::Invalidations(Terms & terms) : t(terms) { build_invs(); }

void Invalidations::build_invs()
{
  for (std::size_t j = 0; j < t.tl.invs.size(); ++j) {
    const Invalidation & inv = t.tl.invs[j];
    if (inv.step >= t.s) break;
    if (t.lo > 0 && inv.sync && *inv.sync < t.lo) continue;  // completed before the cut (CUT-1)
    // SLICE-1: a PASID filter matches only entries tagged with its PASID (match.h), and every
    // tracked entry is tagged with the witness's or untagged.
    if (inv.pat.pasid && t.sliced_out(*inv.pat.pasid)) continue;
    std::string n = "inv" + std::to_string(j);
    Time cj = t.new_time(n);
    t.cons.push_back(cj.pos != t.bv(0, t.PSW));  // position 0 of a gap: the instant of the step's writes
    z3::expr comp = t.flag(n + "_done");
    bool forced = inv.sync && *inv.sync <= t.s;
    std::size_t last = inv.sync ? *inv.sync : t.tl.n;
    if (forced) t.cons.push_back(comp);
    t.cons.push_back(z3::implies(comp, z3::uge(cj.g, t.bv(inv.step + 1, t.GW)) &&
                                           z3::ule(cj.g, t.bv(last, t.GW))));
    // In-order completion, and fences: an invalidation completes after those ordered before.
    for (const Inv & i : invs)
      if (ordered_before(t.cfg, t.tl.invs[i.index], inv))
        t.cons.push_back(z3::implies(comp, i.comp && le(i.c, cj)));
    invs.push_back(Inv{j, &inv.pat, forced, comp, cj});
  }
}

z3::expr Invalidations::match_pc(const InvPattern & p, const z3::expr & did, const z3::expr & w,
                                 const z3::expr & pasid, const z3::expr * negative)
{
  return sem::match_record(Z3Domain{t.c}, p, did, t.IW, w, kDevW, pasid, t.PW, negative);
}

z3::expr Invalidations::match_cc(const InvPattern & p, const z3::expr & w) { return sem::match_upper(Z3Domain{t.c}, p, w, kDevW); }

z3::expr Invalidations::untagged(const Instance & I)
{
  if (I.gpa) return t.c.bool_val(true);
  if (!I.walk_pasid) return t.c.bool_val(false);
  return I.pgtt == t.bv(kPgttSecond, kPgttW);
}

z3::expr Invalidations::match(const InvPattern & p, const Instance & I)
{
  switch (I.kind) {
    case CacheKind::PasidCache: return match_pc(p, I.did, I.w, t.wp, &I.neg);
    case CacheKind::ContextCache: return match_cc(p, I.w);
    case CacheKind::Psc:
    case CacheKind::Iotlb: {
      if (!(I.kind == CacheKind::Psc ? p.psc : p.iotlb)) return t.c.bool_val(false);
      z3::expr u = untagged(I);
      sem::Tagged<Z3Domain> e{I.did, I.walk_pasid ? *I.walk_pasid : t.wp,
                              u.is_false() ? std::nullopt : std::optional<z3::expr>(u), I.pgtt,
                              I.kind == CacheKind::Psc ? t.bv(I.level, kLvlW) : I.lvl, t.wa, I.gpa};
      return sem::match_tlb(Z3Domain{t.c}, p, I.kind == CacheKind::Psc, t.geo, e, t.IW, t.PW, t.AW, kPgttW);
    }
    case CacheKind::DevTlb:
      return sem::match_devtlb(Z3Domain{t.c}, p, t.geo, I.w, kDevW, t.wp, t.PW, I.lvl, t.wa, t.AW);
  }
  return t.c.bool_val(false);
}

}  // namespace nostale::smt
