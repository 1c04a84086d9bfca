// Tracked entries and their fills (see fills.h). The instances are built in a fixed order (PSC
// levels top down, nested second-stage levels, IOTLB, device TLB, PASID cache, context cache):
// the order in which their terms are declared shows in the SMT-LIB2 dumps.
#include "spec/smt/fills.h"

#include "spec/model/errors.h"
#include "spec/semantics/record.h"
#include "spec/semantics/translate.h"
#include "spec/smt/z3_domain.h"

namespace nostale::smt {

Fills::Fills(Terms & terms, MemoryTerms & memory, Invalidations & invalidations)
    : t(terms), mem(memory), inv(invalidations), psc_start_below(psc_settled_level(terms))
{
  build_psc();
  if (t.nested_on) build_npsc();
  build_tlb();
  build_dtlb();
  build_pct();
  if (t.ctx_on) build_cct();
  if (t.cp.freed_pasid) build_page_request();
}

Instance Fills::new_instance(CacheKind k, unsigned level, const std::string & n)
{
  const unsigned IW = t.IW, FW = t.FW;
  z3::context & c = t.c;
  Instance I{k, level, n, t.flag(n + "_on"), t.new_time(n), t.var(n + "_w", kDevW), t.flag(n + "_pc"),
             t.new_time(n + "_pct"), t.var(n + "_start", kLvlW), t.flag(n + "_ats"),
             t.bv(0, IW), t.bv(0, FW), t.bv(0, kPgttW), t.bv(0, FW), c.bool_val(false), c.bool_val(false), c.bool_val(false),
             t.bv(0, kLvlW), t.bv(0, FW), t.bv(0, FW), t.bv(0, t.PermW), c.bool_val(false), c.bool_val(false),
             c.bool_val(false), Time{t.bv(0, t.GW), t.bv(0, t.PSW)}};
  if (t.ctx_on) {
    I.ctx_use = t.flag(n + "_cc");
    I.ctx_t = t.new_time(n + "_cct");
    t.cons.push_back(z3::ule(I.ctx_t.g, t.bv(t.s, t.GW)) && z3::uge(I.ctx_t.g, t.bv(t.lo, t.GW)));
  }
  // Only the caches the hardware declares hold anything, and a walk uses a cached record only
  // if records are cached (spec/hw/description.h).
  if (!has_cache(t.cfg, k)) t.cons.push_back(!I.active);
  if (!has_cache(t.cfg, CacheKind::PasidCache)) t.cons.push_back(!I.pc_use);
  t.cons.push_back(z3::ult(I.w, t.bv(t.cfg.devices.size(), kDevW)));
  t.cons.push_back(z3::ule(I.t.g, t.bv(t.s, t.GW)));
  t.cons.push_back(z3::ule(I.pc_t.g, t.bv(t.s, t.GW)));
  if (t.lo > 0) {  // CUT-1: the caches are empty at the cut
    t.cons.push_back(z3::uge(I.t.g, t.bv(t.lo, t.GW)));
    t.cons.push_back(z3::uge(I.pc_t.g, t.bv(t.lo, t.GW)));
  }
  return I;
}

/// The walk's PASID-table entry: memory at the walk, or a cached copy filled earlier.
/// The PASID-table entry device `w` reads at time `at`: memory's, or, at the first instant
/// after a non-atomic rewrite of that entry, any per-chunk mix of the old and new entries
/// (chunks as in Entry torn_reads: qw0 present/PGTT/second-stage root, qw1 domain id, qw2
/// first-stage root).
Attach Fills::read_entry(const Time & at, const z3::expr & w, Instance & I, const std::optional<z3::expr> & tab)
{
  z3::expr pasid = I.walk_pasid ? *I.walk_pasid : t.wp;
  Attach a = mem.at_gap(at.g, [&](MemTerms & m) {
    return tab ? mem.attach_in(*m.mem, w, *tab, pasid) : mem.attach_at(*m.mem, w, pasid);
  });
  z3::expr torn_ok = t.c.bool_val(false);
  std::optional<Attach> mixed;
  // One choice per word of the record's layout (Config::hw): the word read old or new. The
  // mix itself is the kernel's (spec/semantics/record.h), the same the interpreter reads.
  const hw::Structure * layout = t.cfg.hw.leaf_structure();
  // Without privilege SRE is false in every record: a layout without it mixes no SRE term, so
  // the queries of other scenarios stay as they were.
  std::optional<hw::Structure> no_sre;
  if (layout && !t.priv_on) {
    no_sre = *layout;
    for (auto & word : no_sre->words) std::erase(word, hw::RecordField::Sre);
    layout = &*no_sre;
  }
  std::vector<z3::expr> take_new;
  if (layout)
    for (std::size_t q = 0; q < layout->words.size(); ++q) take_new.push_back(t.flag(I.name + "_qw" + std::to_string(q) + "new"));
  Z3Domain D{t.c};
  auto stored = [&](const Attach & x) {
    return sem::store(D, sem::Entry<Z3Domain>{x.ok, x.did, x.root, x.pgtt, x.s2, x.ssade, x.sre}, t.FW);
  };
  for (std::size_t g = std::max<std::size_t>(1, t.lo); g <= t.s; ++g) {  // none before the cut (CUT-1)
    const Step & st = t.sc.steps[g - 1];
    if (!st.cw.torn) continue;
    NOSTALE_CHECK(layout, "a non-atomic entry write needs the profile's record layout (Config::hw)");
    z3::expr here = at.g == t.bv(g, t.GW) && at.pos == t.bv(0, t.PSW) &&
                    w == t.bv(static_cast<u64>(st.device), kDevW) && pasid == t.bv(st.pasid, t.PW);
    if (tab) here = here && *tab == mem.tab_at(t.tl.walk[g], w);  // the rewritten entry's table
    Attach o = mem.attach_at(t.tl.walk[g - 1], w, pasid), nw = mem.attach_at(t.tl.walk[g], w, pasid);
    sem::Entry<Z3Domain> m = sem::load(D, sem::torn_mix(D, *layout, stored(o), stored(nw), take_new), t.FW);
    Attach mix{m.ok, m.did, m.root, m.type, m.s2, m.dirty, m.sre};
    mixed = mixed ? ite(here, mix, *mixed) : mix;
    torn_ok = torn_ok || here;
  }
  I.torn = t.flag(I.name + "_torn");
  if (!mixed) {
    t.cons.push_back(!I.torn);
    return a;
  }
  t.cons.push_back(z3::implies(I.torn, torn_ok));
  return ite(I.torn, *mixed, a);
}

std::optional<z3::expr> Fills::require_context(Instance & I, const Time & at)
{
  if (!t.ctx_on) return std::nullopt;
  z3::expr w = I.w;
  z3::expr now = mem.at_gap(at.g, [&](MemTerms & m) { return mem.ctx_at(*m.mem, w); });
  z3::expr cached = lt(I.ctx_t, at) && mem.at_gap(I.ctx_t.g, [&](MemTerms & m) { return mem.ctx_at(*m.mem, w); }) &&
                    inv.kept([&](const InvPattern & p) { return inv.match_cc(p, w); }, I.ctx_t, at);
  t.cons.push_back(z3::implies(I.active, z3::ite(I.ctx_use, cached, now)));
  if (!t.tab_on) return std::nullopt;
  I.ctx_tab = mem.at_gap(I.ctx_t.g, [&](MemTerms & m) { return mem.tab_at(*m.mem, w); });
  return z3::ite(I.ctx_use, *I.ctx_tab, mem.at_gap(at.g, [&](MemTerms & m) { return mem.tab_at(*m.mem, w); }));
}

void Fills::resolve(Instance & I)
{
  Time at{z3::ite(I.pc_use, I.pc_t.g, I.t.g), z3::ite(I.pc_use, I.pc_t.pos, I.t.pos)};
  Attach a = read_entry(at, I.w, I, require_context(I, at));
  I.did = a.did;
  I.root = a.root;
  I.pgtt = a.pgtt;
  I.s2 = a.s2;
  I.ssade = a.ssade;
  I.sre = a.sre;
  t.cons.push_back(z3::implies(I.active, a.ok));
  z3::expr did = I.did, w = I.w, pasid = I.walk_pasid ? *I.walk_pasid : t.wp;
  t.cons.push_back(z3::implies(
      I.active && I.pc_use,
      lt(I.pc_t, I.t) && inv.kept([&](const InvPattern & p) { return inv.match_pc(p, did, w, pasid); }, I.pc_t, I.t)));
  // Only a second-stage entry (no PASID tag) may come from a walk for another PASID.
  if (I.walk_pasid) t.cons.push_back(z3::implies(I.active, *I.walk_pasid == t.wp || inv.untagged(I)));
}

Res Fills::walk(Instance & I, unsigned stop, const z3::expr & walking)
{
  const unsigned levels = t.geo.levels;
  Res res = mem.at_gap(I.t.g, [&](MemTerms & m) { return mem.walk_sym(m, I.root, levels, stop); });
  z3::expr ok_start = I.start == t.bv(0, kLvlW);
  for (unsigned l = stop + 1; l <= levels; ++l) {
    if (!psc.count(l) || l >= psc_start_below) continue;  // PSC-1
    Instance & U = psc.at(l);
    z3::expr is = I.start == t.bv(l, kLvlW);
    ok_start = ok_start || is;
    Res from = mem.at_gap(I.t.g, [&](MemTerms & m) { return mem.walk_below(m, U.ptr, l, U.next, stop, t.wa); });
    from = ite(U.wild, t.wild(l - 1), from);
    res = ite(is, from, res);
    t.cons.push_back(z3::implies(walking && is, U.active && lt(U.t, I.t) && U.did == I.did &&
                                                    U.pgtt == I.pgtt && inv.kept(U, U.t, I.t)));
  }
  t.cons.push_back(z3::implies(walking, ok_start));
  return res;
}

void Fills::leaf_payload(Instance & I, const Res & res, const std::string & n)
{
  I.wild = res.kind == t.bv(kWild, 2);
  I.neg = res.kind == t.bv(kNone, 2);  // allowed only with negative caching (see callers)
  z3::expr arb = t.var(n + "_arblvl", kLvlW);
  unsigned maxl = t.geo.max_leaf_level();
  t.cons.push_back(z3::uge(arb, t.bv(1, kLvlW)) && z3::ule(arb, t.bv(maxl, kLvlW)) &&
                   z3::ule(arb, res.level));
  // A negative entry is cached as 4 KiB: the hardest size to invalidate stands for all.
  I.lvl = z3::ite(I.wild, arb, z3::ite(I.neg, t.bv(1, kLvlW), res.level));
  I.frame = res.frame;
  // VTD-PRIV-1/2: a leaf keeps what each request class may use under the walk's PASID entry.
  I.perm = t.priv_on ? sem::privileged(Z3Domain{t.c}, res.perm, I.pgtt, I.sre) : res.perm;
}

/// The second stage may go on from a cached second-stage pointer (an npsc instance of the
/// same domain id whose guest-physical address covers this walk's) instead of the root.
Res Fills::nest_at_fill(Instance & I, const Res & s1)
{
  const unsigned AW = t.AW;
  Res n = mem.nest(s1, [&](const z3::expr & gpa) {
    Res r = mem.at_gap(I.t.g, [&](MemTerms & m) { return mem.walk_sym(m, I.s2, t.geo.levels, 1, gpa); });
    if (npsc.empty()) return r;
    I.s2start = t.var(I.name + "_s2start", kLvlW);
    z3::expr ok = *I.s2start == t.bv(0, kLvlW);
    for (auto & entry : npsc) {
      unsigned l = entry.first;  // not a structured binding: clang 14 cannot capture one in a lambda
      auto & U = entry.second;
      z3::expr is = *I.s2start == t.bv(l, kLvlW);
      ok = ok || is;
      Res from = mem.at_gap(I.t.g, [&](MemTerms & m) { return mem.walk_sym(m, U.ptr, l - 1, 1, gpa); });
      r = ite(is, ite(U.wild, t.wild(l - 1), from), r);
      unsigned sh = t.geo.shift(l);
      t.cons.push_back(z3::implies(I.active && is, I.pgtt == t.bv(kPgttNested, kPgttW) && U.active && lt(U.t, I.t) &&
                                                       U.did == I.did && inv.kept(U, U.t, I.t) &&
                                                       t.gq.extract(AW - 1, sh) == gpa.extract(AW - 1, sh)));
    }
    t.cons.push_back(ok);
    return r;
  });
  return ite(I.pgtt == t.bv(kPgttNested, kPgttW), n, s1);
}

void Fills::build_psc()
{
  for (unsigned l = t.geo.levels; l >= 2; --l) {
    Instance I = new_instance(CacheKind::Psc, l, "psc" + std::to_string(l));
    if (t.ss_on) I.walk_pasid = t.var(I.name + "_p", t.PW);
    resolve(I);
    Res res = walk(I, l, I.active);
    t.cons.push_back(z3::implies(I.active, res.kind == t.bv(kPtr, 2) || res.kind == t.bv(kWild, 2)));
    t.cons.push_back(z3::implies(I.active, !t.is_pt(I.pgtt)));  // pass-through reads no table
    I.wild = res.kind == t.bv(kWild, 2);
    I.ptr = res.ptr;
    I.next = res.next;  // skip_on: the level its walk goes on at (AMD-PT-1)
    psc.emplace(l, I);
  }
}

/// Second-stage paging-structure entries of nested walks, for one guest-physical address
/// gq (any address a first stage may produce is walked: the interpreter's fills do the
/// same). Filled from the parent's root in memory; untagged by PASID (conservatively: no
/// PASID-based flush names them). A lookup by the witness hits them at its own
/// guest-physical address (hit), nested fills may go on from them (nest_at_fill).
void Fills::build_npsc()
{
  for (unsigned l = t.geo.levels; l >= 2; --l) {
    Instance I = new_instance(CacheKind::Psc, l, "npsc" + std::to_string(l));
    I.gpa = true;
    I.walk_pasid = t.var(I.name + "_p", t.PW);
    resolve(I);
    t.cons.push_back(I.start == t.bv(0, kLvlW) && !I.from_tlb);
    z3::expr s2 = I.s2;
    Res res = mem.at_gap(I.t.g, [&](MemTerms & m) { return mem.walk_sym(m, s2, t.geo.levels, l, t.gq); });
    t.cons.push_back(z3::implies(I.active, I.pgtt == t.bv(kPgttNested, kPgttW) &&
                                               (res.kind == t.bv(kPtr, 2) || res.kind == t.bv(kWild, 2))));
    I.wild = res.kind == t.bv(kWild, 2);
    I.ptr = res.ptr;
    npsc.emplace(l, I);
  }
}

void Fills::build_tlb()
{
  Instance I = new_instance(CacheKind::Iotlb, 0, "tlb");
  if (t.ss_on) I.walk_pasid = t.var(I.name + "_p", t.PW);
  resolve(I);
  Res res = ite(t.is_pt(I.pgtt), mem.pass_res(), nest_at_fill(I, walk(I, 1, I.active)));
  z3::expr ok = res.kind == t.bv(kLeaf, 2) || res.kind == t.bv(kWild, 2);
  if (t.cfg.negative_caching())  // CM=1, second-stage and untyped walks only (VTD-SEQ-11)
    ok = ok || (res.kind == t.bv(kNone, 2) &&
                (I.pgtt == t.bv(kPgttNone, kPgttW) || I.pgtt == t.bv(kPgttSecond, kPgttW)));
  t.cons.push_back(z3::implies(I.active, ok));
  leaf_payload(I, res, "tlb");
  tlb.emplace(I);
}

void Fills::build_dtlb()
{
  Instance I = new_instance(CacheKind::DevTlb, 0, "dtlb");
  z3::expr ats = t.c.bool_val(false);
  for (std::size_t d = 0; d < t.cfg.devices.size(); ++d)
    if (t.cfg.devices[d].ats) ats = ats || I.w == t.bv(d, kDevW);
  // ATS-9: a device fills its device TLB only while its ATS Enable bit is set (no term without
  // ats steps, so that the queries of other scenarios stay as they were).
  if (has_ats_steps(t.sc)) ats = ats && mem.at_gap(I.t.g, [&](MemTerms & m) { return mem.ats_at(*m.mem, I.w); });
  t.cons.push_back(z3::implies(I.active, ats));
  resolve(I);
  Res res = ite(t.is_pt(I.pgtt), mem.pass_res(), nest_at_fill(I, walk(I, 1, I.active && !I.from_tlb)));
  t.cons.push_back(z3::implies(I.active && !I.from_tlb,
                               res.kind == t.bv(kLeaf, 2) || res.kind == t.bv(kWild, 2)));
  leaf_payload(I, res, "dtlb");
  I.neg = t.c.bool_val(false);
  // ATS translation requests are answered from the IOTLB too (ATS-7).
  Instance & U = *tlb;
  t.cons.push_back(z3::implies(I.active && I.from_tlb, U.active && !U.neg && lt(U.t, I.t) &&
                                                           U.did == I.did &&
                                                           inv.kept(U, U.t, I.t)));
  I.wild = z3::ite(I.from_tlb, U.wild, I.wild);
  I.lvl = z3::ite(I.from_tlb, U.lvl, I.lvl);
  I.frame = z3::ite(I.from_tlb, U.frame, I.frame);
  I.perm = z3::ite(I.from_tlb, U.perm, I.perm);
  I.ssade = z3::ite(I.from_tlb, U.ssade, I.ssade);
  dtlb.emplace(I);
}

/// The PASID-cache entry as a target: filled from memory only.
void Fills::build_pct()
{
  Instance I = new_instance(CacheKind::PasidCache, 0, "pct");
  Attach a = read_entry(I.t, I.w, I, require_context(I, I.t));
  // A not-present entry may be cached too (CM=1): did, root and type then read as 0. Not
  // from a torn read: the same entry could be filled just before the write (mirrors
  // torn_reads, which yields present entries only).
  if (t.cfg.negative_config()) {
    I.neg = !a.ok;
    t.cons.push_back(z3::implies(I.active && I.torn, a.ok));
  }
  else
    t.cons.push_back(z3::implies(I.active, a.ok));
  I.did = a.did;
  I.root = a.root;
  I.pgtt = a.pgtt;
  I.s2 = a.s2;
  I.ssade = a.ssade;
  I.sre = a.sre;
  pct.emplace(I);
}

/// A context-cache entry: present, or (CM=1) not present, as memory's then.
void Fills::build_cct()
{
  Instance I = new_instance(CacheKind::ContextCache, 0, "cct");
  z3::expr w = I.w;
  I.neg = !mem.at_gap(I.t.g, [&](MemTerms & m) { return mem.ctx_at(*m.mem, w); });
  if (!t.cfg.negative_context()) t.cons.push_back(z3::implies(I.active, !I.neg));
  if (t.tab_on) I.ctx_tab = mem.at_gap(I.t.g, [&](MemTerms & m) { return mem.tab_at(*m.mem, w); });
  t.cons.push_back(!I.ctx_use && !I.pc_use && !I.torn);
  cct.emplace(I);
}

void Fills::build_page_request()
{
  PageRequest r{t.flag("prq_on"), t.var("prq_dev", kDevW), t.new_time("prq")};
  z3::expr pri = t.c.bool_val(false);
  for (std::size_t d = 0; d < t.cfg.devices.size(); ++d)
    if (t.cfg.devices[d].pri) pri = pri || r.dev == t.bv(d, kDevW);
  Attach a = mem.at_gap(r.t.g, [&](MemTerms & m) { return mem.attach_at(*m.mem, r.dev); });
  z3::expr ok = pri && z3::ule(r.t.g, t.bv(t.s, t.GW)) && a.ok;
  for (std::size_t k = 0; k < t.s; ++k)
    if (t.sc.steps[k].op == Op::Sync && t.sc.steps[k].drain) ok = ok && z3::ugt(r.t.g, t.bv(k, t.GW));
  t.cons.push_back(z3::implies(r.on, ok));
  prq.emplace(r);
}

unsigned psc_settled_level(const Terms & t)
{
  const unsigned levels = t.geo.levels;
  // Not argued for: nested walks (their first stage reads guest tables through the second),
  // pointers that skip levels, and torn reads (whose mix may pair one entry's domain id with
  // another's root).
  if (t.nested_on || t.skip_on) return levels + 1;
  for (std::size_t g = std::max<std::size_t>(1, t.lo); g <= t.s; ++g)
    if (t.sc.steps[g - 1].cw.torn) return levels + 1;
  // A cached pointer is used only by walks of its domain id and table type (Fills::walk):
  // with one root for each, it came from a walk from the user's own root.
  std::map<std::pair<u64, unsigned>, u64> root;
  auto one_root = [&](const Memory & m, const Attachment & a) {
    if (a.pgtt == kPgttPassThrough) return true;
    u64 r = m.root_of(a);
    if (!m.is_table(r, levels)) return false;
    auto [it, fresh] = root.emplace(std::make_pair(a.did, a.pgtt), r);
    return fresh || it->second == r;
  };
  unsigned l = 2;
  const Memory * prev = nullptr;
  for (std::size_t g = t.lo; g <= t.s; ++g) {
    if (prev && t.tl.walk_version[g] == t.tl.walk_version[g - 1]) continue;
    const Memory & m = t.tl.walk[g];
    for (const auto & [key, a] : m.attachments())
      if (!one_root(m, a)) return levels + 1;
    for (const auto & [key, p] : m.parked())
      for (const auto & [pasid, a] : p.attach)
        if (!one_root(m, a)) return levels + 1;
    // Both conditions for l hold for every level above l too.
    while (l <= levels && !(m.upper_pointers_land(l) && (!prev || prev->upper_entries_kept(m, l)))) ++l;
    prev = &m;
  }
  return l;
}

std::vector<Instance *> Fills::all()
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

}  // namespace nostale::smt
