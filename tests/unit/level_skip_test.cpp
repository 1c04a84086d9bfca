// Level skipping (AMD-PT-1): a pointer entry whose NextLevel names a table two levels below.
// Scenarios built in C++ on the generic description with level skipping forced on (no bundled
// profile declares it yet), a 3-level table of 2-bit levels whose domain skips level 2, run on
// both engines: the explorer (spec/interp) and check_scenario (the SMT encoding, its trace
// replayed on the interpreter).
#include <gtest/gtest.h>

#include "checker/engine.h"
#include "spec/interp/cache.h"
#include "spec/interp/explorer.h"
#include "spec/model/errors.h"
#include "spec/model/timeline.h"
#include "spec/profiles/api/profile.h"

namespace nostale {
namespace {

constexpr u64 kPage = 0x1000;
/// The first address whose level-2 index (skipped) is not zero: 1 << shift(2).
constexpr u64 kSkippedBitSet = 0x4000;

Scenario skipping_scenario()
{
  Scenario sc;
  sc.file = "level-skip";
  sc.name = "level-skip";
  sc.profile = "generic";
  Config & c = sc.config;
  c.hw = find_profile("generic")->hardware(c);
  c.hw.format.level_skipping = true;
  c.geo = Geometry{12, 2, 3};
  c.pasid_bits = 1;
  c.did_bits = 2;
  c.pt_pool = 0x100000;
  c.devices.push_back({"d0", false, false, std::nullopt});
  c.domains.push_back({"A", u64{1}, {2}});
  return sc;
}

Step step(Op op)
{
  Step s;
  s.op = op;
  s.domain = 0;
  s.device = 0;
  return s;
}

void add(Scenario & sc, Step s)
{
  s.path = "/steps/" + std::to_string(sc.steps.size());
  sc.steps.push_back(s);
}

Step attach()
{
  Step s = step(Op::ConfigWrite);
  s.cw.present = true;
  return s;
}

Step map(u64 iova)
{
  Step s = step(Op::Map);
  s.iova = iova;
  s.size = s.page_size = kPage;
  s.phys = 0x40 * kPage;
  s.perm = kPermRW;
  return s;
}

/// Unmap the range of one level-3 entry: the level-1 table it points to is unlinked.
Step unmap_top_entry(u64 iova)
{
  Step s = step(Op::Unmap);
  s.iova = iova;
  s.size = 0x10000;  // 1 << shift(3)
  s.free_tables = true;
  return s;
}

/// An IOTLB flush of the domain, with (psc) or without (LEAF) its paging-structure entries.
Step flush(bool psc)
{
  Step s = step(Op::Invalidate);
  s.inv.iotlb = true;
  s.inv.psc = psc;
  s.inv.did = 1;
  return s;
}

/// attach, map page 0, check (the walk caches the level-3 pointer that skips level 2), unmap
/// the level-3 entry's range with its table page unlinked, a flush, a wait, free_pgtables,
/// check.
Scenario teardown(bool flush_psc)
{
  Scenario sc = skipping_scenario();
  add(sc, attach());
  add(sc, map(0));
  add(sc, step(Op::Check));
  add(sc, unmap_top_entry(0));
  add(sc, flush(flush_psc));
  add(sc, step(Op::Sync));
  add(sc, step(Op::FreePgtables));
  add(sc, step(Op::Check));
  return sc;
}

struct Both {
  ExplicitResult ex;
  CheckResult smt;
};

Both run(const Scenario & sc)
{
  Timeline tl = build_timeline(sc);
  Both b{explore(sc, tl), check_scenario(sc, CheckOptions{})};
  EXPECT_TRUE(b.ex.complete);
  EXPECT_NE(b.smt.verdict, Verdict::Unknown);
  return b;
}

TEST(LevelSkip, MapAllocatesNoTableOfTheSkippedLevel)
{
  Scenario sc = teardown(true);
  Timeline tl = build_timeline(sc);
  const Memory & m = tl.walk.at(2);  // after attach and map
  const Pte & top = m.tables().at(m.domains()[0].root).entries.at(0);
  ASSERT_EQ(top.kind, Pte::Table);
  EXPECT_EQ(top.next, 1u);  // the level-3 entry points straight to a level-1 table
  EXPECT_TRUE(m.is_table(top.frame, 1));
  for (const auto & [frame, page] : m.tables()) EXPECT_NE(page.level, 2u) << "frame " << frame;
  WalkResult r = m.walk_from(sc.config.geo, m.domains()[0].root, 3, 0, 1);
  EXPECT_EQ(r.kind, WalkResult::Leaf);
}

TEST(LevelSkip, WalkOfAnAddressWithSkippedBitsSetEndsWithoutTranslation)
{
  Scenario sc = teardown(true);
  Timeline tl = build_timeline(sc);
  const Memory & m = tl.walk.at(2);
  // Same level-3 and level-1 index as page 0, level-2 index 1: the skipped bits are not zero.
  WalkResult r = m.walk_from(sc.config.geo, m.domains()[0].root, 3, kSkippedBitSet, 1);
  EXPECT_EQ(r.kind, WalkResult::None);
  EXPECT_EQ(r.level, 3u);
  // The interpreter's walker: the pointer is read (and may be cached), no leaf is filled.
  std::set<Entry> fills = fillable_for(sc.config, m, {}, 0, 0, kSkippedBitSet);
  bool psc = false;
  for (const Entry & e : fills) {
    EXPECT_NE(e.kind, CacheKind::Iotlb) << describe(sc.config, e);
    if (e.kind == CacheKind::Psc) {
      psc = true;
      EXPECT_EQ(e.level, 3u);  // tagged with the level of the entry read
      EXPECT_EQ(e.next, 1u);
    }
  }
  EXPECT_TRUE(psc);
}

TEST(LevelSkip, MapOfAnAddressWithSkippedBitsSetWritesNoLeaf)
{
  Scenario sc = skipping_scenario();
  add(sc, attach());
  add(sc, map(kSkippedBitSet));
  Timeline tl = build_timeline(sc);
  const Memory & m = tl.walk.at(2);
  EXPECT_EQ(m.walk_from(sc.config.geo, m.domains()[0].root, 3, kSkippedBitSet, 1).kind, WalkResult::None);
  EXPECT_EQ(m.walk_from(sc.config.geo, m.domains()[0].root, 3, 0, 1).kind, WalkResult::None);  // no alias
  EXPECT_EQ(m.tables().size(), 1u);  // the root only
}

TEST(LevelSkip, LeafOfTheSkippedLevelIsRejected)
{
  Scenario sc = skipping_scenario();
  add(sc, attach());
  Step m = map(0);
  m.size = m.page_size = sc.config.geo.size(2);
  add(sc, m);
  try {
    build_timeline(sc);
    FAIL() << "a level-2 leaf in a table without level-2 tables was accepted";
  } catch (const ScenarioError & e) {
    EXPECT_EQ(e.where(), "/steps/1/page_size");
  }
}

// The cached level-3 pointer leads to the level-1 table, which is freed while still cached:
// the flush was leaf-only. Both engines find it, and the counterexample names that entry.
TEST(LevelSkip, StalePointerThatSkipsALevelIsFound)
{
  Both b = run(teardown(false));
  ASSERT_TRUE(b.ex.check.has_value());
  ASSERT_EQ(b.smt.verdict, Verdict::Violation);
  EXPECT_EQ(b.smt.property, b.ex.property);
  EXPECT_EQ(b.smt.step, std::optional<std::size_t>(6));  // free_pgtables is a check point
  ASSERT_TRUE(b.smt.cex.has_value());
  const Entry & e = b.smt.cex->entry;
  EXPECT_EQ(e.kind, CacheKind::Psc);
  EXPECT_EQ(e.level, 3u);
  EXPECT_EQ(e.next, 1u);
}

TEST(LevelSkip, FlushedPointerThatSkipsALevelIsSafe)
{
  Both b = run(teardown(true));
  EXPECT_FALSE(b.ex.check.has_value()) << b.ex.property;
  EXPECT_EQ(b.smt.verdict, Verdict::Safe) << b.smt.property << " " << b.smt.severity;
}

// The pointer stays cached and valid: a walk on from it must go on at level 1 (not 2) and
// only for addresses whose level-2 index is zero, or the cached entry would read as stale.
TEST(LevelSkip, CachedPointerThatSkipsALevelAgreesWithMemory)
{
  Scenario sc = skipping_scenario();
  add(sc, attach());
  add(sc, map(0));
  add(sc, step(Op::Check));
  Step other = map(kPage);
  add(sc, other);  // another page under the same pointer: no flush needed
  add(sc, step(Op::Check));
  Step dma = step(Op::Dma);
  dma.iova = kSkippedBitSet;  // faults, through memory and through the cached pointer alike
  dma.perm = kPermRead;
  add(sc, dma);
  Both b = run(sc);
  EXPECT_FALSE(b.ex.check.has_value()) << b.ex.property;
  EXPECT_EQ(b.smt.verdict, Verdict::Safe) << b.smt.property << " " << b.smt.severity;
}

// Memory itself still maps a freed data frame, through the pointer that skips level 2.
TEST(LevelSkip, FreeOfAFrameMappedThroughASkippingPointerIsFound)
{
  Scenario sc = skipping_scenario();
  add(sc, attach());
  add(sc, map(kPage));
  Step f = step(Op::FreeFrame);
  f.phys = 0x40 * kPage;
  f.size = kPage;
  add(sc, f);
  Both b = run(sc);
  ASSERT_TRUE(b.ex.check.has_value());
  EXPECT_EQ(b.ex.property, "no-dma-after-free");
  ASSERT_EQ(b.smt.verdict, Verdict::Violation);
  EXPECT_EQ(b.smt.property, "no-dma-after-free");
}

// No walk translates an address whose skipped index bits are not zero, so no IOTLB entry
// for it can exist: a flush of exactly the unmapped page is enough. An engine that skipped
// the check would alias 0x4000 onto page 0 and find that alias stale after the flush.
TEST(LevelSkip, AddressWithSkippedBitsSetIsNeverCached)
{
  Scenario sc = skipping_scenario();
  add(sc, attach());
  add(sc, map(0));
  add(sc, step(Op::Check));
  Step u = step(Op::Unmap);
  u.size = kPage;
  add(sc, u);
  Step f = flush(true);
  f.inv.ranged = true;
  f.inv.addr = 0;
  f.inv.size = kPage;
  add(sc, f);
  add(sc, step(Op::Sync));
  add(sc, step(Op::Check));
  Both b = run(sc);
  EXPECT_FALSE(b.ex.check.has_value()) << b.ex.property;
  EXPECT_EQ(b.smt.verdict, Verdict::Safe) << b.smt.property << " " << b.smt.severity;
}

}  // namespace
}  // namespace nostale
