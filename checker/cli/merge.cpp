#include "checker/cli/merge.h"

#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "checker/cli/plan.h"
#include "checker/exit_codes.h"

namespace nostale::cli {

int combine(int a, int b)
{
  auto rank = [](int c) {
    switch (c) {
      case kExitInternal: return 4;
      case kExitBadInput: return 3;
      case kExitViolation: return 2;
      case kExitUnknown: return 1;
      default: return 0;
    }
  };
  return rank(a) >= rank(b) ? a : b;
}

namespace {

/// The exit code of one reported check of a `check` run, from its verdict.
int code_of_verdict(const std::string & v)
{
  if (v == "violation") return kExitViolation;
  if (v == "unknown") return kExitUnknown;
  if (v == "safe") return kExitSafe;
  return kExitInternal;
}

/// The exit code of a check that has no result, from what the shard says became of it.
int code_of_status(const std::string & s)
{
  if (s == "bad input" || s == "output error") return kExitBadInput;
  if (s == "not run") return kExitUnknown;
  return kExitInternal;
}

struct Entry {
  std::string id, status, shard;
  std::optional<nlohmann::json> result;
};

/// One shard report, checked field by field; the error names the file and the JSON path.
struct ShardReport {
  Shard shard;
  std::size_t total = 0;
  bool test_mode = false;
  unsigned passed = 0, failed = 0;
  std::vector<std::pair<std::size_t, Entry>> entries;  ///< by position in the whole plan
};

std::optional<ShardReport> read_shard(const std::string & file, std::string & error)
{
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    error = file + ": error: cannot read the file";
    return std::nullopt;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  nlohmann::json j = nlohmann::json::parse(ss.str(), nullptr, false);
  if (j.is_discarded()) {
    error = file + ": error: not JSON";
    return std::nullopt;
  }
  auto bad = [&](const std::string & path, const std::string & what) {
    error = file + ": error at " + path + ": " + what;
    return std::nullopt;
  };
  if (!j.is_object() || !j.contains("nostale_shard"))
    return bad("/", "not a shard report (write one with `check` or `test --shard i/n --format json`)");
  ShardReport r;
  std::optional<Shard> sh = j["nostale_shard"].is_string() ? parse_shard(j["nostale_shard"]) : std::nullopt;
  if (!sh) return bad("/nostale_shard", "expected \"i/n\"");
  r.shard = *sh;
  if (!j.contains("total") || !j["total"].is_number_unsigned()) return bad("/total", "expected a count");
  r.total = j["total"].get<std::size_t>();
  if (!j.contains("checks") || !j["checks"].is_array()) return bad("/checks", "expected an array");
  if (!j.contains("results") || !j["results"].is_array()) return bad("/results", "expected an array");
  r.test_mode = j.contains("passed");
  if (r.test_mode) {
    if (!j["passed"].is_number_unsigned()) return bad("/passed", "expected a count");
    if (!j.contains("failed") || !j["failed"].is_number_unsigned()) return bad("/failed", "expected a count");
    r.passed = j["passed"].get<unsigned>();
    r.failed = j["failed"].get<unsigned>();
  }
  const nlohmann::json & results = j["results"];
  std::size_t next_result = 0;
  for (std::size_t k = 0; k < j["checks"].size(); ++k) {
    const nlohmann::json & c = j["checks"][k];
    std::string at = "/checks/" + std::to_string(k);
    if (!c.is_object() || !c.contains("id") || !c["id"].is_string() || !c.contains("position") ||
        !c["position"].is_number_unsigned() || !c.contains("status") || !c["status"].is_string())
      return bad(at, "expected {\"id\", \"position\", \"status\"}");
    Entry e{c["id"], c["status"], r.shard.text(), std::nullopt};
    std::size_t pos = c["position"].get<std::size_t>();
    if (pos >= r.total) return bad(at + "/position", "beyond the plan's total " + std::to_string(r.total));
    if (shard_of(e.id, r.shard.count) != r.shard.index)
      return bad(at + "/id", "\"" + e.id + "\" does not belong to shard " + r.shard.text());
    if (e.status == "reported") {
      if (next_result >= results.size()) return bad("/results", "fewer results than reported checks");
      e.result = results[next_result++];
    }
    r.entries.emplace_back(pos, std::move(e));
  }
  if (next_result != results.size()) return bad("/results", "more results than reported checks");
  return r;
}

}  // namespace

MergeResult merge_reports(const std::vector<std::string> & files)
{
  MergeResult m;
  std::vector<ShardReport> shards;
  for (const std::string & f : files) {
    std::string err;
    std::optional<ShardReport> r = read_shard(f, err);
    if (!r) {
      m.errors.push_back(err);
      m.code = kExitBadInput;
      return m;
    }
    shards.push_back(std::move(*r));
  }
  // The shards of one plan: the same n, the same total, the same kind of run, each index once.
  const ShardReport & first = shards.front();
  std::map<unsigned, std::string> seen;
  for (std::size_t k = 0; k < shards.size(); ++k) {
    const ShardReport & s = shards[k];
    std::string why;
    if (s.shard.count != first.shard.count) why = "is shard " + s.shard.text() + ", another is of " + std::to_string(first.shard.count);
    else if (s.total != first.total) why = "plans " + std::to_string(s.total) + " checks, another " + std::to_string(first.total);
    else if (s.test_mode != first.test_mode) why = "is a " + std::string(s.test_mode ? "test" : "check") + " report, another is not";
    else if (seen.count(s.shard.index)) why = "repeats shard " + s.shard.text() + " of " + seen[s.shard.index];
    if (!why.empty()) {
      m.errors.push_back(files[k] + ": error: " + why + ": not the shards of one run");
      m.code = kExitBadInput;
      return m;
    }
    seen[s.shard.index] = files[k];
  }
  for (unsigned i = 1; i <= first.shard.count; ++i)
    if (!seen.count(i)) {
      m.errors.push_back("nostale merge: error: shard " + std::to_string(i) + "/" + std::to_string(first.shard.count) +
                         " is missing (its run wrote no report, or it was not given)");
      m.code = kExitBadInput;
    }
  if (m.code) return m;
  std::map<std::size_t, Entry> plan;
  for (const ShardReport & s : shards)
    for (const auto & [pos, e] : s.entries)
      if (!plan.emplace(pos, e).second) {
        m.errors.push_back("nostale merge: error: two shards report check " + std::to_string(pos) + " (" + e.id +
                           "): not the shards of one run");
        m.code = kExitBadInput;
        return m;
      }
  if (plan.size() != first.total) {
    m.errors.push_back("nostale merge: error: the shards report " + std::to_string(plan.size()) + " of " +
                       std::to_string(first.total) + " planned checks: not the shards of one run");
    m.code = kExitBadInput;
    return m;
  }
  // The unsharded run's report and exit code, from the checks in plan order.
  nlohmann::json results = nlohmann::json::array();
  std::size_t not_run = 0;
  int code = kExitSafe;
  for (const auto & [pos, e] : plan) {
    if (e.result) {
      results.push_back(*e.result);
      const nlohmann::json & v = (*e.result)["verdict"];
      if (!first.test_mode) code = combine(code, code_of_verdict(v.is_string() ? v.get<std::string>() : ""));
    } else {
      code = combine(code, code_of_status(e.status));
      not_run += e.status == "not run";
      m.errors.push_back(e.id + ": " + e.status + " (shard " + e.shard + ")");
    }
  }
  if (first.test_mode) {
    unsigned passed = 0, failed = 0;
    for (const ShardReport & s : shards) passed += s.passed, failed += s.failed;
    m.report = {{"results", results}, {"passed", passed}, {"failed", failed}};
    if (not_run) m.report["not_run"] = not_run;
    if (failed) code = combine(code, kExitViolation);
  } else {
    m.report = results;
  }
  m.code = code;
  return m;
}

}  // namespace nostale::cli
