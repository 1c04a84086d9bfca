// The bounded model checker: for each check point in order, and each property in order, one
// solver query over the check point's encoding (spec/smt). The first satisfiable query is the
// earliest violation; its model is shrunk to the fewest hardware actions, read out as a
// counterexample, and replayed on the interpreter before it is returned. Every solver answer
// is handled: unknown stops with Verdict::Unknown and never counts as unsat.
// check_scenario composes the mechanism (checker/solve.h: one query, one answer) with the
// policies that decide the rest (checker/policies/).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "spec/interp/counterexample.h"

namespace nostale {
/// CUT-1: a check point is asked about as a cut only this many gaps after the previous cut
/// (spec/smt/cut.cpp): on shorter stretches the query costs more than it saves.
constexpr std::size_t kCutMinGaps = 12;
/// SLICE-1: a check point is proved one witness PASID class at a time when the scenario names
/// at least this many PASIDs (checker/solve.cpp solve_any).
constexpr std::size_t kSliceMinPasids = 4;
/// ... and the check point's encoding holds at least this many invalidations with a PASID filter
/// (each one is matched against every tracked entry of the whole query)
constexpr std::size_t kSliceMinInvalidations = 8;
/// ... or the scenario has at least this many devices (each PASID's entries are usable by every
/// device's lookups). Measured on the bench's SVA flows (devices x PASIDs) where only the frees
/// after a cut have no invalidation: slicing those too, 8 x 8 2.82 -> 2.26 s, 4 x 4 0.37 -> 0.40 s,
/// 2 x 8 0.96 -> 1.30 s, 1 x 16 1.42 -> 4.51 s (17 slices for one device's cheap query).
constexpr std::size_t kSliceMinDevices = 8;
}

namespace nostale {

enum class Verdict { Safe, Violation, Unknown };
const char * verdict_name(Verdict v);

struct CheckResult;

struct CheckOptions {
  double timeout_s = 0;              ///< 0: none; otherwise for the whole scenario
  bool unsafe_only = false;          ///< skip restrictive no-stale findings
  std::optional<Completion> completion;  ///< overrides the scenario's completion order
  std::string engine = "smt";        ///< smt | explicit
  std::string smt2_dir;              ///< if set, every query is written there as SMT-LIB2
  /// Every distinct violation (checker/policies/all_violations.h), not only the first; smt only.
  bool all = false;
  /// CUT-1: gaps between cuts the engine asks about (kCutMinGaps above).
  std::size_t cut_min_gaps = kCutMinGaps;
  /// Called with the step of each check point once every property is proved there.
  std::function<void(std::size_t)> on_proved;
  /// Called with the final result before the solver state is torn down. A caller that only
  /// needs the result may end the process there (checker/cli/isolate.h): tearing down a
  /// large Z3 context can take longer than the check itself.
  std::function<void(const CheckResult &)> on_result;
};

struct Stats {
  double seconds = 0;
  unsigned solver_calls = 0;
  double solver_seconds = 0;  ///< inside Z3's check(), for the solver's share of the wall time
  std::size_t check_points = 0;
};

struct CheckResult {
  Verdict verdict = Verdict::Unknown;
  std::optional<Counterexample> cex;
  /// Explicit engine only: the violation without a trace.
  std::string property, severity;
  std::optional<std::size_t> step;  ///< step index of the violated check point
  std::string reason;               ///< why the verdict is unknown
  /// CheckOptions::all: every distinct violation found, each shrunk and replayed; the first
  /// is `cex`. `incomplete` says why the list may lack some (a bound, the time limit).
  bool listed_all = false;
  std::vector<Counterexample> all;
  std::string incomplete;
  /// For a safe verdict under in-order completion: what any-order completion would give
  /// ("safe only under in-order completion ..."), empty if it is safe either way.
  std::string note;
  Stats stats;
};

/// The file name of one --smt2 query: the scenario's path (percent-encoded), the completion
/// order, the check point's step, the property and severity.
std::string smt2_query_name(const Scenario & sc, std::size_t step, const std::string & property,
                            const std::string & severity);

/// Checks one scenario (already loaded). Throws InternalError if a counterexample does not
/// replay on the interpreter, OutputError if a --smt2 query cannot be written.
CheckResult check_scenario(const Scenario & sc, const CheckOptions & opt);

}  // namespace nostale
