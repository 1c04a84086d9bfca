#include "checker/policies/all_violations.h"

#include <algorithm>

#include "spec/model/errors.h"

namespace nostale {

namespace {

/// What the solver blocks (Encoding::same_violation), in words: the distinct key, and for a
/// device-TLB entry whether ATS filled it from the IOTLB (a proxy for the cause "refilled").
std::string blocked_key(const Config & cfg, const Counterexample & c)
{
  std::string k = distinct_key(cfg, c);
  if (!c.from_memory && !c.page_request && c.entry.kind == CacheKind::DevTlb)
    for (const HwEvent & ev : c.events)
      if (ev.kind == HwEvent::Fill && ev.entry == c.entry && ev.from_iotlb) return k + " (ATS fill from the IOTLB)";
  return k;
}

}  // namespace

std::string distinct_key(const Config & cfg, const Counterexample & c)
{
  if (c.page_request)
    return "page request of " + cfg.devices.at(static_cast<std::size_t>(c.entry.dev)).name + " pasid " +
           std::to_string(c.entry.pasid);
  if (c.from_memory) return "memory itself";
  const Entry & e = c.entry;
  std::string k = cache_label(cfg, e.kind);
  auto dev = [&] { return " dev " + cfg.devices.at(static_cast<std::size_t>(e.dev)).name; };
  auto pasid = [&] {
    if (!cfg.pasid_keyed()) return std::string();
    return e.pasid == kNoPasid ? std::string(" any PASID") : " pasid " + std::to_string(e.pasid);
  };
  switch (e.kind) {
    case CacheKind::ContextCache: k += dev(); break;
    case CacheKind::PasidCache: k += dev() + pasid() + " did " + std::to_string(e.did); break;
    case CacheKind::Psc:
      k += " did " + std::to_string(e.did) + pasid() + " level " + std::to_string(e.level) +
           (e.gpa ? " (second stage of a nested walk)" : "");
      break;
    case CacheKind::Iotlb: k += " did " + std::to_string(e.did) + pasid() + " level " + std::to_string(e.level); break;
    case CacheKind::DevTlb: k += dev() + pasid() + " level " + std::to_string(e.level); break;
  }
  if (e.negative) k += " not present";
  if (e.wild) k += " arbitrary";
  return k;
}

AllFound all_violations(ScenarioRun & run, bool unsafe_only, const std::function<void(std::size_t)> & on_proved,
                        const Prepare & prepare)
{
  AllFound r;
  const Config & cfg = run.scenario().config;
  std::vector<Query> qs;
  for (const Query & q : kQueries)
    if (!unsafe_only || std::string(q.severity) != "restrictive") qs.push_back(q);
  for (std::size_t ci = 0; ci < run.check_points(); ++ci) {
    const std::size_t before = r.found.size();
    // As first_violation asks (the same queries in the same order, so the first violation
    // listed is the one reported without --all): one query for every property first.
    if (run.solve_any(ci, qs).kind == Answer::Unsat) {
      if (on_proved) on_proved(run.step(ci));
      continue;
    }
    // Properties violated here so far: a later property's witness must violate none of them
    // (each violation is listed under its first property, as replay checks).
    std::vector<z3::expr> higher;
    for (const Query & q : qs) {
      std::vector<z3::expr> extra = higher;
      std::vector<std::string> blocked, listed;
      unsigned n = 0;
      for (;; ++n) {
        if (r.found.size() >= kAllTotal || n >= kAllPerQuery) {
          r.incomplete = "the bound of " +
                         (n >= kAllPerQuery ? std::to_string(kAllPerQuery) + " violations per check point and property"
                                            : std::to_string(kAllTotal) + " violations in all") +
                         " was reached at the check point at step " + std::to_string(run.step(ci)) + " (" +
                         q.property + (std::string(q.severity).empty() ? "" : std::string(" ") + q.severity) +
                         "): more may exist";
          return r;
        }
        Answer a = run.solve(ci, q, extra);
        if (a.kind == Answer::NotApplicable || a.kind == Answer::Unsat) break;
        if (a.kind == Answer::Unknown) {
          if (r.found.empty()) r.unknown = a;
          r.incomplete = "the search stopped at the check point at step " + std::to_string(run.step(ci)) + " (" +
                         q.property + "): " + (a.asked ? a.reason : std::string("timeout")) + ": more may exist";
          return r;
        }
        bool cut = false;
        Counterexample cex = prepare(a, extra, cut);
        r.cut_short |= cut;
        std::string key = blocked_key(cfg, cex);
        NOSTALE_CHECK(std::find(blocked.begin(), blocked.end(), key) == blocked.end(),
                      "--all: the solver gave a blocked violation again: " + key);
        blocked.push_back(key);
        // Blocked from the model that was reported (extract() of it gave `cex`).
        extra.push_back(!run.encoding(ci).same_violation(*a.model, q.property, q.severity));
        // Listed once per (stale entry, rule): the same entry found again through another
        // fill (ATS, a walk) with the same rule is the same finding.
        std::string listed_as = distinct_key(cfg, cex) + " / rule " + cex.rule;
        if (std::find(listed.begin(), listed.end(), listed_as) != listed.end()) continue;
        listed.push_back(listed_as);
        r.found.push_back(std::move(cex));
      }
      if (n > 0) {
        std::optional<z3::expr> v = run.encoding(ci).violation(q.property, q.severity);
        if (v) higher.push_back(!*v);
      }
    }
    if (r.found.size() == before && on_proved) on_proved(run.step(ci));
  }
  return r;
}

}  // namespace nostale
