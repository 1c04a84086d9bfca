#include <algorithm>

#include "spec/interp/counterexample.h"

namespace nostale {

std::string replay(const Scenario & sc, const Timeline & tl, const Counterexample & cex, Claim claim)
{
  const Config & cfg = sc.config;
  if (cex.check >= tl.checks.size()) return "check point out of range";
  const CheckPoint & cp = tl.checks[cex.check];
  // A dma check point judges the dma's own access, nothing else (the encoding fixes the witness
  // to it too).
  if (cp.dma && (cex.device != cp.device || cex.pasid != cp.pasid || cex.addr != cp.addr))
    return "the witness is not the access of the dma at step " + std::to_string(cp.step);
  std::set<Entry> cache;
  PageRequests prq;
  std::vector<bool> completed(tl.invs.size(), false);
  std::size_t ev = 0;
  for (std::size_t g = 0; g <= cp.step; ++g) {
    // Hardware actions of gap g, in order.
    for (; ev < cex.events.size() && cex.events[ev].gap == g; ++ev) {
      const HwEvent & e = cex.events[ev];
      if (e.kind == HwEvent::PageRequest) {
        std::pair<int, u64> r{e.walker, e.entry.pasid};
        if (!may_request(cfg, tl.walk[g]).count(r))
          return "event " + std::to_string(ev) + ": a page request from a device that cannot issue it then";
        prq.insert(r);
        continue;
      }
      if (e.kind == HwEvent::Complete) {
        if (e.inv >= tl.invs.size() || tl.invs[e.inv].step >= g || completed[e.inv])
          return "event " + std::to_string(ev) + ": completes an invalidation that is not pending";
        for (std::size_t i = 0; i < tl.invs.size(); ++i)
          if (!completed[i] && ordered_before(cfg, tl.invs[i], tl.invs[e.inv]))
            return "event " + std::to_string(ev) + ": completes an invalidation before one it is ordered after";
        completed[e.inv] = true;
        complete(cfg.geo, tl.invs[e.inv].pat, cache);
        continue;
      }
      // A fill is for the witness address: the entry's range contains it. A second-stage entry
      // of a nested walk is for the guest-physical address it names.
      u64 at = e.entry.gpa ? e.entry.vpn << cfg.geo.shift(e.entry.level) : cex.addr;
      if (e.entry.kind != CacheKind::PasidCache && e.entry.kind != CacheKind::ContextCache &&
          (at >> cfg.geo.shift(e.entry.level)) != e.entry.vpn)
        return "event " + std::to_string(ev) + ": fill does not translate the witness address";
      // At the first instant of a gap after a non-atomic entry write, walks may read it torn.
      std::vector<Entry> torn;
      if (g > 0 && sc.steps[g - 1].cw.torn && e.pos == 0)
        torn = torn_reads(cfg, tl.walk[g - 1], tl.walk[g], sc.steps[g - 1].device, sc.steps[g - 1].pasid);
      std::set<Entry> ok = fillable_for(cfg, tl.walk[g], cache, e.walker, e.walker_pasid, at, &torn);
      if (!ok.count(e.entry))
        return "event " + std::to_string(ev) + ": " + describe(cfg, e.entry) +
               " cannot be filled by a walk at that moment";
      cache.insert(e.entry);
    }
    if (g == cp.step) break;
    if (sc.steps[g].op == Op::Sync && sc.steps[g].drain) prq.clear();
    // A wait (or the SRTP flow of an ESRTPS IOMMU, VTD-ROOT-3) completes what it forces.
    for (std::size_t j = 0; j < tl.invs.size(); ++j)
      if (tl.invs[j].sync == g && !completed[j])
        return (sc.steps[g].op == Op::Sync ? "sync" : "step") + std::string(" at step ") + std::to_string(g) +
               " passed with invalidation " + std::to_string(j) + " pending";
  }
  if (ev != cex.events.size()) return "events after the check point";

  std::vector<Violation> vs = evaluate(cfg, tl.mem_at_check(cp), cache, cp, cex.device, cex.pasid, cex.addr,
                                       prq, cfg.coherent() ? nullptr : &tl.walk_at_check(cp));
  if (vs.empty()) return "no violation at the check point";
  auto same = [&](const Violation & v) {
    if (v.page_request || cex.page_request)
      return v.page_request == cex.page_request && v.property == cex.property &&
             v.entry.dev == cex.entry.dev && v.entry.pasid == cex.entry.pasid;
    return v.property == cex.property && v.severity == cex.severity &&
           v.from_memory == cex.from_memory && v.walker_view == cex.walker_view &&
           (v.from_memory || v.walker_view || v.entry == cex.entry);
  };
  if (std::none_of(vs.begin(), vs.end(), same))
    return "the claimed violation is not there (first found: " + vs.front().property + ")";
  if (claim == Claim::First && (vs.front().property != cex.property || vs.front().severity != cex.severity))
    return "a higher-priority violation is there (" + vs.front().property + " " +
           vs.front().severity + ")";
  return "";
}

}  // namespace nostale
