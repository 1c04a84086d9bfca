// Rendering of verdicts and counterexamples: text for terminals, JSON for tools.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "checker/engine.h"

namespace nostale {

/// Text: the verdict line, then for violations the witness, the stale entry, what memory
/// says, and the numbered trace with the hardware actions interleaved.
std::string render_text(const Scenario & sc, const CheckResult & r);
nlohmann::json render_json(const Scenario & sc, const CheckResult & r);

/// Does the result match the scenario's `expect` block? `why` says how it differs.
bool matches_expectation(const Scenario & sc, const CheckResult & r, std::string & why);

}  // namespace nostale
