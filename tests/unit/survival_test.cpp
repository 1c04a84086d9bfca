// Why a stale entry survived (spec/interp/survival.h), on real counterexamples of bundled
// scenarios: each kind of cause, the invalidation it names, and the rule chosen from it.
#include <gtest/gtest.h>

#include <string>

#include "checker/engine.h"
#include "checker/scenario_loader.h"
#include "spec/interp/survival.h"

namespace nostale {
namespace {

struct Found {
  Scenario sc;
  Timeline tl;
  Counterexample cex;
  Survival why;
};

Found run(const std::string & file)
{
  Found f;
  f.sc = load_scenario(std::string(NOSTALE_SOURCE_DIR) + "/scenarios/" + file);
  f.tl = build_timeline(f.sc);
  CheckResult r = check_scenario(f.sc, CheckOptions{});
  EXPECT_TRUE(r.cex.has_value()) << file;
  if (r.cex) f.cex = *r.cex;
  f.why = why_survived(f.sc, f.tl, f.cex);
  return f;
}

TEST(Survival, NeverInvalidated)
{
  Found f = run("vtd/buggy/unmap-no-flush-bug.json");
  EXPECT_EQ(f.why.kind, Survival::NeverInvalidated);
  EXPECT_FALSE(f.why.inv.has_value());
  // The rule of the missing flush (the unmap sequence), not a granularity rule.
  EXPECT_EQ(f.cex.rule, "VTD-SEQ-10");
}

TEST(Survival, NotCoveredNamesTheCommandThatMissed)
{
  Found f = run("generic/wrong-archid-bug.json");
  EXPECT_EQ(f.why.kind, Survival::NotCovered);
  ASSERT_TRUE(f.why.inv.has_value());
  EXPECT_EQ(f.tl.invs[*f.why.inv].step, 5u);
  EXPECT_NE(survival_text(f.sc, f.tl, f.why).find("step 5"), std::string::npos);
  // VT-d: the command that missed it is p_iotlb_inv, whose granularity rule is VTD-GRAN-2.
  Found v = run("vtd/buggy/unmap-second-stage-piotlb-bug.json");
  EXPECT_EQ(v.why.kind, Survival::NotCovered);
  EXPECT_EQ(v.cex.rule, "VTD-GRAN-2");
}

TEST(Survival, LeafOnlyFlushOverFreedTables)
{
  // IH=1 over freed table pages: the flush names the IOTLB and spares the paging-structure
  // entry (MOD-3), and the rule is the IH rule of VT-d.
  Found f = run("vtd/buggy/unmap-free-pgtables-ih-bug.json");
  EXPECT_EQ(f.why.kind, Survival::NotCovered);
  EXPECT_TRUE(f.why.leaf_only);
  EXPECT_NE(survival_text(f.sc, f.tl, f.why).find("leaf-only"), std::string::npos);
  EXPECT_EQ(f.cex.rule, "VTD-CACHE-4");
}

TEST(Survival, NotWaited)
{
  Found f = run("generic/strict-unmap-bug.json");
  EXPECT_EQ(f.why.kind, Survival::NotWaited);
  ASSERT_TRUE(f.why.inv.has_value());
  EXPECT_EQ(f.tl.invs[*f.why.inv].step, 3u);
}

TEST(Survival, RefilledFromTheIotlb)
{
  Found f = run("generic/ats-order-bug.json");
  EXPECT_EQ(f.why.kind, Survival::Refilled);
  EXPECT_TRUE(f.why.from_iotlb);
  EXPECT_EQ(f.cex.rule, "ATS-7");
}

TEST(Survival, NoEntryNoCause)
{
  Found f = run("generic/free-while-mapped-bug.json");
  EXPECT_TRUE(f.cex.from_memory);
  EXPECT_EQ(f.why.kind, Survival::NotApplicable);
  EXPECT_EQ(survival_text(f.sc, f.tl, f.why), "");
}

/// A trace whose covering invalidation is said to complete makes it Refilled or gone, never
/// NotWaited: the classification reads the trace's completions.
TEST(Survival, CompletionInTheTraceCounts)
{
  Found f = run("generic/strict-unmap-bug.json");
  ASSERT_TRUE(f.why.inv.has_value());
  HwEvent done;
  done.kind = HwEvent::Complete;
  done.inv = *f.why.inv;
  done.gap = f.sc.steps.size();
  f.cex.events.push_back(done);
  EXPECT_NE(why_survived(f.sc, f.tl, f.cex).kind, Survival::NotWaited);
}

}  // namespace
}  // namespace nostale
