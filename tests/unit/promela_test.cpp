// The Promela export (checker/export/promela.h) against nostale: on small real scenarios at a
// reduced width (tests/promela/), Debian's spin must reach the verdict nostale reaches, safe and
// violation alike; a model with one invalidation dropped must turn safe into a violation (the
// export is not vacuously safe); what the export does not support is refused in one line.
#include <regex>

#include "checker/export/promela.h"
#include "cli_harness.h"
#include "spec/interp/explorer.h"
#include "spec/model/errors.h"
#include "tests/unit/random_scenarios.h"

namespace {

const std::string kPromelaDir = kSrc + "/tests/promela";

/// Runs `cmd` in `cwd`; exit code and output (stdout and stderr).
std::pair<int, std::string> shell(const fs::path & cwd, const std::string & cmd)
{
  fs::path out = cwd / "shell.txt";
  std::string line = "cd " + quote(cwd.string()) + " && (" + cmd + ") >" + quote(out.string()) + " 2>&1";
  int st = std::system(line.c_str());
  return {st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1, slurp(out)};
}

class Promela : public Cli {
 protected:
  void SetUp() override
  {
    Cli::SetUp();
    ASSERT_EQ(shell(dir, "command -v spin && command -v gcc").first, 0)
        << "spin or gcc is missing: tools/setup installs Debian's spin";
  }

  /// The exported model of `scenario`.
  std::string exported(const std::string & scenario, const std::string & flags = "")
  {
    Proc r = run("export --promela " + flags + quote(scenario));
    EXPECT_EQ(r.code, 0) << r;
    EXPECT_TRUE(r.err.empty()) << r;
    return r.out;
  }

  /// spin's verdict on `model`: "violation NAME" (the failed assertion's variable), "safe", or
  /// a failure description (which equals no verdict).
  std::string spin(const std::string & model, const std::string & tag)
  {
    fs::path work = dir / tag;
    fs::create_directories(work);
    spit(work / "model.pml", model);
    auto [rc, text] = shell(work, "spin -a model.pml && gcc -O1 -DBFS -DSAFETY -DMEMLIM=1024 -DVECTORSZ=4096 "
                                  "-o pan pan.c && ./pan -m100000000");
    if (rc != 0) return "spin pipeline failed (" + std::to_string(rc) + "): " + text;
    std::smatch m;
    if (std::regex_search(text, m, std::regex(R"(assertion violated\s+!\((\w+)\))"))) return "violation " + m[1].str();
    if (text.find("reached -DMEMLIM") != std::string::npos) return "memory limit: " + text;
    if (std::regex_search(text, std::regex(R"(errors: 0\b)"))) return "safe";
    return "no verdict: " + text;
  }

  /// nostale's verdict on `scenario`: safe or violation (anything else fails the test).
  std::string nostale(const std::string & scenario)
  {
    Proc r = run("check " + quote(scenario));
    EXPECT_TRUE(r.code == 0 || r.code == 1) << r;
    return r.code == 0 ? "safe" : "violation";
  }
};

std::vector<std::string> promela_scenarios()
{
  std::vector<std::string> v;
  for (const auto & e : fs::directory_iterator(kPromelaDir))
    if (e.path().extension() == ".json") v.push_back(e.path().string());
  std::sort(v.begin(), v.end());
  return v;
}

TEST_F(Promela, SpinAgreesWithNostaleOnEveryScenario)
{
  unsigned safe = 0, violation = 0;
  for (const std::string & f : promela_scenarios()) {
    SCOPED_TRACE(f);
    const std::string want = nostale(f);
    // The files state nostale's verdict too: the set stays a mix of both.
    const std::string expect = json::parse(slurp(f))["expect"]["verdict"];
    ASSERT_EQ(want, expect);
    // The whole model, and the model sliced by witness page (the same verdict, fewer states).
    for (const std::string flags : {"", "--slice "}) {
      SCOPED_TRACE(flags);
      const std::string got = spin(exported(f, flags), fs::path(f).stem().string() + (flags.empty() ? "" : "-slice"));
      EXPECT_EQ(got.substr(0, got.find(' ')), want) << got;
    }
    (want == "safe" ? safe : violation)++;
  }
  EXPECT_GE(safe, 3u);
  EXPECT_GE(violation, 3u);
}

// Only a nondeterministic completion order exposes it: with in-order completion the same batch
// is safe, and spin names the check point nostale names.
TEST_F(Promela, CompletionOrderDecides)
{
  const std::string bug = kPromelaDir + "/ats-order-bug.json";
  EXPECT_EQ(spin(exported(bug), "any"), "violation step6_no_stale_unsafe");
  EXPECT_EQ(spin(exported(kPromelaDir + "/ats-order-inorder-ok.json"), "inorder"), "safe");
}

// A refill of the device TLB from the IOTLB: the device TLB flushed and waited for first.
TEST_F(Promela, RefillFromTheIotlb)
{
  EXPECT_EQ(spin(exported(kPromelaDir + "/devtlb-first-bug.json"), "refill"), "violation step7_no_stale_unsafe");
}

// Random small generic scenarios (the differential tests' base corpus: 1-2 devices, 1-2
// domains, 3 levels of 1-2 bits, any-order or in-order): spin on the sliced model reaches the
// verdict of nostale's explicit engine, and the corpus holds both verdicts.
TEST_F(Promela, SpinAgreesWithTheExplicitEngineOnRandomScenarios)
{
  nostale::difftest::Gen g(20261130);
  unsigned safe = 0, violation = 0, tried = 0;
  while (safe < 5 || violation < 5) {
    ASSERT_LT(++tried, 600u) << "the generator makes too few scenarios of one verdict";
    // Alternately the broad generator and the focused one (flows that end near a violation).
    nostale::Scenario sc = tried % 2 ? nostale::difftest::random_scenario(g, 4 + g.pick(6))
                                     : nostale::difftest::focused_scenario(g);
    nostale::Timeline tl;
    try {
      tl = nostale::build_timeline(sc);
    } catch (const nostale::ScenarioError &) {
      continue;  // inconsistent random steps: draw again, as the differential test does
    }
    if (!nostale::promela_refusal(sc).empty()) continue;
    nostale::ExplicitResult ex = nostale::explore(sc, tl, false, 3000);
    if (!ex.complete) continue;
    const std::string want = ex.check ? "violation" : "safe";
    if ((want == "safe" ? safe : violation) >= 5) continue;  // enough of that verdict
    const std::string got =
        spin(nostale::export_promela(sc, tl, nostale::PromelaOptions{true}), "random" + std::to_string(tried));
    EXPECT_EQ(got.substr(0, got.find(' ')), want) << got << "\n" << nostale::difftest::summary(sc);
    (want == "safe" ? safe : violation)++;
  }
}

/// `model` with the submission of invalidation `j` removed (its line, which the export marks).
std::string drop_invalidation(const std::string & model, unsigned j)
{
  const std::string mark = "/* submit inv" + std::to_string(j) + " */";
  std::string out;
  unsigned dropped = 0;
  for (const std::string & l : split_lines(model)) {
    if (l.find(mark) != std::string::npos) {
      ++dropped;
      continue;
    }
    out += l + "\n";
  }
  EXPECT_EQ(dropped, 1u) << mark;
  return out;
}

TEST_F(Promela, DroppingOneInvalidationTurnsSafeIntoViolation)
{
  struct Case {
    const char * file;
    unsigned inv;
  };
  for (Case c : {Case{"ats-order-ok.json", 0}, Case{"ats-order-ok.json", 1}, Case{"free-tables-leaf-ok.json", 0},
                 Case{"perm-downgrade-ok.json", 0}})
    for (const std::string flags : {"", "--slice "}) {
      SCOPED_TRACE(std::string(c.file) + " without inv" + std::to_string(c.inv) + " " + flags);
      const std::string model = exported(kPromelaDir + "/" + c.file, flags);
      const std::string tag = fs::path(c.file).stem().string() + std::to_string(c.inv) + (flags.empty() ? "" : "s");
      ASSERT_EQ(spin(model, tag + "-whole"), "safe");
      const std::string got = spin(drop_invalidation(model, c.inv), tag + "-mutant");
      EXPECT_EQ(got.substr(0, got.find(' ')), "violation") << got;
    }
}

TEST_F(Promela, RefusesWhatItDoesNotModel)
{
  struct Case {
    std::string file;
    const char * why;
  };
  for (const Case & c : {Case{kGeneric + "/ats-order-bug.json", "too wide"},
                         Case{kSrc + "/scenarios/vtd/linux/unmap-second-stage.json", "generic profile only"}}) {
    SCOPED_TRACE(c.file);
    Proc r = run("export --promela " + quote(c.file));
    EXPECT_EQ(r.code, 2) << r;
    EXPECT_TRUE(r.out.empty()) << r;
    EXPECT_EQ(count_lines(r.err), 1u) << r;
    EXPECT_NE(r.err.find(c.why), std::string::npos) << r;
  }
  Proc r = run("export " + quote(kPromelaDir + "/ats-order-ok.json"));  // no format named
  EXPECT_EQ(r.code, 2) << r;
}

TEST_F(Promela, OutWritesTheSameModel)
{
  const std::string f = kPromelaDir + "/strict-unmap-bug.json";
  const fs::path out = dir / "m.pml";
  Proc r = run("export --promela --out " + quote(out.string()) + " " + quote(f));
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_EQ(slurp(out), exported(f));
  // The header says what the model leaves out.
  EXPECT_NE(slurp(out).find("Left out"), std::string::npos);
}

}  // namespace
