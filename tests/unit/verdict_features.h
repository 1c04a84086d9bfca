// Which features decided a verdict: a feature of a scenario decided it when the scenario with
// that feature neutralised (same steps, so the same check points) has another verdict matrix.
// The differential tests count these so that the corpus keeps exercising what a broken engine
// would get wrong: domain-id and PASID filters, large pages, range boundaries, leaf-only
// flushes, completion order.
#pragma once

#include <optional>
#include <string>

#include "spec/model/scenario.h"

namespace nostale::difftest {

enum Feature { kDidFilter, kPasidFilter, kLargePage, kRangeBoundary, kLeafOnly, kCompletionOrder, kFeatureCount };

inline const char * feature_name(Feature f)
{
  switch (f) {
    case kDidFilter: return "domain-id filter";
    case kPasidFilter: return "PASID filter";
    case kLargePage: return "level-2 leaf";
    case kRangeBoundary: return "range boundary";
    case kLeafOnly: return "leaf-only flush";
    case kCompletionOrder: return "completion order";
    default: return "?";
  }
}

/// The scenario with feature `f` neutralised, or nullopt when it has none:
/// - domain-id filter: every invalidation's domain-id filter dropped;
/// - PASID filter: every invalidation's PASID filter dropped;
/// - level-2 leaf: every map of level-2 leaves made with 4K leaves (same frames);
/// - range boundary: every ranged invalidation widened by one page at each end;
/// - leaf-only flush: every IOTLB invalidation also flushes the paging-structure caches;
/// - completion order: in-order and any-order swapped, for scenarios with two invalidations
///   pending at once.
inline std::optional<Scenario> neutralise(const Scenario & sc, Feature f)
{
  Scenario n = sc;
  const Geometry & geo = sc.config.geo;
  const u64 pg = geo.size(1), top = geo.size(geo.levels + 1);
  bool found = false;
  std::size_t pending = 0, most_pending = 0;
  for (Step & s : n.steps) {
    if (s.op == Op::Map && f == kLargePage && s.page_size == geo.size(2)) {
      s.page_size = pg;
      found = true;
    }
    if (s.op == Op::Sync) pending = 0;
    if (s.op != Op::Invalidate) continue;
    most_pending = std::max(most_pending, ++pending);
    InvPattern & p = s.inv;
    switch (f) {
      case kDidFilter:
        found |= p.did.has_value() && (p.iotlb || p.psc || p.pasid_cache);
        p.did.reset();
        break;
      case kPasidFilter:
        found |= p.pasid.has_value();
        p.pasid.reset();
        break;
      case kRangeBoundary:
        if (!p.ranged) break;
        found = true;
        if (p.addr >= pg) p.addr -= pg, p.size += pg;
        p.size = std::min(p.size + pg, top - p.addr);
        break;
      case kLeafOnly:
        found |= p.iotlb && !p.psc;
        p.psc |= p.iotlb;
        break;
      default: break;
    }
  }
  if (f == kCompletionOrder) {
    found = most_pending >= 2;
    n.config.completion =
        sc.config.completion == Completion::InOrder ? Completion::AnyOrder : Completion::InOrder;
  }
  if (!found) return std::nullopt;
  return n;
}

}  // namespace nostale::difftest
