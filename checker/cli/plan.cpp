#include "checker/cli/plan.h"

#include <algorithm>
#include <charconv>
#include <filesystem>

namespace fs = std::filesystem;

namespace nostale::cli {

namespace {

std::string normal_id(const std::string & file)
{
  std::string id = fs::path(file).lexically_normal().generic_string();
  return id.empty() ? file : id;
}

/// What a folder holds to check: scenarios and iommufd recordings (*.json, not the JSON Schema
/// itself) and Linux ftrace or QEMU trace logs (*.trace).
bool is_checkable(const fs::path & p)
{
  const std::string name = p.filename().string();
  return (p.extension() == ".json" && !name.ends_with(".schema.json")) || p.extension() == ".trace";
}

}  // namespace

std::vector<PlannedCheck> expand(const std::vector<std::string> & paths, std::vector<std::string> & errors)
{
  std::vector<PlannedCheck> plan;
  for (const std::string & p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<std::string> found;
      for (auto it = fs::recursive_directory_iterator(p, ec); !ec && it != fs::recursive_directory_iterator();
           it.increment(ec))
        if (it->is_regular_file(ec) && is_checkable(it->path())) found.push_back(it->path().string());
      if (ec) errors.push_back(p + ": error: cannot read the folder: " + ec.message());
      std::sort(found.begin(), found.end());
      if (found.empty() && !ec) errors.push_back(p + ": error: no scenarios (.json) or traces (.trace) in this folder");
      for (const std::string & f : found) plan.push_back({normal_id(f), f});
    } else if (fs::exists(p, ec)) {
      plan.push_back({normal_id(p), p});
    } else {
      errors.push_back(p + ": error: no such file or folder");
    }
  }
  return plan;
}

std::optional<Shard> parse_shard(const std::string & text)
{
  auto slash = text.find('/');
  if (slash == std::string::npos) return std::nullopt;
  auto number = [](std::string_view s, unsigned & v) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return ec == std::errc() && end == s.data() + s.size() && !s.empty();
  };
  Shard s;
  std::string_view t(text);
  if (!number(t.substr(0, slash), s.index) || !number(t.substr(slash + 1), s.count)) return std::nullopt;
  if (s.count < 1 || s.count > 100000 || s.index < 1 || s.index > s.count) return std::nullopt;
  return s;
}

unsigned shard_of(const std::string & id, unsigned count)
{
  std::uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a, 64 bits
  for (unsigned char c : id) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return static_cast<unsigned>(h % count) + 1;
}

std::vector<PlannedCheck> take_shard(const std::vector<PlannedCheck> & plan, const Shard & shard)
{
  std::vector<PlannedCheck> mine;
  for (const PlannedCheck & c : plan)
    if (shard_of(c.id, shard.count) == shard.index) mine.push_back(c);
  return mine;
}

}  // namespace nostale::cli
