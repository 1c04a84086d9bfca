// Memory as terms over a symbolic address (see memory_terms.h).
#include "spec/smt/memory_terms.h"

#include <unordered_set>

#include "spec/model/errors.h"

namespace nostale::smt {

MemoryTerms::MemoryTerms(Terms & terms) : check_mem{&terms.tl.mem_at_check(terms.cp), {}, {}}, t(terms)
{
  build_epochs();
}

z3::expr MemoryTerms::index(unsigned l, const z3::expr & addr)
{
  unsigned lo = t.geo.shift(l);
  return addr.extract(lo + t.geo.level_bits - 1, lo);
}

Res MemoryTerms::walk_concrete(MemTerms & m, u64 tbl, unsigned l, unsigned stop, const z3::expr & addr)
{
  auto key = std::make_tuple(tbl, l, stop, addr.id());
  auto hit = m.memo.find(key);
  if (hit != m.memo.end()) return hit->second;
  const Geometry & geo = t.geo;
  const unsigned FW = t.FW;
  Res acc = t.none(l);
  auto it = m.mem->tables().find(tbl);
  if (it == m.mem->tables().end() || it->second.level != l) {
    acc = t.wild(l);
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
          acc = ite(i == t.bv(idx, geo.level_bits),
                    t.mk(kLeaf, t.bv(l, kLvlW), t.bv(pte.frame, FW), t.bv(pte.perm, t.PermW), t.bv(0, FW)), acc);
        } else {
          z3::expr off = z3::zext(i - t.bv(idx, geo.level_bits), FW - geo.level_bits);
          z3::expr in = z3::uge(i, t.bv(idx, geo.level_bits)) && z3::ule(i, t.bv(last->first, geo.level_bits));
          acc = ite(in, t.mk(kLeaf, t.bv(l, kLvlW), t.bv(pte.frame, FW) + off, t.bv(pte.perm, t.PermW), t.bv(0, FW)),
                    acc);
        }
        e = std::next(last);
        continue;
      }
      auto below = [&] {
        if (pte.next == 0) return walk_concrete(m, pte.frame, l - 1, stop, addr);
        // A pointer that skips levels (AMD-PT-1).
        return ite(skipped_zero(l, pte.next, addr), walk_concrete(m, pte.frame, pte.next, stop, addr), t.none(l));
      };
      Res r = l == stop ? t.mk(kPtr, t.bv(l, kLvlW), t.bv(0, FW), t.bv(0, t.PermW), t.bv(pte.frame, FW)) : below();
      if (l == stop && t.skip_on) r.next = t.bv(pte.next, kLvlW);
      acc = ite(index(l, addr) == t.bv(idx, geo.level_bits), r, acc);
      ++e;
    }
  }
  m.memo.emplace(key, acc);
  m.keys.push_back(addr);
  return acc;
}

const std::set<u64> * MemoryTerms::values(const z3::expr & X)
{
  auto hit = values_.find(X.id());
  if (hit != values_.end()) return hit->second ? &*hit->second : nullptr;
  // The constants an ite-tree of constants can take; none when a leaf is anything else.
  std::set<u64> out;
  std::unordered_set<unsigned> seen;
  std::vector<z3::expr> todo{X};
  bool known = true;
  while (known && !todo.empty()) {
    z3::expr e = todo.back();
    todo.pop_back();
    if (!seen.insert(e.id()).second) continue;
    if (e.is_numeral()) {
      out.insert(e.get_numeral_uint64());
    } else if (e.is_app() && e.decl().decl_kind() == Z3_OP_ITE) {
      todo.push_back(e.arg(1));
      todo.push_back(e.arg(2));
    } else {
      known = false;
    }
  }
  values_keys_.push_back(X);  // keeps the id ours (as MemTerms::keys)
  auto & slot = values_[X.id()];
  if (known) slot = std::move(out);
  return slot ? &*slot : nullptr;
}

Res MemoryTerms::walk_sym(MemTerms & m, const z3::expr & X, unsigned l, unsigned stop, const z3::expr & addr)
{
  Res acc = t.wild(l);
  // Only the tables X can name: the others' conditions are false (an exact pruning).
  const std::set<u64> * can = values(X);
  for (const auto & [frame, page] : m.mem->tables())
    if (page.level == l && (!can || can->count(frame)))
      acc = ite(X == t.bv(frame, t.FW), walk_concrete(m, frame, l, stop, addr), acc);
  return acc;
}

z3::expr MemoryTerms::skipped_zero(unsigned l, unsigned below, const z3::expr & addr)
{
  if (below + 1 >= l) return t.c.bool_val(true);
  unsigned lo = t.geo.shift(below + 1), hi = t.geo.shift(l) - 1;
  return addr.extract(hi, lo) == t.bv(0, hi - lo + 1);
}

Res MemoryTerms::walk_below(MemTerms & m, const z3::expr & X, unsigned l, const std::optional<z3::expr> & next,
                            unsigned stop, const z3::expr & addr)
{
  Res acc = walk_sym(m, X, l - 1, stop, addr);
  if (!next) return acc;
  for (unsigned n = l - 2; n >= 1; --n)
    acc = ite(*next == t.bv(n, kLvlW), ite(skipped_zero(l, n, addr), walk_sym(m, X, n, stop, addr), t.none(l)), acc);
  return acc;
}

Attach MemoryTerms::attach_at(const Memory & m, const z3::expr & w, const z3::expr & pasid)
{
  const unsigned FW = t.FW, IW = t.IW;
  Attach a = t.absent();
  // SLICE-1: the entries of PASIDs outside the slice do not match the witness's PASID (walks
  // for another PASID, of second-stage entries, pass `pasid` other than the witness's).
  const bool witness = z3::eq(pasid, t.wp);
  for (const auto & [key, att] : m.attachments()) {
    if (witness && t.sliced_out(key.second)) continue;
    z3::expr cond = w == t.bv(static_cast<u64>(key.first), kDevW) && pasid == t.bv(key.second, t.PW);
    u64 s2 = m.attached_parent_root(key.first, key.second);
    a = Attach{cond || a.ok, z3::ite(cond, t.bv(att.did, IW), a.did),
               z3::ite(cond, t.bv(m.attached_root(key.first, key.second), FW), a.root),
               z3::ite(cond, t.bv(att.pgtt, kPgttW), a.pgtt), z3::ite(cond, t.bv(s2, FW), a.s2),
               z3::ite(cond, t.c.bool_val(att.ssade), a.ssade),
               // No term at all without privilege: the queries of other scenarios stay as they were.
               t.priv_on ? z3::ite(cond, t.c.bool_val(att.sre), a.sre) : a.sre};
  }
  return a;
}

z3::expr MemoryTerms::is_free(const Memory & m, const z3::expr & f)
{
  z3::expr r = t.c.bool_val(false);
  for (const auto & [lo, hi] : m.freed()) r = r || (z3::uge(f, t.bv(lo, t.FW)) && z3::ult(f, t.bv(hi, t.FW)));
  return r;
}

z3::expr MemoryTerms::ctx_at(const Memory & m, const z3::expr & w)
{
  z3::expr r = t.c.bool_val(true);
  if (!t.ctx_on) return r;
  for (std::size_t d = 0; d < t.cfg.devices.size(); ++d)
    if (!m.context_present(static_cast<int>(d))) r = r && w != t.bv(d, kDevW);
  return r;
}

z3::expr MemoryTerms::tab_at(const Memory & m, const z3::expr & w)
{
  z3::expr r = t.bv(0, kTabW);
  for (std::size_t d = 0; d < t.cfg.devices.size(); ++d)
    if (unsigned tab = m.context_table(static_cast<int>(d))) r = z3::ite(w == t.bv(d, kDevW), t.bv(tab, kTabW), r);
  return r;
}

Attach MemoryTerms::attach_in(const Memory & m, const z3::expr & w, const z3::expr & tab, const z3::expr & pasid)
{
  const unsigned FW = t.FW, IW = t.IW;
  Attach a = t.absent();
  const bool witness = z3::eq(pasid, t.wp);  // SLICE-1, as in attach_at
  for (const auto & [key, table] : m.parked())
    for (const auto & [p, att] : table.attach) {
      if (witness && t.sliced_out(p)) continue;
      z3::expr cond = w == t.bv(static_cast<u64>(key.first), kDevW) && tab == t.bv(key.second, kTabW) &&
                      pasid == t.bv(p, t.PW);
      a = ite(cond, Attach{t.c.bool_val(true), t.bv(att.did, IW), t.bv(m.root_of(att), FW), t.bv(att.pgtt, kPgttW),
                           t.bv(m.parent_root_of(att), FW), t.c.bool_val(att.ssade), t.c.bool_val(t.priv_on && att.sre)},
              a);
    }
  return ite(tab == tab_at(m, w), attach_at(m, w, pasid), a);
}

z3::expr MemoryTerms::ats_at(const Memory & m, const z3::expr & w)
{
  z3::expr r = t.c.bool_val(true);
  for (std::size_t d = 0; d < t.cfg.devices.size(); ++d)
    if (!m.ats_enabled(static_cast<int>(d))) r = r && w != t.bv(d, kDevW);
  return r;
}

void MemoryTerms::build_epochs()
{
  for (std::size_t g = t.lo; g <= t.s; ++g) {  // no fill reads memory before the cut (CUT-1)
    if (epochs.empty() || t.tl.walk_version[g] != t.tl.walk_version[g - 1])
      epochs.push_back(Epoch{g, MemTerms{&t.tl.walk[g], {}, {}}});
    else
      epochs.back().last_gap = g;
  }
}

z3::expr MemoryTerms::out_frame(const z3::expr & base, const z3::expr & lvl, const z3::expr & addr)
{
  const Geometry & geo = t.geo;
  z3::expr r = base;
  for (unsigned l = 2; l <= geo.max_leaf_level(); ++l) {
    unsigned sub = geo.level_bits * (l - 1);
    z3::expr off = z3::zext(addr.extract(geo.page_shift + sub - 1, geo.page_shift), t.FW - sub);
    r = z3::ite(lvl == t.bv(l, kLvlW), base + off, r);
  }
  return r;
}

Res MemoryTerms::pass_res()
{
  z3::expr f = z3::zext(t.wa.extract(t.AW - 1, t.geo.page_shift), t.FW - (t.AW - t.geo.page_shift));
  sem::Tr<Z3Domain> p = sem::pass_through(Z3Domain{t.c}, f, t.cfg.privilege);  // VTD-CACHE-3, the kernel's
  return Res{p.kind, t.bv(1, kLvlW), p.out, p.perm, t.bv(0, t.FW)};
}

std::pair<z3::expr, z3::expr> MemoryTerms::guest_physical(const Res & s1)
{
  const Geometry & geo = t.geo;
  unsigned gbits = t.AW - geo.page_shift;  // guest frames the second stage can map
  z3::expr gpa_frame = out_frame(s1.frame, s1.level);
  z3::expr in = z3::ult(gpa_frame, t.bv(u64{1} << gbits, t.FW));
  z3::expr gpa = z3::concat(gpa_frame.extract(gbits - 1, 0), t.wa.extract(geo.page_shift - 1, 0));
  return {s1.kind == t.bv(kLeaf, 2) && in, gpa};
}

}  // namespace nostale::smt
