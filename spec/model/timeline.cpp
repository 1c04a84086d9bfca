#include "spec/model/timeline.h"

namespace nostale {

Timeline build_timeline(const Scenario & sc)
{
  Timeline tl;
  tl.n = sc.steps.size();
  Memory m(sc.config);
  tl.mem.push_back(m);
  for (std::size_t i = 0; i < sc.steps.size(); ++i) {
    const Step & s = sc.steps[i];
    // Check points see the step's own effect (a free is judged with the frame already free).
    std::optional<u64> freed_did;
    if (s.op == Op::FreeDid) freed_did = m.domains().at(static_cast<std::size_t>(s.domain)).did;
    m.apply_step(sc.config, s);
    tl.mem.push_back(m);
    if (s.op == Op::Invalidate) tl.invs.push_back(Invalidation{i, s.inv, std::nullopt});
    if (s.op == Op::Sync)
      for (Invalidation & inv : tl.invs)
        if (!inv.sync) inv.sync = i;
    CheckPoint cp;
    cp.step = i;
    cp.op = s.op;
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
        cp.dma = true;
        cp.device = s.device;
        cp.pasid = s.pasid;
        cp.addr = s.iova;
        cp.access = s.perm;
        tl.checks.push_back(cp);
        break;
      default:
        break;
    }
  }
  tl.mem.push_back(m);
  CheckPoint end;
  end.step = tl.n;
  tl.checks.push_back(end);
  return tl;
}

}  // namespace nostale
