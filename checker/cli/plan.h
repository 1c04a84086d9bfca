// What a run checks, before it checks anything: the scenario files its paths expand to, each
// with a stable id, and the shard of them this run takes (`--shard i/n`). `nostale list`
// prints the plan; `nostale merge` joins the reports of the shards.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace nostale::cli {

/// One independent check: a scenario file. Its id is its path, normalised (`./a//b.json` and
/// `a/b.json` are the same check), so that the ids, and the shards, are the same on every
/// machine that runs from the same folder.
struct PlannedCheck {
  std::string id;
  std::string file;  ///< as the run opens it
};

/// `--shard i/n`: this run takes shard i (1-based) of n.
struct Shard {
  unsigned index = 1, count = 1;
  std::string text() const { return std::to_string(index) + "/" + std::to_string(count); }
};

/// Files and folders (recursively, *.json and *.trace, sorted) in the order given; a path that is neither
/// adds one line to `errors`.
std::vector<PlannedCheck> expand(const std::vector<std::string> & paths, std::vector<std::string> & errors);

/// Parses "i/n" (1 <= i <= n <= 100000); nullopt if malformed.
std::optional<Shard> parse_shard(const std::string & text);

/// The shard (1-based) a check belongs to among n: FNV-1a of its id, modulo n. Stable: it
/// depends on the id alone, not on which other checks the run has.
unsigned shard_of(const std::string & id, unsigned count);

/// The checks of `shard`, in the plan's order.
std::vector<PlannedCheck> take_shard(const std::vector<PlannedCheck> & plan, const Shard & shard);

}  // namespace nostale::cli
