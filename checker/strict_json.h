// Strict JSON for scenario files: what RFC 8259 allows and nothing a reader could misread.
// Rejected, each with file:line:col (syntax) or the JSON pointer (keys): NUL bytes (the
// parser would stop there and ignore the rest), trailing content after the value, numbers
// that overflow a double (1e400), duplicate keys in one object (a parser keeps the last one
// silently, so {"op": "check", "op": "sync"} would be a sync), and nesting deeper than 32.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace nostale {

constexpr int kMaxJsonDepth = 32;

/// Parses `text` read from `file`; throws LoadError with a one-line message.
nlohmann::json parse_strict_json(const std::string & text, const std::string & file);

/// Reads a scenario file: only a regular file (never blocks on a FIFO or device), with its
/// size checked before reading and at most `max_bytes` read. Throws LoadError.
std::string read_regular_file(const std::string & file, std::size_t max_bytes);

/// "line:col" (1-based) of byte `offset` in `text`.
std::string line_col(const std::string & text, std::size_t offset);

}  // namespace nostale
