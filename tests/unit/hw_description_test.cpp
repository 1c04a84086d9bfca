// The hardware descriptions (spec/hw/description.h) the profiles declare must describe the
// caches and structures the engines model for that configuration: the engines still use their
// built-in cache kinds, so this keeps the declarations from drifting until they read them.
#include <gtest/gtest.h>

#include <string>

#include "checker/scenario_loader.h"
#include "spec/interp/cache.h"
#include "spec/profiles/api/profile.h"

namespace nostale {
namespace {

const hw::Cache * declared(const hw::Description & d, const std::string & name)
{
  for (const hw::Cache & c : d.caches)
    if (c.name == name) return &c;
  return nullptr;
}

void expect_matches_engines(const std::string & file)
{
  SCOPED_TRACE(file);
  Config c = load_scenario(std::string(NOSTALE_SOURCE_DIR) + "/scenarios/" + file).config;
  const hw::Description & d = c.hw;
  ASSERT_NE(d.leaf_structure(), nullptr);
  // The record a walk translates through, and its cache, under the names traces use.
  EXPECT_EQ(d.leaf_structure()->name, c.entry_name());
  const hw::Cache * rec = declared(d, c.entry_cache_name());
  ASSERT_NE(rec, nullptr);
  EXPECT_EQ(rec->holds, hw::Holds::Record);
  EXPECT_EQ(rec->structure, static_cast<int>(d.chain.size()) - 1);
  EXPECT_EQ(rec->negative, c.negative_config());
  // A structure above it exactly when the engines model context entries.
  EXPECT_EQ(d.chain.size() == 2, c.context_cache());
  if (c.context_cache()) {
    const hw::Cache * ctx = declared(d, cache_name(CacheKind::ContextCache));
    ASSERT_NE(ctx, nullptr);
    EXPECT_EQ(ctx->structure, 0);
    EXPECT_EQ(ctx->negative, c.negative_context());
  }
  const hw::Cache * psc = declared(d, cache_name(CacheKind::Psc));
  const hw::Cache * tlb = declared(d, cache_name(CacheKind::Iotlb));
  const hw::Cache * dev = declared(d, cache_name(CacheKind::DevTlb));
  ASSERT_TRUE(psc && tlb && dev);
  EXPECT_TRUE(psc->per_level);
  EXPECT_EQ(tlb->negative, c.negative_caching());
  EXPECT_EQ(dev->holds, hw::Holds::Device);
  EXPECT_EQ(d.features.non_coherent_walker, !c.coherent());
  EXPECT_EQ(d.format.levels, c.geo.levels);
  // Torn reads mix whole words: every field the kernel reads sits in at most one word.
  for (auto f : {hw::RecordField::Present, hw::RecordField::Type, hw::RecordField::Domain}) {
    unsigned w = d.leaf_structure()->word_of(f);
    EXPECT_LT(w, d.leaf_structure()->words.size());
  }
}

TEST(HwDescription, MatchesWhatTheEnginesModel)
{
  for (const char * f : {"generic/ats-order-bug.json", "vtd/linux/unmap-second-stage.json",
                         "vtd/linux/sm-context-setup-cm.json", "vtd/linux/legacy-context-setup-cm.json",
                         "vtd/linux/noncoherent-walker.json", "vtd/linux/map-caching-mode.json"})
    expect_matches_engines(f);
}

}  // namespace
}  // namespace nostale

namespace nostale {
namespace {

// Every variant of every registered profile declares caches the engines can model as declared;
// a declaration they cannot (an ATC without PASID tag, a TLB without the domain tag) is refused
// by name, not modelled as something else.
TEST(HwDescription, EveryVariantIsOneTheEnginesModel)
{
  for (const std::string & id : profile_ids())
    for (const hw::Description & d : find_profile(id)->variants(Config{}))
      EXPECT_EQ(unsupported(d), "") << id;
  hw::Description d = find_profile("vtd")->hardware(Config{});
  for (hw::Cache & c : d.caches)
    if (c.holds == hw::Holds::Device) c.tags = {"sid"};  // an ATC that ignores the PASID
  EXPECT_NE(unsupported(d).find("device-TLB is declared with tags {sid}"), std::string::npos) << unsupported(d);
  d = find_profile("vtd")->hardware(Config{});
  for (hw::Cache & c : d.caches)
    if (c.holds == hw::Holds::Leaf) c.tags = {"pasid"};  // a TLB without the domain id
  EXPECT_NE(unsupported(d).find("IOTLB"), std::string::npos);
}

}  // namespace
}  // namespace nostale
