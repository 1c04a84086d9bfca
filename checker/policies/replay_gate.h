// Policy: no counterexample reaches anyone before the interpreter has replayed it
// (spec/interp/replay.cpp). One that does not replay is a bug of nostale, not of the driver.
#pragma once

#include "spec/interp/counterexample.h"

namespace nostale {

/// Throws InternalError, naming the claim and every hardware event, unless `cex` (found at
/// check point `check`) replays on the interpreter.
void replay_gate(const Scenario & sc, const Timeline & tl, std::size_t check, const Counterexample & cex,
                 Claim claim = Claim::First);

}  // namespace nostale
