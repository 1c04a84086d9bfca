// Policy (nostale check --all): every distinct violation instead of the first one. At each
// check point, for each property (kQueries order), the solver is asked again and again, each
// time with the violations already found blocked (Encoding::same_violation), until it says
// unsat or a bound is hit. The solver blocks a stale target with its tags: the cache (or
// memory itself, or a page request), device, PASID, domain id, level, not-present /
// arbitrary, and for a device-TLB entry whether ATS filled it from the IOTLB; not the witness
// address. What is listed is distinct by (check point, property, that entry without the ATS
// bit, rule): the same entry with the same rule, found again through another fill, is listed
// once. A property's query excludes witnesses and behaviours that violate a property found
// earlier at the check point (so one stale entry is listed under the first of them, not
// twice), as far as the encoding's tracked entries tell. Each one is shrunk, given a readable
// witness and replayed; a violation asked with blocks replays as one that is there
// (Claim::Present), since the interpreter may see a higher-priority one beside it through a
// cached copy the encoding does not judge.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "checker/solve.h"

namespace nostale {

/// Bounds of the enumeration: per (check point, property) and in all.
inline constexpr unsigned kAllPerQuery = 8;
inline constexpr unsigned kAllTotal = 32;

struct AllFound {
  /// Shrunk, replayed counterexamples in (check point, property, order found) order; the
  /// first one is the one first_violation gives.
  std::vector<Counterexample> found;
  /// Why the list may be incomplete: a bound hit, or the solver stopped (time, unknown).
  /// Empty: every check point and property was asked until unsat.
  std::string incomplete;
  /// Set when nothing was found and the search stopped on an unknown answer.
  std::optional<Answer> unknown;
  bool cut_short = false;  ///< the time limit stopped shrinking some trace
};

/// `prepare` turns each sat answer into its reported counterexample (shrink, readable
/// witness, replay), leaving in the answer the model it reports; `extra` is what the query
/// was asked under. It runs once per violation found.
using Prepare = std::function<Counterexample(Answer & sat, const std::vector<z3::expr> & extra, bool & cut_short)>;
AllFound all_violations(ScenarioRun & run, bool unsafe_only, const std::function<void(std::size_t)> & on_proved,
                        const Prepare & prepare);

/// The stale entry of a counterexample as --all tells them apart, e.g. "IOTLB did 2 pasid 0
/// level 1" (the rule is listed beside it).
std::string distinct_key(const Config & cfg, const Counterexample & cex);

}  // namespace nostale
