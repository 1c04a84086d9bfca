// `nostale merge`: the reports of the shards of one run (`check` or `test` with `--shard i/n
// --format json`) joined into the report the unsharded run writes, and its exit code.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace nostale::cli {

struct MergeResult {
  nlohmann::json report;            ///< null when the reports cannot be joined
  int code = 0;                     ///< the exit code the unsharded run would have
  std::vector<std::string> errors;  ///< one line each, for stderr
};

/// Joins the shard reports in `files` (any order). They must be the n shards of one plan, each
/// once: a missing, repeated or foreign shard is bad input (exit 2), never a partial report.
MergeResult merge_reports(const std::vector<std::string> & files);

/// Worst outcome wins: internal error, bad input, violation, unknown, safe.
int combine(int a, int b);

}  // namespace nostale::cli
