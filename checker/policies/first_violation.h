// Policy: check points in timeline order, and at each one the queries of kQueries in order;
// the first sat answer is the earliest violation and ends the search. An unknown answer also
// ends it, and never counts as unsat.
#pragma once

#include <functional>
#include <string>

#include "checker/solve.h"

namespace nostale {

/// The first Sat answer, the Unknown answer that stopped the search, or an Unsat answer when
/// every query of every check point is unsat or does not apply. `unsafe_only` skips the
/// restrictive no-stale query; `on_proved` gets the step of each check point proved.
Answer first_violation(ScenarioRun & run, bool unsafe_only, const std::function<void(std::size_t)> & on_proved);

/// Why an Unknown answer of first_violation leaves the verdict open, in words.
std::string unknown_reason(const ScenarioRun & run, const Answer & unknown);

}  // namespace nostale
