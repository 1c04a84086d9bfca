// The vtd scenario an importer writes: devices by requester id, domains by domain id, steps
// with the trace line each came from, and the assumptions that fill in what the trace does not
// show. Shared by the Linux ftrace, QEMU and iommufd importers.
#pragma once

#include <cstdint>
#include <algorithm>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "spec/model/format.h"

namespace nostale::importer {

using ojson = nlohmann::ordered_json;

/// "file:LINE: error: what" (a LoadError).
[[noreturn]] void fail(const std::string & file, std::size_t line, const std::string & what);

/// "0000:03:00.0" or "03:00.0" as a PCI requester id (bus << 8 | dev << 3 | fn); false if not one.
bool parse_bdf(const std::string & s, std::uint16_t & sid);
/// A hexadecimal ("0x...") or decimal u64; false if not one or it overflows.
bool parse_u64(const std::string & s, u64 & v);

struct Device {
  std::string name;  ///< "03:00.0"
  std::uint16_t sid = 0;
  bool ats = false;
};

/// The largest map or unmap one event of a trace may give (a tool limit, not the hardware's).
constexpr u64 kMaxRange = u64{1} << 30;

/// Disjoint [lo, hi) ranges of addresses (IOVAs of one domain, guest-physical pages).
class Ranges {
 public:
  void add(u64 lo, u64 hi)
  {
    auto it = r_.upper_bound(lo);
    if (it != r_.begin() && std::prev(it)->second >= lo) {
      --it;
      lo = it->first;
      hi = std::max(hi, it->second);
      it = r_.erase(it);
    }
    while (it != r_.end() && it->first <= hi) {
      hi = std::max(hi, it->second);
      it = r_.erase(it);
    }
    r_[lo] = hi;
  }
  void remove(u64 lo, u64 hi)
  {
    std::vector<std::pair<u64, u64>> keep;
    for (auto it = r_.begin(); it != r_.end();) {
      if (it->second <= lo || it->first >= hi) {
        ++it;
        continue;
      }
      if (it->first < lo) keep.push_back({it->first, lo});
      if (it->second > hi) keep.push_back({hi, it->second});
      it = r_.erase(it);
    }
    for (auto [a, b] : keep) r_[a] = b;
  }
  bool covers(u64 a) const
  {
    auto it = r_.upper_bound(a);
    return it != r_.begin() && std::prev(it)->second > a;
  }
  /// The parts of [lo, hi) not covered.
  std::vector<std::pair<u64, u64>> gaps(u64 lo, u64 hi) const
  {
    std::vector<std::pair<u64, u64>> out;
    auto it = r_.upper_bound(lo);
    if (it != r_.begin() && std::prev(it)->second > lo) lo = std::prev(it)->second;
    for (; lo < hi; ++it) {
      const u64 next = it == r_.end() ? hi : std::min(hi, it->first);
      if (next > lo) out.push_back({lo, next});
      if (it == r_.end()) break;
      lo = std::max(lo, it->second);
    }
    return out;
  }

 private:
  std::map<u64, u64> r_;
};

class VtdBuilder {
 public:
  /// The device with requester id `sid` (declared on first use).
  Device & device(std::uint16_t sid);
  /// The name of the domain with domain id `did` (declared on first use): "did<N>".
  std::string domain(unsigned did);
  bool has_domain(unsigned did) const { return domains_.count(did) != 0; }
  std::size_t domain_count() const { return domains_.size(); }
  const std::map<unsigned, std::string> & domains() const { return domains_; }
  const std::map<std::uint16_t, Device> & devices() const { return devices_; }

  /// Appends a step read from trace line `line` (0: the importer added it).
  void step(ojson s, std::size_t line);
  /// Inserts a step before step `at`.
  void insert(std::size_t at, ojson s, std::size_t line);
  std::size_t size() const { return steps_.size(); }

  void assume(const std::string & a) { assumptions_.push_back(a); }
  void caveat(const std::string & c) { caveats_.push_back(c); }
  void caps(const std::string & key, ojson v) { caps_[key] = std::move(v); }
  void completion(const std::string & c) { completion_ = c; }
  void expect(ojson e) { expect_ = std::move(e); }
  bool has_expect() const { return !expect_.is_null(); }

  /// The scenario: name, description, imported (assumptions first), profile, config, steps, expect.
  ojson finish(const std::string & name, const std::string & description, const std::string & from,
               const std::string & format, unsigned iova_bits) const;

 private:
  std::map<std::uint16_t, Device> devices_;
  std::map<unsigned, std::string> domains_;
  std::vector<ojson> steps_;
  std::vector<std::size_t> lines_;
  std::vector<std::string> assumptions_, caveats_;
  ojson caps_ = ojson::object();
  std::string completion_ = "any-order";
  ojson expect_;
};

/// "# nostale-expect: {...}": the verdict a bundled trace expects (the scenario's expect block).
/// Returns false if `line` is not such a comment; throws (fail) if its JSON is not an object.
bool expect_comment(const std::string & file, std::size_t n, const std::string & line, VtdBuilder & b);

}  // namespace nostale::importer
