// Test-only profiles (tests/profiles/<p>/): each registers itself without any file of spec/
// naming it, and its scenario files (tests/profiles/<p>/scenarios/*.json) are checked through
// the real loader by both engines: the SMT engine (with its trace replayed on the
// interpreter) must meet each file's expectation, and the explorer's exhaustive enumeration must
// reach the same verdict, property and step. The differential test draws random scenarios from
// the same profiles (SmtAgreesWithExhaustiveEnumerationOnEveryProfile).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "checker/engine.h"
#include "checker/report.h"
#include "checker/scenario_loader.h"
#include "spec/interp/cache.h"
#include "spec/profiles/api/profile.h"

namespace nostale {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> scenario_files()
{
  std::vector<std::string> v;
  for (const auto & prof : fs::directory_iterator(fs::path(NOSTALE_SOURCE_DIR) / "tests" / "profiles")) {
    fs::path dir = prof.path() / "scenarios";
    if (!fs::is_directory(dir)) continue;
    for (const auto & f : fs::directory_iterator(dir))
      if (f.path().extension() == ".json") v.push_back(f.path().string());
  }
  std::sort(v.begin(), v.end());
  return v;
}

TEST(TestProfiles, RegisterWithoutTheCore)
{
  const Profile * toy = find_profile("toy");
  ASSERT_NE(toy, nullptr);
  std::vector<std::string> ids = profile_ids();
  EXPECT_NE(std::find(ids.begin(), ids.end(), "toy"), ids.end());
  // Two domain tags packed in one, a level hint, level skipping, another chain.
  Config c;
  c.did_bits = 16;
  hw::Description d = toy->hardware(c);
  EXPECT_EQ(d.domain_tags.size(), 2u);
  EXPECT_EQ(d.domain_tag_offset("vmid"), 8);
  EXPECT_TRUE(d.features.level_hint);
  EXPECT_TRUE(d.format.level_skipping);
  ASSERT_EQ(d.chain.size(), 2u);
  EXPECT_EQ(d.chain[0].name, "STE");
  EXPECT_EQ(d.chain[1].words.size(), 2u);
  for (const hw::Description & v : toy->variants(c)) EXPECT_EQ(unsupported(v), "");
}

TEST(TestProfiles, BothEnginesMeetEachScenarioExpectation)
{
  std::vector<std::string> files = scenario_files();
  ASSERT_GE(files.size(), 6u) << "the toy profile ships safe and buggy scenarios";
  std::size_t violations = 0;
  for (const std::string & f : files) {
    SCOPED_TRACE(f);
    Scenario sc = load_scenario(f);
    CheckOptions smt;
    CheckResult r = check_scenario(sc, smt);
    std::string why;
    EXPECT_TRUE(matches_expectation(sc, r, why)) << why;
    CheckOptions ex;
    ex.engine = "explicit";
    CheckResult e = check_scenario(sc, ex);
    EXPECT_EQ(verdict_name(e.verdict), std::string(verdict_name(r.verdict)));
    if (r.verdict == Verdict::Violation && e.verdict == Verdict::Violation) {
      ++violations;
      EXPECT_EQ(e.step, r.step);
      EXPECT_EQ(e.property, r.cex ? r.cex->property : r.property);
    }
  }
  EXPECT_GE(violations, 3u);
}

}  // namespace
}  // namespace nostale
