#include "checker/policies/readable_witness.h"

#include <set>

namespace nostale {

namespace {

/// Address ranges [lo, lo + size) the driver touched: maps, unmaps and dma accesses (a page
/// each); invalidation ranges only if there are none of those, and only those smaller than
/// half the address space (a whole-space flush says nothing about where to look).
std::vector<std::pair<u64, u64>> touched(const Scenario & sc)
{
  const Geometry & g = sc.config.geo;
  const u64 space = g.addr_mask();
  std::vector<std::pair<u64, u64>> rs, invs;
  for (const Step & s : sc.steps) {
    if ((s.op == Op::Map || s.op == Op::Unmap) && s.size) rs.push_back({s.iova, s.size});
    if (s.op == Op::Dma && !s.noncanonical) rs.push_back({s.iova & ~((u64{1} << g.page_shift) - 1), u64{1} << g.page_shift});
    if (s.op == Op::Invalidate && s.inv.ranged && s.inv.size && s.inv.size <= space / 2)
      invs.push_back({s.inv.addr, s.inv.size});
  }
  std::vector<std::pair<u64, u64>> out;
  for (auto [lo, size] : rs.empty() ? invs : rs)
    if (lo <= space) out.push_back({lo, std::min(size, space - lo + 1)});
  return out;
}

}  // namespace

Answer readable_witness(ScenarioRun & run, Answer shrunk, const std::vector<z3::expr> & extra)
{
  const Scenario & sc = run.scenario();
  if (run.timeline().checks.at(shrunk.check).dma) return shrunk;  // the witness is the dma's
  smt::Encoding & enc = run.encoding(shrunk.check);
  smt::Encoding::Witness w = enc.witness();
  z3::context & c = w.addr.ctx();
  const unsigned aw = w.addr.get_sort().bv_size(), pw = w.pasid.get_sort().bv_size();
  const unsigned shift = sc.config.geo.page_shift;

  z3::expr aligned = shift == 0 ? c.bool_val(true) : w.addr.extract(shift - 1, 0) == c.bv_val(0, shift);
  z3::expr_vector in(c);
  for (auto [lo, size] : touched(sc)) {
    z3::expr from = c.bv_val(static_cast<uint64_t>(lo), aw);
    // size may be 2^aw (the whole space): then every address from lo on.
    in.push_back(aw < 64 && (size >> aw) == 0 ? z3::ule(from, w.addr) && z3::ult(w.addr - from, c.bv_val(static_cast<uint64_t>(size), aw))
                                            : z3::ule(from, w.addr));
  }
  z3::expr_vector named(c);
  std::set<u64> pasids = named_pasids(sc);
  if (pasids.empty()) pasids.insert(0);  // none named: the default PASID
  for (u64 p : pasids)
    if (pw >= 64 || p >> pw == 0) named.push_back(w.pasid == c.bv_val(static_cast<uint64_t>(p), pw));
  z3::expr pasid_ok = named.empty() ? c.bool_val(true) : z3::mk_or(named);

  std::vector<z3::expr> wants;
  if (!in.empty()) wants.push_back(aligned && z3::mk_or(in) && pasid_ok);
  wants.push_back(aligned && pasid_ok);
  z3::expr_vector acts = enc.actions();
  const unsigned k = count_true(*shrunk.model, acts);
  for (const z3::expr & want : wants) {
    if (shrunk.model->eval(want, true).is_true()) return shrunk;  // readable already
    std::vector<z3::expr> more = extra;
    more.push_back(z3::atmost(acts, k));
    more.push_back(want);
    Answer again = run.solve(shrunk.check, shrunk.query, more);
    if (again.kind == Answer::Sat) return again;
    if (again.kind == Answer::Unknown) break;  // out of time: keep what there is
  }
  return shrunk;
}

}  // namespace nostale
