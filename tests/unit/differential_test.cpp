// Differential test: the SMT engine against the explorer's exhaustive enumeration on random
// small scenarios (3-level tables of 1 or 2 index bits, 1-2 devices, 2-4 PASIDs). They must
// agree on the whole verdict matrix (tests/unit/verdict_matrix.h: for every check point and
// every query, whether it can be violated), so a violation one engine loses or invents cannot
// hide behind another one at the same check point. check_scenario runs too, on (a share of) the
// scenarios with a violation and on an eighth as many safe ones: its first violation must be
// the explorer's and its trace must shrink and replay (it throws otherwise).
//
// NOSTALE_DIFF_SCALE (default 1) scales every corpus, e.g. 0.125 under sanitizers.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <map>

#include "checker/engine.h"
#include "spec/model/errors.h"
#include "tests/unit/random_scenarios.h"
#include "tests/unit/verdict_features.h"
#include "tests/unit/verdict_matrix.h"

namespace nostale {
namespace {

using namespace difftest;
using Clock = std::chrono::steady_clock;

double scale()
{
  const char * env = std::getenv("NOSTALE_DIFF_SCALE");
  double f = env ? std::atof(env) : 1.0;
  return f > 0 ? f : 1.0;
}

std::size_t scaled(std::size_t n)
{
  return std::max<std::size_t>(1, static_cast<std::size_t>(static_cast<double>(n) * scale() + 0.5));
}

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

enum class Corpus { Generic, Stages, Nested, Focused, Profile, Skipping, Sharing, Ats, Privilege, PasidTables };

struct Run {
  Corpus corpus;
  std::size_t scenarios;
  u64 seed;
  /// check_scenario on every n-th scenario with a violation (and every 8n-th safe one).
  std::size_t check_every = 1;
  /// Neutralise the features of every n-th scenario (0: never) to count what decided verdicts.
  std::size_t neutralise_every = 0;
  /// Corpus::Profile: the profile whose variants the scenarios are drawn from.
  std::string profile = "";
};

Scenario draw(Gen & g, const Run & run)
{
  switch (run.corpus) {
    case Corpus::Generic: return random_scenario(g, 4 + g.pick(7));
    case Corpus::Stages: return random_scenario(g, 4 + g.pick(7), find_profile("vtd"));
    case Corpus::Nested: return random_scenario(g, 4 + g.pick(7), find_profile("vtd"), true);
    case Corpus::Focused: return focused_scenario(g);
    case Corpus::Profile: return random_scenario(g, 4 + g.pick(7), find_profile(run.profile));
    case Corpus::Skipping: return random_scenario(g, 4 + g.pick(7), nullptr, false, true);
    case Corpus::Sharing: return random_scenario(g, 4 + g.pick(7), g.coin() ? find_profile("vtd") : nullptr, false, false, true);
    case Corpus::Ats: {
      // A scenario whose first device has its ATS Enable bit cleared at one step and,
      // half the time, set again later (ATS-9): drawn here only, so the other corpora keep theirs.
      // Half are driver-like flows (some miss a device-TLB flush), where the bit decides more.
      Scenario sc = g.coin() ? focused_scenario(g) : random_scenario(g, 4 + g.pick(7), find_profile("vtd"));
      sc.config.devices.at(0).ats = true;
      const std::size_t off = g.pick(sc.steps.size() + 1), on = off + g.pick(sc.steps.size() + 1 - off);
      Step a;
      a.op = Op::Ats;
      a.device = 0;
      a.enable = false;
      sc.steps.insert(sc.steps.begin() + static_cast<std::ptrdiff_t>(off), a);
      if (g.coin()) {
        a.enable = true;
        sc.steps.insert(sc.steps.begin() + static_cast<std::ptrdiff_t>(on + 1), a);
      }
      for (std::size_t i = 0; i < sc.steps.size(); ++i) sc.steps[i].path = "/steps/" + std::to_string(i);
      return sc;
    }
    case Corpus::Privilege: {
      // First-stage privilege (VTD-PRIV-1/2) over random VT-d scenarios of a description that
      // declares it (scalable mode; legacy variants are drawn again): drawn here only.
      for (;;) {
        Scenario sc = random_scenario(g, 4 + g.pick(7), find_profile("vtd"));
        if (with_privilege(g, sc)) return sc;
      }
    }
    case Corpus::PasidTables: {
      // A VT-d description whose context entries point to PASID tables (Draws::record_tables):
      // the first device's context entry moved to a second table at one step (after clearing
      // it, half the time) and, half the time, back later (VTD-CTX-1). Attaches after a move
      // write into the table the entry points to then.
      Scenario sc;
      do sc = random_scenario(g, 4 + g.pick(7), find_profile("vtd"));
      while (!draws_of(sc.config.hw).record_tables);
      sc.config.pasid_tables = {"default", "T1"};
      sc.config.roots = {"default", "R1"};
      const std::size_t at = g.pick(sc.steps.size() + 1), back = at + g.pick(sc.steps.size() + 1 - at);
      Step m;
      m.op = Op::ConfigWrite;
      m.cw.depth = 1;
      m.device = 0;
      std::vector<Step> move;
      const bool root = g.coin(40);  // the root-table pointer switched instead (VTD-ROOT-1)
      if (root) {
        // The other root's context entries: the first device's points to T1 (or is left not
        // present), the second device's (if any) to its first table; then SRTP, which on
        // ESRTPS hardware invalidates the caches itself (VTD-ROOT-3).
        m.cw.root = 1;
        m.cw.present = g.coin(80);
        if (m.cw.present) m.cw.table = 1;
        move.push_back(m);
        if (sc.config.devices.size() > 1 && g.coin()) {
          Step o = m;
          o.device = 1;
          o.cw.present = true;
          o.cw.table = 0;
          move.push_back(o);
        }
        Step r;
        r.op = Op::SetRoot;
        r.root = 1;
        if (g.coin(30)) {
          r.srtp_invalidates = true;
          r.inv.context_cache = r.inv.pasid_cache = r.inv.iotlb = r.inv.psc = true;
        }
        move.push_back(r);
        if (g.coin()) {
          r.root = 0;
          sc.steps.insert(sc.steps.begin() + static_cast<std::ptrdiff_t>(back), r);
        }
      } else {
        if (g.coin()) move.push_back(m);  // cleared first (present = false), as Linux does
        m.cw.present = true;
        m.cw.table = 1;
        move.push_back(m);
        if (g.coin()) {
          m.cw.table = 0;
          sc.steps.insert(sc.steps.begin() + static_cast<std::ptrdiff_t>(back), m);
        }
      }
      // Half the time the flushes of a move follow it, some left out, in any order (Linux:
      // device-selective cc_inv, global pc_inv, global iotlb_inv, device TLB, each waited for,
      // device_pasid_table_setup): a walk through the cached context entry between them
      // refills from the old table.
      if (g.coin()) {
        std::vector<InvPattern> flushes(4);
        flushes[0].context_cache = true;
        if (!root) flushes[0].pc_device = 0;  // iommu_set_root_entry flushes globally
        flushes[1].pasid_cache = true;
        flushes[2].iotlb = flushes[2].psc = true;
        flushes[3].devtlb = true;
        flushes[3].device = 0;
        for (std::size_t i = flushes.size(); i > 1; --i) std::swap(flushes[i - 1], flushes[g.pick(i)]);
        for (const InvPattern & p : flushes) {
          if (!g.coin(75)) continue;
          Step f;
          f.op = Op::Invalidate;
          f.inv = p;
          move.push_back(f);
          f = Step{};
          f.op = Op::Sync;
          move.push_back(f);
        }
      }
      sc.steps.insert(sc.steps.begin() + static_cast<std::ptrdiff_t>(at), move.begin(), move.end());
      for (std::size_t i = 0; i < sc.steps.size(); ++i) sc.steps[i].path = "/steps/" + std::to_string(i);
      return sc;
    }
  }
  return {};
}

/// The first true cell: the verdict engine.cpp gives (check point, query).
std::optional<std::pair<std::size_t, unsigned>> first_cell(const Matrix & m)
{
  for (std::size_t ci = 0; ci < m.size(); ++ci)
    for (unsigned q = 0; q < kQueryCount; ++q)
      if (m[ci] >> q & 1) return std::make_pair(ci, q);
  return std::nullopt;
}

void differential(const Run & run)
{
  const std::size_t want = scaled(run.scenarios);
  Gen g(run.seed);
  const auto start = Clock::now();
  std::size_t done = 0, violating = 0, tried = 0, checked = 0, mismatches = 0;
  double explicit_s = 0, matrix_s = 0, check_s = 0, neutral_s = 0;
  unsigned solver_calls = 0;
  std::size_t cut_scenarios = 0, cuts = 0;  // CUT-1: scenarios whose matrix used a cut; cuts taken
  std::map<std::string, int> cells, firsts, cex_kinds;
  std::size_t masked = 0, hinted = 0;  // flushes with a domain-tag mask, with a level hint
  bool declares_masks = false, declares_hints = false;
  std::size_t skip_violated = 0, skip_safe = 0;  // scenarios with a pointer that skips levels
  std::size_t share_present = 0, share_decided = 0;  // scenarios with share_table steps; decided by them
  std::size_t ats_present = 0, ats_decided = 0;  // scenarios with ats steps; decided by them
  std::size_t priv_present = 0, priv_decided = 0;  // privilege corpus: matrices the privilege bits decide
  std::size_t us_decided = 0, sre_decided = 0;      // ... the U/S bits of maps alone, the SRE bits alone
  std::size_t tab_present = 0, tab_decided = 0;  // scenarios with a PASID-table move; decided by it
  std::size_t root_present = 0;  // ... of which root-table switches
  std::size_t line_flushes = 0, line_decided = 0;  // scenarios with a clflush of some lines only
  unsigned decided[kFeatureCount] = {}, decided_cells[kFeatureCount] = {}, present[kFeatureCount] = {};
  while (done < want) {
    ++tried;
    ASSERT_LT(tried, 20 * want) << "the generator makes too few valid scenarios";
    Scenario sc = draw(g, run);
    Timeline tl;
    try {
      tl = build_timeline(sc);
    } catch (const ScenarioError &) {
      continue;  // inconsistent random steps (e.g. attach without a domain id): draw again
    }
    auto t0 = Clock::now();
    ExplicitResult ex = explore(sc, tl, false, 3000);  // skip scenarios with many schedules
    explicit_s += since(t0);
    if (!ex.complete) continue;
    ++done;
    for (const Step & st : sc.steps) {
      masked += st.op == Op::Invalidate && st.inv.did && st.inv.did_mask != ~u64{0};
      hinted += st.op == Op::Invalidate && st.inv.level.has_value();
    }
    declares_masks |= sc.config.hw.domain_tags.size() > 1;
    declares_hints |= sc.config.hw.features.level_hint;

    // The whole verdict, cell by cell.
    auto t1 = Clock::now();
    SmtMatrix smt = smt_matrix(sc, tl);
    matrix_s += since(t1);
    solver_calls += smt.solver_calls;
    cut_scenarios += smt.cuts > 0;
    cuts += smt.cuts;
    ASSERT_EQ(smt.unknown, "") << summary(sc);
    if (smt.cells != ex.violable) {
      ++mismatches;
      ADD_FAILURE() << "scenario " << done << " of seed " << run.seed << " (after " << since(start)
                    << " s): " << differing_cells(smt.cells, ex.violable) << " cells differ\nSMT:\n"
                    << show(tl, smt.cells) << "explorer:\n" << show(tl, ex.violable) << summary(sc);
      ASSERT_LT(mismatches, 3u) << "stopping after 3 mismatching scenarios";
      continue;
    }
    for (std::size_t ci = 0; ci < tl.checks.size(); ++ci)
      for (unsigned q = 0; q < kQueryCount; ++q)
        if (ex.violable[ci] >> q & 1)
          ++cells[std::string(kQueries[q].property) + " " + kQueries[q].severity];
    std::optional<std::pair<std::size_t, unsigned>> first = first_cell(ex.violable);
    // Memory with a pointer that skips levels (AMD-PT-1) at some gap: walks through it.
    if (std::any_of(tl.walk.begin(), tl.walk.end(), [](const Memory & m) {
          return std::any_of(m.tables().begin(), m.tables().end(), [](const auto & t) {
            return std::any_of(t.second.entries.begin(), t.second.entries.end(),
                               [](const auto & e) { return e.second.kind == Pte::Table && e.second.next; });
          });
        }))
      ++(first ? skip_violated : skip_safe);
    // The explorer's first violation is the first true cell of its own matrix.
    ASSERT_EQ(first.has_value(), ex.check.has_value()) << summary(sc);
    if (first) {
      ++violating;
      ASSERT_EQ(first->first, *ex.check);
      ASSERT_EQ(query_bit(ex.property, ex.severity), first->second);
      ++firsts[ex.property + " " + ex.severity];
    }

    // The engine itself: the same first violation, a trace that shrinks and replays.
    if (done % (first ? run.check_every : 8 * run.check_every) == 0) {
      ++checked;
      auto t2 = Clock::now();
      CheckResult r;
      try {
        CheckOptions o;
        o.cut_min_gaps = 1;  // CUT-1 wherever it can be: its traces must replay too
        r = check_scenario(sc, o);
      } catch (const std::exception & e) {
        FAIL() << "scenario " << done << " of seed " << run.seed << " (after " << since(start)
               << " s): " << e.what() << "\n" << summary(sc);
      }
      check_s += since(t2);
      ASSERT_NE(r.verdict, Verdict::Unknown) << summary(sc);
      ASSERT_EQ(r.verdict == Verdict::Violation, first.has_value())
          << "check_scenario: " << verdict_name(r.verdict) << " " << r.property << " " << r.severity
          << "\nmatrix:\n" << show(tl, ex.violable) << summary(sc);
      if (first) {
        EXPECT_EQ(*r.step, tl.checks[first->first].step) << summary(sc);
        EXPECT_EQ(r.property, ex.property) << summary(sc);
        EXPECT_EQ(r.severity, ex.severity) << summary(sc);
        ASSERT_TRUE(r.cex.has_value());
        const Counterexample & cx = *r.cex;
        if (cx.entry.pgtt == kPgttNested) ++cex_kinds["nested entry"];
        if (cx.entry.pgtt == kPgttPassThrough) ++cex_kinds["pass-through entry"];
        if (cx.entry.gpa) ++cex_kinds["nested second-stage walk entry"];
        if (cx.entry.pasid == kNoPasid) ++cex_kinds["second-stage entry, no PASID tag"];
        if (cx.entry.kind == CacheKind::Iotlb && cx.entry.level == 2) ++cex_kinds["level-2 IOTLB entry"];
        if (std::any_of(cx.events.begin(), cx.events.end(), [](const HwEvent & e) {
              return e.source.find("second stage from the cached") != std::string::npos;
            }))
          ++cex_kinds["nested fill through a cached second-stage pointer"];
        if (cx.entry.kind == CacheKind::ContextCache)
          ++cex_kinds[cx.entry.negative ? "negative context-cache entry" : "context-cache entry"];
        if (cx.rule.rfind("VTD-ROOT-", 0) == 0 || cx.rule.rfind("VTD-CTX-", 0) == 0) ++cex_kinds["rule " + cx.rule];
        if (cx.entry.kind == CacheKind::ContextCache && !cx.entry.negative &&
            tl.mem_at_check(tl.checks[cx.check]).context_table(cx.device) != cx.entry.table)
          ++cex_kinds["context-cache entry, another PASID table"];
        if (std::any_of(cx.events.begin(), cx.events.end(), [](const HwEvent & e) {
              return e.source.find("(through a cached context entry)") != std::string::npos;
            }))
          ++cex_kinds["fill through a cached context entry"];
        if (cx.entry.kind == CacheKind::PasidCache && cx.entry.negative && sc.config.negative_tag_current())
          ++cex_kinds["negative PASID-cache entry, named by the DID at submission"];
        if (sc.config.context_cache() && !cx.from_memory &&
            !tl.mem_at_check(tl.checks[cx.check]).context_present(cx.device))
          ++cex_kinds["context cleared"];
        if (cx.page_request) ++cex_kinds["page request"];
        if (cx.walker_view) ++cex_kinds["walker view (no entry)"];
        if (cx.entry.kind == CacheKind::Psc && cx.entry.next) ++cex_kinds["paging-structure entry that skips levels"];
        if (cx.rule.rfind("PT-SHARE-", 0) == 0 || cx.rule.rfind("VTD-PRIV-", 0) == 0) ++cex_kinds["rule " + cx.rule];
        if (sc.config.privilege && (cx.entry.kind == CacheKind::Iotlb || cx.entry.kind == CacheKind::DevTlb) &&
            !cx.entry.wild && !(cx.entry.perm & kPermRW) && (cx.entry.perm & kPermSup))
          ++cex_kinds["supervisor-only leaf"];
      }
    }

    // A step kind decides verdicts when, with its steps removed, the explorer's matrix differs:
    // the ATS Enable bit (ats steps, ATS stays on: ATS-9) and shared table pages (share_table
    // steps, each domain keeps its own tables: PT-SHARE-1).
    auto decided_without = [&](Op op, std::size_t & present, std::size_t & decided) {
      Scenario n = sc;
      n.steps.erase(std::remove_if(n.steps.begin(), n.steps.end(), [op](const Step & st) { return st.op == op; }),
                    n.steps.end());
      try {
        Timeline ntl = build_timeline(n);
        ExplicitResult nex = explore(n, ntl, false, 3000);
        if (nex.complete) {
          ++present;
          decided += differing_cells(nex.violable, ex.violable) > 0;
        }
      } catch (const ScenarioError &) {
      }
    };
    if (run.corpus == Corpus::Ats) decided_without(Op::Ats, ats_present, ats_decided);
    if (run.corpus == Corpus::Sharing) decided_without(Op::ShareTable, share_present, share_decided);
    // First-stage privilege decides a verdict when, with every bit cleared (no supervisor map,
    // no SRE, user requests only: privilege off), the explorer's matrix differs.
    if (run.corpus == Corpus::Privilege) {
      auto differs = [&](bool off, bool us, bool sre) {
        Scenario n = sc;
        n.config.privilege = !off;
        for (Step & st : n.steps) {
          if (off || (us && st.op == Op::Map)) st.supervisor = false;
          if (off || sre) st.cw.sre = false;
        }
        Timeline ntl = build_timeline(n);
        ExplicitResult nex = explore(n, ntl, false, 3000);
        return std::optional<bool>(nex.complete ? std::optional<bool>(differing_cells(nex.violable, ex.violable) > 0)
                                                : std::nullopt);
      };
      if (std::optional<bool> d = differs(true, false, false)) {
        ++priv_present;
        priv_decided += *d;
        us_decided += differs(false, true, false).value_or(false);
        sre_decided += differs(false, false, true).value_or(false);
      }
    }
    // The PASID-table pointer decides a verdict when the same context writes, pointing nowhere
    // new (every device keeps its one table), give another matrix (VTD-CTX-1).
    if (run.corpus == Corpus::PasidTables) {
      Scenario n = sc;
      for (Step & st : n.steps) st.cw.table = -1;
      // ... and a root switch when the same scenario without it does (its other root's entries
      // never become the devices').
      n.steps.erase(std::remove_if(n.steps.begin(), n.steps.end(),
                                   [](const Step & st) {
                                     return st.op == Op::SetRoot || (st.op == Op::ConfigWrite && st.cw.root > 0);
                                   }),
                    n.steps.end());
      root_present += n.steps.size() != sc.steps.size();
      try {
        Timeline ntl = build_timeline(n);
        ExplicitResult nex = explore(n, ntl, false, 3000);
        if (nex.complete) {
          ++tab_present;
          tab_decided += differing_cells(nex.violable, ex.violable) > 0;
        }
      } catch (const ScenarioError &) {
      }
    }

    // A clflush of some lines only (VTD-COH-5) decides verdicts: the same scenario with every
    // clflush writing back everything has another matrix.
    if (std::any_of(sc.steps.begin(), sc.steps.end(),
                    [](const Step & st) { return st.op == Op::Clflush && st.flush.kind != Flush::Kind::All; })) {
      Scenario whole = sc;
      for (Step & st : whole.steps) st.flush = Flush{};
      Timeline wtl = build_timeline(whole);
      ExplicitResult wex = explore(whole, wtl, false, 3000);
      if (wex.complete) {
        ++line_flushes;
        line_decided += wex.violable != ex.violable;
      }
    }

    // What decided the verdict: the same scenario with one feature neutralised, by the explorer.
    if (run.neutralise_every && done % run.neutralise_every == 0) {
      auto t3 = Clock::now();
      for (int f = 0; f < kFeatureCount; ++f) {
        std::optional<Scenario> n = neutralise(sc, static_cast<Feature>(f));
        if (!n) continue;
        Timeline ntl;
        try {
          ntl = build_timeline(*n);
        } catch (const ScenarioError &) {
          continue;
        }
        ExplicitResult nex = explore(*n, ntl, false, 3000);
        if (!nex.complete) continue;
        ++present[f];
        unsigned d = differing_cells(nex.violable, ex.violable);
        decided[f] += d > 0;
        decided_cells[f] += d;
      }
      neutral_s += since(t3);
    }
  }

  std::cout << done << " scenarios, " << violating << " with a violation; explorer " << explicit_s
            << " s, SMT matrices " << matrix_s << " s (" << solver_calls << " queries), check_scenario on "
            << checked << " in " << check_s << " s, neutralised variants " << neutral_s << " s\n  true cells:";
  for (auto & [k, n] : cells) std::cout << " [" << k << ": " << n << "]";
  std::cout << "\n  first violations:";
  for (auto & [k, n] : firsts) std::cout << " [" << k << ": " << n << "]";
  std::cout << "\n  cuts (CUT-1): " << cuts << " check points in " << cut_scenarios << " scenarios";
  if (share_present)
    std::cout << "\n  decided by shared table pages: " << share_decided << " of " << share_present;
  if (ats_present) std::cout << "\n  decided by ATS Enable steps: " << ats_decided << " of " << ats_present;
  if (priv_present)
    std::cout << "\n  decided by first-stage privilege: " << priv_decided << " of " << priv_present << " (by U/S of maps alone: "
              << us_decided << ", by SRE alone: " << sre_decided << ")";
  if (tab_present)
    std::cout << "\n  decided by PASID-table moves and root switches: " << tab_decided << " of " << tab_present << " ("
              << root_present << " with a root switch)";
  if (skip_violated + skip_safe)
    std::cout << "\n  with a pointer that skips levels: " << skip_violated << " violated, " << skip_safe << " safe";
  std::cout << "\n  traces:";
  for (auto & [k, n] : cex_kinds) std::cout << " [" << k << ": " << n << "]";
  if (run.neutralise_every) {
    std::cout << "\n  decided by (scenarios where neutralising it changes the matrix / with it; cells changed):";
    for (int f = 0; f < kFeatureCount; ++f)
      std::cout << " [" << feature_name(static_cast<Feature>(f)) << ": " << decided[f] << "/" << present[f] << "; "
                << decided_cells[f] << "]";
  }
  std::cout << "\n";

  // What the description declares is drawn (a profile's corpus is its description's). The
  // random corpus does not show that masks and hints decide verdicts: the toy profile's
  // scenario pairs (tests/profiles/toy/scenarios) and the kernel's own tests do.
  if (declares_masks) {
    EXPECT_GT(masked, 0u) << "no flush filtered on some of several domain tags";
  }
  if (declares_hints) {
    EXPECT_GT(hinted, 0u) << "no flush carried a level hint";
  }
  if (masked || hinted) std::cout << "  flushes with a domain-tag mask: " << masked << ", with a level hint: " << hinted << "\n";
  if (line_flushes)
    std::cout << "  with a clflush of some lines: " << line_flushes << ", where flushing everything instead changes the matrix: "
              << line_decided << "\n";

  // The corpus must exercise both outcomes and every property, or it proves little.
  EXPECT_GT(violating, done / 10);
  EXPECT_LT(violating, done - done / 10);
  // Which rare properties and trace kinds a corpus reaches is checked on the full corpus (the
  // release run). A reduced run (the sanitizer build, NOSTALE_DIFF_SCALE=0.125: the first eighth
  // of the same seeds) checks that the engines agree, not that those few seeds reach them all.
  if (scale() < 1.0) return;
  // The skipping corpus seldom frees a frame still mapped (2 cells in 150 scenarios, none at a
  // quarter scale): level_skip_test covers no-dma-after-free through skipping pointers.
  if (run.corpus != Corpus::Skipping) {
    EXPECT_GT(cells["no-dma-after-free "], 0);
  }
  EXPECT_GT(cells["no-stale unsafe"], 0);
  if (run.corpus != Corpus::Focused) {  // the focused flows change no permission
    EXPECT_GT(cells["no-stale restrictive"], 0);
    EXPECT_GT(cells["no-reuse-while-cached "], 0);
  }
  if (run.corpus == Corpus::Focused) {
    EXPECT_GT(cex_kinds["level-2 IOTLB entry"], 0);
  } else if (run.corpus == Corpus::Ats) {
    EXPECT_GT(ats_decided, ats_present / 20) << "ATS Enable steps decide too few verdicts";
  } else if (run.corpus == Corpus::Privilege) {
    EXPECT_GT(priv_decided, priv_present / 20) << "first-stage privilege decides too few verdicts";
    EXPECT_GT(us_decided, 0u) << "U/S of maps decides no verdict";
    EXPECT_GT(sre_decided, 0u) << "SRE decides no verdict";
  } else if (run.corpus == Corpus::PasidTables) {
    EXPECT_GT(tab_decided, tab_present / 20) << "PASID-table moves decide too few verdicts";
    EXPECT_GT(cex_kinds["context-cache entry, another PASID table"], 0);
    EXPECT_GT(cex_kinds["fill through a cached context entry"], 0);
    EXPECT_GT(cex_kinds["rule VTD-ROOT-2"], 0);
  } else if (run.corpus == Corpus::Sharing) {
    EXPECT_GT(share_decided, share_present / 20) << "shared table pages decide too few verdicts";
    EXPECT_GT(cex_kinds["rule PT-SHARE-1"], 0);
  } else if (run.corpus == Corpus::Skipping) {
    EXPECT_GT(skip_violated, done / 12);
    EXPECT_GT(skip_safe, done / 12);
  } else if (run.corpus == Corpus::Nested) {
    EXPECT_GT(cex_kinds["nested entry"], 0);
    EXPECT_GT(cex_kinds["nested second-stage walk entry"], 0);
    // Fills through a cached second-stage pointer are rarely minimal here; the directed
    // scenario buggy/nested-cached-second-stage-pointer-bug.json checks both engines on one.
  } else if (run.corpus == Corpus::Stages) {
    EXPECT_GT(cex_kinds["nested entry"], 0);
    EXPECT_GT(cex_kinds["pass-through entry"], 0);
    EXPECT_GT(cex_kinds["second-stage entry, no PASID tag"], 0);
    EXPECT_GT(cex_kinds["context-cache entry"], 0);
    EXPECT_GT(cex_kinds["negative context-cache entry"], 0);
    EXPECT_GT(cex_kinds["negative PASID-cache entry, named by the DID at submission"], 0);
    EXPECT_GT(cex_kinds["context cleared"], 0);
    EXPECT_GT(cex_kinds["page request"], 0);
    EXPECT_GT(cells["no-missed-dirty "], 0);
    // A non-coherent walker: a device faulting on a mapping not yet flushed (VTD-COH-4), and
    // flushes of some lines that decide verdicts (VTD-COH-5).
    EXPECT_GT(cex_kinds["walker view (no entry)"], 0);
    EXPECT_GT(line_decided, 0u);
  }
  if (run.neutralise_every) {
    for (int f = 0; f < kFeatureCount; ++f)
      EXPECT_GT(decided[f], 0u) << "no verdict was decided by the " << feature_name(static_cast<Feature>(f));
  }
}

TEST(Differential, SmtAgreesWithExhaustiveEnumeration) { differential({Corpus::Generic, 520, 20261125}); }

// Drawn from VT-d's own variants (scalable or legacy mode, caching mode, a walker that snoops
// or not) with every feature its description declares: translation types, stage-selective
// patterns, torn rewrites, dirty tracking, page requests, fences, clflush, negative caching and
// context entries.
TEST(Differential, SmtAgreesWithExhaustiveEnumerationOnStageFeatures)
{
  differential({Corpus::Stages, 700, 20261126});
}

// Nested translation with leaf-only flushes and freed table pages: the second-stage
// paging-structure entries of nested walks (indexed by guest-physical address).
TEST(Differential, SmtAgreesWithExhaustiveEnumerationOnNestedWalks)
{
  differential({Corpus::Nested, 250, 20261127, 2});
}

// Every registered profile, drawn from its own description alone: a profile gets differential
// coverage by existing (issue 8), test-only ones (tests/profiles/) included.
TEST(Differential, SmtAgreesWithExhaustiveEnumerationOnEveryProfile)
{
  u64 seed = 20261130;
  for (const std::string & id : profile_ids()) {
    SCOPED_TRACE("profile " + id);
    std::cout << "profile " << id << ": ";
    differential({Corpus::Profile, 150, seed++, 1, 0, id});
  }
}

// Driver-like flows decided by domain-id and PASID filters, level-2 leaves, range boundaries,
// leaf-only flushes and completion order; each of these must decide some verdicts.
TEST(Differential, SmtAgreesWithExhaustiveEnumerationOnDecidingFeatures)
{
  differential({Corpus::Focused, 300, 20261128, 2, 1});
}

// Domains whose tables skip a level (AMD-PT-1, the generic description with level skipping
// forced on): pointers that lead two levels down, cached and walked on from, and addresses
// whose skipped index bits are not zero.
TEST(Differential, SmtAgreesWithExhaustiveEnumerationWithSkippedLevels)
{
  differential({Corpus::Skipping, 150, 20261130});
}

}  // namespace
}  // namespace nostale

namespace nostale {
namespace {
// One table page linked into two domains' tables (PT-SHARE-1, share_table), in the generic and
// VT-d descriptions: a change in it is seen by both, under both domain ids.
TEST(Differential, SmtAgreesWithExhaustiveEnumerationWithSharedTables)
{
  differential({Corpus::Sharing, 200, 20261201});
}
}  // namespace
}  // namespace nostale

namespace nostale {
namespace {
// A device's ATS Enable bit cleared and set again between random VT-d steps (ATS-9): while it is
// clear the device neither fills nor uses its device TLB, whose entries stay.
TEST(Differential, SmtAgreesWithExhaustiveEnumerationWithAtsEnable)
{
  differential({Corpus::Ats, 120, 20261202});
}
}  // namespace
}  // namespace nostale

namespace nostale {
namespace {
// First-stage privilege (VTD-PRIV-1/2) drawn over random VT-d scalable-mode scenarios: U/S of
// maps, SRE of PASID entries, supervisor requests; one judgement covers both request classes.
TEST(Differential, SmtAgreesWithExhaustiveEnumerationWithPrivilege)
{
  differential({Corpus::Privilege, 160, 20261203});
}

// A device's context entry moved to another PASID table and back between random VT-d steps
// (VTD-CTX-1/2): a cached context entry reaches the table it points to, and is stale when
// memory's points elsewhere.
TEST(Differential, SmtAgreesWithExhaustiveEnumerationWithPasidTableMoves)
{
  differential({Corpus::PasidTables, 120, 20261203});
}
}  // namespace
}  // namespace nostale
