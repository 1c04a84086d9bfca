// Reads a scenario file into the semantic Scenario, strictly: unknown keys, wrong types and
// out-of-range or inconsistent values are errors that name the file and the line:column (JSON
// syntax) or the JSON pointer (everything else).
#pragma once

#include <stdexcept>
#include <string>

#include "checker/import/import.h"
#include "spec/model/scenario.h"

namespace nostale {

/// A one-line, user-facing description of bad input ("file:line:col: error: ..." or
/// "file: error at /json/pointer: ...").
class LoadError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

constexpr std::size_t kMaxScenarioBytes = 4u << 20;
/// Two thousand rounds of map, unmap, flush, sync and free (12,001 steps) take 114 s and 190 MB
/// (bench/bench.py); the limit keeps a scenario within what the timeline holds in memory.
constexpr std::size_t kMaxSteps = 20000;

/// A scenario file, or a trace file (checker/import/import.h: the format is read from its
/// content), imported with the default options.
Scenario load_scenario(const std::string & file);
/// The scenario a trace stands for. Errors name the trace line of the step they concern.
/// `imported`, if given, receives the scenario JSON the importer wrote (`nostale import`).
Scenario load_trace(const std::string & file, const std::string & text, TraceFormat format,
                    const ImportOptions & opt = {}, nlohmann::ordered_json * imported = nullptr);
/// Parses `text` as if read from `file` (for tests and stdin).
Scenario parse_scenario(const std::string & text, const std::string & file);

}  // namespace nostale
