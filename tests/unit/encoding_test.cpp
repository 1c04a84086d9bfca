// Units of the SMT encoding and the engine on hand-built scenarios: each property can be
// violated and proved, traces are minimal and replay, limits give unknown, and the encoding
// covers addresses far apart in the IOVA space in one query.
#include <gtest/gtest.h>

#include <z3++.h>

#include "checker/engine.h"
#include "spec/smt/encoding.h"

namespace nostale {
namespace {

/// A builder for small generic scenarios.
struct Sc {
  Scenario s;
  explicit Sc(unsigned iova_levels = 4, bool ats = false, Completion c = Completion::AnyOrder)
  {
    s.file = "unit";
    s.name = "unit";
    s.profile = "generic";
    s.config.geo.levels = iova_levels;
    s.config.completion = c;
    s.config.devices = {{"d0", ats, false, std::nullopt}, {"d1", ats, false, std::nullopt}};
    s.config.domains = {{"A", u64{1}}, {"B", u64{2}}};
  }
  Step & add(Op op)
  {
    Step st;
    st.op = op;
    st.domain = 0;
    st.device = 0;
    st.path = "/steps/" + std::to_string(s.steps.size());
    s.steps.push_back(st);
    return s.steps.back();
  }
  void attach(int dev, u64 pasid, int dom)
  {
    Step & st = add(Op::ConfigWrite);
    st.cw.present = true;
    st.device = dev;
    st.pasid = pasid;
    st.domain = dom;
  }
  void map(u64 iova, u64 size, u64 phys, unsigned perm, u64 page = 4096)
  {
    Step & st = add(Op::Map);
    st.iova = iova;
    st.size = size;
    st.phys = phys;
    st.perm = perm;
    st.page_size = page;
  }
  void unmap(u64 iova, u64 size, bool free_tables = false)
  {
    Step & st = add(Op::Unmap);
    st.iova = iova;
    st.size = size;
    st.free_tables = free_tables;
  }
  void inv_addr(u64 addr, u64 size, bool leaf = false, std::optional<u64> did = u64{1})
  {
    Step & st = add(Op::Invalidate);
    st.inv.iotlb = true;
    st.inv.psc = !leaf;
    st.inv.did = did;
    st.inv.ranged = true;
    st.inv.addr = addr;
    st.inv.size = size;
  }
  void inv_devtlb(int dev)
  {
    Step & st = add(Op::Invalidate);
    st.inv.devtlb = true;
    st.inv.device = dev;
  }
  void free_frame(u64 phys, u64 size = 4096)
  {
    Step & st = add(Op::FreeFrame);
    st.phys = phys;
    st.size = size;
  }
};

CheckResult check(const Sc & b, CheckOptions o = {}) { return check_scenario(b.s, o); }

std::size_t count(const Counterexample & c, HwEvent::Kind k)
{
  std::size_t n = 0;
  for (const HwEvent & e : c.events) n += e.kind == k;
  return n;
}

TEST(Encoding, UnmapInvalidateSyncFreeIsSafe)
{
  Sc b;
  b.attach(0, 0, 0);
  b.map(0x200000, 0x2000, 0x80000, kPermRW);
  b.unmap(0x200000, 0x2000);
  b.inv_addr(0x200000, 0x2000);
  b.add(Op::Sync);
  b.free_frame(0x80000, 0x2000);
  CheckResult r = check(b);
  EXPECT_EQ(r.verdict, Verdict::Safe);
  EXPECT_EQ(r.stats.check_points, 2u);
  // 2 check points, each proved by one query for every property (checker/solve.h solve_any).
  EXPECT_EQ(r.stats.solver_calls, 2u);
}

TEST(Encoding, FreeBeforeSyncIsDmaAfterFreeWithAMinimalTrace)
{
  Sc b;
  b.attach(0, 0, 0);
  b.map(0x200000, 0x2000, 0x80000, kPermRW);
  b.unmap(0x200000, 0x2000);
  b.inv_addr(0x200000, 0x2000);
  b.free_frame(0x80000, 0x2000);
  b.add(Op::Sync);
  CheckResult r = check(b);
  ASSERT_EQ(r.verdict, Verdict::Violation);
  EXPECT_EQ(r.property, "no-dma-after-free");
  EXPECT_EQ(*r.step, 4u);
  ASSERT_TRUE(r.cex);
  // One fill of the IOTLB is all it takes; the pending invalidation does not complete.
  EXPECT_EQ(count(*r.cex, HwEvent::Fill), 1u);
  EXPECT_EQ(count(*r.cex, HwEvent::Complete), 0u);
  EXPECT_EQ(r.cex->entry.kind, CacheKind::Iotlb);
  EXPECT_EQ(r.cex->rule, "CORE-1");
  // The witness is one of the two freed pages.
  EXPECT_GE(r.cex->addr, 0x200000u);
  EXPECT_LT(r.cex->addr, 0x202000u);
}

TEST(Encoding, OneQueryCoversAddressesAtBothEndsOfA57BitSpace)
{
  Sc b(5);
  b.attach(0, 0, 0);
  u64 high = (u64{1} << 57) - 0x1000;
  b.map(0x0, 0x1000, 0x80000, kPermRW);
  b.map(high, 0x1000, 0x90000, kPermRW);
  b.unmap(0x0, 0x1000);
  b.unmap(high, 0x1000);
  b.inv_addr(0x0, 0x1000);  // the high page is never invalidated
  b.add(Op::Sync);
  b.add(Op::Check);
  CheckResult r = check(b);
  ASSERT_EQ(r.verdict, Verdict::Violation);
  EXPECT_EQ(r.property, "no-stale");
  EXPECT_EQ(r.severity, "unsafe");
  EXPECT_EQ(r.cex->addr >> 12, high >> 12);
}

TEST(Encoding, LeafOnlyInvalidationLeavesTheFreedTablePointer)
{
  for (bool leaf : {false, true}) {
    Sc b;
    b.attach(0, 0, 0);
    b.map(0x40000000, 0x200000, 0x100000, kPermRW);  // fills one level-1 table page
    b.unmap(0x40000000, 0x200000, true);
    b.inv_addr(0x40000000, 0x200000, leaf);
    b.add(Op::Sync);
    b.add(Op::FreePgtables);
    CheckResult r = check(b);
    if (!leaf) {
      EXPECT_EQ(r.verdict, Verdict::Safe);
      continue;
    }
    ASSERT_EQ(r.verdict, Verdict::Violation);
    EXPECT_EQ(r.property, "no-dma-after-free");
    EXPECT_EQ(r.cex->entry.kind, CacheKind::Psc);
    EXPECT_EQ(r.cex->entry.level, 2u);
    EXPECT_EQ(r.cex->rule, "CORE-2");
  }
}

TEST(Encoding, DevTlbBeforeIotlbCompletesDependsOnCompletionOrder)
{
  for (Completion c : {Completion::AnyOrder, Completion::InOrder}) {
    Sc b(4, true, c);
    b.attach(0, 0, 0);
    b.map(0x200000, 0x1000, 0x80000, kPermRW);
    b.unmap(0x200000, 0x1000);
    b.inv_addr(0x200000, 0x1000);
    b.inv_devtlb(0);
    b.add(Op::Sync);
    b.add(Op::Check);
    CheckResult r = check(b);
    if (c == Completion::InOrder) {
      EXPECT_EQ(r.verdict, Verdict::Safe);
      continue;
    }
    ASSERT_EQ(r.verdict, Verdict::Violation);
    EXPECT_EQ(r.cex->entry.kind, CacheKind::DevTlb);
    EXPECT_EQ(r.cex->rule, "ATS-7");
    // The trace needs both completions, the device-TLB one first.
    ASSERT_EQ(count(*r.cex, HwEvent::Complete), 2u);
    std::vector<std::size_t> order;
    for (const HwEvent & e : r.cex->events)
      if (e.kind == HwEvent::Complete) order.push_back(e.inv);
    EXPECT_EQ(order, (std::vector<std::size_t>{1, 0}));
  }
}

TEST(Encoding, PermissionChangesHaveBothSeverities)
{
  for (unsigned from : {kPermRW, kPermRead}) {
    Sc b;
    b.attach(0, 0, 0);
    b.map(0x1000, 0x1000, 0x80000, from);
    b.map(0x1000, 0x1000, 0x80000, from == kPermRW ? kPermRead : kPermRW);
    b.add(Op::Check);
    CheckResult r = check(b);
    ASSERT_EQ(r.verdict, Verdict::Violation);
    EXPECT_EQ(r.property, "no-stale");
    EXPECT_EQ(r.severity, from == kPermRW ? "unsafe" : "restrictive");
    CheckOptions o;
    o.unsafe_only = true;
    EXPECT_EQ(check(b, o).verdict, from == kPermRW ? Verdict::Violation : Verdict::Safe);
  }
}

TEST(Encoding, DomainIdAliasingIsStale)
{
  // A and B share did 1: an IOTLB entry filled by d0's walk of A is hit by d1, attached to B.
  Sc b;
  b.s.config.domains[1].did = 1;
  b.attach(0, 0, 0);
  b.attach(1, 0, 1);
  b.map(0x1000, 0x1000, 0x80000, kPermRW);
  b.add(Op::Check);
  CheckResult r = check(b);
  ASSERT_EQ(r.verdict, Verdict::Violation);
  EXPECT_EQ(r.property, "no-stale");
  EXPECT_EQ(r.cex->device, 1);
  // The shortest trace uses a paging-structure or IOTLB entry tagged did 1, filled by d0.
  EXPECT_TRUE(r.cex->entry.kind == CacheKind::Psc || r.cex->entry.kind == CacheKind::Iotlb);
  EXPECT_EQ(r.cex->entry.did, 1u);
  bool filled_by_d0 = false;
  for (const HwEvent & e : r.cex->events) filled_by_d0 |= e.kind == HwEvent::Fill && e.walker == 0;
  EXPECT_TRUE(filled_by_d0);
}

TEST(Encoding, ReuseQueryOnlyAtFrees)
{
  Sc b;
  b.attach(0, 5, 0);
  b.map(0x1000, 0x1000, 0x80000, kPermRW);
  b.add(Op::Check);
  Step & f = b.add(Op::FreePasid);
  f.pasid = 5;
  Timeline tl = build_timeline(b.s);
  z3::context ctx;
  smt::Encoding at_check(ctx, b.s, tl, 0);
  EXPECT_FALSE(at_check.violation("no-reuse-while-cached", "").has_value());
  smt::Encoding at_free(ctx, b.s, tl, 1);
  EXPECT_TRUE(at_free.violation("no-reuse-while-cached", "").has_value());
  CheckResult r = check(b);
  ASSERT_EQ(r.verdict, Verdict::Violation);
  // At the check point the caches agree with memory; at the free, entries of PASID 5 remain.
  EXPECT_EQ(r.property, "no-reuse-while-cached");
  EXPECT_EQ(*r.step, 3u);
  EXPECT_EQ(r.cex->pasid, 5u);
}

TEST(Encoding, EveryUnknownIsReportedNeverSafe)
{
  Sc b;
  b.attach(0, 0, 0);
  for (u64 i = 0; i < 8; ++i) b.map(0x200000 * i, 0x1000, 0x80000 + 0x1000 * i, kPermRW);
  b.unmap(0, 0x1000);
  b.inv_addr(0, 0x1000);
  b.add(Op::Sync);
  b.add(Op::Check);
  CheckOptions o;
  o.timeout_s = 1e-9;
  CheckResult r = check(b, o);
  EXPECT_EQ(r.verdict, Verdict::Unknown);
  EXPECT_FALSE(r.reason.empty());
}

TEST(Encoding, ExplicitEngineAgreesOnSmallGeometry)
{
  Sc b(3);
  b.s.config.geo.level_bits = 2;
  b.s.config.pasid_bits = 2;
  b.attach(0, 1, 0);
  b.map(0x1000, 0x2000, 0x80000, kPermRW);
  b.unmap(0x1000, 0x2000);
  b.inv_addr(0x1000, 0x1000);  // one page short
  b.add(Op::Sync);
  b.free_frame(0x80000, 0x2000);
  CheckOptions e;
  e.engine = "explicit";
  CheckResult x = check(b, e), s = check(b);
  ASSERT_EQ(x.verdict, Verdict::Violation);
  ASSERT_EQ(s.verdict, Verdict::Violation);
  EXPECT_EQ(x.property, s.property);
  EXPECT_EQ(*x.step, *s.step);
  EXPECT_EQ(s.cex->addr >> 12, 0x2u);  // the page the range missed
}

}  // namespace
}  // namespace nostale
