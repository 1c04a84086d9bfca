#include "checker/policies/shrink.h"

namespace nostale {

Shrunk shrink(ScenarioRun & run, Answer sat)
{
  Shrunk r{std::move(sat)};
  z3::expr_vector acts = run.encoding(r.answer.check).actions();
  for (unsigned k = count_true(*r.answer.model, acts); k > 0;) {
    Answer fewer = run.refine(r.answer, z3::atmost(acts, k - 1));
    // Unsat: k is the minimum. Unknown for lack of time: stop with what there is.
    if (fewer.kind == Answer::Unknown && (!fewer.asked || run.budget().limited())) r.cut_short = true;
    if (fewer.kind != Answer::Sat) break;
    r.answer = std::move(fewer);
    k = count_true(*r.answer.model, acts);
  }
  return r;
}

}  // namespace nostale
