// The property registry (spec/model/properties.h) is the one list: the shipped JSON Schema, the
// loader and the engines' queries must all follow it.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "checker/scenario_loader.h"
#include "spec/model/properties.h"

namespace nostale {
namespace {

nlohmann::json expect_schema()
{
  std::ifstream in(std::string(NOSTALE_SOURCE_DIR) + "/scenarios/scenario.schema.json");
  nlohmann::json s = nlohmann::json::parse(in);
  return s["$defs"]["expect"]["properties"];
}

TEST(Properties, SchemaListsExactlyTheRegistry)
{
  nlohmann::json ex = expect_schema();
  ASSERT_TRUE(ex.is_object());
  std::set<std::string> schema_props, schema_sevs, reg_props, reg_sevs;
  for (const auto & p : ex["property"]["enum"]) schema_props.insert(p.get<std::string>());
  for (const auto & s : ex["severity"]["enum"]) schema_sevs.insert(s.get<std::string>());
  for (const PropertyInfo & p : kProperties) {
    reg_props.insert(p.id);
    for (unsigned s = 0; s < p.severity_count; ++s)
      if (*p.severities[s]) reg_sevs.insert(p.severities[s]);
  }
  EXPECT_EQ(schema_props, reg_props);
  EXPECT_EQ(schema_sevs, reg_sevs);
}

TEST(Properties, QueriesFollowTheRegistry)
{
  unsigned q = 0;
  for (const PropertyInfo & p : kProperties)
    for (unsigned s = 0; s < p.severity_count; ++s, ++q) {
      EXPECT_STREQ(kQueries[q].property, p.id);
      EXPECT_STREQ(kQueries[q].severity, p.severities[s]);
      EXPECT_EQ(query_bit(p.id, p.severities[s]), q);
    }
  EXPECT_EQ(q, kQueryCount);
  EXPECT_EQ(find_property("no-such-property"), nullptr);
  EXPECT_EQ(property_rank("no-stale"), 2u);
}

TEST(Properties, WhereTheyApply)
{
  // no-reuse-while-cached is asked only where an id is freed; the others everywhere.
  for (const PropertyInfo & p : kProperties) {
    EXPECT_TRUE(applies_at(p, true)) << p.id;
    EXPECT_EQ(applies_at(p, false), std::string(p.id) != "no-reuse-while-cached") << p.id;
  }
}

/// The loader accepts every registered (property, severity) and rejects the rest, naming the
/// JSON path.
std::string load_expect(const std::string & expect)
{
  std::string text = R"({"name": "t", "profile": "generic", "config": {"devices": [{"name": "d"}],
    "domains": [{"name": "a", "did": 1}]}, "steps": [], "expect": )" + expect + "}";
  try {
    parse_scenario(text, "t.json");
    return "";
  } catch (const LoadError & e) {
    return e.what();
  }
}

TEST(Properties, LoaderFollowsTheRegistry)
{
  for (const Query & q : kQueries) {
    std::string sev = *q.severity ? std::string(R"(, "severity": ")") + q.severity + "\"" : "";
    EXPECT_EQ(load_expect(std::string(R"({"verdict": "violation", "property": ")") + q.property + "\"" + sev + "}"), "")
        << q.property << " " << q.severity;
  }
  EXPECT_NE(load_expect(R"({"verdict": "violation", "property": "no-stale", "severity": "mild"})").find("/expect/severity"),
            std::string::npos);
  EXPECT_NE(load_expect(R"({"verdict": "violation", "property": "no-dma-after-free", "severity": "unsafe"})")
                .find("/expect/severity"),
            std::string::npos);
  EXPECT_NE(load_expect(R"({"verdict": "violation", "property": "no-leak"})").find("/expect/property"),
            std::string::npos);
}

}  // namespace
}  // namespace nostale
