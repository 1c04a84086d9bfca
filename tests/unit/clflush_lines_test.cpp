// What a non-coherent walker reads (VTD-COH-4, VTD-COH-5): the loader's clflush forms, and the
// walker's view per cache line, PASID-table entry and PASID-directory entry in the timeline.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "checker/scenario_loader.h"
#include "spec/model/timeline.h"

using namespace nostale;
using nlohmann::json;

namespace {

/// A vtd scenario on a non-coherent walker: d0 attached to A (second stage), then `steps`.
json flow(const std::vector<json> & steps, const std::string & mode = "scalable")
{
  json j = json::parse(R"({
    "name": "inline", "profile": "vtd",
    "config": { "iova_bits": 48, "caps": { "coherent": false, "mode": "scalable" },
                "devices": [ { "name": "d0", "sid": "0x300" } ], "domains": [ { "name": "A", "did": 2 } ] },
    "steps": [ { "op": "attach", "device": "d0", "pasid": 0, "domain": "A", "pgtt": "second" } ],
    "expect": { "verdict": "safe" }
  })");
  j["config"]["caps"]["mode"] = mode;
  if (mode == "legacy") j["steps"][0].erase("pgtt");
  for (const json & s : steps) j["steps"].push_back(s);
  return j;
}

Scenario parse(const json & j) { return parse_scenario(j.dump(2), "inline.json"); }

std::string error_of(const json & j)
{
  try {
    parse(j);
  } catch (const LoadError & e) {
    return e.what();
  }
  return "";
}

const json kMap16 = {{"op", "map"}, {"domain", "A"}, {"iova", "0x100000"}, {"size", "0x10000"},
                     {"phys", "0x61f00000"}, {"perm", "rw"}};

/// The level-1 entries the walker sees in the leaf table of 0x100000 at gap g (-1: no such table).
int leaf_entries_seen(const Timeline & tl, std::size_t g, const Scenario & sc)
{
  const Memory & w = tl.walk.at(g);
  const Memory & m = tl.mem.back();
  WalkResult r = m.walk_from(sc.config.geo, m.domains()[0].root, sc.config.geo.levels, 0x100000, 2);
  if (r.kind != WalkResult::Pointer) return -2;
  auto it = w.tables().find(r.ptr);
  return it == w.tables().end() ? -1 : static_cast<int>(it->second.entries.size());
}

TEST(ClflushLines, LoaderDecodesEveryForm)
{
  Scenario sc = parse(flow({
      {{"op", "clflush"}},
      {{"op", "clflush"}, {"domain", "A"}, {"iova", "0x100000"}, {"size", "0x10000"}, {"level", 1}},
      {{"op", "clflush"}, {"device", "d0"}, {"pasid", 0}},
      {{"op", "clflush"}, {"device", "d0"}, {"context", true}},
      {{"op", "clflush"}, {"device", "d0"}, {"pasid", 70}, {"directory", true}},
  }));
  ASSERT_EQ(sc.steps.size(), 6u);
  EXPECT_EQ(sc.steps[1].flush.kind, Flush::Kind::All);
  EXPECT_EQ(sc.steps[2].flush.kind, Flush::Kind::Tables);
  EXPECT_EQ(sc.steps[2].flush.level, 1u);
  EXPECT_EQ(sc.steps[2].iova, 0x100000u);
  EXPECT_EQ(sc.steps[3].flush.kind, Flush::Kind::Record);
  EXPECT_EQ(sc.steps[3].flush.depth, 0u);
  EXPECT_EQ(sc.steps[4].flush.kind, Flush::Kind::Record);
  EXPECT_EQ(sc.steps[4].flush.depth, 1u);
  EXPECT_EQ(sc.steps[5].flush.kind, Flush::Kind::Directory);
  EXPECT_NE(sc.steps[5].text.find("PASIDs 64-127"), std::string::npos) << sc.steps[5].text;
}

TEST(ClflushLines, LoaderRejectsWhatTheFormCannotMean)
{
  auto err = [](const json & step, const std::string & mode = "scalable") { return error_of(flow(std::vector<json>{step}, mode)); };
  EXPECT_NE(err({{"op", "clflush"}, {"level", 1}}).find("/steps/1/level"), std::string::npos);
  EXPECT_NE(err({{"op", "clflush"}, {"domain", "A"}, {"iova", "0x1000"}}).find("size"), std::string::npos);
  EXPECT_NE(err({{"op", "clflush"}, {"domain", "A"}, {"iova", "0x1000"}, {"size", "0x1000"}, {"level", 5}})
                .find("/steps/1/level"),
            std::string::npos);
  EXPECT_NE(err({{"op", "clflush"}, {"domain", "A"}, {"iova", "0x1000"}, {"size", "0x1000"}, {"device", "d0"}})
                .find("/steps/1/device"),
            std::string::npos);
  EXPECT_NE(err({{"op", "clflush"}, {"device", "d0"}, {"context", true}, {"pasid", 1}}).find("/steps/1/pasid"),
            std::string::npos);
  // Legacy mode has neither context entries above PASID tables nor a PASID directory.
  EXPECT_NE(err({{"op", "clflush"}, {"device", "d0"}, {"directory", true}}, "legacy").find("/steps/1/directory"),
            std::string::npos);
  EXPECT_NE(err({{"op", "clflush"}, {"device", "d0"}, {"context", true}}, "legacy").find("/steps/1/context"),
            std::string::npos);
  EXPECT_EQ(err({{"op", "clflush"}}, "legacy"), "");
}

// 16 PTEs are two cache lines: a flush of the first PTE's range leaves the second line as the
// walker saw it before (VTD-COH-5); a flush of the whole range shows both.
TEST(ClflushLines, WalkerSeesOnlyTheLinesNamed)
{
  json unmap = {{"op", "unmap"}, {"domain", "A"}, {"iova", "0x100000"}, {"size", "0x10000"}};
  auto leaf_flush = [](const char * size) {
    return json{{"op", "clflush"}, {"domain", "A"}, {"iova", "0x100000"}, {"size", size}, {"level", 1}};
  };
  Scenario one = parse(flow({{{"op", "clflush"}}, kMap16, {{"op", "clflush"}}, unmap, leaf_flush("0x1000")}));
  Timeline t1 = build_timeline(one);
  EXPECT_EQ(leaf_entries_seen(t1, 4, one), 16);  // after the map's flush of everything
  EXPECT_EQ(leaf_entries_seen(t1, 6, one), 8);   // the first line cleared, the second still mapped
  EXPECT_TRUE(t1.behind[6]);
  Scenario all = parse(flow({{{"op", "clflush"}}, kMap16, {{"op", "clflush"}}, unmap, leaf_flush("0x10000")}));
  Timeline t2 = build_timeline(all);
  EXPECT_EQ(leaf_entries_seen(t2, 6, all), 0);
  EXPECT_FALSE(t2.behind[6]);
}

// A flush of the leaf level only: the new upper-level entries stay unseen, so the walker cannot
// reach the leaf table it has seen.
TEST(ClflushLines, LevelLimitsTheFlush)
{
  Scenario sc = parse(flow({{{"op", "clflush"}}, kMap16,
                            {{"op", "clflush"}, {"domain", "A"}, {"iova", "0x100000"}, {"size", "0x10000"}, {"level", 1}}}));
  Timeline tl = build_timeline(sc);
  EXPECT_EQ(leaf_entries_seen(tl, 4, sc), 16);
  const Memory & w = tl.walk.at(4);
  EXPECT_EQ(w.walk_from(sc.config.geo, w.domains()[0].root, sc.config.geo.levels, 0x108000, 1).kind, WalkResult::None);
  EXPECT_TRUE(tl.behind[4]);
}

// Scalable mode: a PASID-table entry is reached through its directory entry; flushing the entry
// without the directory entry leaves it unreachable.
TEST(ClflushLines, PasidDirectoryEntryGatesThePasidEntry)
{
  json entry = {{"op", "clflush"}, {"device", "d0"}, {"pasid", 0}};
  json dir = {{"op", "clflush"}, {"device", "d0"}, {"pasid", 5}, {"directory", true}};  // PASIDs 0-63
  Scenario sc = parse(flow({entry, dir}));
  Timeline tl = build_timeline(sc);
  EXPECT_EQ(tl.mem.at(1).attached(0, 0), 0);
  EXPECT_EQ(tl.walk.at(1).attached(0, 0), -1);  // nothing flushed yet
  EXPECT_EQ(tl.walk.at(2).attached(0, 0), -1);  // the entry, not its directory entry
  EXPECT_TRUE(tl.behind[2]);
  EXPECT_EQ(tl.walk.at(3).attached(0, 0), 0);
  EXPECT_FALSE(tl.behind[3]);
  // Another table's directory entry does not help.
  json other = {{"op", "clflush"}, {"device", "d0"}, {"pasid", 64}, {"directory", true}};
  Timeline t2 = build_timeline(parse(flow({entry, other})));
  EXPECT_EQ(t2.walk.at(3).attached(0, 0), -1);
  // Legacy mode has no directory: the entry (a context entry there) is enough.
  Timeline t3 = build_timeline(parse(flow(std::vector<json>{entry}, "legacy")));
  EXPECT_EQ(t3.walk.at(2).attached(0, 0), 0);
}

}  // namespace
