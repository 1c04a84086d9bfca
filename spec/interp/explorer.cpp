#include "spec/interp/explorer.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <limits>

namespace nostale {

namespace {

constexpr std::size_t kNever = std::numeric_limits<std::size_t>::max();

int rank(const Violation & v) { return static_cast<int>(query_bit(v.property, v.severity)); }

/// The time limit, checked inside the search loops (one schedule of a 2^12-page geometry can
/// take seconds): thrown out of them when it has passed.
struct Deadline {
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  double seconds = 0;  ///< 0: none
  unsigned ticks = 0;
  struct Passed {};
  bool passed() const
  {
    return seconds > 0 && std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > seconds;
  }
  /// Reads the clock every 64 calls (one per page walk or judgement).
  void check()
  {
    if ((++ticks & 63u) == 0 && passed()) throw Passed{};
  }
};

struct Explorer {
  const Scenario & sc;
  const Timeline & tl;
  bool unsafe_only;
  std::vector<u64> pasids;
  u64 pages = 0;
  std::vector<int> best;  // per check point: best rank found, 99 = none
  std::vector<unsigned> violable;  // per check point: mask of ranks found
  Deadline & deadline;

  void saturate(const Memory & mem, std::set<Entry> & cache, const std::vector<Entry> * torn = nullptr)
  {
    const Config & cfg = sc.config;
    for (bool changed = true; changed;) {
      changed = false;
      std::set<std::pair<int, u64>> walkers;
      if (torn)
        for (const Entry & e : *torn) walkers.insert({e.dev, e.pasid});
      for (const auto & [key, att] : mem.attachments()) walkers.insert(key);
      for (const auto & [key, t] : mem.parked())  // reached through a cached context entry (VTD-CTX-1)
        for (const auto & [p, att] : t.attach) walkers.insert({key.first, p});
      if (cfg.negative_config())  // not-present entries of any (device, PASID) may be cached
        for (std::size_t d = 0; d < cfg.devices.size(); ++d)
          for (u64 p : pasids) walkers.insert({static_cast<int>(d), p});
      for (const Entry & e : cache)
        if (e.kind == CacheKind::PasidCache) walkers.insert({e.dev, e.pasid});
      if (cfg.context_cache())  // a device's context entry is cached whether or not it has PASIDs
        for (std::size_t d = 0; d < cfg.devices.size(); ++d) walkers.insert({static_cast<int>(d), 0});
      for (auto [w, p] : walkers)
        for (u64 pg = 0; pg < pages; ++pg) {
          deadline.check();
          for (const Entry & e : fillable_for(cfg, mem, cache, w, p, pg << cfg.geo.page_shift, torn))
            changed |= cache.insert(e).second;
        }
    }
  }

  PageRequests prq;  // issued and not drained (every one that may be: the worst case)

  void judge(std::size_t ci, const std::set<Entry> & cache)
  {
    const CheckPoint & cp = tl.checks[ci];
    const Config & cfg = sc.config;
    const Memory & mem = tl.mem_at_check(cp);
    const Memory * walk = cfg.coherent() ? nullptr : &tl.walk_at_check(cp);
    auto look = [&](int d, u64 p, u64 a) {
      deadline.check();
      for (const Violation & v : evaluate(cfg, mem, cache, cp, d, p, a, prq, walk)) {
        int r = rank(v);
        if (unsafe_only && r == 3) continue;
        best[ci] = std::min(best[ci], r);
        violable[ci] |= 1u << r;
      }
    };
    if (cp.dma) return look(cp.device, cp.pasid, cp.addr);
    for (std::size_t d = 0; d < cfg.devices.size(); ++d)
      for (u64 p : pasids)
        for (u64 pg = 0; pg < pages; ++pg) look(static_cast<int>(d), p, pg << cfg.geo.page_shift);
  }

  /// Runs one schedule: order[g] = invalidations completing in gap g, in that order.
  void simulate(const std::vector<std::vector<std::size_t>> & order)
  {
    std::set<Entry> cache;
    prq.clear();
    std::size_t ci = 0;
    for (std::size_t g = 0; g <= tl.n; ++g) {
      for (const auto & r : may_request(sc.config, tl.walk[g])) prq.insert(r);
      if (g > 0 && sc.steps[g - 1].cw.torn) {
        // The instant of a non-atomic entry write: walks may read it torn (before any
        // completion of this gap).
        const Step & s = sc.steps[g - 1];
        std::vector<Entry> torn = torn_reads(sc.config, tl.walk[g - 1], tl.walk[g], s.device, s.pasid);
        saturate(tl.walk[g], cache, &torn);
      }
      saturate(tl.walk[g], cache);
      for (std::size_t j : order[g]) {
        complete(sc.config.geo, tl.invs[j].pat, cache);
        saturate(tl.walk[g], cache);
      }
      while (ci < tl.checks.size() && tl.checks[ci].step == g) judge(ci++, cache);
      if (g < tl.n && sc.steps[g].op == Op::Sync && sc.steps[g].drain) prq.clear();
    }
  }
};

}  // namespace

std::vector<u64> pasids_to_enumerate(const Scenario & sc)
{
  std::vector<u64> out;
  if (sc.config.pasid_bits <= 4) {
    for (u64 p = 0; p < (u64{1} << sc.config.pasid_bits); ++p) out.push_back(p);
    return out;
  }
  std::set<u64> named = named_pasids(sc);
  named.insert(0);  // every step's default PASID
  u64 fresh = 0;
  while (named.count(fresh)) ++fresh;
  named.insert(fresh);
  return {named.begin(), named.end()};
}

/// Every completion gap of every invalidation (kNever: no sync forces it).
static std::vector<std::vector<std::size_t>> completion_options(const Timeline & tl)
{
  std::vector<std::vector<std::size_t>> options;
  for (const Invalidation & inv : tl.invs) {
    std::vector<std::size_t> opt;
    std::size_t last = inv.sync ? *inv.sync : tl.n;
    for (std::size_t g = inv.step + 1; g <= last; ++g) opt.push_back(g);
    if (!inv.sync) opt.push_back(kNever);
    options.push_back(opt);
  }
  return options;
}

ExplicitResult explore(const Scenario & sc, const Timeline & tl, bool unsafe_only,
                       std::size_t max_schedules, double timeout_s)
{
  ExplicitResult res;
  const auto t0 = std::chrono::steady_clock::now();
  const Config & cfg = sc.config;
  unsigned page_bits = cfg.geo.levels * cfg.geo.level_bits;
  if (page_bits > 12) {
    res.complete = false;
    res.limit = "the explicit engine only enumerates geometries of at most 2^12 pages";
    return res;
  }
  Deadline deadline{t0, timeout_s};
  Explorer ex{sc,
              tl,
              unsafe_only,
              {},
              u64{1} << page_bits,
              std::vector<int>(tl.checks.size(), 99),
              std::vector<unsigned>(tl.checks.size(), 0),
              deadline,
              {}};

  ex.pasids = pasids_to_enumerate(sc);
  const std::vector<std::vector<std::size_t>> options = completion_options(tl);
  std::vector<std::size_t> gap(tl.invs.size());
  auto before = [&](std::size_t i, std::size_t j) { return ordered_before(cfg, tl.invs[i], tl.invs[j]); };
  // A permutation of one gap's completions that respects submission order and fences.
  auto respects = [&](const std::vector<std::size_t> & o) {
    for (std::size_t x = 0; x < o.size(); ++x)
      for (std::size_t y = x + 1; y < o.size(); ++y)
        if (before(o[y], o[x])) return false;
    return true;
  };

  std::function<bool(std::size_t)> assign = [&](std::size_t j) -> bool {
    if (j == tl.invs.size()) {
      std::vector<std::vector<std::size_t>> order(tl.n + 1);
      for (std::size_t k = 0; k < gap.size(); ++k)
        if (gap[k] != kNever) order[gap[k]].push_back(k);
      // In-order completion fixes the order inside a gap; any-order tries every permutation.
      std::function<bool(std::size_t)> perm = [&](std::size_t g) -> bool {
        if (g == order.size()) {
          if (++res.schedules > max_schedules) {
            res.limit = "more than " + std::to_string(max_schedules) + " completion schedules";
            return false;
          }
          if (deadline.passed()) {
            res.limit = "timeout after " + std::to_string(res.schedules - 1) + " completion schedules";
            return false;
          }
          try {
            ex.simulate(order);
          } catch (const Deadline::Passed &) {
            res.limit = "timeout during completion schedule " + std::to_string(res.schedules);
            return false;
          }
          return true;
        }
        std::sort(order[g].begin(), order[g].end());
        do {
          if (respects(order[g]) && !perm(g + 1)) return false;
        } while (std::next_permutation(order[g].begin(), order[g].end()));
        return true;
      };
      return perm(0);
    }
    for (std::size_t g : options[j]) {
      bool ok = true;
      for (std::size_t i = 0; i < j; ++i) ok &= !before(i, j) || gap[i] <= g;  // kNever is last
      if (!ok) continue;
      gap[j] = g;
      if (!assign(j + 1)) return false;
    }
    return true;
  };
  if (!assign(0)) {
    res.complete = false;
    return res;
  }
  res.violable = ex.violable;
  for (std::size_t ci = 0; ci < tl.checks.size(); ++ci) {
    if (ex.best[ci] == 99) continue;
    res.check = ci;
    res.property = kQueries[ex.best[ci]].property;
    res.severity = kQueries[ex.best[ci]].severity;
    break;
  }
  return res;
}

}  // namespace nostale
