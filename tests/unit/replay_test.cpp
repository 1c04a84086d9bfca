// replay() on its own: it is what stands between a wrong SMT model and a printed trace. Real
// counterexamples of bundled buggy scenarios must replay; each one corrupted in a way that makes
// it truly invalid must be rejected, for the reason the corruption is about.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>

#include "checker/engine.h"
#include "checker/scenario_loader.h"

namespace nostale {
namespace {

struct Case {
  std::string file;
  Scenario sc;
  Timeline tl;
  Counterexample cex;
};

// One scenario per kind of counterexample: IOTLB (4K and 2M), device TLB under any-order and
// in-order completion, PASID cache (rebind, torn read), paging-structure cache, page request,
// context cache.
const char * const kFiles[] = {
    "scenarios/generic/wrong-archid-bug.json",          // IOTLB, two devices and domains
    "scenarios/generic/hugepage-2m-bug.json",           // 2M IOTLB entry, no-dma-after-free
    "scenarios/generic/ats-order-bug.json",             // device TLB refilled from the IOTLB
    "scenarios/vtd/buggy/sva-two-devices-bug.json",     // device TLB, in-order completion
    "scenarios/generic/pasid-rebind-bug.json",          // PASID cache
    "scenarios/generic/free-tables-leaf-bug.json",      // paging-structure cache
    "scenarios/vtd/buggy/sva-unbind-drain-prq-bug.json",  // page request not drained
    "scenarios/vtd/buggy/pasid-teardown-whole-entry-bug.json",  // torn PASID-table entry read
    "scenarios/vtd/buggy/sm-context-clear-no-cc-inv-bug.json",  // context cache
};

const std::map<std::string, Case> & cases()
{
  static const std::map<std::string, Case> all = [] {
    std::map<std::string, Case> m;
    for (const char * f : kFiles) {
      Case c;
      c.file = f;
      c.sc = load_scenario(std::string(NOSTALE_SOURCE_DIR) + "/" + f);
      c.tl = build_timeline(c.sc);
      CheckResult r = check_scenario(c.sc, CheckOptions{});
      if (!r.cex) throw std::runtime_error(std::string(f) + ": no counterexample");
      c.cex = *r.cex;
      m.emplace(f, c);
    }
    return m;
  }();
  return all;
}

const Case & get(const std::string & file)
{
  auto it = cases().find(file);
  if (it == cases().end()) throw std::runtime_error(file + ": not a test case");
  return it->second;
}

/// Events in replay's order: (gap, pos), completions first on ties (as Encoding::extract).
void sort_events(Counterexample & cex)
{
  std::stable_sort(cex.events.begin(), cex.events.end(), [](const HwEvent & a, const HwEvent & b) {
    if (a.gap != b.gap) return a.gap < b.gap;
    if (a.pos != b.pos) return a.pos < b.pos;
    return a.kind == HwEvent::Complete && b.kind != HwEvent::Complete;
  });
}

/// The fill events that insert the stale entry itself.
std::vector<std::size_t> stale_fills(const Counterexample & cex)
{
  std::vector<std::size_t> v;
  for (std::size_t i = 0; i < cex.events.size(); ++i)
    if (cex.events[i].kind == HwEvent::Fill && cex.events[i].entry == cex.entry) v.push_back(i);
  return v;
}

std::size_t completion_of(const Counterexample & cex, std::size_t inv)
{
  for (std::size_t i = 0; i < cex.events.size(); ++i)
    if (cex.events[i].kind == HwEvent::Complete && cex.events[i].inv == inv) return i;
  throw std::runtime_error("no completion of invalidation " + std::to_string(inv));
}

/// replay() rejects `bad`, for a reason that contains `why`.
void expect_rejected(const Case & c, const Counterexample & bad, const std::string & why, const std::string & what)
{
  std::string r = replay(c.sc, c.tl, bad);
  EXPECT_NE(r, "") << c.file << ": " << what << " replayed";
  EXPECT_NE(r.find(why), std::string::npos) << c.file << ": " << what << " rejected for another reason: " << r;
}

TEST(Replay, GenuineCounterexamplesReplay)
{
  for (const char * f : kFiles) {
    const Case & c = get(f);
    EXPECT_EQ(replay(c.sc, c.tl, c.cex), "") << f;
  }
  // The cases cover the kinds they are meant to.
  EXPECT_EQ(get(kFiles[0]).cex.entry.kind, CacheKind::Iotlb);
  EXPECT_EQ(get(kFiles[1]).cex.entry.level, 2u);
  EXPECT_EQ(get(kFiles[2]).cex.entry.kind, CacheKind::DevTlb);
  EXPECT_EQ(get(kFiles[3]).sc.config.completion, Completion::InOrder);
  EXPECT_EQ(get(kFiles[4]).cex.entry.kind, CacheKind::PasidCache);
  EXPECT_EQ(get(kFiles[5]).cex.entry.kind, CacheKind::Psc);
  EXPECT_TRUE(get(kFiles[6]).cex.page_request);
  const Counterexample & torn = get(kFiles[7]).cex;
  EXPECT_TRUE(std::any_of(torn.events.begin(), torn.events.end(), [](const HwEvent & e) { return e.torn; }));
  EXPECT_EQ(get(kFiles[8]).cex.entry.kind, CacheKind::ContextCache);
}

// Without the fill of the stale entry (or the page request) the violation is not there.
TEST(Replay, RejectsTheStaleEntrysFillDropped)
{
  for (const char * f : kFiles) {
    const Case & c = get(f);
    Counterexample bad = c.cex;
    if (bad.page_request) {
      auto it = std::find_if(bad.events.begin(), bad.events.end(),
                             [](const HwEvent & e) { return e.kind == HwEvent::PageRequest; });
      ASSERT_NE(it, bad.events.end()) << f;
      bad.events.erase(it);
    } else {
      std::vector<std::size_t> fills = stale_fills(bad);
      ASSERT_FALSE(fills.empty()) << f << ": no fill of the stale entry";
      for (std::size_t k = fills.size(); k-- > 0;) bad.events.erase(bad.events.begin() + static_cast<long>(fills[k]));
    }
    expect_rejected(c, bad, "", "dropping the stale entry's fill");
  }
}

// The torn PASID-cache fill (old present bit, new zero domain id) moved one gap later: the
// write is over by then, and no memory state shows that entry whole.
TEST(Replay, RejectsATornFillAfterTheWrite)
{
  const Case & c = get("scenarios/vtd/buggy/pasid-teardown-whole-entry-bug.json");
  Counterexample bad = c.cex;
  std::vector<std::size_t> fills = stale_fills(bad);
  ASSERT_EQ(fills.size(), 1u);
  HwEvent & e = bad.events[fills[0]];
  ASSERT_TRUE(e.torn);
  ASSERT_TRUE(c.sc.steps.at(e.gap - 1).cw.torn);
  ASSERT_FALSE(c.sc.steps.at(e.gap).cw.torn);
  ++e.gap;
  e.pos = 0;
  sort_events(bad);
  expect_rejected(c, bad, "cannot be filled", "a torn read after the write");
}

// A completion in the gap before its invalidation is submitted.
TEST(Replay, RejectsACompletionBeforeItsSubmission)
{
  for (const char * f : {"scenarios/generic/ats-order-bug.json", "scenarios/generic/wrong-archid-bug.json",
                         "scenarios/vtd/buggy/sva-two-devices-bug.json"}) {
    const Case & c = get(f);
    for (std::size_t i = 0; i < c.cex.events.size(); ++i) {
      if (c.cex.events[i].kind != HwEvent::Complete) continue;
      Counterexample bad = c.cex;
      bad.events[i].gap = c.tl.invs[bad.events[i].inv].step;  // the gap just before the submit
      sort_events(bad);
      expect_rejected(c, bad, "not pending", "a completion before its submission");
    }
  }
}

// A completion after the sync that covers it: the sync passes with it pending.
TEST(Replay, RejectsACompletionAfterItsSync)
{
  for (const char * f : {"scenarios/generic/ats-order-bug.json", "scenarios/generic/wrong-archid-bug.json",
                         "scenarios/vtd/buggy/sva-two-devices-bug.json"}) {
    const Case & c = get(f);
    std::size_t tried = 0;
    for (std::size_t i = 0; i < c.cex.events.size(); ++i) {
      if (c.cex.events[i].kind != HwEvent::Complete) continue;
      const Invalidation & inv = c.tl.invs[c.cex.events[i].inv];
      // Only the last of an ordered chain: moving an earlier one would break the order first.
      bool precedes = false;
      for (std::size_t j = i + 1; j < c.cex.events.size(); ++j)
        precedes |= c.cex.events[j].kind == HwEvent::Complete &&
                    ordered_before(c.sc.config, inv, c.tl.invs[c.cex.events[j].inv]);
      if (precedes) continue;
      ASSERT_TRUE(inv.sync.has_value()) << f;
      Counterexample bad = c.cex;
      bad.events[i].gap = *inv.sync + 1;  // just after the sync step
      bad.events[i].pos = 1000;
      sort_events(bad);
      expect_rejected(c, bad, "pending", "a completion after its sync");
      // Never completing it at all is no better.
      bad = c.cex;
      bad.events.erase(bad.events.begin() + static_cast<long>(i));
      expect_rejected(c, bad, "pending", "a completion dropped before its sync");
      ++tried;
    }
    EXPECT_GT(tried, 0u) << f;
  }
}

// In-order completion: an invalidation may not complete before one submitted earlier.
TEST(Replay, RejectsACompletionBeforeOneItIsOrderedAfter)
{
  const Case & c = get("scenarios/vtd/buggy/sva-two-devices-bug.json");
  ASSERT_GE(c.tl.invs.size(), 2u);
  ASSERT_TRUE(ordered_before(c.sc.config, c.tl.invs[0], c.tl.invs[1]));
  // Move the completion of the first invalidation after that of the second.
  Counterexample bad = c.cex;
  std::size_t first = completion_of(bad, 0), second = completion_of(bad, 1);
  ASSERT_LT(first, second);
  bad.events[first].gap = bad.events[second].gap;
  bad.events[first].pos = bad.events[second].pos + 1;
  sort_events(bad);
  ASSERT_GT(completion_of(bad, 0), completion_of(bad, 1));
  expect_rejected(c, bad, "ordered after", "completions out of submission order");
  // The same trace is fine under any-order completion, so it is the order that is rejected.
  Scenario any = c.sc;
  any.config.completion = Completion::AnyOrder;
  Timeline tl = build_timeline(any);
  EXPECT_EQ(replay(any, tl, bad), "");
}

/// The stale entry changed in both its fill and the claim: the fill is not one a walk makes.
void expect_entry_change_rejected(const std::string & file, const std::string & what,
                                  const std::function<void(Entry &)> & change)
{
  const Case & c = get(file);
  Counterexample bad = c.cex;
  std::vector<std::size_t> fills = stale_fills(bad);
  ASSERT_FALSE(fills.empty()) << file;
  for (std::size_t i : fills) change(bad.events[i].entry);
  change(bad.entry);
  ASSERT_NE(bad.entry, c.cex.entry) << file << ": " << what << " changed nothing";
  expect_rejected(c, bad, "cannot be filled", what);
}

TEST(Replay, RejectsAStaleEntryWithChangedFields)
{
  const std::string iotlb = "scenarios/generic/wrong-archid-bug.json", large = "scenarios/generic/hugepage-2m-bug.json",
                    devtlb = "scenarios/generic/ats-order-bug.json", pc = "scenarios/generic/pasid-rebind-bug.json",
                    psc = "scenarios/generic/free-tables-leaf-bug.json";
  for (const std::string & f : {iotlb, large, devtlb}) {
    expect_entry_change_rejected(f, "output address", [](Entry & e) { e.frame += 1; });
    expect_entry_change_rejected(f, "permission", [](Entry & e) { e.perm = kPermRead; });
    expect_entry_change_rejected(f, "PASID", [](Entry & e) { e.pasid += 7; });
  }
  for (const std::string & f : {iotlb, large, psc})
    expect_entry_change_rejected(f, "domain id", [](Entry & e) { e.did = 3; });
  // Level: the same address at another level (vpn kept consistent with the witness address).
  for (const std::string & f : {iotlb, large, devtlb}) {
    const Case & c = get(f);
    const Geometry & geo = c.sc.config.geo;
    expect_entry_change_rejected(f, "level", [&](Entry & e) {
      e.level = e.level == 1 ? 2 : 1;
      e.vpn = c.cex.addr >> geo.shift(e.level);
    });
  }
  expect_entry_change_rejected(psc, "table pointer", [](Entry & e) { e.ptr += 1; });
  expect_entry_change_rejected(pc, "root table", [](Entry & e) { e.root += 1; });
  expect_entry_change_rejected(pc, "domain id", [](Entry & e) { e.did = 3; });
}

// A fill by a device whose walk cannot produce it: d1 translates through domain B (did 2), so
// it never fills an IOTLB entry of domain A (did 1).
TEST(Replay, RejectsAFillByADeviceThatCannotWalkIt)
{
  const Case & c = get("scenarios/generic/wrong-archid-bug.json");
  ASSERT_EQ(c.sc.config.devices.size(), 2u);
  Counterexample bad = c.cex;
  std::vector<std::size_t> fills = stale_fills(bad);
  ASSERT_EQ(fills.size(), 1u);
  ASSERT_EQ(bad.events[fills[0]].walker, 0);
  bad.events[fills[0]].walker = 1;
  expect_rejected(c, bad, "cannot be filled", "a fill walked by d1");
  // The device TLB of d1 is filled by d1's walks only.
  const Case & s = get("scenarios/vtd/buggy/sva-two-devices-bug.json");
  bad = s.cex;
  fills = stale_fills(bad);
  ASSERT_EQ(fills.size(), 1u);
  ASSERT_EQ(bad.events[fills[0]].walker, 1);
  bad.events[fills[0]].walker = 0;
  expect_rejected(s, bad, "cannot be filled", "d1's device-TLB entry filled by d0");
}

TEST(Replay, RejectsAnotherCheckPoint)
{
  for (const char * f : kFiles) {
    const Case & c = get(f);
    Counterexample bad = c.cex;
    bad.check = c.tl.checks.size();
    expect_rejected(c, bad, "out of range", "a check point index out of range");
  }
  // An earlier check point (the dma steps at 4 and 5): the trace's events come after it.
  const Case & c = get("scenarios/vtd/buggy/sm-context-clear-no-cc-inv-bug.json");
  ASSERT_GT(c.cex.check, 0u);
  for (std::size_t ci = 0; ci < c.cex.check; ++ci) {
    Counterexample bad = c.cex;
    bad.check = ci;
    expect_rejected(c, bad, "", "an earlier check point");
  }
}

TEST(Replay, RejectsAnotherWitness)
{
  for (const char * f : kFiles) {
    const Case & c = get(f);
    if (c.cex.page_request || c.cex.entry.kind == CacheKind::PasidCache ||
        c.cex.entry.kind == CacheKind::ContextCache)
      continue;  // these do not depend on the address
    // An address the stale entry does not cover (the next region of its level).
    Counterexample bad = c.cex;
    unsigned level = c.cex.entry.level ? c.cex.entry.level : 1;
    bad.addr = c.cex.addr ^ c.sc.config.geo.size(level);
    expect_rejected(c, bad, "", "another witness address");
  }
  // Another device: d1 does not hit domain A's entry (wrong-archid), d0 not d1's device TLB.
  for (const char * f : {"scenarios/generic/wrong-archid-bug.json", "scenarios/vtd/buggy/sva-two-devices-bug.json"}) {
    const Case & c = get(f);
    Counterexample bad = c.cex;
    bad.device = 1 - c.cex.device;
    expect_rejected(c, bad, "", "another witness device");
  }
  // Another PASID for the PASID-cache entry (tagged by PASID).
  const Case & c = get("scenarios/generic/pasid-rebind-bug.json");
  Counterexample bad = c.cex;
  bad.pasid = c.cex.pasid + 1;
  expect_rejected(c, bad, "", "another witness PASID");
}

// At a dma check point only the dma's own access is judged: a witness one page away is
// rejected even where the same stale entry covers it (pasid-rebind: a PASID-cache entry).
TEST(Replay, RejectsAWitnessOtherThanTheDmasAccess)
{
  const Case & c = get("scenarios/generic/pasid-rebind-bug.json");
  ASSERT_TRUE(c.tl.checks[c.cex.check].dma);
  Counterexample bad = c.cex;
  bad.addr = c.cex.addr + 0x1000;
  expect_rejected(c, bad, "not the access of the dma", "another address at a dma check point");
  bad = c.cex;
  bad.pasid = c.cex.pasid + 1;
  expect_rejected(c, bad, "not the access of the dma", "another PASID at a dma check point");
}

// Every other (property, severity) claimed for the same trace: the first violation listed for
// the witness is the genuine one, so any other claim is absent or not first.
TEST(Replay, RejectsAnotherProperty)
{
  const std::pair<const char *, const char *> claims[] = {{"no-dma-after-free", ""},
                                                          {"no-reuse-while-cached", ""},
                                                          {"no-stale", "unsafe"},
                                                          {"no-stale", "restrictive"},
                                                          {"no-missed-dirty", ""}};
  for (const char * f : kFiles) {
    const Case & c = get(f);
    for (auto [p, s] : claims) {
      if (c.cex.property == p && c.cex.severity == s) continue;
      Counterexample bad = c.cex;
      bad.property = p;
      bad.severity = s;
      expect_rejected(c, bad, "", std::string("claiming ") + p + " " + s);
    }
  }
}

TEST(Replay, RejectsAnEventAfterTheCheckPoint)
{
  for (const char * f : kFiles) {
    const Case & c = get(f);
    std::size_t after = c.tl.checks[c.cex.check].step + 1;
    // A copy of the last fill, one gap after the check point.
    Counterexample bad = c.cex;
    auto it = std::find_if(bad.events.rbegin(), bad.events.rend(), [](const HwEvent & e) { return e.kind != HwEvent::Complete; });
    ASSERT_NE(it, bad.events.rend()) << f;
    HwEvent late = *it;
    late.gap = after;
    bad.events.push_back(late);
    expect_rejected(c, bad, "after the check point", "an event after the check point");
  }
}

}  // namespace
}  // namespace nostale
