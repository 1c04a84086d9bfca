// The scenario loader on inline JSON: number forms, defaults, the generic profile's decoding of
// every invalidate combination (GAPI-1..4) into InvPattern, and the error message formats.
#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "checker/scenario_loader.h"

using namespace nostale;
using nlohmann::json;

namespace {

const std::string kFile = "inline.json";

/// A minimal valid scenario: one device, domains A (did 1) and B (no did yet).
json base()
{
  return json::parse(R"({
    "name": "inline", "profile": "generic",
    "config": { "devices": [ { "name": "d0", "ats": true }, { "name": "d1" } ],
                "domains": [ { "name": "A", "did": 1 }, { "name": "B" } ] },
    "steps": [ { "op": "attach", "device": "d0", "domain": "A" } ],
    "expect": { "verdict": "safe" }
  })");
}

Scenario parse(const json & j) { return parse_scenario(j.dump(2), kFile); }

/// The LoadError message of parsing `j` ("" when it loads).
std::string error_text(const std::string & text)
{
  try {
    parse_scenario(text, kFile);
  } catch (const LoadError & e) {
    return e.what();
  }
  return "";
}
std::string error_of(const json & j) { return error_text(j.dump(2)); }

std::string opt(const std::optional<u64> & v) { return v ? std::to_string(*v) : "-"; }

/// Every semantic field, one per line, so that two scenarios compare with a readable diff.
std::string dump(const Scenario & sc)
{
  std::ostringstream o;
  const Config & c = sc.config;
  o << "name=" << sc.name << " profile=" << sc.profile << " desc=" << sc.description << "\n";
  o << "geo=" << c.geo.page_shift << "/" << c.geo.level_bits << "/" << c.geo.levels << " pasid_bits=" << c.pasid_bits
    << " did_bits=" << c.did_bits << " completion=" << static_cast<int>(c.completion) << " pt_pool=" << c.pt_pool
    << "\n";
  for (const Device & d : c.devices) o << "device " << d.name << " ats=" << d.ats << "\n";
  for (const Domain & d : c.domains) o << "domain " << d.name << " did=" << opt(d.did) << "\n";
  for (const Step & s : sc.steps) {
    const InvPattern & p = s.inv;
    o << "step " << op_name(s.op) << " dom=" << s.domain << " dev=" << s.device << " pasid=" << s.pasid
      << " iova=" << s.iova << " size=" << s.size << " ps=" << s.page_size << " phys=" << s.phys
      << " perm=" << s.perm << " ft=" << s.free_tables << " did=" << s.did << " | pc=" << p.pasid_cache
      << " iotlb=" << p.iotlb << " psc=" << p.psc << " devtlb=" << p.devtlb << " pdid=" << opt(p.did)
      << " ppasid=" << opt(p.pasid) << " pdev=" << (p.device ? std::to_string(*p.device) : "-")
      << " ranged=" << p.ranged << " addr=" << p.addr << " psize=" << p.size << " rule=" << s.rule
      << " text=" << s.text << " note=" << s.note << " path=" << s.path << "\n";
  }
  const Expectation & e = sc.expect;
  o << "expect " << e.verdict << " " << e.property << " " << e.severity << " "
    << (e.step ? std::to_string(*e.step) : "-") << "\n";
  return o.str();
}

json step(const char * text) { return json::parse(text); }

// ---------------------------------------------------------------------------------------------
// Numbers

TEST(Loader, HexStringsAndIntegersGiveTheSameScenario)
{
  auto make = [](bool hex) {
    auto v = [&](u64 x, const char * h) { return hex ? json(h) : json(x); };
    json j = base();
    j["config"]["pt_pool"] = v(0x10000000, "0x10000000");
    j["config"]["domains"][0]["did"] = v(0x1f, "0x1F");
    j["steps"][0]["pasid"] = v(0, "0x0");
    j["steps"].push_back({{"op", "map"}, {"domain", "A"}, {"iova", v(0x200000, "0x200000")},
                          {"size", v(0x400000, "0x400000")}, {"phys", v(0x80000000, "0X80000000")},
                          {"perm", "rw"}, {"page_size", v(0x200000, "0x200000")}});
    j["steps"].push_back({{"op", "bind"}, {"device", "d1"}, {"pasid", v(0xfffff, "0xfffff")}, {"domain", "A"}});
    j["steps"].push_back({{"op", "invalidate"}, {"domain", "A"}, {"cache", {"IOTLB"}}, {"granularity", "ADDR"},
                          {"addr_info", {{"flags", {"PASID", "ARCHID"}}, {"pasid", v(0xfffff, "0xfffff")},
                                         {"archid", v(0x1f, "0x1f")}, {"addr", v(0x200000, "0x200000")},
                                         {"granule_size", v(0x200000, "0x200000")}, {"nb_granules", v(2, "0x2")}}}});
    j["steps"].push_back({{"op", "invalidate"}, {"domain", "A"}, {"cache", {"PASID"}}, {"granularity", "PASID"},
                          {"pasid_info", {{"flags", {"ARCHID"}}, {"archid", v(0xffff, "0xffff")}}}});
    j["steps"].push_back({{"op", "sync"}});
    j["steps"].push_back({{"op", "dma"}, {"device", "d1"}, {"pasid", v(0xfffff, "0xfffff")},
                          {"addr", v(0x200123, "0x200123")}, {"access", "read"}});
    j["steps"].push_back({{"op", "unmap"}, {"domain", "A"}, {"iova", v(0x200000, "0x200000")},
                          {"size", v(0x400000, "0x400000")}});
    j["steps"].push_back({{"op", "free_frame"}, {"phys", v(0x80000000, "0x80000000")}, {"size", v(0x400000, "0x400000")}});
    j["steps"].push_back({{"op", "unbind"}, {"device", "d1"}, {"pasid", v(0xfffff, "0xfffff")}});
    j["steps"].push_back({{"op", "free_pasid"}, {"pasid", v(0xfffff, "0xfffff")}});
    j["steps"].push_back({{"op", "assign_did"}, {"domain", "B"}, {"did", v(0xabc, "0xabc")}});
    j["expect"] = {{"verdict", "violation"}, {"property", "no-stale"}, {"step", v(3, "0x3")}};
    return j;
  };
  Scenario a = parse(make(false)), b = parse(make(true));
  EXPECT_EQ(dump(a), dump(b));
  // And the values are what they say.
  EXPECT_EQ(a.config.pt_pool, 0x10000000u);
  EXPECT_EQ(a.config.domains[0].did, 0x1fu);
  EXPECT_EQ(a.steps[1].iova, 0x200000u);
  EXPECT_EQ(a.steps[1].phys, 0x80000000u);
  EXPECT_EQ(a.steps[1].page_size, 0x200000u);
  EXPECT_EQ(a.steps[2].pasid, 0xfffffu);
  EXPECT_EQ(a.steps[3].inv.size, 0x400000u);
  EXPECT_EQ(a.steps[4].inv.did, 0xffffu);
  EXPECT_EQ(a.steps[6].iova, 0x200123u);
  EXPECT_EQ(a.steps[11].did, 0xabcu);
  EXPECT_EQ(a.expect.step, 3u);
}

TEST(Loader, NumberFormsRejected)
{
  struct Case {
    json value;
    const char * why;
  };
  std::vector<Case> cases = {{json("200000"), "hex string"},     {json("0x"), "hex string"},
                             {json("0x12g"), "hex string"},      {json(" 0x1000"), "hex string"},
                             {json("0x10000000000000000"), "hex string"},
                             {json(-4096), "non-negative"},      {json(4096.0), "unsigned integer"},
                             {json(true), "unsigned integer"},   {json(nullptr), "unsigned integer"}};
  for (const Case & c : cases) {
    SCOPED_TRACE(c.value.dump());
    json j = base();
    j["steps"].push_back({{"op", "map"}, {"domain", "A"}, {"iova", c.value}, {"size", 4096}, {"phys", 0}, {"perm", "r"}});
    std::string e = error_of(j);
    EXPECT_EQ(e.rfind(kFile + ": error at /steps/1/iova: ", 0), 0u) << e;
    EXPECT_NE(e.find(c.why), std::string::npos) << e;
  }
  // The full 64-bit range is readable (here rejected for range, not for syntax).
  json j = base();
  j["steps"].push_back({{"op", "free_frame"}, {"phys", "0xfffffffffffff000"}});
  std::string e = error_of(j);
  EXPECT_NE(e.find("/steps/1/phys"), std::string::npos) << e;
  EXPECT_NE(e.find("2^62"), std::string::npos) << e;
}

// ---------------------------------------------------------------------------------------------
// Defaults

TEST(Loader, Defaults)
{
  json j = base();
  j["steps"].push_back(step(R"({"op":"map","domain":"A","iova":"0x1000","size":"0x1000","phys":"0x5000","perm":"w"})"));
  j["steps"].push_back(step(R"({"op":"unmap","domain":"A","iova":"0x1000","size":"0x1000"})"));
  j["steps"].push_back(step(R"({"op":"free_frame","phys":"0x5000"})"));
  j["steps"].push_back(step(R"({"op":"dma","device":"d0","addr":"0x1000","access":"write"})"));
  j["steps"].push_back(step(R"({"op":"detach","device":"d0"})"));
  Scenario sc = parse(j);
  const Config & c = sc.config;
  EXPECT_EQ(c.geo.iova_bits(), 48u);
  EXPECT_EQ(c.geo.levels, 4u);
  EXPECT_EQ(c.geo.level_bits, 9u);
  EXPECT_EQ(c.geo.page_shift, 12u);
  EXPECT_EQ(c.pasid_bits, 20u);
  EXPECT_EQ(c.did_bits, 16u);
  EXPECT_EQ(c.completion, Completion::AnyOrder);
  EXPECT_EQ(c.pt_pool, 0x7f0000000000u);
  ASSERT_EQ(c.devices.size(), 2u);
  EXPECT_TRUE(c.devices[0].ats);
  EXPECT_FALSE(c.devices[1].ats);  // ats default false
  ASSERT_EQ(c.domains.size(), 2u);
  EXPECT_EQ(c.domains[0].did, 1u);
  EXPECT_FALSE(c.domains[1].did.has_value());
  ASSERT_EQ(sc.steps.size(), 6u);
  EXPECT_EQ(sc.steps[0].op, Op::ConfigWrite);  // attach: a whole record, present
  EXPECT_TRUE(sc.steps[0].cw.present);
  EXPECT_EQ(sc.steps[0].verb, "attach");
  EXPECT_EQ(sc.steps[0].pasid, 0u);
  EXPECT_EQ(sc.steps[0].device, 0);
  EXPECT_EQ(sc.steps[0].domain, 0);
  EXPECT_EQ(sc.steps[1].page_size, 4096u);
  EXPECT_EQ(sc.steps[1].perm, kPermWrite);
  EXPECT_FALSE(sc.steps[2].free_tables);
  EXPECT_EQ(sc.steps[3].size, 4096u);
  EXPECT_EQ(sc.steps[4].pasid, 0u);
  EXPECT_EQ(sc.steps[4].perm, kPermWrite);
  EXPECT_EQ(sc.steps[5].pasid, 0u);
  EXPECT_EQ(sc.steps[5].op, Op::ConfigWrite);  // detach: the record made not present
  EXPECT_FALSE(sc.steps[5].cw.present);
  EXPECT_EQ(sc.steps[5].cw.depth, 0u);
  EXPECT_EQ(sc.expect.verdict, "safe");
  EXPECT_FALSE(sc.expect.step.has_value());
  EXPECT_EQ(sc.file, kFile);
  EXPECT_EQ(sc.steps[1].path, "/steps/1");
}

TEST(Loader, IovaBitsSelectsLevels)
{
  for (auto [bits, levels] : std::vector<std::pair<unsigned, unsigned>>{{39, 3}, {48, 4}, {57, 5}}) {
    json j = base();
    j["config"]["iova_bits"] = bits;
    Scenario sc = parse(j);
    EXPECT_EQ(sc.config.geo.levels, levels) << bits;
    EXPECT_EQ(sc.config.geo.iova_bits(), bits);
  }
  json g = base();
  g["config"]["geometry"] = {{"page_shift", 12}, {"level_bits", 2}, {"levels", 3}};
  Scenario sc = parse(g);
  EXPECT_EQ(sc.config.geo.level_bits, 2u);
  EXPECT_EQ(sc.config.geo.levels, 3u);
  EXPECT_EQ(sc.config.geo.iova_bits(), 18u);
  // geometry agreeing with iova_bits is fine
  json a = base();
  a["config"]["iova_bits"] = 39;
  a["config"]["geometry"] = {{"page_shift", 12}, {"level_bits", 9}, {"levels", 3}};
  EXPECT_EQ(parse(a).config.geo.levels, 3u);
}

TEST(Loader, ExplicitConfigValues)
{
  json j = base();
  j["config"]["pasid_bits"] = 5;
  j["config"]["did_bits"] = 3;
  j["config"]["completion"] = "in-order";
  j["config"]["domains"][0]["did"] = 7;
  Scenario sc = parse(j);
  EXPECT_EQ(sc.config.pasid_bits, 5u);
  EXPECT_EQ(sc.config.did_bits, 3u);
  EXPECT_EQ(sc.config.completion, Completion::InOrder);
  j["config"]["domains"][0]["did"] = 8;  // wider than 3 bits
  std::string e = error_of(j);
  EXPECT_EQ(e.rfind(kFile + ": error at /config/domains/0/did: ", 0), 0u) << e;
}

// ---------------------------------------------------------------------------------------------
// Invalidate decoding (GAPI-1..4)

enum : unsigned { kIotlb = 1, kDevIotlb = 2, kPasidCache = 4 };
enum : unsigned { kGDomain = 0, kGPasid = 1, kGAddr = 2 };
enum : unsigned { kFPasid = 1, kFArchid = 2, kFLeaf = 4 };

json cache_names(unsigned c)
{
  json a = json::array();
  if (c & kIotlb) a.push_back("IOTLB");
  if (c & kDevIotlb) a.push_back("DEV_IOTLB");
  if (c & kPasidCache) a.push_back("PASID");
  return a;
}

json flag_names(unsigned f)
{
  json a = json::array();
  if (f & kFPasid) a.push_back("PASID");
  if (f & kFArchid) a.push_back("ARCHID");
  if (f & kFLeaf) a.push_back("LEAF");
  return a;
}

/// An invalidate step on domain A (did 1) from device d0.
json inv_step(unsigned cache, unsigned granu, unsigned flags, bool names)
{
  static const char * gname[] = {"DOMAIN", "PASID", "ADDR"};
  json s = {{"op", "invalidate"}, {"domain", "A"}};
  s["cache"] = names ? cache_names(cache) : json(cache);
  s["granularity"] = names ? json(gname[granu]) : json(granu);
  if (cache & kDevIotlb) s["device"] = "d0";
  json f = names ? flag_names(flags) : json(flags);
  if (granu == kGPasid) {
    s["pasid_info"] = {{"flags", f}};
    if (flags & kFPasid) s["pasid_info"]["pasid"] = 5;
    if (flags & kFArchid) s["pasid_info"]["archid"] = 9;
  } else if (granu == kGAddr) {
    s["addr_info"] = {{"flags", f}, {"addr", "0x400000"}, {"granule_size", "0x2000"}, {"nb_granules", 3}};
    if (flags & kFPasid) s["addr_info"]["pasid"] = 5;
    if (flags & kFArchid) s["addr_info"]["archid"] = 9;
  }
  return s;
}

bool gapi2_valid(unsigned cache, unsigned granu)
{
  if ((cache & kDevIotlb) && granu == kGDomain) return false;
  if ((cache & kPasidCache) && granu == kGAddr) return false;
  return true;
}

TEST(LoaderInvalidate, EveryValidCombinationDecodes)
{
  int decoded = 0;
  for (unsigned cache = 1; cache <= 7; ++cache)
    for (unsigned granu = 0; granu <= 2; ++granu) {
      if (!gapi2_valid(cache, granu)) continue;
      std::vector<unsigned> flag_sets = {0};
      if (granu == kGPasid) flag_sets = {kFPasid, kFArchid, kFPasid | kFArchid};
      if (granu == kGAddr) flag_sets = {0, 1, 2, 3, 4, 5, 6, 7};
      for (unsigned flags : flag_sets)
        for (bool names : {true, false}) {
          json st = inv_step(cache, granu, flags, names);
          SCOPED_TRACE(st.dump());
          json j = base();
          j["steps"].push_back(st);
          Scenario sc;
          ASSERT_NO_THROW(sc = parse(j)) << error_of(j);
          const Step & s = sc.steps.at(1);
          const InvPattern & p = s.inv;
          EXPECT_EQ(s.op, Op::Invalidate);
          EXPECT_EQ(s.domain, 0);
          EXPECT_EQ(p.iotlb, (cache & kIotlb) != 0);
          EXPECT_EQ(p.devtlb, (cache & kDevIotlb) != 0);
          EXPECT_EQ(p.pasid_cache, (cache & kPasidCache) != 0);
          // Paging-structure entries go with IOTLB invalidations, except LEAF (MOD-3).
          bool leaf = granu == kGAddr && (flags & kFLeaf);
          EXPECT_EQ(p.psc, (cache & kIotlb) != 0 && !leaf);
          if (cache & kDevIotlb) {
            ASSERT_TRUE(p.device.has_value());
            EXPECT_EQ(*p.device, 0);
          } else {
            EXPECT_FALSE(p.device.has_value());
          }
          switch (granu) {
            case kGDomain:
              EXPECT_EQ(p.did, 1u);  // the domain's own id
              EXPECT_FALSE(p.pasid.has_value());
              EXPECT_FALSE(p.ranged);
              EXPECT_EQ(s.rule, "GAPI-1");
              break;
            case kGPasid:
              EXPECT_EQ(p.pasid, (flags & kFPasid) ? std::optional<u64>(5) : std::nullopt);
              EXPECT_EQ(p.did, (flags & kFArchid) ? std::optional<u64>(9) : std::nullopt);
              EXPECT_FALSE(p.ranged);
              EXPECT_EQ(s.rule, "GAPI-4");
              break;
            case kGAddr:
              EXPECT_EQ(p.pasid, (flags & kFPasid) ? std::optional<u64>(5) : std::nullopt);
              EXPECT_EQ(p.did, (flags & kFArchid) ? std::optional<u64>(9) : std::nullopt);
              EXPECT_TRUE(p.ranged);
              EXPECT_EQ(p.addr, 0x400000u);
              EXPECT_EQ(p.size, 0x6000u);  // granule_size * nb_granules
              EXPECT_EQ(s.rule, "GAPI-3");
              break;
          }
          ++decoded;
        }
    }
  // 7 caches x 3 granularities minus forbidden: DOMAIN 3 valid (1,4,5), PASID 7, ADDR 3 (1,2,3).
  EXPECT_EQ(decoded, 2 * (3 * 1 + 7 * 3 + 3 * 8));
}

TEST(LoaderInvalidate, NamesAndIntegersDecodeAlike)
{
  for (unsigned cache = 1; cache <= 7; ++cache)
    for (unsigned granu = 0; granu <= 2; ++granu) {
      if (!gapi2_valid(cache, granu)) continue;
      unsigned flags = granu == kGPasid ? unsigned{kFPasid | kFArchid} : granu == kGAddr ? 7u : 0u;
      json a = base(), b = base();
      a["steps"].push_back(inv_step(cache, granu, flags, true));
      b["steps"].push_back(inv_step(cache, granu, flags, false));
      EXPECT_EQ(dump(parse(a)), dump(parse(b))) << cache << " " << granu;
    }
}

TEST(LoaderInvalidate, ForbiddenCombinationsNameThePointer)
{
  int forbidden = 0;
  for (unsigned cache = 1; cache <= 7; ++cache)
    for (unsigned granu = 0; granu <= 2; ++granu) {
      if (gapi2_valid(cache, granu)) continue;
      for (bool names : {true, false}) {
        json j = base();
        j["steps"].push_back(inv_step(cache, granu, granu == kGAddr ? unsigned{kFArchid} : 0u, names));
        std::string e = error_of(j);
        EXPECT_EQ(e.rfind(kFile + ": error at /steps/1/granularity: ", 0), 0u) << e;
        EXPECT_NE(e.find("GAPI-2"), std::string::npos) << e;
        ++forbidden;
      }
    }
  EXPECT_EQ(forbidden, 2 * (4 + 4));  // DEV_IOTLB with DOMAIN (4 sets), PASID cache with ADDR (4)
}

TEST(LoaderInvalidate, MalformedInfoNamesThePointer)
{
  struct Case {
    const char * step;
    const char * pointer;
  };
  std::vector<Case> cases = {
      {R"({"op":"invalidate","domain":"A","cache":[],"granularity":"DOMAIN"})", "/steps/1/cache"},
      {R"({"op":"invalidate","domain":"A","cache":0,"granularity":"DOMAIN"})", "/steps/1/cache"},
      {R"({"op":"invalidate","domain":"A","cache":8,"granularity":"DOMAIN"})", "/steps/1/cache"},
      {R"({"op":"invalidate","domain":"A","cache":["IOTLB","TLB"],"granularity":"DOMAIN"})", "/steps/1/cache/1"},
      {R"({"op":"invalidate","domain":"A","cache":["IOTLB"],"granularity":"RANGE"})", "/steps/1/granularity"},
      {R"({"op":"invalidate","domain":"A","cache":["IOTLB"],"granularity":3})", "/steps/1/granularity"},
      {R"({"op":"invalidate","domain":"A","cache":["IOTLB"]})", "/steps/1/granularity"},
      {R"({"op":"invalidate","cache":["IOTLB"],"granularity":"DOMAIN"})", "/steps/1/domain"},
      {R"({"op":"invalidate","domain":"Z","cache":["IOTLB"],"granularity":"DOMAIN"})", "/steps/1/domain"},
      {R"({"op":"invalidate","domain":"A","cache":["IOTLB"],"granularity":"DOMAIN","version":2})", "/steps/1/version"},
      {R"({"op":"invalidate","domain":"A","cache":["IOTLB"],"granularity":"DOMAIN","pasid_info":{"flags":["PASID"],"pasid":1}})",
       "/steps/1/pasid_info"},
      {R"({"op":"invalidate","domain":"A","cache":["IOTLB"],"granularity":"PASID"})", "/steps/1/pasid_info"},
      {R"({"op":"invalidate","domain":"A","cache":["IOTLB"],"granularity":"PASID","pasid_info":{"flags":[]}})",
       "/steps/1/pasid_info/flags"},
      {R"({"op":"invalidate","domain":"A","cache":["IOTLB"],"granularity":"PASID","pasid_info":{"flags":["LEAF"]}})",
       "/steps/1/pasid_info/flags/0"},
      {R"({"op":"invalidate","domain":"A","cache":["IOTLB"],"granularity":"PASID","pasid_info":{"flags":["PASID"]}})",
       "/steps/1/pasid_info/pasid"},
      {R"({"op":"invalidate","domain":"A","cache":["IOTLB"],"granularity":"PASID","pasid_info":{"flags":["ARCHID"],"archid":1,"pasid":3}})",
       "/steps/1/pasid_info/pasid"},
      {R"({"op":"invalidate","domain":"A","cache":["IOTLB"],"granularity":"PASID","pasid_info":{"flags":["ARCHID"],"archid":65536}})",
       "/steps/1/pasid_info/archid"},
      {R"({"op":"invalidate","domain":"A","cache":["IOTLB"],"granularity":"ADDR"})", "/steps/1/addr_info"},
      {R"({"op":"invalidate","domain":"A","cache":["IOTLB"],"granularity":"ADDR","addr_info":{"flags":[],"addr":0,"granule_size":4096}})",
       "/steps/1/addr_info/nb_granules"},
      {R"({"op":"invalidate","domain":"A","cache":["IOTLB"],"granularity":"ADDR","addr_info":{"flags":[],"addr":0,"granule_size":4096,"nb_granules":0}})",
       "/steps/1/addr_info/nb_granules"},
      {R"({"op":"invalidate","domain":"A","cache":["IOTLB"],"granularity":"ADDR","addr_info":{"flags":[],"addr":0,"granule_size":2048,"nb_granules":1}})",
       "/steps/1/addr_info/granule_size"},
      {R"({"op":"invalidate","domain":"A","cache":["IOTLB"],"granularity":"ADDR","addr_info":{"flags":[],"addr":4096,"granule_size":8192,"nb_granules":1}})",
       "/steps/1/addr_info/addr"},
      {R"({"op":"invalidate","domain":"A","cache":["IOTLB"],"granularity":"ADDR","addr_info":{"flags":8,"addr":0,"granule_size":4096,"nb_granules":1}})",
       "/steps/1/addr_info/flags"},
      {R"({"op":"invalidate","domain":"A","cache":["IOTLB"],"granularity":"ADDR","addr_info":{"flags":[],"addr":"0xffffffffe000","granule_size":4096,"nb_granules":3}})",
       "/steps/1/addr_info/nb_granules"},
      {R"({"op":"invalidate","domain":"A","cache":["IOTLB"],"granularity":"ADDR","addr_info":{"flags":[],"addr":0,"granule_size":4096,"nb_granules":1,"size":1}})",
       "/steps/1/addr_info/size"},
      {R"({"op":"invalidate","domain":"A","cache":["DEV_IOTLB"],"granularity":"PASID","pasid_info":{"flags":["PASID"],"pasid":1}})",
       "/steps/1/device"},
      {R"({"op":"invalidate","domain":"A","device":"dX","cache":["DEV_IOTLB"],"granularity":"PASID","pasid_info":{"flags":["PASID"],"pasid":1}})",
       "/steps/1/device"},
      {R"({"op":"invalidate","domain":"A","cache":["IOTLB"],"granularity":"DOMAIN","extra":1})", "/steps/1/extra"},
  };
  for (const Case & c : cases) {
    SCOPED_TRACE(c.step);
    json j = base();
    j["steps"].push_back(json::parse(c.step));
    std::string e = error_of(j);
    EXPECT_EQ(e.rfind(kFile + ": error at " + std::string(c.pointer) + ": ", 0), 0u) << e;
  }
}

TEST(LoaderInvalidate, PasidFlagUnsetMeansEveryPasid)
{
  json j = base();
  j["steps"].push_back(step(
      R"({"op":"invalidate","domain":"A","cache":["IOTLB"],"granularity":"ADDR","addr_info":{"flags":["ARCHID","LEAF"],"archid":1,"addr":"0x1000","granule_size":4096,"nb_granules":1}})"));
  j["steps"].push_back(step(
      R"({"op":"invalidate","domain":"A","device":"d0","cache":["DEV_IOTLB"],"granularity":"ADDR","addr_info":{"flags":[],"addr":"0x1000","granule_size":4096,"nb_granules":1}})"));
  Scenario sc = parse(j);
  EXPECT_FALSE(sc.steps[1].inv.pasid.has_value());
  EXPECT_EQ(sc.steps[1].inv.did, 1u);
  EXPECT_FALSE(sc.steps[1].inv.psc);
  EXPECT_TRUE(sc.steps[1].inv.iotlb);
  EXPECT_FALSE(sc.steps[2].inv.pasid.has_value());
  EXPECT_FALSE(sc.steps[2].inv.did.has_value());
  EXPECT_EQ(sc.steps[2].inv.device, 0);
}

TEST(LoaderInvalidate, DomainGranularityUsesTheDidAtThatStep)
{
  const char * inv_b = R"({"op":"invalidate","domain":"B","cache":["IOTLB"],"granularity":"DOMAIN"})";
  const char * inv_a = R"({"op":"invalidate","domain":"A","cache":["IOTLB","PASID"],"granularity":"DOMAIN"})";
  // B has no id at the start: an error naming the step's domain.
  {
    json j = base();
    j["steps"].push_back(step(inv_b));
    std::string e = error_of(j);
    EXPECT_EQ(e.rfind(kFile + ": error at /steps/1/domain: ", 0), 0u) << e;
  }
  json j = base();
  j["steps"].push_back(step(R"({"op":"assign_did","domain":"B","did":7})"));  // 1
  j["steps"].push_back(step(inv_b));                                           // 2: did 7
  j["steps"].push_back(step(R"({"op":"assign_did","domain":"B","did":3})"));  // 3
  j["steps"].push_back(step(inv_b));                                           // 4: did 3
  j["steps"].push_back(step(R"({"op":"detach","device":"d0"})"));             // 5
  j["steps"].push_back(step(inv_a));                                           // 6: did 1
  j["steps"].push_back(step(R"({"op":"free_did","domain":"A"})"));            // 7
  j["steps"].push_back(step(R"({"op":"assign_did","domain":"A","did":12})")); // 8
  j["steps"].push_back(step(inv_a));                                           // 9: did 12
  Scenario sc = parse(j);
  EXPECT_EQ(sc.steps[2].inv.did, 7u);
  EXPECT_EQ(sc.steps[4].inv.did, 3u);
  EXPECT_EQ(sc.steps[6].inv.did, 1u);
  EXPECT_EQ(sc.steps[9].inv.did, 12u);
  EXPECT_TRUE(sc.steps[9].inv.pasid_cache);
  EXPECT_EQ(sc.steps[8].did, 12u);
  // Between free_did and assign_did the domain has no id.
  json k = base();
  k["steps"].push_back(step(R"({"op":"detach","device":"d0"})"));
  k["steps"].push_back(step(R"({"op":"free_did","domain":"A"})"));
  k["steps"].push_back(step(inv_a));
  std::string e = error_of(k);
  EXPECT_EQ(e.rfind(kFile + ": error at /steps/3/domain: ", 0), 0u) << e;
  EXPECT_NE(e.find("no domain id"), std::string::npos) << e;
}

TEST(LoaderInvalidate, StepTextNamesTheSelectedCaches)
{
  // The trace line of an invalidation lists its caches, separated by '|' after a space.
  struct Case {
    unsigned cache;
    const char * prefix;
  };
  std::vector<Case> cases = {{kIotlb, "invalidate IOTLB PASID"},
                             {kIotlb | kPasidCache, "invalidate IOTLB|PASID PASID"},
                             {kIotlb | kDevIotlb, "invalidate IOTLB|DEV_IOTLB PASID"},
                             {kIotlb | kDevIotlb | kPasidCache, "invalidate IOTLB|DEV_IOTLB|PASID PASID"}};
  for (const Case & c : cases) {
    json j = base();
    j["steps"].push_back(inv_step(c.cache, kGPasid, kFPasid, true));
    Scenario sc = parse(j);
    EXPECT_EQ(sc.steps[1].text.rfind(c.prefix, 0), 0u) << sc.steps[1].text;
  }
}

// The first cache name follows a space whichever bit it is (DEV_IOTLB or PASID alone too).
TEST(LoaderInvalidate, StepTextOfASingleNonIotlbCache)
{
  json j = base();
  j["steps"].push_back(inv_step(kDevIotlb, kGPasid, kFPasid, true));
  j["steps"].push_back(inv_step(kPasidCache, kGPasid, kFPasid, true));
  j["steps"].push_back(inv_step(kDevIotlb | kPasidCache, kGPasid, kFPasid, true));
  Scenario sc = parse(j);
  EXPECT_EQ(sc.steps[1].text.rfind("invalidate DEV_IOTLB PASID", 0), 0u) << sc.steps[1].text;
  EXPECT_EQ(sc.steps[2].text.rfind("invalidate PASID PASID", 0), 0u) << sc.steps[2].text;
  EXPECT_EQ(sc.steps[3].text.rfind("invalidate DEV_IOTLB|PASID PASID", 0), 0u) << sc.steps[3].text;
}

// ---------------------------------------------------------------------------------------------
// Error messages

TEST(LoaderErrors, PointerFormat)
{
  struct Case {
    std::string what;
    std::function<void(json &)> edit;
    std::string pointer;
  };
  std::vector<Case> cases = {
      {"unknown top-level key", [](json & j) { j["extra"] = 1; }, "/extra"},
      {"missing steps", [](json & j) { j.erase("steps"); }, "/steps"},
      {"steps not an array", [](json & j) { j["steps"] = json::object(); }, "/steps"},
      {"unknown profile", [](json & j) { j["profile"] = "riscv-iommu"; }, "/profile"},
      {"config not an object", [](json & j) { j["config"] = 3; }, "/config"},
      {"pasid_bits 0", [](json & j) { j["config"]["pasid_bits"] = 0; }, "/config/pasid_bits"},
      {"geometry levels 6", [](json & j) { j["config"]["geometry"] = {{"page_shift", 12}, {"level_bits", 1}, {"levels", 6}}; },
       "/config/geometry/levels"},
      {"duplicate domain", [](json & j) { j["config"]["domains"][1]["name"] = "A"; }, "/config/domains/1/name"},
      {"17 devices", [](json & j) { for (int i = 0; i < 16; ++i) j["config"]["devices"].push_back({{"name", "x" + std::to_string(i)}}); },
       "/config/devices"},
      {"step not an object", [](json & j) { j["steps"].push_back(1); }, "/steps/1"},
      {"step without op", [](json & j) { j["steps"].push_back({{"domain", "A"}}); }, "/steps/1/op"},
      {"unknown device", [](json & j) { j["steps"][0]["device"] = "nope"; }, "/steps/0/device"},
      {"bind without pasid", [](json & j) { j["steps"].push_back({{"op", "bind"}, {"device", "d1"}, {"domain", "A"}}); },
       "/steps/1/pasid"},
      {"pasid too wide", [](json & j) { j["steps"][0]["pasid"] = 1u << 20; }, "/steps/0/pasid"},
      {"map size 0", [](json & j) { j["steps"].push_back(step(R"({"op":"map","domain":"A","iova":0,"size":0,"phys":0,"perm":"r"})")); },
       "/steps/1/size"},
      {"map 1025 pages", [](json & j) { j["steps"].push_back(step(R"({"op":"map","domain":"A","iova":0,"size":"0x401000","phys":0,"perm":"r"})")); },
       "/steps/1/size"},
      {"unmap part of a large page",
       [](json & j) {
         j["steps"].push_back(step(R"({"op":"map","domain":"A","iova":0,"size":"0x200000","phys":0,"perm":"r","page_size":"0x200000"})"));
         j["steps"].push_back(step(R"({"op":"unmap","domain":"A","iova":"0x1000","size":"0x1000"})"));
       },
       "/steps/2"},
      {"map under a large page",
       [](json & j) {
         j["steps"].push_back(step(R"({"op":"map","domain":"A","iova":0,"size":"0x200000","phys":0,"perm":"r","page_size":"0x200000"})"));
         j["steps"].push_back(step(R"({"op":"map","domain":"A","iova":"0x1000","size":"0x1000","phys":0,"perm":"r"})"));
       },
       "/steps/2"},
      {"attach a domain without id", [](json & j) { j["steps"].push_back(step(R"({"op":"attach","device":"d1","domain":"B"})")); },
       "/steps/1/domain"},
      {"expect step beyond the end", [](json & j) { j["expect"] = {{"verdict", "violation"}, {"property", "no-stale"}, {"step", 2}}; },
       "/expect/step"},
      {"expect bad property", [](json & j) { j["expect"] = {{"verdict", "violation"}, {"property", "no-leak"}}; },
       "/expect/property"},
      {"too many steps", [](json & j) { for (std::size_t i = 0; i < kMaxSteps; ++i) j["steps"].push_back({{"op", "check"}}); }, "/steps"},
      // AMD-PT-1: only a format that skips levels takes skip_levels (generic's does not).
      {"skip_levels on generic", [](json & j) { j["config"]["domains"][1]["skip_levels"] = {2}; },
       "/config/domains/1/skip_levels"},
      {"skip the root level", [](json & j) { j["config"]["domains"][0]["skip_levels"] = {4}; },
       "/config/domains/0/skip_levels/0"},
      {"skip level 1", [](json & j) { j["config"]["domains"][0]["skip_levels"] = {1}; },
       "/config/domains/0/skip_levels/0"},
      {"skip a level twice", [](json & j) { j["config"]["domains"][0]["skip_levels"] = {2, 2}; },
       "/config/domains/0/skip_levels/1"},
      {"skip_levels not an array", [](json & j) { j["config"]["domains"][0]["skip_levels"] = 2; },
       "/config/domains/0/skip_levels"},
  };
  for (const Case & c : cases) {
    SCOPED_TRACE(c.what);
    json j = base();
    c.edit(j);
    std::string e = error_of(j);
    EXPECT_EQ(e.rfind(kFile + ": error at " + c.pointer + ": ", 0), 0u) << e;
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;  // one line
    EXPECT_GT(e.size(), kFile.size() + 12 + c.pointer.size()) << "no message after the pointer: " << e;
  }
  // Exactly at the step limit is fine.
  json ok = base();
  for (std::size_t i = 0; i + 1 < kMaxSteps; ++i) ok["steps"].push_back({{"op", "check"}});
  EXPECT_EQ(error_of(ok), "");
}

TEST(LoaderErrors, SyntaxErrorLineAndColumn)
{
  // Line 3, column 14 holds the stray ','.
  std::string text = "{\n  \"name\": \"x\",\n  \"profile\": ,\n  \"config\": {}\n}\n";
  ASSERT_EQ(text.substr(text.find("\"profile\"") + 11, 1), ",");
  std::string e = error_text(text);
  EXPECT_EQ(e.rfind(kFile + ":3:14: error: ", 0), 0u) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos) << e;

  // An invalid literal at the start of line 3 (after a tab on line 2).
  std::string t2 = "{\n\t\"name\": \"x\",\nnope\n}";
  std::string e2 = error_text(t2);
  EXPECT_EQ(e2.rfind(kFile + ":3:", 0), 0u) << e2;

  // Trailing garbage after the object, on line 3.
  std::string t3 = "{\n}\n  x";
  std::string e3 = error_text(t3);
  EXPECT_EQ(e3.rfind(kFile + ":3:3: error: ", 0), 0u) << e3;

  // A syntax error on line 1 (a multi-character token: the position is the one the JSON
  // parser reports, at the token's last character).
  std::string e4 = error_text("{\"name\" \"x\"}");
  EXPECT_EQ(e4.rfind(kFile + ":1:11: error: ", 0), 0u) << e4;

  // The file:line:col prefix agrees with the parser's own position on every line.
  for (const std::string & t : {text, t3, std::string("{\n\n\n   \"a\": [1,\n 2,,3]}")}) {
    std::string m = error_text(t);
    std::smatch g;
    ASSERT_TRUE(std::regex_search(m, g, std::regex(R"(^inline\.json:([0-9]+):([0-9]+): error: .*line ([0-9]+), column ([0-9]+))")))
        << m;
    EXPECT_EQ(g[1], g[3]) << m;
    EXPECT_EQ(g[2], g[4]) << m;
  }
}

TEST(LoaderErrors, WholeFileErrors)
{
  EXPECT_EQ(error_text(""), kFile + ":1:1: error: empty file (expected a JSON object)");
  EXPECT_EQ(error_text(" \n\t"), kFile + ":1:1: error: empty file (expected a JSON object)");
  std::string arr = error_text("[1, 2]");
  EXPECT_EQ(arr.rfind(kFile + ": error at /: ", 0), 0u) << arr;
  std::string big = error_text(std::string(kMaxScenarioBytes + 1, ' '));
  EXPECT_EQ(big.rfind(kFile + ": error: ", 0), 0u) << big;
  EXPECT_NE(big.find("larger than 4 MiB"), std::string::npos) << big;
  // Nesting: the depth check names where the 33rd level opens.
  std::string deep = "{\n\"name\": " + std::string(40, '[') + std::string(40, ']') + "}";
  std::string d = error_text(deep);
  EXPECT_EQ(d.rfind(kFile + ":2:", 0), 0u) << d;
  EXPECT_NE(d.find("nested"), std::string::npos) << d;
  // Brackets inside strings do not count.
  json j = base();
  j["description"] = std::string(100, '[') + "\\\"" + std::string(100, '{');
  EXPECT_EQ(error_of(j), "");
}

TEST(LoaderErrors, LoadScenarioMissingFile)
{
  try {
    load_scenario("/nonexistent/dir/x.json");
    FAIL() << "no error";
  } catch (const LoadError & e) {
    EXPECT_EQ(std::string(e.what()).rfind("/nonexistent/dir/x.json: error: ", 0), 0u) << e.what();
  }
}

}  // namespace
