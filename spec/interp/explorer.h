// The explicit engine: exhaustive enumeration by the interpreter, for small geometries. It
// enumerates every completion schedule of the pending invalidations and, between completions,
// lets the hardware fill every entry it can (saturation). Fills are optional and eviction is
// free, so the saturated cache contains every entry any behaviour could hold at that moment
// under that schedule (fill enabledness is monotone in the cache; completions remove the same
// matching entries from any superset). It is the independent second engine of the
// differential tests.
#pragma once

#include <optional>

#include "spec/interp/cache.h"
#include "spec/model/properties.h"

namespace nostale {

struct ExplicitResult {
  bool complete = true;             ///< false: a limit was hit (see `limit`)
  std::string limit;                ///< which limit
  std::optional<std::size_t> check; ///< index of the first violated check point
  std::string property;
  std::string severity;
  std::size_t schedules = 0;
  /// The whole verdict: per check point, bit q is set when some schedule and some witness
  /// make evaluate() list a violation of query q (kQueries order, spec/model/properties.h), whether or not it is the
  /// first one listed, and whatever earlier check points showed. Filled only on complete runs.
  std::vector<unsigned> violable;
};

/// The witness PASIDs: all of them when few; otherwise those the scenario names plus one it
/// does not (every unnamed PASID behaves alike).
std::vector<u64> pasids_to_enumerate(const Scenario & sc);

/// Enumerates every witness address (2^(levels*level_bits) pages), every PASID below
/// 2^pasid_bits (at most 2^pasid_limit_bits of them: the rest behave like the first unused one)
/// and every schedule. `severity_unsafe_only` skips restrictive findings. `timeout_s` (0: none)
/// is checked inside each schedule too (every 64 page walks or judgements): a run past it
/// ends incomplete with the limit "timeout during completion schedule N".
ExplicitResult explore(const Scenario & sc, const Timeline & tl, bool severity_unsafe_only = false,
                       std::size_t max_schedules = 200000, double timeout_s = 0);

}  // namespace nostale
