// The bounded model checker: for each check point in order, and each property in order, one
// solver query over the check point's encoding (spec/smt). The first satisfiable query is the
// earliest violation; its model is shrunk to the fewest hardware actions, read out as a
// counterexample, and replayed on the interpreter before it is returned. Every solver answer
// is handled: unknown stops with Verdict::Unknown and never counts as unsat.
#pragma once

#include <optional>
#include <string>

#include "spec/interp/counterexample.h"

namespace nostale {

enum class Verdict { Safe, Violation, Unknown };
const char * verdict_name(Verdict v);

struct CheckOptions {
  double timeout_s = 0;              ///< 0: none; otherwise for the whole scenario
  bool unsafe_only = false;          ///< skip restrictive no-stale findings
  std::optional<Completion> completion;  ///< overrides the scenario's completion order
  std::string engine = "smt";        ///< smt | explicit
  std::string smt2_dir;              ///< if set, every query is written there as SMT-LIB2
};

struct Stats {
  double seconds = 0;
  unsigned solver_calls = 0;
  std::size_t check_points = 0;
};

struct CheckResult {
  Verdict verdict = Verdict::Unknown;
  std::optional<Counterexample> cex;
  /// Explicit engine only: the violation without a trace.
  std::string property, severity;
  std::optional<std::size_t> step;  ///< step index of the violated check point
  std::string reason;               ///< why the verdict is unknown
  /// For a safe verdict under in-order completion: what any-order completion would give
  /// ("safe only under in-order completion ..."), empty if it is safe either way.
  std::string note;
  Stats stats;
};

/// Checks one scenario (already loaded). Throws InternalError if a counterexample does not
/// replay on the interpreter.
CheckResult check_scenario(const Scenario & sc, const CheckOptions & opt);

}  // namespace nostale
