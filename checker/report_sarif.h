// SARIF 2.1.0 (OASIS) for code-scanning tools and editors: one result per violation, located at
// the check-point step of the scenario file, with the counterexample as a code flow.
#pragma once

#include <nlohmann/json.hpp>

namespace nostale {

/// A SARIF 2.1.0 log of one run: `results` is the JSON array `nostale check --format json` prints
/// (one object per scenario, as render_json in checker/report.cpp builds it).
///
/// A violation gives one result (one per element of "violations" after `check --all`), an
/// "unknown" verdict one result of kind "open", a safe scenario none. Relative scenario paths
/// stay relative (uriBaseId "SRCROOT", the current directory) and are read from there to find
/// the line of each step; a trace entry's "source" {"file", "line"} takes precedence.
nlohmann::json render_sarif(const nlohmann::json & results);

}  // namespace nostale
