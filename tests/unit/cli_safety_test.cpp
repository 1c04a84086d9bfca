// The command line is safe to run: input that is not plainly JSON text is refused for that
// file alone, nothing is read that is not a regular file, output never goes through a link
// or over something that is not a regular report file, names cannot forge report lines, and
// the limits (--timeout, Ctrl-C) hold for the whole process.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <thread>

#include "cli_harness.h"

namespace {

const std::string kOk = "scenarios/generic/ats-order-ok.json";
const std::string kBug = "scenarios/generic/ats-order-bug.json";

/// A copy of a bundled scenario with `edit` applied to its text.
std::string variant(const std::string & bundled, const std::string & from, const std::string & to)
{
  std::string s = slurp(kSrc + "/" + bundled);
  auto at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

// ---------------------------------------------------------------------------------------------
// Input

TEST_F(Cli, OverflowingNumberIsBadInputForThatFileOnly)
{
  std::string bad = write("overflow.json", variant(kOk, "\"iova_bits\": 48", "\"iova_bits\": 1e400"));
  Proc r = run("check " + quote(bad) + " " + kOk);
  ASSERT_TRUE(r.exited) << r;
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_NE(r.err.find(bad + ":"), std::string::npos) << r;
  EXPECT_NE(r.err.find("number overflow"), std::string::npos) << r;
  EXPECT_EQ(count_lines(r.err), 1u) << r;
  EXPECT_NE(r.out.find(kOk + ": SAFE"), std::string::npos) << "the good file still gets its verdict\n" << r;
  EXPECT_NE(r.out.find("2 scenarios: 1 safe, 0 violations, 1 bad input"), std::string::npos) << r;
}

TEST_F(Cli, DuplicateKeysAreRefusedWithTheirPointer)
{
  // A parser that keeps the last key would run a sync here.
  std::string f = write("dup.json", variant(kOk, "{\"op\": \"check\"", "{\"op\": \"check\", \"op\": \"sync\""));
  Proc r = run("check " + quote(f));
  ASSERT_TRUE(r.exited) << r;
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_TRUE(std::regex_search(r.err, std::regex(R"(error at /steps/[0-9]+/op: duplicate key 'op')"))) << r;
}

TEST_F(Cli, NulByteAndTrailingContentAreRefused)
{
  std::string good = slurp(kSrc + "/" + kOk);
  std::string nul = write("nul.json", good + std::string(1, '\0') + "{\"garbage\": 1}");
  std::string trail = write("trail.json", good + "\n{\"name\": \"a second object\"}\n");
  std::string inner = write("inner-nul.json", variant(kOk, "\"name\": \"", std::string("\"name\": \"x") + '\0'));
  for (const std::string & f : {nul, trail, inner}) {
    SCOPED_TRACE(f);
    Proc r = run("check " + quote(f));
    ASSERT_TRUE(r.exited) << r;
    EXPECT_EQ(r.code, 2) << r;
    EXPECT_EQ(r.err.rfind(f + ":", 0), 0u) << r;
    EXPECT_TRUE(std::regex_search(r.err, std::regex(R"(^[^\n]*:[0-9]+:[0-9]+: error: )"))) << r;
    EXPECT_EQ(count_lines(r.err), 1u) << r;
  }
}

TEST_F(Cli, OnlyRegularFilesAreRead)
{
  fs::path fifo = dir / "fifo.json";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  for (const std::string & f : {fifo.string(), std::string("/dev/zero")}) {
    SCOPED_TRACE(f);
    Proc r = run("check " + quote(f) + " " + kOk);  // a FIFO with no writer used to hang forever
    ASSERT_TRUE(r.exited) << r;
    EXPECT_EQ(r.code, 2) << r;
    EXPECT_NE(r.err.find(f + ": error: not a regular file"), std::string::npos) << r;
    EXPECT_NE(r.out.find(kOk + ": SAFE"), std::string::npos) << r;
    EXPECT_LT(r.seconds, 30) << r;
  }
}

TEST_F(Cli, ControlCharactersInNamesCannotForgeLines)
{
  // A name with a newline, a forged verdict, and a terminal escape sequence (CSI, both forms).
  std::string evil = "x\\nscenarios/generic/ats-order-bug.json: SAFE  forged\\u001b[2J\\u009b31m";
  std::string f = write("evil.json", variant(kBug, "\"name\": \"", "\"name\": \"" + evil));
  Proc r = run("check " + quote(f));
  ASSERT_TRUE(r.exited) << r;
  EXPECT_EQ(r.code, 1) << r;
  for (const std::string & l : split_lines(r.out)) EXPECT_NE(l.rfind("scenarios/generic/ats-order-bug.json: SAFE", 0), 0u) << l;
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << "raw ESC in the report";
  EXPECT_EQ(r.out.find("\xc2\x9b"), std::string::npos) << "raw CSI in the report";
  EXPECT_NE(r.out.find("x\\x0ascenarios/generic/ats-order-bug.json: SAFE  forged\\x1b[2J\\u009b31m"), std::string::npos) << r;
  // The JSON report keeps the name exactly (JSON escapes it itself).
  Proc j = run("check --format json " + quote(f));
  json parsed = json::parse(j.out);
  EXPECT_EQ(parsed[0]["name"].get<std::string>().substr(0, 2), "x\n");
}

// ---------------------------------------------------------------------------------------------
// Output

TEST_F(Cli, OutNeverWritesThroughASymlink)
{
  fs::path victim = dir / "victim.txt";
  spit(victim, "precious\n");
  fs::path out = dir / "report.txt";
  fs::create_symlink(victim, out);
  Proc r = run("check --out " + quote(out.string()) + " " + kOk);
  ASSERT_TRUE(r.exited) << r;
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_NE(r.err.find("symbolic link"), std::string::npos) << r;
  EXPECT_EQ(slurp(victim), "precious\n");
  EXPECT_TRUE(fs::is_symlink(out));

  // The temporary file is created exclusively with a fresh name: a link planted at any
  // predictable name (the old "<out>.nostale-tmp") is never followed.
  fs::path out2 = dir / "report2.txt";
  fs::create_symlink(victim, out2.string() + ".nostale-tmp");
  r = run("check --out " + quote(out2.string()) + " " + kOk);
  EXPECT_EQ(r.code, 0) << r;
  EXPECT_EQ(slurp(victim), "precious\n");
  EXPECT_NE(slurp(out2).find("SAFE"), std::string::npos);
  EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(out2)));
}

TEST_F(Cli, OutNeverReplacesTheInputOrANonRegularFile)
{
  std::string in = write("in.json", slurp(kSrc + "/" + kOk));
  std::string before = slurp(in);
  Proc r = run("check " + quote(in) + " --out " + quote(in));
  ASSERT_TRUE(r.exited) << r;
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_NE(r.err.find("input"), std::string::npos) << r;
  EXPECT_EQ(slurp(in), before);
  // The same file under another name (a hard link) is the input too.
  fs::path alias = dir / "alias.txt";
  fs::create_hard_link(in, alias);
  r = run("check " + quote(in) + " --out " + quote(alias.string()));
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_EQ(slurp(in), before);

  fs::path fifo = dir / "out.fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  r = run("check " + kOk + " --out " + quote(fifo.string()));
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_TRUE(fs::is_fifo(fifo));
  r = run("check " + kOk + " --out /dev/null");  // as root, a rename would have destroyed it
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_TRUE(fs::is_character_file("/dev/null"));
}

TEST_F(Cli, Smt2QueriesAreNamedUniquelyAndNeverFollowLinks)
{
  // Two scenarios with the same file name in different folders keep their own queries.
  std::string a = write("a/same.json", slurp(kSrc + "/" + kBug));
  std::string b = write("b/same.json", slurp(kSrc + "/scenarios/generic/ats-order-inorder-ok.json"));
  fs::path q = dir / "queries";
  fs::create_directory(q);
  Proc r = run("check --smt2 " + quote(q.string()) + " " + quote(a) + " " + quote(b));
  ASSERT_TRUE(r.exited) << r;
  EXPECT_EQ(r.code, 1) << r;
  std::size_t from_a = 0, from_b_inorder = 0, from_b_anyorder = 0;
  for (const auto & e : fs::directory_iterator(q)) {
    std::string n = e.path().filename().string();
    from_a += n.find("a%2Fsame.json.") != std::string::npos;
    from_b_inorder += n.find("b%2Fsame.json.in-order.") != std::string::npos;
    from_b_anyorder += n.find("b%2Fsame.json.any-order.") != std::string::npos;
  }
  EXPECT_GT(from_a, 0u);
  // An in-order SAFE scenario and its any-order re-check write separate queries.
  EXPECT_GT(from_b_inorder, 0u);
  EXPECT_GT(from_b_anyorder, 0u);

  // A link planted at a query's name is refused, and its target is untouched.
  fs::path victim = dir / "victim.txt";
  spit(victim, "precious\n");
  std::string first;
  for (const auto & e : fs::directory_iterator(q))
    if (e.path().filename().string().find("a%2Fsame.json.") != std::string::npos) first = e.path().string();
  ASSERT_FALSE(first.empty());
  fs::remove_all(q);
  fs::create_directory(q);
  fs::create_symlink(victim, first);
  r = run("check --smt2 " + quote(q.string()) + " " + quote(a));
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_NE(r.err.find(first + ": error: cannot write: it is a symbolic link"), std::string::npos) << r;
  EXPECT_EQ(slurp(victim), "precious\n");

  // A query that cannot be written is exit 2 with its path (not an internal error).
  fs::remove(first);
  fs::create_directory(first);
  r = run("check --smt2 " + quote(q.string()) + " " + quote(a));
  EXPECT_EQ(r.code, 2) << r;
  EXPECT_NE(r.err.find(first + ": error: cannot write"), std::string::npos) << r;
}

// ---------------------------------------------------------------------------------------------
// Limits

/// tests/limits/sva-8x8.json: bench/bench.py's SVA flow at 8 devices x 8 PASIDs, which takes
/// tens of seconds to prove on 2 cores.
const std::string kSlow = "tests/limits/sva-8x8.json";

TEST_F(Cli, TimeoutBoundsWallTime)
{
  Proc r = run("check --timeout 1 " + kSlow);
  ASSERT_TRUE(r.exited) << r;
  EXPECT_EQ(r.code, 3) << r;
  EXPECT_NE(r.out.find("UNKNOWN"), std::string::npos) << r;
  EXPECT_NE(r.out.find("timeout"), std::string::npos) << r;
  // Process start, loading and the child's exit included; Z3's teardown is skipped.
  EXPECT_LT(r.seconds, 4.0) << r;
}

TEST_F(Cli, JobsEachKeepTheirOwnTimeout)
{
  // Three checks that each need tens of seconds, three at once, one second each: all three
  // end at their own deadline together (one after another would take at least 3 s).
  Proc r = run("check --jobs 3 --timeout 1 " + kSlow + " " + kSlow + " " + kSlow);
  ASSERT_TRUE(r.exited) << r;
  EXPECT_EQ(r.code, 3) << r;
  EXPECT_NE(r.out.find("3 scenarios: 0 safe, 0 violations, 3 unknown"), std::string::npos) << r;
  EXPECT_LT(r.seconds, 2.9) << r;
}

TEST_F(Cli, FirstCtrlCEndsTheRunWithWhatWasProved)
{
  fs::path out = dir / "out.txt", err = dir / "err.txt";
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (chdir(kSrc.c_str()) != 0) _exit(127);
    int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644), e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(o, 1);
    dup2(e, 2);
    execl(kBin.c_str(), kBin.c_str(), "check", kOk.c_str(), kSlow.c_str(), kOk.c_str(), static_cast<char *>(nullptr));
    _exit(127);
  }
  // Wait until the first scenario's verdict is out and the slow one is running.
  auto t0 = std::chrono::steady_clock::now();
  while (slurp(out).find(": SAFE") == std::string::npos &&
         std::chrono::steady_clock::now() - t0 < std::chrono::seconds(60))
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto t_int = std::chrono::steady_clock::now();
  kill(pid, SIGINT);
  int st = 0;
  waitpid(pid, &st, 0);
  double after = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_int).count();
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 3);
  EXPECT_LT(after, 2.0) << "Ctrl-C must end the run at once";
  std::string o = slurp(out);
  EXPECT_NE(o.find(kOk + ": SAFE"), std::string::npos) << o;
  EXPECT_NE(o.find(kSlow + ": UNKNOWN"), std::string::npos) << o;
  EXPECT_NE(o.find("interrupted (Ctrl-C)"), std::string::npos) << o;
  EXPECT_NE(o.find("3 scenarios: 1 safe, 0 violations, 1 unknown, 1 not run (interrupted)"), std::string::npos) << o;
  EXPECT_NE(slurp(err).find("interrupted: 1 of 3 scenarios not started"), std::string::npos);
}

TEST_F(Cli, CheckClosesWithACountLine)
{
  Proc r = run("check " + kOk + " " + kBug);
  std::vector<std::string> lines = split_lines(r.out);
  ASSERT_FALSE(lines.empty()) << r;
  EXPECT_EQ(lines.back(), "2 scenarios: 1 safe, 1 violation") << r;
}

}  // namespace
