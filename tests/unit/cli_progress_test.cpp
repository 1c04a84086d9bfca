// Progress on a terminal: a run over several scenarios says "scenario i of n" and the time
// elapsed on stderr when stderr is a terminal (here a pseudo-terminal from util-linux
// script(1)), and nothing when it is a pipe or a file.
#include "tests/unit/cli_harness.h"

namespace {

const std::string kThree = "scenarios/generic/ats-order-ok.json scenarios/generic/ats-order-bug.json "
                           "scenarios/traces/linux/unmap-v6.11-ok.trace";

TEST_F(Cli, ProgressShowsOnATerminalOnly)
{
  // script -q -e -c CMD /dev/null: CMD on a new pseudo-terminal, its output copied to stdout.
  ASSERT_EQ(std::system("command -v script >/dev/null"), 0) << "script(1) (util-linux, bsdutils) is missing";
  const fs::path log = dir / "tty.txt";
  const std::string cmd = "cd " + quote(kSrc) + " && script -q -e -c " +
                          quote(quote(kBin) + " check " + kThree) + " /dev/null >" + quote(log.string()) + " 2>&1";
  int st = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 1) << slurp(log);
  const std::string tty = slurp(log);
  EXPECT_NE(tty.find("nostale: scenario 1 of 3, "), std::string::npos) << tty;
  EXPECT_NE(tty.find(" s elapsed"), std::string::npos) << tty;
  EXPECT_NE(tty.find("3 scenarios: 2 safe, 1 violation"), std::string::npos) << tty;
  // The line is taken away before each report: no report line starts after it.
  EXPECT_EQ(tty.find("elapsedscenarios/"), std::string::npos) << tty;
  // Not a terminal: the same run says nothing of its progress.
  Proc r = run("check " + kThree);
  EXPECT_EQ(r.code, 1) << r;
  EXPECT_EQ(r.err.find("nostale: scenario"), std::string::npos) << r;
  EXPECT_EQ(r.out.find("nostale: scenario"), std::string::npos) << r;
  EXPECT_TRUE(r.err.empty()) << r;
}

}  // namespace
