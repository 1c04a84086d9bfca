// Policy: a witness a driver developer recognises. When the check point leaves the witness
// free (not a dma's own access), the solver is asked once more, with the trace kept at its
// fewest hardware actions, for a page-aligned address inside a range the driver touched (a
// map, unmap or dma, else an invalidation range) and a PASID the scenario names; failing
// that, for a page-aligned address with such a PASID. When neither exists, or the time is
// spent, the answer is kept as it was: the witness is then whatever the solver chose.
#pragma once

#include <vector>

#include "checker/solve.h"

namespace nostale {

/// `shrunk`: a sat answer at its fewest actions; `extra`: the constraints its query was asked
/// under (blocked violations, --all). Returns `shrunk` or a sat answer with as many actions
/// and a more readable witness.
Answer readable_witness(ScenarioRun & run, Answer shrunk, const std::vector<z3::expr> & extra);

}  // namespace nostale
