// An HTML page for a run: the verdicts in a table and, for each counterexample, an inline SVG
// sequence diagram (driver, memory, caches, devices) with the scenario's notes under it.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace nostale {

/// One self-contained HTML page (no network: inline CSS and SVG, no external fonts/scripts) for
/// one run: `results` is the JSON array `nostale check --format json` prints.
std::string render_html(const nlohmann::json & results, const std::string & title);

}  // namespace nostale
