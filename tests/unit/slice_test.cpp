// SLICE-1: a PASID slice is exact (spec/smt/slice.h). On random scenarios (generic, VT-d first
// and second stage, nested walks: 2-4 PASIDs, PASID-selective invalidations among others), at
// every check point each query is satisfiable in the whole encoding exactly when it is in some
// slice, and so is the cut query (CUT-1). The engine proves a check point by slices
// (checker/solve.cpp); a slice that lost a behaviour would make it answer SAFE wrongly, one
// that gained one would only cost time, and this test catches both.
//
// NOSTALE_DIFF_SCALE (default 1) scales the corpora, as for the differential test.
#include <gtest/gtest.h>

#include <cstdlib>

#include <nlohmann/json.hpp>

#include "checker/scenario_loader.h"
#include "spec/model/errors.h"
#include "spec/interp/explorer.h"
#include "spec/model/properties.h"
#include "spec/smt/encoding.h"
#include "tests/unit/random_scenarios.h"

namespace nostale {
namespace {

using namespace difftest;

std::size_t scaled(std::size_t n)
{
  const char * env = std::getenv("NOSTALE_DIFF_SCALE");
  double f = env ? std::atof(env) : 1.0;
  if (f <= 0) f = 1.0;
  return std::max<std::size_t>(1, static_cast<std::size_t>(static_cast<double>(n) * f + 0.5));
}

bool sat(z3::context & ctx, const z3::expr & a, const z3::expr & b)
{
  z3::solver s(ctx, "QF_BV");
  s.add(a);
  s.add(b);
  z3::check_result r = s.check();
  EXPECT_NE(r, z3::unknown);
  return r == z3::sat;
}

struct Tally {
  unsigned cells = 0, violated = 0, cuts_asked = 0, left_out = 0;
};

/// Compares the whole encoding with its slices at every check point of `sc`; returns the
/// whole encoding's verdict matrix (bit q of check point c: query q is violable there).
std::vector<unsigned> compare(const Scenario & sc, Tally & n)
{
  Timeline tl;
  try {
    tl = build_timeline(sc);
  } catch (const ScenarioError &) {  // a draw the format cannot mean: the generators skip it too
    return {};
  }
  std::vector<unsigned> whole_cells(tl.checks.size(), 0);
  std::vector<smt::PasidSlice> slices = smt::pasid_slices(sc);  // one (others) where none is named
  z3::context ctx;
  for (std::size_t ci = 0; ci < tl.checks.size(); ++ci) {
    smt::Encoding whole(ctx, sc, tl, ci);
    std::vector<std::unique_ptr<smt::Encoding>> parts;
    for (const smt::PasidSlice & sl : slices) parts.push_back(std::make_unique<smt::Encoding>(ctx, sc, tl, ci, 0, &sl));
    for (const Invalidation & inv : tl.invs)  // what the slices of other PASIDs leave out
      n.left_out += inv.step < tl.checks[ci].step && inv.pat.pasid;
    for (unsigned qi = 0; qi < kQueryCount; ++qi) {
      const Query & q = kQueries[qi];
      std::optional<z3::expr> bad = whole.violation(q.property, q.severity);
      if (!bad) continue;
      bool in_whole = sat(ctx, whole.constraints(), *bad), in_some = false;
      for (auto & p : parts)
        if (std::optional<z3::expr> pb = p->violation(q.property, q.severity))
          in_some = in_some || sat(ctx, p->constraints(), *pb);
      ++n.cells;
      n.violated += in_whole;
      whole_cells[ci] |= unsigned{in_whole} << qi;
      EXPECT_EQ(in_whole, in_some) << sc.name << ": check point " << ci << " (step " << tl.checks[ci].step << "), "
                                   << q.property << " " << q.severity;
    }
    if (smt::Encoding::cut_possible(sc, tl, ci)) {
      ++n.cuts_asked;
      bool in_whole = sat(ctx, whole.cut_query(), ctx.bool_val(true)), in_some = false;
      for (auto & p : parts) in_some = in_some || sat(ctx, p->cut_query(), ctx.bool_val(true));
      EXPECT_EQ(in_whole, in_some) << sc.name << ": cut query at check point " << ci;
    }
  }
  return whole_cells;
}

void corpus(const char * what, std::size_t count, u64 seed, const Profile * profile, bool nested)
{
  Tally n;
  Gen g(seed);
  for (std::size_t i = 0; i < scaled(count); ++i) {
    Scenario sc = random_scenario(g, 4 + g.pick(7), profile, nested);
    sc.name = std::string(what) + " #" + std::to_string(i);
    compare(sc, n);
    if (::testing::Test::HasFailure()) return;
  }
  // Not vacuous: slices left invalidations out, and properties were violated and held.
  EXPECT_GT(n.left_out, 0u) << what;
  EXPECT_GT(n.violated, 0u) << what;
  EXPECT_LT(n.violated, n.cells) << what;
  if (!nested) {
    EXPECT_GT(n.cuts_asked, 0u) << what;  // none with nested entries (CUT-1)
  }
  std::printf("[slice] %s: %zu scenarios, %u cells (%u violated), %u cut queries, %u PASID-filtered invalidations left out of other PASIDs' slices\n",
              what, scaled(count), n.cells, n.violated, n.cuts_asked, n.left_out);
}

/// An SVA flow like bench/bench.py's, small: 1-2 ATS devices x 2-3 PASIDs, each PASID bound on
/// every device to its own domain, one page each unmapped and freed. Each PASID-selective
/// invalidation (IOTLB by PASID, device TLB by device and PASID) and each wait is left out with
/// some probability, so that they decide verdicts: the corpus where a slice that kept or lost
/// the wrong invalidation shows.
Scenario sva_scenario(Gen & g)
{
  const unsigned nd = 1 + static_cast<unsigned>(g.pick(2)), np = 2 + static_cast<unsigned>(g.pick(2));
  nlohmann::json devs = nlohmann::json::array(), doms = nlohmann::json::array(), steps = nlohmann::json::array();
  for (unsigned d = 0; d < nd; ++d) devs.push_back({{"name", "d" + std::to_string(d)}, {"ats", true}});
  for (unsigned p = 0; p < np; ++p) doms.push_back({{"name", "mm" + std::to_string(p)}, {"did", p + 1}});
  auto page = [](unsigned p) { return "0x" + std::to_string(p) + "000"; };
  auto frame = [](unsigned p) { return "0x1" + std::to_string(p) + "0000"; };
  for (unsigned p = 0; p < np; ++p) {
    for (unsigned d = 0; d < nd; ++d)
      steps.push_back({{"op", "bind"}, {"device", "d" + std::to_string(d)}, {"pasid", p + 1}, {"domain", "mm" + std::to_string(p)}});
    steps.push_back({{"op", "map"}, {"domain", "mm" + std::to_string(p)}, {"iova", page(p)}, {"size", "0x1000"},
                     {"phys", frame(p)}, {"perm", "rw"}});
  }
  for (unsigned p = 0; p < np; ++p) {
    steps.push_back({{"op", "unmap"}, {"domain", "mm" + std::to_string(p)}, {"iova", page(p)}, {"size", "0x1000"}});
    if (g.coin(80))
      steps.push_back({{"op", "invalidate"}, {"domain", "mm" + std::to_string(p)}, {"cache", {"IOTLB"}}, {"granularity", "ADDR"},
                       {"addr_info", {{"flags", {"PASID", "ARCHID"}}, {"pasid", p + 1}, {"archid", p + 1}, {"addr", page(p)},
                                      {"granule_size", 4096}, {"nb_granules", 1}}}});
  }
  if (g.coin(80)) steps.push_back({{"op", "sync"}});
  for (unsigned p = 0; p < np; ++p)
    for (unsigned d = 0; d < nd; ++d)
      if (g.coin(85))
        steps.push_back({{"op", "invalidate"}, {"domain", "mm" + std::to_string(p)}, {"device", "d" + std::to_string(d)},
                         {"cache", {"DEV_IOTLB"}}, {"granularity", "ADDR"},
                         {"addr_info", {{"flags", {"PASID"}}, {"pasid", p + 1}, {"addr", page(p)}, {"granule_size", 4096},
                                        {"nb_granules", 1}}}});
  steps.push_back({{"op", "sync"}});
  for (unsigned p = 0; p < np; ++p) steps.push_back({{"op", "free_frame"}, {"phys", frame(p)}, {"size", "0x1000"}});
  nlohmann::json j = {{"name", "sva"}, {"profile", "generic"},
                      {"config", {{"geometry", {{"page_shift", 12}, {"level_bits", 2}, {"levels", 3}}},
                                  {"pasid_bits", 4}, {"completion", g.coin() ? "in-order" : "any-order"},
                                  {"devices", devs}, {"domains", doms}}},
                      {"steps", steps}, {"expect", {{"verdict", "safe"}}}};
  return parse_scenario(j.dump(), "sva.json");
}

TEST(Slice, ExactOnSvaFlowsWithFlushesLeftOut)
{
  Tally n;
  unsigned explored = 0;
  Gen g(20261204);
  for (std::size_t i = 0; i < scaled(24); ++i) {
    Scenario sc = sva_scenario(g);
    sc.name = "sva #" + std::to_string(i);
    std::vector<unsigned> cells = compare(sc, n);
    if (::testing::Test::HasFailure()) return;
    // The whole encoding against the explorer, as the differential test does, where it can
    // enumerate every schedule: this corpus is new to both.
    if (i % 4) continue;  // a quarter of them: the explorer is the slow part
    Timeline tl = build_timeline(sc);
    ExplicitResult ex = explore(sc, tl, false, 1500);
    if (!ex.complete) continue;
    ++explored;
    EXPECT_EQ(cells, ex.violable) << sc.name;
  }
  EXPECT_GT(explored, 0u);
  EXPECT_GT(n.violated, 0u);
  EXPECT_LT(n.violated, n.cells);
  std::printf("[slice] sva: %zu scenarios (%u also explored), %u cells (%u violated), %u cut queries\n", scaled(24),
              explored, n.cells, n.violated, n.cuts_asked);
}

TEST(Slice, ExactOnGenericScenarios) { corpus("generic", 120, 20261201, nullptr, false); }
TEST(Slice, ExactOnVtdStages) { corpus("vtd stages", 120, 20261202, find_profile("vtd"), false); }
TEST(Slice, ExactOnNestedWalks) { corpus("vtd nested", 40, 20261203, find_profile("vtd"), true); }

}  // namespace
}  // namespace nostale
