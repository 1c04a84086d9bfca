// Invalidations and time: each invalidation submitted before the check point completes (or not)
// at a symbolic moment, in order and within its sync; which tracked entries its pattern matches;
// and whether an entry is kept (no matching invalidation completes between its fill and its use).
#pragma once

#include <vector>

#include "spec/smt/terms.h"

namespace nostale::smt {

class Invalidations {
 public:
  struct Inv {
    std::size_t index;
    const InvPattern * pat;
    bool forced;  // a sync before the check point forces its completion
    z3::expr comp;
    Time c;
  };

  explicit Invalidations(Terms & terms);

  /// The invalidations submitted before the check point, in submission order.
  std::vector<Inv> invs;

  z3::expr match_pc(const InvPattern & p, const z3::expr & did, const z3::expr & w, const z3::expr & pasid,
                    const z3::expr * negative = nullptr);
  z3::expr match_cc(const InvPattern & p, const z3::expr & w);
  /// Second-stage IOTLB and paging-structure entries carry no PASID tag (VTD-CACHE-3,
  /// nostale::kNoPasid): a PASID filter never names them.
  z3::expr untagged(const Instance & I);
  z3::expr match(const InvPattern & p, const Instance & I);

  /// No invalidation matching (per `m`) completes in (from, to].
  template <class M>
  z3::expr kept(M m, const Time & from, const Time & to)
  {
    z3::expr r = t.c.bool_val(true);
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

 private:
  void build_invs();

  Terms & t;
};

}  // namespace nostale::smt
