// Reads a scenario file into the semantic Scenario, strictly: unknown keys, wrong types and
// out-of-range or inconsistent values are errors that name the file and the line:column (JSON
// syntax) or the JSON pointer (everything else).
#pragma once

#include <stdexcept>
#include <string>

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

Scenario load_scenario(const std::string & file);
/// Parses `text` as if read from `file` (for tests and stdin).
Scenario parse_scenario(const std::string & text, const std::string & file);

}  // namespace nostale
