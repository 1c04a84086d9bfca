// The whole verdict of a scenario, for the differential tests: per check point, which queries
// (property, severity) can be violated there, from the SMT encoding and from the explorer.
//
// Definition, the same for both engines: cell (c, q) is true iff some behaviour of the hardware
// up to check point c (fills, ATS fills, evictions, completions the completion order and the
// syncs allow) and some witness (device, PASID, address; a dma step's own) make the
// interpreter's evaluate() list a violation of q at c.
// - SMT: constraints() && violation(q) of check point c is satisfiable, one fresh QF_BV solver
//   per cell as engine.cpp does. The query is not conjoined with the absence of a
//   higher-priority violation, nor with anything about earlier check points: engine.cpp asks
//   the same queries in order and stops at the first sat one, so its verdict is the first true
//   cell in (check point, query) order.
// - Explorer: every completion schedule is simulated to the end and every check point judged,
//   whatever an earlier one showed; for every witness every violation evaluate() lists sets
//   its bit, not only the first one (ExplicitResult::violable).
#pragma once

#include <z3++.h>

#include <sstream>
#include <string>
#include <vector>

#include "spec/interp/explorer.h"
#include "spec/smt/encoding.h"

namespace nostale::difftest {

using Matrix = std::vector<unsigned>;  ///< per check point, bit q: query q can be violated

struct SmtMatrix {
  Matrix cells;
  std::string unknown;  ///< non-empty: a solver answered unknown (why, and where)
  unsigned solver_calls = 0;
  unsigned cuts = 0;  ///< check points taken as cuts (CUT-1)
};

inline SmtMatrix smt_matrix(const Scenario & sc, const Timeline & tl)
{
  SmtMatrix r;
  r.cells.assign(tl.checks.size(), 0);
  z3::context ctx;
  // CUT-1, as eagerly as it can apply: every check point that may be a cut is asked about, and
  // the encodings after it start there when it is one. The matrix must still be the
  // explorer's, which always starts at the beginning.
  std::size_t lo = 0;
  for (std::size_t ci = 0; ci < tl.checks.size(); ++ci) {
    smt::Encoding enc(ctx, sc, tl, ci, lo);
    z3::expr base = enc.constraints();
    for (unsigned q = 0; q < kQueryCount; ++q) {
      std::optional<z3::expr> bad = enc.violation(kQueries[q].property, kQueries[q].severity);
      if (!bad) continue;  // cannot apply here (no-reuse-while-cached away from a free)
      z3::solver s(ctx, "QF_BV");
      s.add(base);
      s.add(*bad);
      z3::check_result res = s.check();
      ++r.solver_calls;
      if (res == z3::unknown) {
        r.unknown = s.reason_unknown() + " at check point " + std::to_string(ci);
        return r;
      }
      if (res == z3::sat) r.cells[ci] |= 1u << q;
    }
    if (ci + 1 < tl.checks.size() && smt::Encoding::cut_possible(sc, tl, ci)) {
      z3::solver s(ctx, "QF_BV");
      s.add(enc.cut_query());
      ++r.solver_calls;
      if (s.check() == z3::unsat) {
        lo = tl.checks[ci].step;
        ++r.cuts;
      }
    }
  }
  return r;
}

/// Rows "step N (op): dma stale-unsafe ..." of the cells that are true, '.' for none.
inline std::string show(const Timeline & tl, const Matrix & m)
{
  static const char * names[kQueryCount] = {"dma-after-free", "reuse", "stale-unsafe", "stale-restrictive",
                                            "missed-dirty"};
  std::ostringstream o;
  for (std::size_t ci = 0; ci < m.size(); ++ci) {
    o << "    check " << ci << " (step " << tl.checks[ci].step << " " << op_name(tl.checks[ci].op) << "):";
    if (!m[ci]) o << " .";
    for (unsigned q = 0; q < kQueryCount; ++q)
      if (m[ci] >> q & 1) o << " " << names[q];
    o << "\n";
  }
  return o.str();
}

/// Number of cells where two matrices of one timeline differ.
inline unsigned differing_cells(const Matrix & a, const Matrix & b)
{
  unsigned n = 0;
  for (std::size_t ci = 0; ci < a.size() && ci < b.size(); ++ci) n += __builtin_popcount(a[ci] ^ b[ci]);
  return n;
}

}  // namespace nostale::difftest
