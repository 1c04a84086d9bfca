// Differential test: the SMT engine against the explorer's exhaustive enumeration on random
// small scenarios (3-level tables of 1 or 2 index bits, 1-2 devices, 2-4 PASIDs). They must
// agree on the verdict, the check point, the property and the severity; every SMT violation is
// replayed on the interpreter (check_scenario throws if it does not replay).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <sstream>

#include "checker/engine.h"
#include "spec/interp/explorer.h"
#include "spec/model/errors.h"

namespace nostale {
namespace {

struct Gen {
  std::mt19937_64 rng;
  explicit Gen(u64 seed) : rng(seed) {}
  u64 pick(u64 n) { return std::uniform_int_distribution<u64>(0, n - 1)(rng); }
  bool coin(unsigned percent = 50) { return pick(100) < percent; }
};

/// `stages`: also draw the hardware-profile features (translation types and stage-selective
/// patterns, fences, a non-coherent walker with clflush, negative caching). `nested`: mostly
/// nested entries, leaf-only flushes and freed table pages, where the second-stage entries of
/// nested walks are what stays stale.
Scenario random_scenario(Gen & g, std::size_t nsteps, bool stages = false, bool nested = false)
{
  Scenario sc;
  sc.file = "random";
  sc.name = "random";
  sc.profile = "generic";
  Config & c = sc.config;
  c.geo = Geometry{12, static_cast<unsigned>(1 + g.pick(2)), 3};
  c.pasid_bits = static_cast<unsigned>(1 + g.pick(2));
  c.did_bits = 2;
  c.completion = g.coin(30) ? Completion::InOrder : Completion::AnyOrder;
  std::size_t ndev = 1 + g.pick(2), ndom = nested ? 2 : 1 + g.pick(2);
  for (std::size_t i = 0; i < ndev; ++i) {
    bool ats = g.coin(60);
    c.devices.push_back({"d" + std::to_string(i), ats, stages && ats && g.coin(50), std::nullopt});
  }
  for (std::size_t i = 0; i < ndom; ++i) c.domains.push_back({"D" + std::to_string(i), u64{1 + i}});
  c.pt_pool = 0x100000;
  if (stages) {
    c.coherent = !g.coin(35);
    c.negative_caching = g.coin(35);
    c.negative_config = g.coin(30);
    c.context_cache = g.coin(35);
    c.negative_context = c.context_cache && g.coin(40);
    for (Device & d : c.devices) d.context = !(c.context_cache && g.coin(25));  // not set up yet
  }
  u64 pages = u64{1} << (c.geo.levels * c.geo.level_bits);
  u64 npasid = u64{1} << c.pasid_bits;
  const Geometry & geo = c.geo;
  std::vector<Step> maps;  // earlier maps, to rewrite their PTEs (permission changes)
  if (nested) {
    // A nesting parent (D0) whose second stage maps one whole level-1 table of guest-physical
    // pages, a first stage (D1) mapping a page into it, the nested entry, then the parent
    // unmaps the region and unlinks the table page. Random steps follow.
    u64 region = geo.size(2), gpa = g.pick(pages * geo.size(1) / region) * region;
    Step m2;
    m2.op = Op::Map;
    m2.domain = 0;
    m2.iova = gpa;
    m2.size = region;
    m2.page_size = geo.size(1);
    m2.phys = 0x40 * geo.size(1);
    m2.perm = kPermRW;
    Step m1 = m2;
    m1.domain = 1;
    m1.iova = g.pick(pages) * geo.size(1);
    m1.size = geo.size(1);
    m1.phys = gpa + g.pick(region / geo.size(1)) * geo.size(1);
    Step at;
    at.op = Op::Attach;
    at.domain = 1;
    at.device = static_cast<int>(g.pick(ndev));
    at.pasid = g.pick(npasid);
    at.pgtt = kPgttNested;
    at.parent = 0;
    Step un = m2;
    un.op = Op::Unmap;
    un.free_tables = true;
    for (Step s : {m2, m1, at, un}) {
      s.path = "/steps/" + std::to_string(sc.steps.size());
      sc.steps.push_back(s);
    }
  }
  for (std::size_t i = 0; i < nsteps; ++i) {
    Step s;
    s.path = "/steps/" + std::to_string(sc.steps.size());
    s.domain = static_cast<int>(g.pick(ndom));
    s.device = static_cast<int>(g.pick(ndev));
    s.pasid = g.pick(npasid);
    // Most scenarios start by attaching: without an attachment nothing is ever cached.
    unsigned kind = i < 2 && g.coin(70) ? 30 : static_cast<unsigned>(g.pick(100));
    if (kind < 18 && !maps.empty() && g.coin(35)) {
      Step m = maps[g.pick(maps.size())];
      m.path = s.path;
      m.perm = 1 + static_cast<unsigned>(g.pick(3));
      s = m;
    } else if (kind < 18) {
      s.op = Op::Map;
      unsigned lvl = 1 + static_cast<unsigned>(g.pick(g.coin(75) ? 1 : 2));
      s.page_size = geo.size(lvl);
      u64 n = 1 + g.pick(4);  // runs of consecutive leaves are encoded as one term
      u64 slots = pages * geo.size(1) / s.page_size;
      u64 first = g.pick(slots);
      if (first + n > slots) n = slots - first;
      s.iova = first * s.page_size;
      s.size = n * s.page_size;
      s.phys = (0x40 + g.pick(6) * 2) * s.page_size;
      // Guest-physical outputs a nested second stage can translate (inside the IOVA width).
      if (stages && g.coin(nested ? 80 : 40)) s.phys = g.pick(pages * geo.size(1) / s.page_size) * s.page_size;
      s.perm = 1 + static_cast<unsigned>(g.pick(3));
      maps.push_back(s);
    } else if (kind < 30) {
      s.op = Op::Unmap;
      u64 first = g.pick(pages), n = 1 + g.pick(pages - first);
      unsigned lvl = g.coin(70) ? 1 : 2;
      u64 sz = geo.size(lvl) / geo.size(1);
      first = first / sz * sz;
      n = ((n + sz - 1) / sz) * sz;
      if (first + n > pages) n = pages - first;
      s.iova = first * geo.size(1);
      s.size = n * geo.size(1);
      s.free_tables = g.coin(50);
    } else if (kind < 38) {
      s.op = Op::Attach;
      if (stages) s.pgtt = static_cast<unsigned>(g.pick(5));  // none, first, second, nested, pass-through
      if (nested && g.coin(70)) s.pgtt = kPgttNested;
      if (s.pgtt == kPgttNested) s.parent = static_cast<int>(g.pick(ndom));  // its second stage
      if (stages) s.torn = g.coin(15);
      if (stages) s.ssade = g.coin(40);
      if (stages && g.coin(25)) s.op = Op::DirtyTracking;  // toggle SSADE of a live entry
    } else if (kind < 42) {
      s.op = Op::Detach;
      if (stages) s.torn = g.coin(25);
    } else if (kind < 62) {
      s.op = Op::Invalidate;
      InvPattern & p = s.inv;
      unsigned which = static_cast<unsigned>(g.pick(4));
      p.iotlb = which == 0 || g.coin(30);
      p.devtlb = which == 1 || g.coin(25);
      p.pasid_cache = which == 2 || g.coin(15);
      p.psc = p.iotlb && g.coin(nested ? 35 : 70);
      if (which == 3) p.iotlb = p.psc = true;
      if (g.coin(40)) p.did = 1 + g.pick(ndom);
      if (g.coin(40)) p.pasid = g.pick(npasid);
      if (p.devtlb && g.coin(60)) p.device = static_cast<int>(g.pick(ndev));
      if (stages && p.pasid_cache && g.coin(40)) p.pc_device = static_cast<int>(g.pick(ndev));
      if (stages && g.coin(15)) p.did = 0;  // where negative configuration entries live
      if (g.coin(60)) {
        p.ranged = true;
        u64 first = g.pick(pages), n = 1 + g.pick(pages - first);
        p.addr = first * geo.size(1);
        p.size = n * geo.size(1);
      }
      if (c.context_cache && g.coin(30)) {
        p.context_cache = true;
        if (g.coin(50)) p.pc_device = static_cast<int>(g.pick(ndev));
      }
      if (stages && g.coin(50)) {
        p.pgtt_mask = static_cast<unsigned>(g.pick(32));
        p.pgtt_anyaddr = g.coin(40) ? static_cast<unsigned>(g.pick(32)) : 0;
      }
    } else if (kind < 70) {
      s.op = Op::Sync;
      s.drain = stages && g.coin(40);  // VT-d wait with PD=1
    } else if (kind < 74 && c.context_cache && g.coin(45)) {
      s.op = Op::Context;  // clear or set the device's context entry
      s.present = g.coin(40);
    } else if (kind < 74) {
      s.op = stages && g.coin(50) ? (g.coin(50) ? Op::Fence : Op::Clflush) : Op::Check;
    } else if (kind < 80) {
      s.op = Op::FreeFrame;
      s.phys = (0x40 + g.pick(6) * 4) * geo.size(1);
      s.size = geo.size(1) * (1 + g.pick(4));
    } else if (kind < 85) {
      s.op = Op::FreePgtables;
    } else if (kind < 89) {
      s.op = Op::Check;
    } else if (kind < 92) {
      s.op = Op::FreePasid;
    } else if (kind < 95) {
      s.op = Op::Dma;
      s.iova = g.pick(pages) * geo.size(1);
      s.perm = g.coin() ? kPermRead : kPermWrite;
    } else if (kind < 97) {
      s.op = Op::FreeDid;
    } else {
      s.op = Op::AssignDid;
      s.did = g.pick(4);
    }
    sc.steps.push_back(s);
  }
  sc.expect.verdict = "safe";
  return sc;
}

std::string summary(const Scenario & sc)
{
  std::ostringstream o;
  o << "levels=" << sc.config.geo.levels << " level_bits=" << sc.config.geo.level_bits
    << " pasid_bits=" << sc.config.pasid_bits << " devices=" << sc.config.devices.size()
    << (sc.config.completion == Completion::InOrder ? " in-order" : " any-order")
    << (sc.config.coherent ? "" : " non-coherent") << (sc.config.negative_caching ? " CM=1" : "") << (sc.config.negative_config ? " neg-config" : "") << (sc.config.context_cache ? " context-cache" : "") << (sc.config.negative_context ? " neg-context" : "") << "\n";
  for (std::size_t i = 0; i < sc.steps.size(); ++i) {
    const Step & s = sc.steps[i];
    o << "  " << i << " " << op_name(s.op) << " pgtt=" << s.pgtt << " parent=" << s.parent << " dom=" << s.domain << " dev=" << s.device
      << " pasid=" << s.pasid << " iova=0x" << std::hex << s.iova << " size=0x" << s.size
      << " phys=0x" << s.phys << std::dec << " perm=" << s.perm << " ft=" << s.free_tables << (s.torn ? " TORN" : "") << (s.op == Op::Context ? (s.present ? " SET" : " CLEAR") : "");
    if (s.op == Op::Invalidate) {
      const InvPattern & p = s.inv;
      o << " [pc=" << p.pasid_cache << " cc=" << p.context_cache << " tlb=" << p.iotlb << " psc=" << p.psc << " dev=" << p.devtlb
        << " did=" << (p.did ? std::to_string(*p.did) : "*") << " pasid="
        << (p.pasid ? std::to_string(*p.pasid) : "*") << " device="
        << (p.device ? std::to_string(*p.device) : "*") << " pc_device="
        << (p.pc_device ? std::to_string(*p.pc_device) : "*");
      if (p.ranged) o << std::hex << " range=0x" << p.addr << "+0x" << p.size << std::dec;
      o << " pgtt_mask=" << p.pgtt_mask << " anyaddr=" << p.pgtt_anyaddr;
      o << "]";
    }
    o << "\n";
  }
  return o.str();
}

void differential(std::size_t kScenarios, u64 seed, bool stages, bool nested = false)
{
  Gen g(seed);
  std::size_t done = 0, violations = 0, tried = 0;
  double explicit_s = 0, smt_s = 0;
  std::map<std::string, int> by_property;
  while (done < kScenarios) {
    ++tried;
    ASSERT_LT(tried, 20 * kScenarios) << "the generator makes too few valid scenarios";
    Scenario sc = random_scenario(g, 4 + g.pick(7), stages, nested);
    Timeline tl;
    try {
      tl = build_timeline(sc);
    } catch (const ScenarioError &) {
      continue;  // inconsistent random steps (e.g. attach without a domain id): draw again
    }
    auto t0 = std::chrono::steady_clock::now();
    ExplicitResult ex = explore(sc, tl, false, 3000);  // skip scenarios with many schedules
    auto t1 = std::chrono::steady_clock::now();
    if (!ex.complete) continue;
    CheckResult smt;
    try {
      smt = check_scenario(sc, CheckOptions{});
    } catch (const std::exception & e) {
      FAIL() << e.what() << "\n" << summary(sc);
    }
    auto t2 = std::chrono::steady_clock::now();
    explicit_s += std::chrono::duration<double>(t1 - t0).count();
    smt_s += std::chrono::duration<double>(t2 - t1).count();
    ++done;
    ASSERT_NE(smt.verdict, Verdict::Unknown) << summary(sc);
    bool smt_bad = smt.verdict == Verdict::Violation;
    ASSERT_EQ(smt_bad, ex.check.has_value())
        << "SMT: " << verdict_name(smt.verdict) << " " << smt.property << " " << smt.severity
        << (smt.step ? " at " + std::to_string(*smt.step) : "") << "; explorer: "
        << (ex.check ? ex.property + " " + ex.severity + " at " + std::to_string(tl.checks[*ex.check].step) : "safe")
        << "\n" << summary(sc);
    if (!smt_bad) continue;
    ++violations;
    ++by_property[smt.property + " " + smt.severity];
    if (smt.cex && smt.cex->entry.pgtt == kPgttNested) ++by_property["(nested entry)"];
    if (smt.cex && smt.cex->entry.pgtt == kPgttPassThrough) ++by_property["(pass-through entry)"];
    if (smt.cex && smt.cex->entry.gpa) ++by_property["(nested second-stage walk entry)"];
    if (smt.cex && smt.cex->entry.pasid == kNoPasid) ++by_property["(second-stage entry, no PASID tag)"];
    if (smt.cex && std::any_of(smt.cex->events.begin(), smt.cex->events.end(), [](const HwEvent & e) {
          return e.source.find("second stage from the cached") != std::string::npos;
        }))
      ++by_property["(nested fill through a cached second-stage pointer)"];
    if (smt.cex && smt.cex->entry.kind == CacheKind::ContextCache)
      ++by_property[smt.cex->entry.negative ? "(negative context-cache entry)" : "(context-cache entry)"];
    if (smt.cex && sc.config.context_cache && !smt.cex->from_memory &&
        !tl.mem_at_check(tl.checks[*ex.check]).context_present(smt.cex->device))
      ++by_property["(context cleared)"];
    if (smt.cex && smt.cex->page_request) ++by_property["(page request)"];
    EXPECT_EQ(*smt.step, tl.checks[*ex.check].step) << summary(sc);
    EXPECT_EQ(smt.property, ex.property) << summary(sc);
    EXPECT_EQ(smt.severity, ex.severity) << summary(sc);
    ASSERT_TRUE(smt.cex.has_value());
  }
  // The corpus must exercise both outcomes and every property, or it proves little.
  std::cout << done << " scenarios (explorer " << explicit_s << " s, SMT " << smt_s << " s), "
            << violations << " violations:";
  for (auto & [k, n] : by_property) std::cout << " [" << k << ": " << n << "]";
  std::cout << "\n";
  EXPECT_GT(violations, done / 10);
  EXPECT_LT(violations, done - done / 10);
  EXPECT_GT(by_property["no-dma-after-free "], 0);
  EXPECT_GT(by_property["no-reuse-while-cached "], 0);
  EXPECT_GT(by_property["no-stale unsafe"], 0);
  EXPECT_GT(by_property["no-stale restrictive"], 0);
  if (nested) {
    EXPECT_GT(by_property["(nested entry)"], 0);
    EXPECT_GT(by_property["(nested second-stage walk entry)"], 0);
    // Fills through a cached second-stage pointer are rarely minimal here; the directed
    // scenario buggy/nested-cached-second-stage-pointer-bug.json checks both engines on one.
  } else if (stages) {
    EXPECT_GT(by_property["(nested entry)"], 0);
    EXPECT_GT(by_property["(pass-through entry)"], 0);
    EXPECT_GT(by_property["(second-stage entry, no PASID tag)"], 0);
    EXPECT_GT(by_property["(context-cache entry)"], 0);
    EXPECT_GT(by_property["(negative context-cache entry)"], 0);
    EXPECT_GT(by_property["(context cleared)"], 0);
    EXPECT_GT(by_property["(page request)"], 0);
    EXPECT_GT(by_property["no-missed-dirty "], 0);
  }
}

TEST(Differential, SmtAgreesWithExhaustiveEnumeration) { differential(520, 20261125, false); }

// Translation types, stage-selective patterns, fences, a non-coherent walker and negative
// caching: the features hardware profiles (VT-d) are built from.
TEST(Differential, SmtAgreesWithExhaustiveEnumerationOnStageFeatures)
{
  differential(700, 20261126, true);
}

// Nested translation with leaf-only flushes and freed table pages: the second-stage
// paging-structure entries of nested walks (indexed by guest-physical address).
TEST(Differential, SmtAgreesWithExhaustiveEnumerationOnNestedWalks)
{
  differential(250, 20261127, true, true);
}

}  // namespace
}  // namespace nostale
