#include "checker/policies/first_violation.h"

namespace nostale {

Answer first_violation(ScenarioRun & run, bool unsafe_only, const std::function<void(std::size_t)> & on_proved)
{
  std::vector<Query> qs;
  for (const Query & q : kQueries)
    if (!unsafe_only || std::string(q.severity) != "restrictive") qs.push_back(q);
  for (std::size_t ci = 0; ci < run.check_points(); ++ci) {
    // Most check points are safe: one query proves every property there. Only when some
    // property may be violated are they asked one by one, in priority order.
    Answer any = run.solve_any(ci, qs);
    if (any.kind == Answer::Unsat) {
      if (on_proved) on_proved(run.step(ci));
      continue;
    }
    for (const Query & q : qs) {
      // Where the model of the query for every property shows q, and every query before q
      // was unsat, that model is q's answer: no need to ask q again.
      Answer a = run.adopt(any, q);
      if (a.kind != Answer::Sat) a = run.solve(ci, q);
      if (a.kind == Answer::Sat || a.kind == Answer::Unknown) return a;
    }
    if (on_proved) on_proved(run.step(ci));  // every query here was unsat or does not apply
  }
  Answer safe;
  safe.kind = Answer::Unsat;
  return safe;
}

std::string unknown_reason(const ScenarioRun & run, const Answer & unknown)
{
  std::string step = std::to_string(run.step(unknown.check));
  if (!unknown.asked) return "timeout before check point at step " + step;
  return unknown.reason + " (check point at step " + step + ", property " + unknown.query.property +
         "); earlier check points are safe";
}

}  // namespace nostale
