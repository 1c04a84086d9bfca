// `nostale diff OLD NEW` through the real CLI: two versions of a driver flow (a correct one and
// its buggy twin, bundled scenarios), and folders of them, paired by path.
#include "tests/unit/cli_harness.h"

namespace {

const std::string kOk = "scenarios/generic/free-tables-leaf-ok.json";
const std::string kBug = "scenarios/generic/free-tables-leaf-bug.json";  // no-dma-after-free, CORE-2
const std::string kOtherBug = "scenarios/generic/strict-unmap-bug.json";  // no-stale (unsafe), MOD-1

class Diff : public Cli {
 public:
  /// Copies bundled scenario `rel` to dir/<name>.
  std::string copy(const std::string & rel, const std::string & name) { return write(name, slurp(kSrc + "/" + rel)); }

  json report(const std::string & args)
  {
    Proc r = run("diff " + args + " --format json");
    EXPECT_TRUE(r.exited) << r;
    json j = json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r;
    j["exit"] = r.code;
    return j;
  }
};

TEST_F(Diff, APatchThatDropsTheFlushIsANewViolationWithItsTrace)
{
  Proc r = run("diff " + kOk + " " + kBug);
  EXPECT_EQ(r.code, 1) << r;
  EXPECT_NE(r.out.find("NEW VIOLATION  " + kBug + ": old safe, new no-dma-after-free at step 5 [rule CORE-2]"),
            std::string::npos)
      << r;
  EXPECT_NE(r.out.find("<== check point: no-dma-after-free violated"), std::string::npos) << "the new trace is shown\n" << r;
  EXPECT_NE(r.out.find("nostale diff: 1 scenario: 1 new violation"), std::string::npos) << r;
  json j = report(kOk + " " + kBug);
  EXPECT_EQ(j["exit"], 1);
  ASSERT_EQ(j["pairs"].size(), 1u);
  EXPECT_EQ(j["pairs"][0]["change"], "new violation");
  EXPECT_EQ(j["pairs"][0]["old"]["verdict"], "safe");
  EXPECT_EQ(j["pairs"][0]["new"]["verdict"], "violation");
}

TEST_F(Diff, TheFixIsFixedAndExitsZero)
{
  Proc r = run("diff " + kBug + " " + kOk);
  EXPECT_EQ(r.code, 0) << r;
  EXPECT_NE(r.out.find("FIXED  " + kOk + ": old no-dma-after-free at step 5 [rule CORE-2], new safe"), std::string::npos)
      << r;
  EXPECT_EQ(r.out.find("<== check point"), std::string::npos) << "no trace for what went away\n" << r;
}

TEST_F(Diff, AnotherViolationIsANewCounterexampleTheSameOneIsUnchanged)
{
  json j = report(kOtherBug + " " + kBug);
  EXPECT_EQ(j["exit"], 1);
  EXPECT_EQ(j["pairs"][0]["change"], "new counterexample");
  j = report(kBug + " " + kBug);
  EXPECT_EQ(j["exit"], 0);
  EXPECT_EQ(j["pairs"][0]["change"], "unchanged");
  EXPECT_EQ(j["summary"]["unchanged"], 1);
}

TEST_F(Diff, FoldersArePairedByPath)
{
  copy(kOk, "old/a.json");
  copy(kBug, "old/b.json");
  copy(kOk, "old/c.json");
  copy(kOk, "new/a.json");
  copy(kOk, "new/b.json");   // fixed
  copy(kBug, "new/d.json");  // a new scenario, with a violation
  json j = report(quote((dir / "old").string()) + " " + quote((dir / "new").string()));
  EXPECT_EQ(j["exit"], 1) << j.dump(2);
  std::map<std::string, std::string> change;
  for (const json & p : j["pairs"]) change[p["key"]] = p["change"];
  EXPECT_EQ(change, (std::map<std::string, std::string>{
                        {"a.json", "unchanged"}, {"b.json", "fixed"}, {"c.json", "removed"}, {"d.json", "new violation"}}));
  // Without the new scenario, nothing new: exit 0.
  fs::remove(dir / "new/d.json");
  j = report(quote((dir / "old").string()) + " " + quote((dir / "new").string()));
  EXPECT_EQ(j["exit"], 0) << j.dump(2);
}

TEST_F(Diff, ALimitHitIsUnknownAndExitThree)
{
  // sva-8x8 takes over a second; the correct flow a tenth of one (a loaded machine included).
  json j = report(kOk + " tests/limits/sva-8x8.json --timeout 0.6");
  EXPECT_EQ(j["exit"], 3) << j.dump(2);
  EXPECT_EQ(j["pairs"][0]["change"], "unknown");
  j = report("tests/limits/sva-8x8.json " + kOk + " --timeout 0.6");
  EXPECT_EQ(j["exit"], 0) << j.dump(2);
  EXPECT_EQ(j["pairs"][0]["change"], "now safe");
}

TEST_F(Diff, BadInputIsOneLineAndExitTwo)
{
  Proc r = run("diff " + kOk + " scenarios/generic");
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_EQ(count_lines(r.err), 1u) << r;
  std::string bad = write("bad.json", "{\"name\": \"x\", \"steps\": [}");
  r = run("diff " + kOk + " " + quote(bad));
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_EQ(count_lines(r.err), 1u) << r;
  EXPECT_NE(r.err.find(bad), std::string::npos) << "the error names the bad file\n" << r;
  EXPECT_NE(r.out.find("ERROR  "), std::string::npos) << r;
  r = run("diff " + kOk + " " + quote((dir / "missing.json").string()));
  EXPECT_EQ(r.code, 2) << r;
}

}  // namespace
