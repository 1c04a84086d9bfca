// Policy: which stale entry a counterexample shows when a check point has several. A PASID-
// cache entry and the IOTLB entries walks made through it may all be stale, or an IOTLB entry
// and the device-TLB entry ATS filled from it; the solver may give any of them, and the rule
// the counterexample names would then depend on the model (on Z3's term ids, so on unrelated
// changes). The first kind of target, in the order memory itself, context cache, PASID cache,
// paging-structure caches, IOTLB, device TLB, that can show the violation alone (no target
// extract() reads before it also true) is the one shown: where the staleness starts, before
// the copies made from it.
#pragma once

#include <vector>

#include "checker/solve.h"

namespace nostale {

/// `sat` (asked under `extra`), or a sat answer of the same query whose target is of the first
/// kind in that order that has one; then `extra` gains the constraints that choose that kind,
/// for the policies after this one (shrink keeps them in the answer's solver, a readable
/// witness asks again under `extra`). Unknown for lack of time keeps `sat`.
Answer prefer_cause(ScenarioRun & run, Answer sat, std::vector<z3::expr> & extra);

}  // namespace nostale
