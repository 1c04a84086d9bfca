// The fuzzers' seed corpora and saved crash inputs (tests/fuzz/{corpus,regressions}/<target>/),
// replayed through the same contract checks as the libFuzzer targets but built with the normal
// compiler, so a fixed crash stays fixed without clang. Crashes/UB show up here under the ASan
// build of the suite.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/fuzz/inputs.h"

namespace {

namespace fs = std::filesystem;

std::vector<fs::path> inputs(const std::string & kind, const std::string & target)
{
  std::vector<fs::path> out;
  fs::path dir = fs::path(NOSTALE_SOURCE_DIR) / "tests/fuzz" / kind / target;
  if (fs::is_directory(dir))
    for (const auto & e : fs::directory_iterator(dir))
      if (e.is_regular_file()) out.push_back(e.path());
  return out;
}

std::string read(const fs::path & p)
{
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

template <class Check>
void replay(const std::string & target, Check check)
{
  std::size_t n = 0;
  for (const char * kind : {"corpus", "regressions"})
    for (const fs::path & p : inputs(kind, target)) {
      ++n;
      EXPECT_EQ(check(read(p)), "") << p;
    }
  // The corpus is committed: an empty replay would pass without checking anything.
  EXPECT_GE(inputs("corpus", target).size(), 10u) << "tests/fuzz/corpus/" << target << " is missing";
  EXPECT_GT(n, 0u);
}

TEST(FuzzRegressions, LoaderAcceptsOrRaisesLoadErrorOnly)
{
  replay("loader", nostale::fuzz::check_loader_input);
}

TEST(FuzzRegressions, DescriptorDecodesOrRaisesScenarioErrorAndRoundTrips)
{
  replay("descriptor", nostale::fuzz::check_descriptor_input);
}

}  // namespace
