#include "checker/policies/in_order_note.h"

namespace nostale {

bool needs_in_order_note(const Scenario & sc, const CheckOptions & opt, const CheckResult & r)
{
  return r.verdict == Verdict::Safe && sc.config.completion == Completion::InOrder && !opt.completion;
}

CheckOptions any_order_options(const CheckOptions & opt)
{
  CheckOptions any = opt;
  any.completion = Completion::AnyOrder;
  any.on_proved = nullptr;  // progress is about the verdict being reported
  any.on_result = nullptr;
  return any;
}

std::string in_order_note(const CheckResult & a)
{
  if (a.verdict == Verdict::Violation)
    return "safe only under in-order completion: with any-order completion, " + a.property +
           (a.severity.empty() ? "" : " (" + a.severity + ")") + " at step " + std::to_string(*a.step) + " [rule " +
           (a.cex ? a.cex->rule : std::string("?")) + "]";
  if (a.verdict == Verdict::Unknown) return "any-order completion not decided: " + a.reason;
  return "also safe under any-order completion";
}

}  // namespace nostale
