// Invalidations and time (see invalidations.h).
#include "spec/smt/invalidations.h"

namespace nostale::smt {

Invalidations::Invalidations(Terms & terms) : t(terms) { build_invs(); }

void Invalidations::build_invs()
{
  for (std::size_t j = 0; j < t.tl.invs.size(); ++j) {
    const Invalidation & inv = t.tl.invs[j];
    if (inv.step >= t.s) break;
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

z3::expr Invalidations::filters(const InvPattern & p, const z3::expr & did, const z3::expr & tag)
{
  z3::expr r = t.c.bool_val(true);
  if (p.pasid) r = r && tag == t.bv(*p.pasid, t.PW);
  if (p.did) r = r && did == t.bv(*p.did, t.IW);
  return r;
}

z3::expr Invalidations::overlap(const InvPattern & p, const z3::expr & lvl)
{
  if (!p.ranged) return t.c.bool_val(true);
  // An aligned region of 2^s bytes around the witness overlaps [A, E) iff its index
  // (addr >> s) lies in [A >> s, (E - 1) >> s]: compare only the bits above s.
  const unsigned AW = t.AW;
  z3::expr r = t.c.bool_val(false);
  for (unsigned l = 1; l <= t.geo.levels; ++l) {
    unsigned sh = t.geo.shift(l);
    if (sh >= AW) continue;
    z3::expr idx = t.wa.extract(AW - 1, sh);
    z3::expr in = z3::uge(idx, t.bv(p.addr >> sh, AW - sh)) &&
                  z3::ule(idx, t.bv((p.addr + p.size - 1) >> sh, AW - sh));
    r = z3::ite(lvl == t.bv(l, kLvlW), in, r);
  }
  return r;
}

z3::expr Invalidations::match_pc(const InvPattern & p, const z3::expr & did, const z3::expr & w,
                                 const z3::expr & pasid)
{
  if (!p.pasid_cache) return t.c.bool_val(false);
  z3::expr r = filters(p, did, pasid);
  if (p.pc_device) r = r && w == t.bv(static_cast<u64>(*p.pc_device), kDevW);
  return r;
}

z3::expr Invalidations::match_cc(const InvPattern & p, const z3::expr & w)
{
  if (!p.context_cache) return t.c.bool_val(false);
  return p.pc_device ? w == t.bv(static_cast<u64>(*p.pc_device), kDevW) : t.c.bool_val(true);
}

z3::expr Invalidations::untagged(const Instance & I)
{
  if (I.gpa) return t.c.bool_val(true);
  if (!I.walk_pasid) return t.c.bool_val(false);
  return I.pgtt == t.bv(kPgttSecond, kPgttW);
}

z3::expr Invalidations::tlb_filters(const InvPattern & p, const Instance & I)
{
  z3::expr r = filters(p, I.did, I.walk_pasid ? *I.walk_pasid : t.wp);
  z3::expr u = untagged(I);
  return p.pasid && !u.is_false() ? r && !u : r;  // keep constant-false tests foldable
}

z3::expr Invalidations::pgtt_in(const z3::expr & pgtt, unsigned mask)
{
  z3::expr r = t.c.bool_val(false);
  for (unsigned x : {kPgttNone, kPgttFirst, kPgttSecond, kPgttNested, kPgttPassThrough})
    if ((mask >> x) & 1) r = r || pgtt == t.bv(x, kPgttW);
  return r;
}

z3::expr Invalidations::where(const InvPattern & p, const Instance & I, const z3::expr & lvl)
{
  // A range of input addresses does not reach entries indexed by guest-physical address.
  z3::expr in_range = I.gpa ? t.c.bool_val(!p.ranged) : overlap(p, lvl);
  return pgtt_in(I.pgtt, p.pgtt_anyaddr) || (pgtt_in(I.pgtt, p.pgtt_mask) && in_range);
}

z3::expr Invalidations::match(const InvPattern & p, const Instance & I)
{
  switch (I.kind) {
    case CacheKind::PasidCache: return match_pc(p, I.did, I.w, t.wp);
    case CacheKind::ContextCache: return match_cc(p, I.w);
    case CacheKind::Psc:
      return p.psc ? tlb_filters(p, I) && where(p, I, t.bv(I.level, kLvlW)) : t.c.bool_val(false);
    case CacheKind::Iotlb:
      return p.iotlb ? tlb_filters(p, I) && where(p, I, I.lvl) : t.c.bool_val(false);
    case CacheKind::DevTlb: {
      if (!p.devtlb) return t.c.bool_val(false);
      z3::expr r = overlap(p, I.lvl);
      if (p.pasid) r = r && t.wp == t.bv(*p.pasid, t.PW);
      if (p.device) r = r && I.w == t.bv(static_cast<u64>(*p.device), kDevW);
      return r;
    }
  }
  return t.c.bool_val(false);
}

}  // namespace nostale::smt
