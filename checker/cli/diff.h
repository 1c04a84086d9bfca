// `nostale diff OLD NEW`: what a change did to the verdicts of the same scenarios, as a patch
// reviewer reads it. The checks themselves are the CLI's; this compares their reports.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace nostale::cli {

/// One scenario of one side: its key (its path under the side's folder, or "" when the side is
/// one file), and its JSON report, or why there is none.
struct DiffSide {
  std::string key;
  std::string file;
  std::optional<nlohmann::json> result;  ///< the scenario's JSON report (render_json)
  std::string text;                      ///< its text report (the trace), shown for what is new
  std::string error;                     ///< no result: bad input, internal error
  int error_code = 0;                    ///< the exit code that error stands for
};

struct DiffResult {
  nlohmann::json report;  ///< {"pairs": [...], "summary": {...}}
  std::string text;
  int code = 0;  ///< 1 when NEW introduces a violation (or a new counterexample), else as `check`
};

/// Pairs the two sides by key and says what changed for each pair. Two violations are the same
/// finding when their property, severity, rule and kind of stale entry are; steps are not
/// compared (a patch that adds a step moves every later one).
DiffResult diff_reports(const std::vector<DiffSide> & old_side, const std::vector<DiffSide> & new_side);

}  // namespace nostale::cli
