// Runs that spread over processes and machines: `--jobs N`, `--shard i/n`, `nostale list` and
// `nostale merge`, through the real CLI. The shards run under GNU parallel (Debian's
// `parallel`, installed by tools/setup), as a user would run them.
#include <set>

#include "tests/unit/cli_harness.h"

namespace {

class Shards : public Cli {
 public:
  /// Runs a shell command line from the source dir; its exit status.
  int shell(const std::string & cmd)
  {
    int st = std::system(("cd " + quote(kSrc) + " && " + cmd + " >/dev/null 2>&1").c_str());
    return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  }

  /// `<sub> <path> --shard {}/3 --format json` for shards 1..3 under GNU parallel, each report to
  /// dir/<tag>{}.json; then `nostale merge` of the three.
  Proc three_shards_merged(const std::string & sub, const std::string & path, const std::string & tag)
  {
    std::string out = (dir / (tag + "{}.json")).string();
    shell("parallel --will-cite --halt never " + quote(kBin) + " " + sub + " " + quote(path) +
          " --shard {}/3 --format json --out " + quote(out) + " ::: 1 2 3");
    std::string files;
    for (int i = 1; i <= 3; ++i) {
      fs::path f = dir / (tag + std::to_string(i) + ".json");
      EXPECT_TRUE(fs::exists(f)) << "shard " << i << " wrote no report";
      files += " " + quote(f.string());
    }
    return run("merge" + files);
  }
};

TEST_F(Shards, ListGivesStableIdsAndTheShardsPartitionThem)
{
  Proc all = run("list scenarios --format json");
  ASSERT_EQ(all.code, 0) << all;
  json plan = json::parse(all.out);
  ASSERT_GT(plan.size(), 100u);
  // An id is the normalised path: the same check named another way has the same id.
  Proc other = run("list ./scenarios//generic/ats-order-bug.json");
  EXPECT_EQ(other.out, "scenarios/generic/ats-order-bug.json\n") << other;
  std::multiset<std::string> seen;
  for (int i = 1; i <= 3; ++i) {
    Proc r = run("list scenarios --format json --shard " + std::to_string(i) + "/3");
    ASSERT_EQ(r.code, 0) << r;
    json part = json::parse(r.out);
    EXPECT_GT(part.size(), 0u) << "shard " << i << " is empty";
    for (const json & c : part) {
      seen.insert(c["id"].get<std::string>());
      EXPECT_EQ(plan[c["position"].get<std::size_t>()]["id"], c["id"]) << "position in the whole plan";
    }
  }
  std::multiset<std::string> want;
  for (const json & c : plan) want.insert(c["id"].get<std::string>());
  EXPECT_EQ(seen, want) << "every check in exactly one shard";
  Proc bad = run("list scenarios --shard 4/3");
  EXPECT_EQ(bad.code, 2) << bad;
}

TEST_F(Shards, CheckInThreeShardsUnderGnuParallelMergesToTheUnshardedReport)
{
  Proc whole = run("check scenarios/generic --format json");
  ASSERT_EQ(whole.code, 1) << whole;  // the folder has violations
  Proc merged = three_shards_merged("check", "scenarios/generic", "check");
  EXPECT_EQ(merged.code, whole.code) << merged;
  json m;
  ASSERT_NO_THROW(m = json::parse(merged.out)) << merged;
  EXPECT_EQ(without_seconds(m), without_seconds(json::parse(whole.out)));
}

TEST_F(Shards, TestInThreeShardsUnderGnuParallelMergesToTheUnshardedReport)
{
  Proc whole = run("test scenarios/generic --format json");
  ASSERT_EQ(whole.code, 0) << whole;
  Proc merged = three_shards_merged("test", "scenarios/generic", "test");
  EXPECT_EQ(merged.code, 0) << merged;
  json w = json::parse(whole.out), m = json::parse(merged.out);
  EXPECT_EQ(m["passed"], w["passed"]);
  EXPECT_EQ(m["failed"], w["failed"]);
  EXPECT_EQ(without_seconds(m["results"]), without_seconds(w["results"]));
}

TEST_F(Shards, MergeRefusesAnIncompleteOrMixedSetOfShards)
{
  std::string a = (dir / "a.json").string(), b = (dir / "b.json").string(), c = (dir / "c.json").string();
  ASSERT_NE(run("check scenarios/generic/ats-order-ok.json scenarios/generic/ats-order-bug.json --format json "
                "--shard 1/2 --out " + quote(a)).code, 2);
  ASSERT_NE(run("check scenarios/generic/ats-order-ok.json scenarios/generic/ats-order-bug.json --format json "
                "--shard 2/2 --out " + quote(b)).code, 2);
  Proc missing = run("merge " + quote(a));
  EXPECT_EQ(missing.code, 2) << missing;
  EXPECT_NE(missing.err.find("shard 2/2 is missing"), std::string::npos) << missing;
  EXPECT_TRUE(missing.out.empty()) << "no partial report";
  Proc repeated = run("merge " + quote(a) + " " + quote(a) + " " + quote(b));
  EXPECT_EQ(repeated.code, 2) << repeated;
  EXPECT_NE(repeated.err.find("repeats shard"), std::string::npos) << repeated;
  spit(c, "[]");
  Proc foreign = run("merge " + quote(a) + " " + quote(c));
  EXPECT_EQ(foreign.code, 2) << foreign;
  EXPECT_NE(foreign.err.find(c + ": error at /: not a shard report"), std::string::npos) << foreign;
  Proc both = run("merge " + quote(b) + " " + quote(a));
  Proc whole = run("check scenarios/generic/ats-order-ok.json scenarios/generic/ats-order-bug.json --format json");
  EXPECT_EQ(both.code, whole.code) << both;
  EXPECT_EQ(without_seconds(json::parse(both.out)), without_seconds(json::parse(whole.out)));
}

TEST_F(Shards, ABadFileInOneShardMakesTheMergedRunBadInput)
{
  write("suite/a-ok.json", slurp(kGeneric + "/ats-order-ok.json"));
  write("suite/b-bad.json", "{\"profile\": \"generic\",");
  write("suite/c-bug.json", slurp(kGeneric + "/ats-order-bug.json"));
  std::string suite = (dir / "suite").string();
  std::string files;
  for (int i = 1; i <= 2; ++i) {
    std::string f = (dir / ("s" + std::to_string(i) + ".json")).string();
    // To stdout: a shard with a bad file still writes its report, which says so.
    Proc r = run("check " + quote(suite) + " --format json --shard " + std::to_string(i) + "/2");
    EXPECT_TRUE(r.exited) << r;
    spit(f, r.out);
    files += " " + quote(f);
  }
  Proc merged = run("merge" + files);
  EXPECT_EQ(merged.code, 2) << merged;
  EXPECT_NE(merged.err.find("b-bad.json: bad input (shard "), std::string::npos) << merged;
  Proc whole = run("check " + quote(suite) + " --format json");
  EXPECT_EQ(whole.code, 2) << whole;
}

TEST_F(Shards, JobsReportInPlanOrderWithTheSameVerdicts)
{
  Proc one = run("check scenarios/generic");
  Proc two = run("check scenarios/generic --jobs 2");
  EXPECT_EQ(two.code, one.code) << two;
  EXPECT_EQ(without_timings(two.out), without_timings(one.out));
  Proc t = run("test scenarios/generic -j 2");
  EXPECT_EQ(t.code, 0) << t;
  EXPECT_NE(t.out.find(" passed, 0 failed"), std::string::npos) << t;
}

}  // namespace
