// The scenario unrolled once: memory during every gap between driver steps, the invalidations
// with the sync that forces their completion, and the check points. Gap g is the interval just
// before step g (gap n follows the last step). Both engines read this.
#pragma once

#include <algorithm>
#include <optional>
#include <vector>

#include "spec/model/memory.h"

namespace nostale {

struct Invalidation {
  std::size_t step = 0;               ///< the invalidate step that submits it
  InvPattern pat;
  std::optional<std::size_t> sync;    ///< the first sync step after it: it completes before that
  std::size_t fence = 0;              ///< fences before it: it completes after every invalidation
                                      ///< with a smaller count (VT-d inv_wait FN=1, VTD-ORDER-3)
};

/// Must invalidation `a` complete no later than `b` (submission order, fences)?
bool ordered_before(const Config & cfg, const Invalidation & a, const Invalidation & b);

struct CheckPoint {
  std::size_t step = 0;  ///< check happens at this step (== steps.size() for the end)
  Op op = Op::Check;     ///< the step's op (Check for the end)
  std::optional<u64> freed_pasid;
  std::optional<u64> freed_did;
  bool dma = false;      ///< restricted to one witness
  int device = -1;
  u64 pasid = 0;
  u64 addr = 0;
  unsigned access = kPermRW;  ///< accesses judged (rw at check points, the dma's access)
};

struct Timeline {
  /// mem[g]: memory during gap g, for g in 0..n; mem[n + 1] == mem[n] (the end).
  std::vector<Memory> mem;
  /// walk[g]: what the walker reads during gap g (== mem[g] when the walker is coherent;
  /// otherwise memory as of the last clflush, VTD-COH-1).
  std::vector<Memory> walk;
  /// walk_version[g] changes exactly where walk[g] may differ from walk[g - 1].
  std::vector<std::size_t> walk_version;
  /// behind[g]: a non-coherent walker has not seen some table write made before gap g.
  std::vector<bool> behind;
  std::vector<Invalidation> invs;
  std::vector<CheckPoint> checks;
  std::size_t n = 0;  ///< number of driver steps
  /// Memory a check point judges against: after its step took effect.
  const Memory & mem_at_check(const CheckPoint & cp) const { return mem[cp.step + 1]; }
  /// What the walker reads once the check point's step took effect (gap step + 1; the end:
  /// the last gap).
  const Memory & walk_at_check(const CheckPoint & cp) const { return walk[std::min(cp.step + 1, n)]; }
};

/// Unroll the scenario (throws ScenarioError on steps inconsistent with memory).
Timeline build_timeline(const Scenario & sc);

}  // namespace nostale
