#include "checker/engine.h"

#include "checker/policies/all_violations.h"
#include "checker/policies/first_violation.h"
#include "checker/policies/in_order_note.h"
#include "checker/policies/prefer_cause.h"
#include "checker/policies/readable_witness.h"
#include "checker/policies/replay_gate.h"
#include "checker/policies/shrink.h"
#include "checker/solve.h"
#include "spec/interp/explorer.h"

namespace nostale {

const char * verdict_name(Verdict v)
{
  switch (v) {
    case Verdict::Safe: return "safe";
    case Verdict::Violation: return "violation";
    case Verdict::Unknown: return "unknown";
  }
  return "?";
}

namespace {

CheckResult check_explicit(const Scenario & sc, const CheckOptions & opt)
{
  Timeline tl = build_timeline(sc);
  CheckResult r;
  r.stats.check_points = tl.checks.size();
  ExplicitResult e = explore(sc, tl, opt.unsafe_only, 200000, opt.timeout_s);
  if (!e.complete) {
    r.verdict = Verdict::Unknown;
    r.reason = e.limit;
    return r;
  }
  if (!e.check) {
    r.verdict = Verdict::Safe;
    return r;
  }
  r.verdict = Verdict::Violation;
  r.property = e.property;
  r.severity = e.severity;
  r.step = tl.checks[*e.check].step;
  return r;
}

/// What a violation found becomes before anyone sees it: the fewest hardware actions, a
/// readable witness, and a replay on the interpreter. `extra`: what its query was asked under;
/// a query without any is the first violation of its check point, and replays as that.
Counterexample prepare(ScenarioRun & run, Answer & found, const std::vector<z3::expr> & extra, bool & cut_short)
{
  const Claim claim = extra.empty() ? Claim::First : Claim::Present;
  std::vector<z3::expr> chosen = extra;  // and the constraints that choose the stale entry shown
  found = prefer_cause(run, std::move(found), chosen);
  Shrunk shrunk = shrink(run, std::move(found));
  cut_short = shrunk.cut_short;
  found = readable_witness(run, std::move(shrunk.answer), chosen);
  Counterexample cex = run.counterexample(found);
  replay_gate(run.scenario(), run.timeline(), found.check, cex, claim);
  return cex;
}

/// The first violation, shrunk and replayed; or safe; or unknown. `found` keeps the
/// violation's solver alive until the result has been handed to on_result.
CheckResult check_smt(ScenarioRun & run, const CheckOptions & opt, Answer & found)
{
  CheckResult r;
  found = first_violation(run, opt.unsafe_only, opt.on_proved);
  if (found.kind == Answer::Unknown) {
    r.verdict = Verdict::Unknown;
    r.reason = unknown_reason(run, found);
  } else if (found.kind == Answer::Unsat) {
    r.verdict = Verdict::Safe;
  } else {
    bool cut_short = false;
    Counterexample cex = prepare(run, found, {}, cut_short);
    if (cut_short) r.note = kNotShortest;
    r.verdict = Verdict::Violation;
    r.property = cex.property;
    r.severity = cex.severity;
    r.step = run.step(found.check);
    r.cex = std::move(cex);
  }
  r.stats.solver_calls = run.solver_calls();
  r.stats.solver_seconds = run.solver_seconds();
  r.stats.check_points = run.check_points();
  return r;
}

/// Every distinct violation (--all). The verdict is as for the first one; `incomplete` says
/// when the list may lack some.
CheckResult check_smt_all(ScenarioRun & run, const CheckOptions & opt)
{
  CheckResult r;
  r.listed_all = true;
  AllFound all = all_violations(run, opt.unsafe_only, opt.on_proved,
                                [&](Answer & a, const std::vector<z3::expr> & extra, bool & cut) {
                                  return prepare(run, a, extra, cut);
                                });
  if (all.found.empty()) {
    r.verdict = all.unknown ? Verdict::Unknown : Verdict::Safe;
    if (all.unknown) r.reason = unknown_reason(run, *all.unknown);
  } else {
    r.verdict = Verdict::Violation;
    r.property = all.found.front().property;
    r.severity = all.found.front().severity;
    r.step = run.step(all.found.front().check);
    r.cex = all.found.front();
    r.all = std::move(all.found);
    r.incomplete = all.incomplete;
    if (all.cut_short) r.note = kNotShortest;
  }
  r.stats.solver_calls = run.solver_calls();
  r.stats.solver_seconds = run.solver_seconds();
  r.stats.check_points = run.check_points();
  return r;
}

CheckResult finish(CheckResult r, const CheckOptions & opt, const Budget & budget)
{
  r.stats.seconds = std::chrono::duration<double>(Clock::now() - budget.start).count();
  if (opt.on_result) opt.on_result(r);  // may not return (a child process leaving early)
  return r;
}

/// check_scenario with the Z3 context given, so that the in-order verdict's any-order
/// re-check shares it (and its time budget), and the result is handed to on_result while
/// every solver object is still alive.
CheckResult check_in(z3::context & ctx, const Scenario & input, const CheckOptions & opt, const Budget & budget)
{
  Scenario sc = input;
  if (opt.completion) sc.config.completion = *opt.completion;
  if (opt.engine == "explicit") return finish(check_explicit(sc, opt), opt, budget);
  ScenarioRun run(ctx, sc, budget, opt.smt2_dir);
  run.set_cut_min_gaps(opt.cut_min_gaps);
  Answer found;
  CheckResult r = opt.all ? check_smt_all(run, opt) : check_smt(run, opt, found);
  if (needs_in_order_note(sc, opt, r)) {
    run.release();
    CheckResult a = check_in(ctx, input, any_order_options(opt), budget);  // same deadline
    r.stats.solver_calls += a.stats.solver_calls;
    r.stats.solver_seconds += a.stats.solver_seconds;
    r.note = in_order_note(a);
  }
  return finish(std::move(r), opt, budget);
}

}  // namespace

CheckResult check_scenario(const Scenario & sc, const CheckOptions & opt)
{
  z3::context ctx;
  return check_in(ctx, sc, opt, Budget{Clock::now(), opt.timeout_s});
}

}  // namespace nostale
