// Judgement at the check point (see judgement.h). Terms shared by several targets (the
// witness's entry, the routes, the route's first stage) are built once, on first use.
#include "spec/smt/judgement.h"


namespace nostale::smt {

Judgement::Judgement(Terms & terms, MemoryTerms & memory, Invalidations & invalidations, Fills & f)
    : t(terms), mem(memory), inv(invalidations), fills(f), D{terms.c}
{
}

Res Judgement::nest_at_check(const z3::expr & pgtt, const z3::expr & s2, const Res & s1)
{
  Res n = mem.nest(s1, [&](const z3::expr & gpa) { return mem.walk_sym(mem.check_mem, s2, t.geo.levels, 1, gpa); });
  return ite(pgtt == t.bv(kPgttNested, kPgttW), n, s1);
}

Attach Judgement::attach_T()
{
  if (!attach_T_) {
    // Without its context entry the device translates nothing (mirrors evaluate).
    Attach none = t.absent();
    attach_T_.emplace(ite(mem.ctx_at(*mem.check_mem.mem, t.wd), raw_T(), none));
  }
  return *attach_T_;
}

const std::vector<Judgement::RouteSel> & Judgement::routes()
{
  if (!routes_.empty()) return routes_;
  Attach a = attach_T();
  Instance & P = *fills.pct;
  routes_.push_back({a.ok, a.did, a.pgtt, a.root, a.s2, a.sre});
  routes_.push_back({present(P) && !P.neg && P.w == t.wd, P.did, P.pgtt, P.root, P.s2, P.sre});
  if (fills.cct) {
    Instance & C = *fills.cct;
    Attach r = cc_T();
    routes_.push_back({off_memory(C) && present(C) && !C.neg && C.w == t.wd && r.ok, r.did, r.pgtt, r.root, r.s2, r.sre});
  }
  return routes_;
}

Judgement::RouteSel Judgement::route()
{
  if (route_) return *route_;
  const std::vector<RouteSel> & rs = routes();
  z3::expr rt = t.var("route", 2);
  RouteSel sel = rs.back();
  sel.valid = rt == t.bv(rs.size() - 1, 2) && sel.valid;
  for (std::size_t i = rs.size() - 1; i-- > 0;) {
    z3::expr is = rt == t.bv(i, 2);
    sel = RouteSel{(is && rs[i].valid) || sel.valid, z3::ite(is, rs[i].did, sel.did),
                   z3::ite(is, rs[i].pgtt, sel.pgtt), z3::ite(is, rs[i].root, sel.root), z3::ite(is, rs[i].s2, sel.s2),
                   rs[i].sre.id() == sel.sre.id() ? sel.sre : z3::ite(is, rs[i].sre, sel.sre)};
  }
  route_.emplace(sel);
  return *route_;
}

Res Judgement::s1_T()
{
  if (!s1_T_) s1_T_.emplace(mem.walk_sym(mem.check_mem, route().root, t.geo.levels, 1));
  return *s1_T_;
}

std::pair<z3::expr, z3::expr> Judgement::gpa_T()
{
  auto [ok, gpa] = mem.guest_physical(s1_T());
  return {route().pgtt == t.bv(kPgttNested, kPgttW) && ok, gpa};
}

Attach Judgement::raw_T()
{
  if (!raw_T_) raw_T_.emplace(mem.attach_at(*mem.check_mem.mem, t.wd));
  return *raw_T_;
}

Attach Judgement::cc_T()
{
  Instance & C = *fills.cct;
  if (!t.tab_on) return raw_T();
  return mem.attach_in(*mem.check_mem.mem, t.wd, *C.ctx_tab, t.wp);
}

z3::expr Judgement::off_memory(Instance & C)
{
  z3::expr r = !attach_T().ok;
  if (t.tab_on) r = r || *C.ctx_tab != mem.tab_at(*mem.check_mem.mem, t.wd);
  return r;
}

Judgement::Tr Judgement::raw_tr()
{
  Attach r = cc_T();
  Res x = nest_at_check(r.pgtt, r.s2, mem.walk_sym(mem.check_mem, r.root, t.geo.levels, 1));
  return privileged(from_res(ite(r.ok, ite(t.is_pt(r.pgtt), mem.pass_res(), x), t.none(t.geo.levels))), r.pgtt, r.sre);
}

Judgement::Tr Judgement::memory_tr()
{
  Attach a = attach_T();
  Res r = nest_at_check(a.pgtt, a.s2, mem.walk_sym(mem.check_mem, a.root, t.geo.levels, 1));
  return privileged(from_res(ite(a.ok, ite(t.is_pt(a.pgtt), mem.pass_res(), r), t.none(t.geo.levels))), a.pgtt, a.sre);
}

Judgement::Tr Judgement::walker_tr()
{
  if (!walk_mem_) walk_mem_.emplace(MemTerms{&t.tl.walk_at_check(t.cp), {}, {}});
  MemTerms & w = *walk_mem_;
  Attach none = t.absent();
  Attach a = ite(mem.ctx_at(*w.mem, t.wd), mem.attach_at(*w.mem, t.wd), none);
  Res s1 = mem.walk_sym(w, a.root, t.geo.levels, 1);
  Res n = mem.nest(s1, [&](const z3::expr & gpa) { return mem.walk_sym(w, a.s2, t.geo.levels, 1, gpa); });
  Res r = ite(a.pgtt == t.bv(kPgttNested, kPgttW), n, s1);
  return privileged(from_res(ite(a.ok, ite(t.is_pt(a.pgtt), mem.pass_res(), r), t.none(t.geo.levels))), a.pgtt, a.sre);
}

Judgement::Tr Judgement::built(Instance & I)
{
  const unsigned levels = t.geo.levels;
  MemTerms & check_mem = mem.check_mem;
  switch (I.kind) {
    case CacheKind::PasidCache:
      return privileged(from_res(ite(I.neg, t.none(levels),
                                     ite(t.is_pt(I.pgtt), mem.pass_res(),
                                         nest_at_check(I.pgtt, I.s2, mem.walk_sym(check_mem, I.root, levels, 1))))),
                        I.pgtt, I.sre);
    case CacheKind::Psc: {
      if (I.gpa) {
        // A second-stage entry of a nested walk: memory's first stage, then on from it.
        Res r = mem.nest(s1_T(), [&](const z3::expr & gpa) {
          return mem.walk_sym(check_mem, I.ptr, I.level - 1, 1, gpa);
        });
        Tr x = from_res(ite(I.wild, t.wild(I.level - 1), r));
        return t.priv_on ? privileged(x, route().pgtt, route().sre) : x;
      }
      // A nested paging-structure entry goes on through the second stage the route uses, and
      // what each request class may use of the walk it starts is the route's (VTD-PRIV-2).
      Res r = nest_at_check(I.pgtt, route().s2, mem.walk_below(check_mem, I.ptr, I.level, I.next, 1, t.wa));
      Tr x = from_res(ite(I.wild, t.wild(I.level - 1), r));
      return t.priv_on ? privileged(x, I.pgtt, route().sre) : x;
    }
    default:
      return Tr{z3::ite(I.wild, t.bv(kWild, 2), z3::ite(I.neg, t.bv(kNone, 2), t.bv(kLeaf, 2))),
                mem.out_frame(I.frame, I.lvl), I.perm};
  }
}

z3::expr Judgement::hit(Instance & I)
{
  // ATS-9: a device whose ATS Enable bit is clear does not use its device TLB.
  if (I.kind == CacheKind::DevTlb && has_ats_steps(t.sc)) return I.w == t.wd && mem.ats_at(*mem.check_mem.mem, t.wd);
  if (I.kind == CacheKind::PasidCache || I.kind == CacheKind::DevTlb || I.kind == CacheKind::ContextCache)
    return I.w == t.wd;
  // The lookup's domain id: that of a route's PASID-table entry. IOTLB lookups match any
  // translation type; paging-structure caches are per stage (see evaluate in cache.cpp).
  z3::expr any = t.c.bool_val(I.kind == CacheKind::Iotlb);
  z3::expr tags = t.c.bool_val(false);
  if ((t.nested_on || t.priv_on) && I.kind == CacheKind::Psc) {
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
  return tags && ok && t.gq == gpa;
}

// The judgement is the kernel's (spec/semantics/judge.h), the same the interpreter runs.

z3::expr Judgement::reaches_free(const Tr & x)
{
  const Memory & m = *mem.check_mem.mem;
  return sem::reaches_free(D, x, t.cp.access, mem.is_free(m, x.out), m.any_free());
}

z3::expr Judgement::unsafe(const Tr & b, const Tr & m)
{
  return sem::unsafe(D, b, m, t.cp.access);
}

z3::expr Judgement::restrictive(const Tr & b, const Tr & m)
{
  return sem::restrictive(D, b, m, t.cp.access);
}

std::vector<std::pair<Instance *, z3::expr>> Judgement::targets(const std::string & prop, const std::string & sev)
{
  Targets v;
  Tr mt = memory_tr();
  if (prop == "no-dma-after-free")
    dma_after_free(mt, v);
  else if (prop == "no-missed-dirty")
    missed_dirty(v);
  else if (prop == "no-reuse-while-cached")
    reuse_while_cached(v);
  else
    stale(mt, sev, v);
  return v;
}

void Judgement::dma_after_free(const Tr & mt, Targets & v)
{
  // A pass-through device is trusted with all memory (mirrors evaluate in cache.cpp).
  Attach a = attach_T();
  auto granted = [&](const Tr & x) { return sem::trusted(D, a.ok && t.is_pt(a.pgtt), x, mt); };
  v.push_back({nullptr, reaches_free(mt) && !granted(mt)});
  for (Instance * I : fills.all()) {
    if (I->kind == CacheKind::ContextCache) {
      // Cleared in memory, still cached: the PASID table as in memory.
      Tr b = raw_tr();
      v.push_back({I, present(*I) && hit(*I) && !I->neg && off_memory(*I) && reaches_free(b) && !granted(b)});
      continue;
    }
    Tr b = built(*I);
    v.push_back({I, present(*I) && hit(*I) && reaches_free(b) && !granted(b)});
  }
}

void Judgement::missed_dirty(Targets & v)
{
  // Dirty tracking on for the witness's second-stage or nested entry, and an entry filled
  // while it was off could serve a write (VTD-SEQ-6).
  Attach a = attach_T();
  z3::expr tracked = a.ok && a.ssade &&
                     (a.pgtt == t.bv(kPgttSecond, kPgttW) || a.pgtt == t.bv(kPgttNested, kPgttW));
  if (!(t.cp.access & kPermWrites)) return;
  for (Instance * I : fills.all()) {
    if (I->kind == CacheKind::Psc || I->kind == CacheKind::ContextCache) continue;
    z3::expr writes = I->kind == CacheKind::PasidCache
                          ? !I->neg
                          : !I->neg && (I->wild || (I->perm & t.bv(kPermWrites, t.PermW)) != t.bv(0, t.PermW));
    v.push_back({I, tracked && present(*I) && hit(*I) && !I->ssade && writes});
  }
}

void Judgement::reuse_while_cached(Targets & v)
{
  const CheckPoint & cp = t.cp;
  if (fills.prq) v.push_back({nullptr, t.wp == t.bv(*cp.freed_pasid, t.PW) && fills.prq->on});
  for (Instance * I : fills.all()) {
    if (I->kind == CacheKind::ContextCache) continue;  // tagged by device only
    if (cp.freed_pasid) v.push_back({I, t.wp == t.bv(*cp.freed_pasid, t.PW) && present(*I) && !inv.untagged(*I)});
    else if (cp.freed_did && I->kind != CacheKind::DevTlb)
      v.push_back({I, present(*I) && I->did == t.bv(*cp.freed_did, t.IW)});
  }
}

void Judgement::stale(const Tr & mt, const std::string & sev, Targets & v)
{
  z3::expr mem_ok = mt.kind != t.bv(kWild, 2);
  for (Instance * I : fills.all()) {
    if (I->kind == CacheKind::ContextCache) {
      // A cached context entry of a device whose entry memory has cleared; or a cached
      // not-present one where memory now translates (mirrors evaluate).
      z3::expr now = mem.ctx_at(*mem.check_mem.mem, t.wd);
      // Or one that points to another PASID table than memory's (VTD-CTX-2).
      if (sev == "unsafe") {
        z3::expr cached = present(*I) && hit(*I) && !I->neg;  // built first: the dumps stay as they were
        z3::expr gone = !now;
        if (t.tab_on) gone = gone || *I->ctx_tab != mem.tab_at(*mem.check_mem.mem, t.wd);
        v.push_back({I, cached && gone});
      }
      else
        v.push_back({I, present(*I) && hit(*I) && I->neg && now && mt.kind == t.bv(kLeaf, 2) && allows(mt.perm)});
      continue;
    }
    if (I->kind == CacheKind::PasidCache) {
      Attach a = attach_T();
      if (sev == "unsafe") {
        z3::expr live = present(*I) && hit(*I) && !I->neg;  // built first: the terms' order shows in dumps
        z3::expr differs = !a.ok || I->did != a.did || I->root != a.root || I->pgtt != a.pgtt || I->s2 != a.s2;
        if (t.priv_on) differs = differs || I->sre != a.sre;  // VTD-PRIV-2
        v.push_back({I, live && differs});
      }
      else  // a cached not-present entry where memory now translates
        v.push_back({I, mem_ok && present(*I) && hit(*I) && I->neg && restrictive(built(*I), mt)});
      continue;
    }
    Tr b = built(*I);
    z3::expr bad = sev == "unsafe" ? unsafe(b, mt) : restrictive(b, mt);
    v.push_back({I, mem_ok && present(*I) && hit(*I) && bad});
  }
  // No entry: the walk on a miss reads what a non-coherent walker sees, and denies what
  // memory grants (a table write not yet flushed, VTD-COH-4; mirrors evaluate).
  if (sev == "restrictive" && !t.cfg.coherent()) v.push_back({nullptr, mem_ok && restrictive(walker_tr(), mt)});
}

z3::expr Judgement::witness()
{
  const CheckPoint & cp = t.cp;
  z3::expr r = z3::ult(t.wd, t.bv(t.cfg.devices.size(), kDevW));
  if (cp.dma)
    r = r && t.wd == t.bv(static_cast<u64>(cp.device), kDevW) && t.wp == t.bv(cp.pasid, t.PW) &&
        t.wa == t.bv(cp.addr, t.AW);
  return r;
}

}  // namespace nostale::smt
