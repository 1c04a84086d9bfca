#include "spec/model/timeline.h"

namespace nostale {

bool ordered_before(const Config & cfg, const Invalidation & a, const Invalidation & b)
{
  if (a.step >= b.step) return false;
  return cfg.completion == Completion::InOrder || a.fence < b.fence;
}

static bool writes_memory(Op op)
{
  switch (op) {
    case Op::Invalidate: case Op::Sync: case Op::Dma: case Op::Check: case Op::FreePasid:
    case Op::Fence: case Op::Clflush:
      return false;
    case Op::Ats:  // the device's state: the walker's view follows it at once (walker_view)
    default:
      return true;
  }
}

/// The present records hardware finds in `walk` (what the walker reads), with their domain
/// tags: what an invalidation submitted now names a not-present cached record by (VTD-SEQ-4).
/// Reached through the structure above when there is one, as QEMU's pc_inv reads the context
/// entry before the PASID table (vtd_pasid_cache_sync).
static std::vector<RecordTag> present_records(const Config & cfg, const Memory & walk)
{
  std::vector<RecordTag> out;
  for (const auto & [key, a] : walk.attachments()) {
    if (cfg.context_cache() && !walk.context_present(key.first)) continue;
    const std::optional<u64> did = walk.domains().at(static_cast<std::size_t>(a.domain)).did;
    if (did) out.push_back(RecordTag{key.first, key.second, *did});
  }
  return out;
}

Timeline build_timeline(const Scenario & sc)
{
  Timeline tl;
  tl.n = sc.steps.size();
  Memory m(sc.config);
  Memory flushed = m;  // what a non-coherent walker sees
  std::size_t fences = 0, version = 0;
  tl.mem.push_back(m);
  tl.walk.push_back(m);
  tl.walk_version.push_back(version);
  tl.behind.push_back(false);
  bool behind = false;
  for (std::size_t i = 0; i < sc.steps.size(); ++i) {
    const Step & s = sc.steps[i];
    // Check points see the step's own effect (a free is judged with the frame already free).
    std::optional<u64> freed_did;
    if (s.op == Op::FreeDid) freed_did = m.domains().at(static_cast<std::size_t>(s.domain)).did;
    m.apply_step(sc.config, s);
    tl.mem.push_back(m);
    if (sc.config.coherent()) {
      version += writes_memory(s.op);
      tl.walk.push_back(m);
    } else {
      if (s.op == Op::Clflush) flushed.flush_from(sc.config, m, s);
      // The root-table pointer is a register: the walker follows it at once (VTD-ROOT-1).
      if (s.op == Op::SetRoot) flushed.apply_step(sc.config, s);
      tl.walk.push_back(flushed.walker_view(m));
      // A flush of some lines leaves the walker behind on the others (VTD-COH-5). The ATS
      // Enable bit is the device's own state, not a table write the walker may miss.
      behind = s.op == Op::Clflush ? !tl.walk.back().walker_sees(m)
                                   : behind || (writes_memory(s.op) && s.op != Op::Ats && s.op != Op::SetRoot);
      version += s.op == Op::Clflush || s.op == Op::FreePgtables || s.op == Op::FreeFrame || s.op == Op::Ats ||
                 s.op == Op::SetRoot;
    }
    tl.walk_version.push_back(version);
    tl.behind.push_back(behind);
    if (s.op == Op::Fence) ++fences;
    if (s.op == Op::Invalidate) {
      tl.invs.push_back(Invalidation{i, s.inv, std::nullopt, fences});
      if (sc.config.negative_tag_current()) tl.invs.back().pat.records_now = present_records(sc.config, tl.walk.back());
    }
    // ESRTPS: the SRTP flow invalidates the caches itself, done when its wait for GSTS.RTPS
    // returns, before the next step (VTD-ROOT-3).
    if (s.op == Op::SetRoot && s.srtp_invalidates) {
      tl.invs.push_back(Invalidation{i, s.inv, i + 1, fences});
      if (sc.config.negative_tag_current()) tl.invs.back().pat.records_now = present_records(sc.config, tl.walk.back());
    }
    if (s.op == Op::Sync)
      for (Invalidation & inv : tl.invs)
        if (!inv.sync) inv.sync = i;
    CheckPoint cp;
    cp.step = i;
    cp.op = s.op;
    // VTD-PRIV-1: with first-stage privilege a check point judges both request classes.
    if (sc.config.privilege) cp.access = kPermAll;
    switch (s.op) {
      case Op::FreePgtables:
      case Op::FreeFrame:
      case Op::Check:
        tl.checks.push_back(cp);
        break;
      case Op::FreePasid:
        cp.freed_pasid = s.pasid;
        tl.checks.push_back(cp);
        break;
      case Op::FreeDid:
        cp.freed_did = freed_did;
        tl.checks.push_back(cp);
        break;
      case Op::Dma:
        if (s.noncanonical) break;  // VTD-PRIV-3: faults before any lookup, nothing to judge
        cp.dma = true;
        cp.device = s.device;
        cp.pasid = s.pasid;
        cp.addr = s.iova;
        cp.access = s.supervisor ? s.perm << 2 : s.perm;  // PR=1: the supervisor pair
        tl.checks.push_back(cp);
        break;
      default:
        break;
    }
  }
  tl.mem.push_back(m);
  CheckPoint end;
  end.step = tl.n;
  if (sc.config.privilege) end.access = kPermAll;
  tl.checks.push_back(end);
  return tl;
}

}  // namespace nostale
