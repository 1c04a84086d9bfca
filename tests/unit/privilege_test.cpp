// First-stage privilege and canonical addresses (issue 9 item 5, VTD-PRIV-1..3): the loader's
// forms, the per-class permissions memory holds, SRE in torn reads, and the checker's verdicts
// for one request class and the other, with the smt engine and the explicit one.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "checker/engine.h"
#include "checker/scenario_loader.h"
#include "spec/interp/cache.h"
#include "spec/model/format.h"
#include "spec/model/timeline.h"

namespace nostale {
namespace {

using json = nlohmann::json;

/// A VT-d scalable-mode scenario of `bits` IOVA bits (48: 4 levels, 57: 5 levels); 0: a small
/// geometry (3 levels of 3 bits, 21 bits) that the explicit engine can enumerate.
json base(unsigned bits = 48, const char * profile = "vtd")
{
  json j = json::parse(R"({
    "name": "t",
    "config": { "devices": [ { "name": "d0", "sid": "0x100" } ],
                "domains": [ { "name": "K", "did": 2 }, { "name": "P", "did": 3 } ] },
    "steps": [], "expect": { "verdict": "safe" } })");
  j["profile"] = profile;
  if (std::string(profile) == "generic") j["config"]["devices"][0].erase("sid");
  if (bits)
    j["config"]["iova_bits"] = bits;
  else
    j["config"]["geometry"] = {{"page_shift", 12}, {"level_bits", 3}, {"levels", 3}};
  return j;
}

Scenario load(const json & j) { return parse_scenario(j.dump(), "t.json"); }

std::string error_of(const json & j)
{
  try {
    load(j);
  } catch (const LoadError & e) {
    return e.what();
  }
  return "";
}

json map(const std::string & iova, bool supervisor, const char * dom = "K")
{
  json s = {{"op", "map"}, {"domain", dom}, {"iova", iova}, {"size", "0x1000"}, {"phys", "0x80000"}, {"perm", "rw"}};
  if (supervisor) s["supervisor"] = true;
  return s;
}

json bind(unsigned pasid, bool sre, const char * dom = "K")
{
  json s = {{"op", "bind"}, {"device", "d0"}, {"pasid", pasid}, {"domain", dom}, {"pgtt", "first"}};
  if (sre) s["sre"] = true;
  return s;
}

json dma(const std::string & addr, const char * privilege, unsigned pasid = 1)
{
  return {{"op", "dma"}, {"device", "d0"}, {"pasid", pasid}, {"addr", addr}, {"access", "write"}, {"privilege", privilege}};
}

TEST(Privilege, CanonicalUpperHalfAddressesMeanTheUpperHalfOfTheModelledSpace)
{
  json j = base(48);
  j["steps"] = {map("0xffff888000001000", true), dma("0xffff888000001000", "supervisor")};
  Scenario sc = load(j);
  EXPECT_EQ(sc.steps[0].iova, 0x888000001000u);
  EXPECT_EQ(sc.steps[1].iova, 0x888000001000u);
  EXPECT_TRUE(sc.config.canonical);
  EXPECT_FALSE(sc.steps[1].noncanonical);
  EXPECT_NE(sc.steps[0].text.find("iova 0xffff888000001000 "), std::string::npos) << sc.steps[0].text;
  // 5 levels: bits 63..56 sign-extend bit 56 (the 5-level direct map at 0xff11000000000000).
  json f = base(57);
  f["steps"] = {map("0xff11000000001000", true)};
  Scenario s5 = load(f);
  EXPECT_EQ(s5.steps[0].iova, 0x0111000000001000u);
  EXPECT_EQ(iova_hex(s5.config, s5.steps[0].iova), "0xff11000000001000");
  // The modelled form is still accepted and printed as written when nothing is canonical.
  json m = base(48);
  m["steps"] = {map("0x888000001000", true)};
  Scenario sm = load(m);
  EXPECT_FALSE(sm.config.canonical);
  EXPECT_EQ(iova_hex(sm.config, sm.steps[0].iova), "0x888000001000");
}

TEST(Privilege, NonCanonicalDmaFaultsAndIsJudgedNowhere)
{
  json j = base(48);
  j["steps"] = {map("0x1000", false), bind(1, false), dma("0x8000000000001000", "user")};
  Scenario sc = load(j);
  EXPECT_TRUE(sc.steps[2].noncanonical);
  Timeline tl = build_timeline(sc);
  for (const CheckPoint & cp : tl.checks) EXPECT_NE(cp.step, 2u) << "a non-canonical dma is no check point";
  // A map or unmap cannot be written at a non-canonical address: bad input.
  json b = base(48);
  b["steps"] = {map("0x8000000000001000", false)};
  EXPECT_NE(error_of(b).find("/steps/0"), std::string::npos) << error_of(b);
}

TEST(Privilege, OnlyHardwareWithFirstStagePrivilegeTakesTheBits)
{
  for (const char * key : {"supervisor", "sre", "privilege"}) {
    json j = base(39, "generic");
    json s = key == std::string("supervisor") ? map("0x1000", true)
             : key == std::string("sre")      ? json{{"op", "attach"}, {"device", "d0"}, {"domain", "K"}, {"sre", true}}
                                              : json{{"op", "dma"}, {"device", "d0"}, {"addr", "0x1000"}, {"access", "read"},
                                                     {"privilege", "supervisor"}};
    j["steps"] = {s};
    EXPECT_NE(error_of(j).find("privilege"), std::string::npos) << key << ": " << error_of(j);
  }
  json bad = base(48);
  bad["steps"] = {dma("0x1000", "kernel")};
  EXPECT_NE(error_of(bad).find("/steps/0/privilege"), std::string::npos);
  // Without any privilege bit the scenario's permissions stay read/write only.
  json plain = base(48);
  plain["steps"] = {map("0x1000", false), dma("0x1000", "user")};
  EXPECT_FALSE(load(plain).config.privilege);
}

/// The permission memory holds for the leaf of `iova` after the steps of `j` (per class).
unsigned leaf_perm(const json & j, u64 iova, int domain = 0)
{
  Scenario sc = load(j);
  Timeline tl = build_timeline(sc);
  const Memory & m = tl.mem.back();
  WalkResult r = m.walk_from(sc.config.geo, m.domains().at(static_cast<std::size_t>(domain)).root,
                             sc.config.geo.levels, iova, 1);
  return r.kind == WalkResult::Leaf ? r.perm : 99u;
}

TEST(Privilege, UserAccessNeedsUserOnEveryLevel)
{
  json j = base(48);
  // A supervisor map creates U/S=0 tables; a user map beside it under them is supervisor-only
  // too, while a user map elsewhere keeps both classes.
  j["steps"] = {map("0x888000001000", true), map("0x888000002000", false), map("0x1000", false)};
  EXPECT_EQ(leaf_perm(j, 0x888000001000), unsigned{kPermSup});
  EXPECT_EQ(leaf_perm(j, 0x888000002000), unsigned{kPermSup});
  EXPECT_EQ(leaf_perm(j, 0x1000), unsigned{kPermAll});
  // The other order: tables created by a user map stay U/S=1, the supervisor leaf is U/S=0.
  json k = base(48);
  k["steps"] = {map("0x888000002000", false), map("0x888000001000", true)};
  EXPECT_EQ(leaf_perm(k, 0x888000002000), unsigned{kPermAll});
  EXPECT_EQ(leaf_perm(k, 0x888000001000), unsigned{kPermSup});
}

TEST(Privilege, WhatEachRecordLetsEachClassUse)
{
  Config c;
  c.privilege = true;
  EXPECT_EQ(privileged(c, kPermSup, kPgttFirst, false), 0u) << "no SRE: supervisor requests blocked";
  EXPECT_EQ(privileged(c, kPermSup, kPgttFirst, true), unsigned{kPermSup});
  EXPECT_EQ(privileged(c, kPermAll, kPgttFirst, false), unsigned{kPermRW});
  EXPECT_EQ(privileged(c, kPermRead | kPermSupRead, kPgttNested, true), unsigned{kPermRead | kPermSupRead});
  // Second stage has no U/S: the entry's R/W for every class (SRE or not).
  EXPECT_EQ(privileged(c, kPermSup, kPgttSecond, false), unsigned{kPermAll});
  EXPECT_EQ(privileged(c, kPermSupRead, kPgttSecond, true), unsigned{kPermRead | kPermSupRead});
  EXPECT_EQ(privileged(c, kPermAll, kPgttPassThrough, false), unsigned{kPermAll});
  c.privilege = false;
  EXPECT_EQ(privileged(c, kPermRW, kPgttFirst, false), unsigned{kPermRW}) << "no privilege: unchanged";
}

TEST(Privilege, SreIsReadWithTheFirstStagePointerWordWhenTorn)
{
  json j = base(48);
  json a = bind(1, true);
  json b = {{"op", "bind"}, {"device", "d0"}, {"pasid", 1}, {"domain", "P"}, {"pgtt", "first"}, {"write", "whole-entry"}};
  j["steps"] = {map("0x1000", false), map("0x1000", false, "P"), a, b};
  Scenario sc = load(j);
  Timeline tl = build_timeline(sc);
  std::vector<Entry> reads = torn_reads(sc.config, tl.mem[3], tl.mem[4], 0, 1);
  bool new_root_old_sre = false, old_root_new_sre = false;
  const u64 kroot = tl.mem[3].attached_root(0, 1), proot = tl.mem[4].attached_root(0, 1);
  for (const Entry & e : reads) {
    new_root_old_sre |= e.root == proot && e.sre;
    old_root_new_sre |= e.root == kroot && !e.sre;
  }
  // qw2 holds both: a torn read takes them old or new together.
  EXPECT_FALSE(new_root_old_sre);
  EXPECT_FALSE(old_root_new_sre);
  bool mixed_did = false;
  for (const Entry & e : reads) mixed_did |= e.root == kroot && e.sre && e.did == 3;
  EXPECT_TRUE(mixed_did) << "qw1 (the domain id) is read apart from qw2";
}

/// The verdict of `j` with engine `engine`, as "safe" or "violation <property> <severity> <step>".
std::string verdict(const json & j, const char * engine = "smt")
{
  CheckOptions o;
  o.engine = engine;
  CheckResult r = check_scenario(load(j), o);
  if (r.verdict == Verdict::Safe) return "safe";
  if (r.verdict == Verdict::Unknown) return "unknown " + r.reason;
  return "violation " + r.property + " " + r.severity + " " + (r.step ? std::to_string(*r.step) : "?");
}

TEST(Privilege, AStaleSupervisorOnlyLeafIsFoundForSupervisorRequestsOnly)
{
  for (const char * engine : {"smt", "explicit"}) {
    // 3 levels, so that the explicit engine enumerates it. Unmapped with no flush: the leaf
    // filled by the supervisor write stays in the IOTLB.
    auto flow = [&](const char * later) {
      json j = base(0);
      j["steps"] = {map("0x101000", true), bind(1, true), dma("0x101000", "supervisor"),
                    {{"op", "unmap"}, {"domain", "K"}, {"iova", "0x101000"}, {"size", "0x1000"}},
                    dma("0x101000", later)};
      return j;
    };
    // The user dma (step 4) cannot use it; the end of the scenario (step 5), a check point of
    // every class, finds it for supervisor requests.
    EXPECT_EQ(verdict(flow("user"), engine), "violation no-stale unsafe 5") << engine << ": a user request cannot use it";
    EXPECT_EQ(verdict(flow("supervisor"), engine), "violation no-stale unsafe 4") << engine;
    // Without SRE the supervisor request is blocked from the start: nothing stale to use.
    json n = flow("supervisor");
    n["steps"][1].erase("sre");
    EXPECT_EQ(verdict(n, engine), "safe") << engine;
    // A user map: the stale leaf serves the user request too.
    json u = flow("user");
    u["steps"][0].erase("supervisor");
    EXPECT_EQ(verdict(u, engine), "violation no-stale unsafe 4") << engine;
  }
}

TEST(Privilege, ACachedEntryStaleInItsSreAloneIsUnsafe)
{
  // The entry rewritten from SRE=1 to SRE=0 in place (same DID and table) and no pc_inv: the
  // PASID cache still lets supervisor requests through (VTD-PRIV-2).
  json j = base(0);
  json off = bind(1, false);
  j["steps"] = {map("0x101000", true), bind(1, true), dma("0x101000", "supervisor"), off, {{"op", "check"}}};
  CheckOptions o;
  CheckResult r = check_scenario(load(j), o);
  ASSERT_EQ(r.verdict, Verdict::Violation);
  ASSERT_TRUE(r.cex);
  EXPECT_EQ(r.cex->rule, "VTD-PRIV-2");
  EXPECT_EQ(r.cex->entry.kind, CacheKind::PasidCache);
  EXPECT_TRUE(r.cex->entry.sre);
  o.engine = "explicit";
  EXPECT_EQ(check_scenario(load(j), o).verdict, Verdict::Violation);
}

}  // namespace
}  // namespace nostale
