// The parts of one check point's encoding, shared by encoding.cpp (constraints, violation,
// actions) and extract.cpp (model reading). Internal to spec/smt.
#pragma once

#include "spec/smt/encoding.h"
#include "spec/smt/fills.h"
#include "spec/smt/invalidations.h"
#include "spec/smt/judgement.h"
#include "spec/smt/memory_terms.h"
#include "spec/smt/terms.h"

namespace nostale::smt {

/// The parts are built in declaration order, and each builds its terms in its constructor:
/// memory epochs, invalidations, then the tracked instances (the SMT-LIB2 dumps depend on it).
struct Encoding::Impl {
  Terms t;
  MemoryTerms mem;
  Invalidations inv;
  Fills fills;
  Judgement judge;

  Impl(z3::context & ctx, const Scenario & sc, const Timeline & tl, std::size_t check, std::size_t lo,
       const PasidSlice * slice)
      : t(ctx, sc, tl, check, lo, slice), mem(t), inv(t), fills(t, mem, inv), judge(t, mem, inv, fills)
  {
  }
};

}  // namespace nostale::smt
