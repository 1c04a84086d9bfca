#include "checker/policies/replay_gate.h"

#include "spec/model/errors.h"

namespace nostale {

namespace {

std::string event_line(const Config & cfg, const HwEvent & e)
{
  std::string what = e.kind == HwEvent::Complete      ? "complete #" + std::to_string(e.inv)
                     : e.kind == HwEvent::PageRequest ? std::string("page request")
                                                      : "fill " + describe(cfg, e.entry) + (e.torn ? " (torn)" : "");
  return "\n  gap " + std::to_string(e.gap) + " pos " + std::to_string(e.pos) + ": " + what;
}

}  // namespace

void replay_gate(const Scenario & sc, const Timeline & tl, std::size_t check, const Counterexample & cex, Claim claim)
{
  std::string why = replay(sc, tl, cex, claim);
  if (why.empty()) return;
  std::string events;
  for (const HwEvent & e : cex.events) events += event_line(sc.config, e);
  throw InternalError("counterexample at step " + std::to_string(tl.checks[check].step) +
                      " does not replay on the interpreter: " + why + "; claimed " + cex.property + " " +
                      cex.severity + " on " +
                      (cex.walker_view ? std::string("the walker's view (no entry)") : describe(sc.config, cex.entry)) +
                      " for dev " +
                      std::to_string(cex.device) + " pasid " + std::to_string(cex.pasid) + " addr " +
                      std::to_string(cex.addr) + events);
}

}  // namespace nostale
