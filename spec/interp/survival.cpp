#include "spec/interp/survival.h"

namespace nostale {

const char * survival_name(Survival::Kind k)
{
  switch (k) {
    case Survival::NotApplicable: return "not-applicable";
    case Survival::NeverInvalidated: return "never-invalidated";
    case Survival::NotCovered: return "not-covered";
    case Survival::NotWaited: return "not-waited";
    case Survival::Refilled: return "refilled";
  }
  return "?";
}

/// Does an invalidation with pattern `p` address the cache `e` lives in at all?
static bool names_cache(const InvPattern & p, const Entry & e)
{
  switch (e.kind) {
    case CacheKind::PasidCache: return p.pasid_cache;
    case CacheKind::ContextCache: return p.context_cache;
    case CacheKind::Psc: return p.psc || p.iotlb;  // an IOTLB flush that spares them (leaf-only) still names them
    case CacheKind::Iotlb: return p.iotlb;
    case CacheKind::DevTlb: return p.devtlb;
  }
  return false;
}

Survival why_survived(const Scenario & sc, const Timeline & tl, const Counterexample & cex)
{
  Survival s;
  if (cex.from_memory || cex.page_request || cex.walker_view) return s;
  const std::size_t at = tl.checks.at(cex.check).step;
  // The entry's last fill, and each invalidation's completion, as positions in the trace.
  std::optional<std::size_t> fill;
  std::vector<std::optional<std::size_t>> done(tl.invs.size());
  for (std::size_t k = 0; k < cex.events.size(); ++k) {
    const HwEvent & e = cex.events[k];
    if (e.kind == HwEvent::Fill && e.entry == cex.entry) fill = k;
    if (e.kind == HwEvent::Complete && e.inv < done.size()) done[e.inv] = k;
  }
  if (fill) s.fill_gap = cex.events[*fill].gap;
  s.cache = cache_label(sc.config, cex.entry.kind);
  const bool refill_from_cache = fill && cex.events[*fill].from_cache;
  std::optional<std::size_t> pending, before_fill, same_cache;
  for (std::size_t i = 0; i < tl.invs.size(); ++i) {
    const Invalidation & inv = tl.invs[i];
    if (inv.step >= at || !names_cache(inv.pat, cex.entry)) continue;
    bool completed_before_fill = done[i] && fill && *done[i] < *fill;
    if (!completed_before_fill) same_cache = i;  // one that could have removed this fill
    if (!matches(sc.config.geo, inv.pat, cex.entry)) continue;
    if (!done[i] && !pending) pending = i;
    if (completed_before_fill) before_fill = i;
  }
  if (pending) {
    s.kind = Survival::NotWaited;  // it covers the entry: only its completion was missing
    s.inv = pending;
  } else if (before_fill && refill_from_cache && !same_cache) {
    // Removed, then filled again from another cache that still held it: flushed in the wrong
    // order (the IOTLB after the device TLB, a paging-structure or PASID-cache entry after the
    // entries below it).
    s.kind = Survival::Refilled;
    s.inv = before_fill;
    s.from_iotlb = cex.events[*fill].from_iotlb;
  } else if (same_cache) {
    s.kind = Survival::NotCovered;
    s.inv = same_cache;
    const InvPattern & p = tl.invs[*same_cache].pat;
    s.leaf_only = cex.entry.kind == CacheKind::Psc && p.iotlb && !p.psc;
  } else {
    s.kind = Survival::NeverInvalidated;
  }
  return s;
}

std::string survival_text(const Scenario & sc, const Timeline & tl, const Survival & s)
{
  auto step = [&](std::size_t i) {
    std::size_t k = tl.invs.at(i).step;
    return "step " + std::to_string(k) + " (" + sc.steps.at(k).text + ")";
  };
  switch (s.kind) {
    case Survival::NotApplicable: return "";
    case Survival::NeverInvalidated:
      return "never invalidated: no " + s.cache + " invalidation that could remove it was submitted";
    case Survival::NotCovered:
      if (s.leaf_only)
        return "not covered: " + step(*s.inv) + " is leaf-only, so it keeps paging-structure entries such as this one";
      return "not covered: " + step(*s.inv) + " invalidates the " + s.cache + " but not this entry";
    case Survival::NotWaited:
      return "not waited for: " + step(*s.inv) + " covers it, but no wait completes it before the check point";
    case Survival::Refilled:
      return "refilled: " + step(*s.inv) + " removed it, and it was filled again " +
             (s.from_iotlb ? "from the IOTLB (ATS) after that" : "after that");
  }
  return "";
}

std::string shared_table_rule(const Scenario & sc, const Timeline & tl, const Counterexample & cex,
                              const Survival & why)
{
  const Geometry & g = sc.config.geo;
  const CheckPoint & cp = tl.checks.at(cex.check);
  const Memory & now = tl.mem_at_check(cp);
  if (cex.property == "no-dma-after-free" && (cex.from_memory || cex.entry.kind == CacheKind::Psc)) {
    // The freed table page: the one memory's walk reads as no table, or the cached pointer's.
    std::optional<u64> page;
    if (cex.from_memory) {
      int dom = now.attached(cex.device, cex.pasid);
      if (dom < 0) return "";
      WalkResult r = now.walk_from(g, now.domains().at(static_cast<std::size_t>(dom)).root, g.levels, cex.addr, 1);
      if (r.kind == WalkResult::Wild) page = r.bad_frame;
    } else if (!cex.entry.wild) {
      page = cex.entry.ptr;
    }
    if (!page) return "";
    // Unlinked by one domain (on its freelist before this step) while a table still links it.
    bool unlinked = false;
    for (const DomainState & d : tl.mem.at(cp.step).domains())
      for (u64 f : d.freelist) unlinked |= f == *page;
    bool linked = false;
    for (const auto & [frame, tp] : now.tables())
      for (const auto & [idx, pte] : tp.entries) linked |= pte.kind == Pte::Table && pte.frame == *page;
    return unlinked && linked ? "PT-SHARE-2" : "";
  }
  if (cex.property != "no-stale" && cex.property != "no-dma-after-free") return "";
  if (cex.from_memory || cex.entry.gpa || (cex.entry.kind != CacheKind::Psc && cex.entry.kind != CacheKind::Iotlb))
    return "";
  if (why.kind != Survival::NeverInvalidated && why.kind != Survival::NotCovered) return "";
  // The entry's domain id never got the flush: does its domain's walk for the witness read a
  // page another address space links too (when it was filled, or now)?
  for (const Memory * m : {&tl.walk.at(why.fill_gap), &now}) {
    const std::set<u64> shared = m->shared_tables();
    if (shared.empty()) continue;
    for (const DomainState & d : m->domains()) {
      if (!d.did || *d.did != cex.entry.did) continue;
      for (u64 f : m->walk_path(g, d.root, cex.addr))
        if (shared.count(f)) return "PT-SHARE-1";
    }
  }
  return "";
}

std::string rule_for(const Violation & v, const CheckPoint & cp, const Survival & why)
{
  // Rule ids are those of ../shared/reference/rules.md, listed with their sources in
  // spec/docs/rules.md.
  if (v.property == "no-reuse-while-cached") return cp.freed_pasid ? "PASID-2" : "OPEN-5";  // and page requests
  if (v.property == "no-missed-dirty") return "VTD-SEQ-6";
  if (v.from_memory) return "MOD-4";
  if (v.walker_view) return "VTD-COH-4";  // only a non-coherent walker has a view of its own
  const bool dma = v.property == "no-dma-after-free";
  switch (v.entry.kind) {
    case CacheKind::PasidCache: return "PASID-2";
    case CacheKind::ContextCache: return "VTD-SEQ-2";  // a cleared context entry still cached
    case CacheKind::Psc: return dma ? "CORE-2" : "MOD-3";
    case CacheKind::Iotlb:
      // Flushed and waited for, but the flush did not cover the entry: the command's predicate
      // (MOD-1), not the order of free and wait (CORE-1).
      if (why.kind == Survival::NotCovered) return "MOD-1";
      return dma ? "CORE-1" : "MOD-1";
    case CacheKind::DevTlb:
      // A device-TLB flush was issued, for another device only: the fan-out to every device
      // bound to the PASID was missing (PASID-3).
      if (why.kind == Survival::NotCovered && why.inv) return "PASID-3";
      // A covering device-TLB flush was submitted, and the frame freed before any wait
      // completed it: the order of free and wait (CORE-1), as for the IOTLB entry beside it.
      if (why.kind == Survival::NotWaited && dma) return "CORE-1";
      return "ATS-7";
  }
  return "MOD-1";
}

}  // namespace nostale
