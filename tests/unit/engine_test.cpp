// The engine's mechanism (checker/solve.h) and each of its policies (checker/policies/) on
// their own, on bundled scenario files: solve() answers sat, unsat, unknown and not applicable
// for the check points that have them; first_violation stops at the earliest violation; shrink
// reaches the fewest actions (and stops with its note when the budget is spent); the replay gate
// rejects a corrupted counterexample; the in-order note says what any-order completion gives.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "checker/engine.h"
#include "checker/policies/all_violations.h"
#include "checker/policies/first_violation.h"
#include "checker/policies/in_order_note.h"
#include "checker/policies/readable_witness.h"
#include "checker/policies/replay_gate.h"
#include "checker/policies/shrink.h"
#include "checker/scenario_loader.h"
#include "checker/solve.h"
#include "spec/interp/explorer.h"
#include "spec/model/errors.h"
#include "spec/smt/encoding.h"
#include "spec/smt/fills.h"
#include "spec/smt/terms.h"

namespace nostale {
namespace {

Scenario load(const std::string & rel) { return load_scenario(std::string(NOSTALE_SOURCE_DIR) + "/" + rel); }

// no-stale unsafe at step 7 (the second check point), rule VTD-GRAN-2; the fixed driver.
const char * const kBug = "scenarios/vtd/buggy/unmap-second-stage-piotlb-bug.json";
const char * const kOk = "scenarios/vtd/linux/unmap-second-stage.json";
const std::size_t kBugStep = 7;
const Query kUnsafeStale{"no-stale", "unsafe"};

/// The index of the check point at `step`.
std::size_t check_at(const ScenarioRun & run, std::size_t step)
{
  for (std::size_t ci = 0; ci < run.check_points(); ++ci)
    if (run.step(ci) == step) return ci;
  throw std::runtime_error("no check point at step " + std::to_string(step));
}

/// A run of one scenario file with its own context, unlimited budget unless given.
struct Fixture {
  z3::context ctx;
  ScenarioRun run;
  explicit Fixture(const std::string & rel, Budget b = Budget{}, std::string smt2_dir = "")
      : run(ctx, load(rel), b, std::move(smt2_dir))
  {
  }
};

CheckResult verdict(Verdict v)
{
  CheckResult r;
  r.verdict = v;
  return r;
}

Budget spent() { return Budget{Clock::now() - std::chrono::seconds(10), 1.0}; }

// ---- the mechanism ----

TEST(Solve, SatOnTheBuggyCheckPointUnsatOnTheSafeOnes)
{
  Fixture f(kBug);
  std::size_t bad = check_at(f.run, kBugStep);
  Answer a = f.run.solve(bad, kUnsafeStale);
  ASSERT_EQ(a.kind, Answer::Sat);
  ASSERT_TRUE(a.model.has_value());
  Counterexample cex = f.run.counterexample(a);
  EXPECT_EQ(cex.property, "no-stale");
  EXPECT_EQ(cex.severity, "unsafe");
  EXPECT_EQ(cex.rule, "VTD-GRAN-2");
  EXPECT_EQ(replay(f.run.scenario(), f.run.timeline(), cex), "");
  // Every query of every earlier check point is unsat or does not apply.
  ASSERT_GT(bad, 0u);
  for (std::size_t ci = 0; ci < bad; ++ci)
    for (const Query & q : kQueries) {
      Answer e = f.run.solve(ci, q);
      EXPECT_TRUE(e.kind == Answer::Unsat || e.kind == Answer::NotApplicable) << "step " << f.run.step(ci) << " " << q.property;
    }
  // The fixed driver: the same query at the same step is unsat.
  Fixture ok(kOk);
  EXPECT_EQ(ok.run.solve(check_at(ok.run, kBugStep), kUnsafeStale).kind, Answer::Unsat);
}

TEST(Solve, NotApplicableAsksNoSolver)
{
  Fixture f(kBug);
  // no-reuse-while-cached applies only where a PASID or domain id is freed: none here.
  for (std::size_t ci = 0; ci < f.run.check_points(); ++ci)
    EXPECT_EQ(f.run.solve(ci, {"no-reuse-while-cached", ""}).kind, Answer::NotApplicable) << ci;
  EXPECT_EQ(f.run.solver_calls(), 0u);
  EXPECT_EQ(f.run.solve(0, kUnsafeStale).kind, Answer::Unsat);
  EXPECT_EQ(f.run.solver_calls(), 1u);
}

TEST(Solve, OneEncodingPerCheckPointAskedInARow)
{
  Fixture f(kBug);
  ASSERT_GE(f.run.check_points(), 2u);
  for (const Query & q : kQueries) f.run.solve(0, q);
  EXPECT_EQ(f.run.encodings_built(), 1u);
  f.run.solve(1, kUnsafeStale);
  f.run.solve(1, {"no-dma-after-free", ""});
  EXPECT_EQ(f.run.encodings_built(), 2u);
  f.run.solve(0, kUnsafeStale);  // only the last one is kept
  EXPECT_EQ(f.run.encodings_built(), 3u);
}

TEST(Solve, SpentBudgetGivesUnknownWithAReason)
{
  Fixture f(kBug, spent());
  Answer a = f.run.solve(check_at(f.run, kBugStep), kUnsafeStale);
  EXPECT_EQ(a.kind, Answer::Unknown);
  EXPECT_FALSE(a.asked);
  EXPECT_EQ(a.reason, "no time left");
  EXPECT_EQ(f.run.solver_calls(), 0u);
  // The same query with time left is sat: the budget, not the query, made it unknown.
  f.run.set_budget(Budget{Clock::now(), 600});
  EXPECT_EQ(f.run.solve(check_at(f.run, kBugStep), kUnsafeStale).kind, Answer::Sat);
}

TEST(Solve, SolverUnknownGivesItsReason)
{
  // A context whose solvers may spend almost no resources: the solver itself answers unknown.
  z3::config cfg;
  cfg.set("rlimit", 1);
  z3::context ctx(cfg);
  ScenarioRun run(ctx, load(kBug), Budget{});
  Answer a = run.solve(check_at(run, kBugStep), kUnsafeStale);
  EXPECT_EQ(a.kind, Answer::Unknown);
  EXPECT_TRUE(a.asked);
  EXPECT_NE(a.reason, "");
  EXPECT_EQ(run.solver_calls(), 1u);
  Answer first = first_violation(run, false, nullptr);
  ASSERT_EQ(first.kind, Answer::Unknown);
  EXPECT_EQ(unknown_reason(run, first), first.reason + " (check point at step " + std::to_string(run.step(0)) +
                                             ", property no-dma-after-free); earlier check points are safe");
}

TEST(Solve, ExtraConstraintsAndRefineNarrowTheQuery)
{
  Fixture f(kBug);
  std::size_t bad = check_at(f.run, kBugStep);
  z3::expr_vector acts = f.run.encoding(bad).actions();
  // The violation needs hardware actions (a fill at least): blocking all of them leaves none.
  EXPECT_EQ(f.run.solve(bad, kUnsafeStale, {z3::atmost(acts, 0)}).kind, Answer::Unsat);
  Answer a = f.run.solve(bad, kUnsafeStale);
  ASSERT_EQ(a.kind, Answer::Sat);
  unsigned k = count_true(*a.model, acts);
  ASSERT_GT(k, 0u);
  EXPECT_EQ(f.run.refine(a, z3::atmost(acts, 0)).kind, Answer::Unsat);
  EXPECT_EQ(count_true(*a.model, acts), k);  // the answer's own model is kept
  Answer unsat = f.run.solve(bad, kUnsafeStale, {z3::atmost(acts, 0)});
  EXPECT_THROW(f.run.refine(unsat, z3::atmost(acts, 1)), InternalError);
  EXPECT_THROW(f.run.counterexample(unsat), InternalError);
}

TEST(Solve, WritesTheSmt2QueryWhenAsked)
{
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("nostale-engine-test-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  {
    Fixture f(kBug, Budget{}, dir.string());
    std::size_t bad = check_at(f.run, kBugStep);
    f.run.solve(bad, kUnsafeStale);
    f.run.solve(bad, {"no-reuse-while-cached", ""});  // not applicable: nothing to write
    fs::path want = dir / smt2_query_name(f.run.scenario(), kBugStep, "no-stale", "unsafe");
    ASSERT_TRUE(fs::exists(want)) << want;
    std::ifstream in(want);
    std::stringstream text;
    text << in.rdbuf();
    EXPECT_EQ(text.str().rfind("; nostale query: ", 0), 0u);
    EXPECT_NE(text.str().find("(check-sat)"), std::string::npos);
    EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator{}), 1);
  }
  fs::remove_all(dir);
}

// ---- first_violation ----

// CUT-1: after a detach that flushes the IOTLB and waits, the check point is a cut and the
// later encodings start there; without the IOTLB flush the surviving entry (did 1, no PASID
// entry to give it) keeps it from being one, and the recycled id is found.
TEST(Cut, TakenWhereTheCachesHoldOnlyWhatMemoryGivesNotElsewhere)
{
  Fixture ok("scenarios/generic/cut-detach-with-iotlb-flush-ok.json");
  EXPECT_EQ(first_violation(ok.run, false, {}).kind, Answer::Unsat);
  std::size_t check = 0;  // the step of the scenario's one `check`
  const std::vector<Step> & steps = ok.run.scenario().steps;
  for (std::size_t k = 0; k < steps.size(); ++k)
    if (steps[k].op == Op::Check) check = k;
  ASSERT_GT(check, 0u);
  // The check is a cut by the solver's answer (CUT-1); the free_did right after it is one
  // without asking (CUT-2: at its gap, before the free takes effect, memory is as at the check).
  EXPECT_EQ(ok.run.cuts(), (std::vector<std::size_t>{check, check + 1}));
  // With --smt2 the properties are asked one by one (one dump each) and the cut on its own:
  // the same cut is found.
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("nostale-cut-test-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  {
    Fixture dumped("scenarios/generic/cut-detach-with-iotlb-flush-ok.json", Budget{}, dir.string());
    EXPECT_EQ(first_violation(dumped.run, false, {}).kind, Answer::Unsat);
    EXPECT_EQ(dumped.run.cuts(), (std::vector<std::size_t>{check, check + 1}));
  }
  fs::remove_all(dir);

  Fixture bug("scenarios/generic/cut-detach-without-iotlb-flush-bug.json");
  Answer a = first_violation(bug.run, false, {});
  EXPECT_EQ(a.kind, Answer::Sat);
  EXPECT_EQ(a.query.property, std::string("no-reuse-while-cached"));
  EXPECT_TRUE(bug.run.cuts().empty());
  // The same check point, with the encoding made to start there anyway, loses the violation:
  // the cut is what decides it.
  std::size_t free_ci = a.check;
  z3::context ctx;
  Scenario sc = load("scenarios/generic/cut-detach-without-iotlb-flush-bug.json");
  Timeline tl = build_timeline(sc);
  smt::Encoding forced(ctx, sc, tl, free_ci, tl.checks.at(free_ci - 1).step);
  z3::solver s(ctx, "QF_BV");
  s.add(forced.constraints());
  s.add(*forced.violation("no-reuse-while-cached", ""));
  EXPECT_EQ(s.check(), z3::unsat);
}

TEST(Cut, AfterACutOnlyFreesLeaveEveryWalkAsItWasSoEachFreeIsACutWithoutAsking)
{
  // CUT-2: after the cut at the check (step 14), three frees write nothing a walk reads: each
  // is a cut, known without a query, and its own encoding starts at it. The last free follows
  // an unmap, which changes what walks read: not a cut.
  Fixture ok("scenarios/generic/cut-quiet-frees-unmap-flushed-ok.json");
  EXPECT_EQ(first_violation(ok.run, false, {}).kind, Answer::Unsat);
  EXPECT_EQ(ok.run.cuts(), (std::vector<std::size_t>{14, 15, 16, 17}));
  Fixture bug("scenarios/generic/cut-quiet-frees-unmap-without-flush-bug.json");
  Answer a = first_violation(bug.run, false, {});
  ASSERT_EQ(a.kind, Answer::Sat);
  EXPECT_EQ(a.query.property, std::string("no-dma-after-free"));
  EXPECT_EQ(bug.run.step(a.check), 19u);
  EXPECT_EQ(bug.run.cuts(), (std::vector<std::size_t>{14, 15, 16, 17}));
  // The bug's free, with its encoding made to start at its own step as if it were a quiet cut,
  // loses the violation: the IOTLB entry was filled before the unmap.
  z3::context ctx;
  Scenario sc = load("scenarios/generic/cut-quiet-frees-unmap-without-flush-bug.json");
  Timeline tl = build_timeline(sc);
  EXPECT_FALSE(smt::Encoding::quiet_cut(sc, tl, 17, a.check));
  EXPECT_TRUE(smt::Encoding::quiet_cut(sc, tl, 14, a.check - 1));  // the free at 17, from the cut at 14
  smt::Encoding forced(ctx, sc, tl, a.check, 19);
  z3::solver s(ctx, "QF_BV");
  s.add(forced.constraints());
  s.add(*forced.violation("no-dma-after-free", ""));
  EXPECT_EQ(s.check(), z3::unsat);
  // And a quiet cut's encoding is exact: the free at 17 proved from its own step and from the
  // cut at 14 gives the same answer for every property.
  smt::Encoding e14(ctx, sc, tl, a.check - 1, 14), e17(ctx, sc, tl, a.check - 1, 17);
  for (const Query & q : kQueries) {
    auto ask = [&](smt::Encoding & e) {
      std::optional<z3::expr> v = e.violation(q.property, q.severity);
      if (!v) return z3::unsat;
      z3::solver t(ctx, "QF_BV");
      t.add(e.constraints());
      t.add(*v);
      return t.check();
    };
    EXPECT_EQ(ask(e14), ask(e17)) << q.property << " " << q.severity;
  }
}

TEST(Psc, SettledWhereTheUpperTablesOnlyGainEntries)
{
  // PSC-1: walks start from cached pointers only below the lowest level whose tables, and every
  // table above, only gain entries over the encoding's window (spec/docs/semantics.md).
  z3::context ctx;
  auto settled = [&](const char * file, std::size_t step, std::size_t lo) {
    Scenario sc = load(file);
    Timeline tl = build_timeline(sc);
    for (std::size_t k = 0; k < tl.checks.size(); ++k)
      if (tl.checks[k].step == step) {
        smt::Terms t(ctx, sc, tl, k, lo);
        return smt::psc_settled_level(t);
      }
    ADD_FAILURE() << file << ": no check point at step " << step;
    return 0u;
  };
  // A map, then an unmap of 4 KiB leaves: only level-1 entries change.
  EXPECT_EQ(settled("scenarios/generic/strict-unmap-ok.json", 5, 0), 2u);
  // The unmap clears a 2 MiB leaf: a level-2 entry changes, the levels above only gain.
  EXPECT_EQ(settled("scenarios/generic/hugepage-2m-ok.json", 5, 0), 3u);
  // The unmap unlinks a level-1 table page: its level-2 pointer goes.
  EXPECT_EQ(settled("scenarios/generic/free-tables-leaf-bug.json", 5, 0), 3u);
  EXPECT_EQ(settled("scenarios/generic/free-tables-leaf-bug.json", 6, 0), 3u);
  // From a cut after the unlinking and the free of the table page, nothing above level 1
  // changes in the window.
  EXPECT_EQ(settled("scenarios/generic/free-tables-leaf-bug.json", 6, 6), 2u);
  // After the free of a table page another address space still links, the pointers to it
  // lead to no table (at levels 3 and 2): a walk through them reads arbitrary entries.
  EXPECT_EQ(settled("scenarios/generic/shared-table-free-bug.json", 8, 8), 4u);
  // Domain id 1 names A's root, then (recycled) B's: a pointer cached from A's tables must stay
  // usable by B's walks at every level (4 levels: none settled).
  EXPECT_EQ(settled("scenarios/generic/did-reuse-ok.json", 11, 0), 5u);
}

TEST(FirstViolation, StopsAtTheEarliestViolation)
{
  Fixture f(kBug);
  std::vector<std::size_t> proved;
  Answer a = first_violation(f.run, false, [&](std::size_t s) { proved.push_back(s); });
  ASSERT_EQ(a.kind, Answer::Sat);
  EXPECT_EQ(f.run.step(a.check), kBugStep);
  ASSERT_GT(a.check, 0u);
  EXPECT_STREQ(a.query.property, "no-stale");
  EXPECT_STREQ(a.query.severity, "unsafe");
  std::vector<std::size_t> earlier;
  for (std::size_t ci = 0; ci < a.check; ++ci) earlier.push_back(f.run.step(ci));
  EXPECT_EQ(proved, earlier);
  EXPECT_LT(a.check + 1, f.run.check_points());  // there were check points left: it stopped
}

TEST(FirstViolation, ProvesEveryCheckPointOfASafeScenario)
{
  Fixture f(kOk);
  std::vector<std::size_t> proved;
  Answer a = first_violation(f.run, false, [&](std::size_t s) { proved.push_back(s); });
  EXPECT_EQ(a.kind, Answer::Unsat);
  ASSERT_EQ(proved.size(), f.run.check_points());
  for (std::size_t ci = 0; ci < proved.size(); ++ci) EXPECT_EQ(proved[ci], f.run.step(ci));
}

TEST(FirstViolation, UnsafeOnlySkipsRestrictiveFindings)
{
  const char * file = "scenarios/generic/perm-upgrade-bug.json";  // no-stale restrictive at step 3
  Fixture all(file);
  Answer a = first_violation(all.run, false, nullptr);
  ASSERT_EQ(a.kind, Answer::Sat);
  EXPECT_STREQ(a.query.severity, "restrictive");
  Fixture unsafe(file);
  std::vector<std::size_t> proved;
  Answer u = first_violation(unsafe.run, true, [&](std::size_t s) { proved.push_back(s); });
  EXPECT_EQ(u.kind, Answer::Unsat);  // its only finding is restrictive
  EXPECT_EQ(proved.size(), unsafe.run.check_points());
}

TEST(FirstViolation, UnknownSaysWhere)
{
  Fixture f(kBug, spent());
  Answer a = first_violation(f.run, false, nullptr);
  ASSERT_EQ(a.kind, Answer::Unknown);
  EXPECT_EQ(unknown_reason(f.run, a), "timeout before check point at step " + std::to_string(f.run.step(0)));
}

// ---- shrink ----

/// The bug's first violation as Z3 first answers it, before any shrinking.
struct ShrinkTest : ::testing::Test {
  Fixture f{kBug};
  Answer a = first_violation(f.run, false, nullptr);
  z3::expr_vector acts = f.run.encoding(a.check).actions();
  unsigned before = a.kind == Answer::Sat ? count_true(*a.model, acts) : 0;
  unsigned calls = f.run.solver_calls();
  void SetUp() override { ASSERT_EQ(a.kind, Answer::Sat); }
};

TEST_F(ShrinkTest, ReachesTheFewestActions)
{
  Shrunk s = shrink(f.run, a);
  ASSERT_EQ(s.answer.kind, Answer::Sat);
  EXPECT_FALSE(s.cut_short);
  unsigned k = count_true(*s.answer.model, acts);
  EXPECT_LT(k, before);  // Z3's first model here has more actions than needed
  EXPECT_GT(f.run.solver_calls(), calls);
  // Minimal: no model of the query has fewer actions.
  EXPECT_EQ(f.run.solve(a.check, a.query, {z3::atmost(acts, k - 1)}).kind, Answer::Unsat);
  EXPECT_EQ(replay(f.run.scenario(), f.run.timeline(), f.run.counterexample(s.answer)), "");
}

TEST_F(ShrinkTest, SpentBudgetStopsItWithTheNote)
{
  f.run.set_budget(spent());
  Shrunk s = shrink(f.run, a);
  EXPECT_TRUE(s.cut_short);
  ASSERT_EQ(s.answer.kind, Answer::Sat);
  EXPECT_EQ(count_true(*s.answer.model, acts), before);
  EXPECT_EQ(f.run.solver_calls(), calls);
  EXPECT_EQ(replay(f.run.scenario(), f.run.timeline(), f.run.counterexample(s.answer)), "");
}

// ---- the replay gate ----

TEST(ReplayGate, PassesAGenuineCounterexampleRejectsACorruptedOne)
{
  Fixture f(kBug);
  Answer a = shrink(f.run, first_violation(f.run, false, nullptr)).answer;
  ASSERT_EQ(a.kind, Answer::Sat);
  Counterexample cex = f.run.counterexample(a);
  EXPECT_NO_THROW(replay_gate(f.run.scenario(), f.run.timeline(), a.check, cex));
  // Without the fill of the stale entry there is no violation to show.
  Counterexample bad = cex;
  auto fill = std::find_if(bad.events.begin(), bad.events.end(),
                           [&](const HwEvent & e) { return e.kind == HwEvent::Fill && e.entry == cex.entry; });
  ASSERT_NE(fill, bad.events.end());
  bad.events.erase(fill);
  try {
    replay_gate(f.run.scenario(), f.run.timeline(), a.check, bad);
    ADD_FAILURE() << "a counterexample without the stale entry's fill passed the gate";
  } catch (const InternalError & e) {
    std::string msg = e.what();
    EXPECT_EQ(msg.rfind("counterexample at step 7 does not replay on the interpreter: ", 0), 0u) << msg;
    EXPECT_NE(msg.find("; claimed no-stale unsafe on "), std::string::npos) << msg;
    EXPECT_NE(msg.find("\n  gap "), std::string::npos) << msg;  // the events are listed
  }
}

// ---- the in-order note ----

TEST(InOrderNote, SaysWhatAnyOrderCompletionGives)
{
  Scenario sc = load("scenarios/generic/ats-order-inorder-ok.json");
  ASSERT_EQ(sc.config.completion, Completion::InOrder);
  CheckOptions opt;
  opt.on_proved = [](std::size_t) {};
  CheckOptions any = any_order_options(opt);
  EXPECT_EQ(any.completion, Completion::AnyOrder);
  EXPECT_FALSE(any.on_proved);
  CheckResult a = check_scenario(sc, any);
  ASSERT_EQ(a.verdict, Verdict::Violation);
  ASSERT_TRUE(a.cex.has_value());
  std::string want = "safe only under in-order completion: with any-order completion, " + a.property +
                     (a.severity.empty() ? "" : " (" + a.severity + ")") + " at step " + std::to_string(*a.step) +
                     " [rule " + a.cex->rule + "]";
  EXPECT_EQ(in_order_note(a), want);

  CheckResult r = check_scenario(sc, CheckOptions{});
  EXPECT_EQ(r.verdict, Verdict::Safe);
  EXPECT_EQ(r.note, want);
  EXPECT_TRUE(needs_in_order_note(sc, CheckOptions{}, verdict(Verdict::Safe)));
  EXPECT_FALSE(needs_in_order_note(sc, any, verdict(Verdict::Safe)));        // forced order
  EXPECT_FALSE(needs_in_order_note(sc, CheckOptions{}, verdict(Verdict::Violation)));
  Scenario any_sc = load("scenarios/generic/ats-order-ok.json");
  EXPECT_FALSE(needs_in_order_note(any_sc, CheckOptions{}, verdict(Verdict::Safe)));

  // Safe under any order too, and undecided.
  EXPECT_EQ(in_order_note(check_scenario(any_sc, any)), "also safe under any-order completion");
  CheckOptions hurry = any;
  hurry.timeout_s = 1e-9;
  CheckResult u = check_scenario(any_sc, hurry);
  ASSERT_EQ(u.verdict, Verdict::Unknown);
  EXPECT_EQ(in_order_note(u), "any-order completion not decided: " + u.reason);
}

}  // namespace
}  // namespace nostale

namespace nostale {
namespace {

// ---- every distinct violation (--all) ----

const char * const kTwoMissing = "scenarios/vtd/buggy/unmap-two-missing-flushes-bug.json";

TEST(AllViolations, ListsEachMissingFlushOnceEachReplaysTheFirstIsTheDefault)
{
  Scenario sc = load(kTwoMissing);
  CheckResult first = check_scenario(sc, CheckOptions{});
  CheckOptions opt;
  opt.all = true;
  CheckResult r = check_scenario(sc, opt);
  ASSERT_EQ(r.verdict, Verdict::Violation);
  ASSERT_TRUE(r.listed_all);
  ASSERT_GE(r.all.size(), 2u);
  EXPECT_TRUE(r.incomplete.empty()) << r.incomplete;
  // The first listed is the default report's violation, trace and all.
  ASSERT_TRUE(first.cex && r.cex);
  EXPECT_EQ(r.all.front().entry, first.cex->entry);
  EXPECT_EQ(r.all.front().events.size(), first.cex->events.size());
  EXPECT_EQ(r.step, first.step);
  Timeline tl = build_timeline(sc);
  std::set<std::string> keys;
  std::set<CacheKind> at_check;
  EXPECT_EQ(replay(sc, tl, r.all.front()), "");  // the first as the first violation
  for (const Counterexample & c : r.all) {
    EXPECT_EQ(replay(sc, tl, c, Claim::Present), "") << distinct_key(sc.config, c);
    EXPECT_TRUE(keys.insert(std::to_string(c.check) + c.property + c.severity + distinct_key(sc.config, c) + c.rule).second)
        << "listed twice: " << distinct_key(sc.config, c);
    if (tl.checks[c.check].step == 11) at_check.insert(c.entry.kind);
  }
  EXPECT_EQ(at_check, (std::set<CacheKind>{CacheKind::Iotlb, CacheKind::DevTlb}));
}

TEST(AllViolations, BlockingTheFoundViolationLeavesOnlyTheOthers)
{
  Fixture f(kTwoMissing);
  std::size_t ci = check_at(f.run, 11);
  Answer a = f.run.solve(ci, kUnsafeStale);
  ASSERT_EQ(a.kind, Answer::Sat);
  Counterexample c = f.run.counterexample(a);
  z3::expr same = f.run.encoding(ci).same_violation(*a.model, "no-stale", "unsafe");
  EXPECT_TRUE(a.model->eval(same, true).is_true());  // the model shows its own violation
  Answer b = f.run.solve(ci, kUnsafeStale, {!same});
  ASSERT_EQ(b.kind, Answer::Sat);
  EXPECT_NE(distinct_key(f.run.scenario().config, f.run.counterexample(b)), distinct_key(f.run.scenario().config, c));
  // A safe check point has nothing to list.
  Scenario ok = load(kOk);
  CheckOptions opt;
  opt.all = true;
  EXPECT_EQ(check_scenario(ok, opt).verdict, Verdict::Safe);
}

TEST(AllViolations, AViolationBesideAHigherPriorityOneReplaysAsPresentOnly)
{
  // At the free of PASID 7 (step 12) a cached copy the encoding does not judge also shows
  // no-reuse-while-cached beside the no-stale entry --all lists: it replays as there, not as
  // the first. Before Claim::Present, --all stopped here with an internal error.
  Scenario sc = load("scenarios/vtd/buggy/pasid-replace-bug.json");
  CheckOptions opt;
  opt.all = true;
  CheckResult r = check_scenario(sc, opt);
  ASSERT_EQ(r.verdict, Verdict::Violation);
  Timeline tl = build_timeline(sc);
  unsigned present_only = 0;
  for (const Counterexample & c : r.all) {
    EXPECT_EQ(replay(sc, tl, c, Claim::Present), "") << distinct_key(sc.config, c);
    present_only += replay(sc, tl, c, Claim::First).rfind("a higher-priority violation is there", 0) == 0;
  }
  EXPECT_GE(present_only, 1u);
  // A corrupted one is still rejected under either claim: without the stale entry's fill.
  unsigned corrupted = 0;
  for (Counterexample c : r.all) {
    if (c.from_memory || c.page_request) continue;
    auto fill = std::find_if(c.events.begin(), c.events.end(),
                             [&](const HwEvent & e) { return e.kind == HwEvent::Fill && e.entry == c.entry; });
    if (fill == c.events.end()) continue;
    c.events.erase(fill);
    EXPECT_NE(replay(sc, tl, c, Claim::Present), "");
    ++corrupted;
  }
  EXPECT_GE(corrupted, 1u);
}

// ---- readable witnesses ----

TEST(ReadableWitness, APageInATouchedRangeAtTheSameNumberOfActions)
{
  // Any address shows this violation; the answer it starts from has one outside the scenario's
  // range and not page-aligned (not left to the solver's first model, which changes).
  Fixture f("scenarios/vtd/buggy/pasid-teardown-whole-entry-bug.json");
  Answer a = first_violation(f.run, false, nullptr);
  ASSERT_EQ(a.kind, Answer::Sat);
  Shrunk s = shrink(f.run, std::move(a));
  z3::expr_vector acts = f.run.encoding(s.answer.check).actions();
  unsigned k = count_true(*s.answer.model, acts);
  z3::expr addr = f.run.encoding(s.answer.check).witness().addr;
  Answer ugly = f.run.solve(s.answer.check, s.answer.query,
                            {z3::atmost(acts, k), addr == addr.ctx().bv_val(0x7654321, addr.get_sort().bv_size())});
  ASSERT_EQ(ugly.kind, Answer::Sat);
  u64 before = f.run.counterexample(ugly).addr;
  EXPECT_EQ(before, 0x7654321u);
  Answer r = readable_witness(f.run, ugly, {});
  ASSERT_EQ(r.kind, Answer::Sat);
  Counterexample c = f.run.counterexample(r);
  EXPECT_NE(before, c.addr);
  EXPECT_EQ(c.addr, 0x1000u);  // the one page the scenario maps
  EXPECT_EQ(c.pasid, 0u);
  EXPECT_EQ(count_true(*r.model, f.run.encoding(r.check).actions()), k);
  EXPECT_EQ(replay(f.run.scenario(), f.run.timeline(), c), "");
}

// ---- the explicit engine's deadline ----

TEST(ExplicitEngine, StopsAtTheDeadlineInsideASchedule)
{
  Scenario sc = load("tests/limits/explicit-4096-pages.json");
  CheckOptions opt;
  opt.engine = "explicit";
  opt.timeout_s = 0.02;
  CheckResult r = check_scenario(sc, opt);
  EXPECT_EQ(r.verdict, Verdict::Unknown);
  EXPECT_EQ(r.reason, "timeout during completion schedule 1");
}

}  // namespace
}  // namespace nostale
