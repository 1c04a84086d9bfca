// `toy`: a test-only profile (issue 8, "extensibility shown, not claimed"). It is no real
// hardware, but it is built from what Arm SMMUv3 and AMD-Vi need and VT-d does not have:
//  - two domain tags on one entry: every TLB and walk-cache entry carries an ASID and a VMID,
//    packed into the domain tag (ASID low, VMID high; a domain's "did" is asid + (vmid << A),
//    A = did_bits / 2), and invalidations filter either or both (SMMUv3 CMD_TLBI_NH_ASID,
//    CMD_TLBI_S12_VMALL, CMD_TLBI_NH_VAA);
//  - a level hint on ranged invalidations (SMMUv3 TTL);
//  - another configuration chain: a stream table entry above a two-word context descriptor,
//    cached in an STE cache and a CD cache (SMMUv3 CMD_CFGI_STE / CMD_CFGI_CD);
//  - page tables that may skip levels (AMD-Vi NextLevel), as the format declares;
//  - a variant without a walk cache.
// It lives in tests/, registers itself with register_profile, and no file of spec/ names it.
#include "spec/model/errors.h"
#include "spec/model/format.h"
#include "spec/profiles/api/json_fields.h"
#include "spec/profiles/api/profile.h"

namespace nostale {
namespace {

using json = nlohmann::json;
using namespace json_fields;

constexpr const char * kNoWalkCache = "no_walk_cache";

unsigned asid_bits(const Config & cfg) { return cfg.did_bits / 2; }

hw::Description describe(const Config & cfg, bool walk_cache)
{
  using hw::Holds;
  using hw::RecordField;
  hw::Description d;
  d.profile = "toy";
  const unsigned a = asid_bits(cfg);
  d.tags = {{"sid", 8}, {"asid", a}, {"vmid", cfg.did_bits - a}, {"ssid", cfg.pasid_bits}};
  d.domain_tags = {"asid", "vmid"};
  d.device_tag = "sid";
  d.pasid_tag = "ssid";
  // STE (per stream) -> CD (per stream and substream), the CD read as two words: the word with
  // V and the ASID/VMID, and the word with the table pointers and the stage.
  d.chain = {{"STE", {"device"}, {{RecordField::Present}}},
             {"CD", {"device", "pasid"},
              {{RecordField::Present, RecordField::Domain},
               {RecordField::Type, RecordField::FirstStagePtr, RecordField::SecondStagePtr, RecordField::Dirty}}}};
  d.caches.push_back({"STE cache", Holds::Record, 0, {"sid"}, false, false});
  d.caches.push_back({"CD cache", Holds::Record, 1, {"sid", "ssid", "asid", "vmid"}, false, false});
  if (walk_cache) d.caches.push_back({"walk cache", Holds::Pointer, -1, {"asid", "vmid", "ssid"}, true, false});
  d.caches.push_back({"TLB", Holds::Leaf, -1, {"asid", "vmid", "ssid"}, false, false});
  d.caches.push_back({"ATC", Holds::Device, -1, {"sid", "ssid"}, false, false});
  d.record_types = (1u << kPgttFirst) | (1u << kPgttSecond);
  d.format = {cfg.geo.page_shift, cfg.geo.level_bits, cfg.geo.levels, 0b1110, true, false};
  d.features.level_hint = true;
  return d;
}

class Toy final : public Profile {
 public:
  std::string_view id() const override { return "toy"; }
  std::vector<std::string> ops() const override { return {"tlbi", "cfgi", "atc_inv"}; }

  void decode_caps(const json & j, const std::string & path, Config & cfg) const override
  {
    only_keys(j, path, {"walk_cache"});
    cfg.caps[kNoWalkCache] = !get_bool(j, path, "walk_cache", true);
  }

  hw::Description hardware(const Config & cfg) const override
  {
    auto it = cfg.caps.find(kNoWalkCache);
    return describe(cfg, it == cfg.caps.end() || !it->second);
  }

  std::vector<hw::Description> variants(const Config & cfg) const override
  {
    return {describe(cfg, true), describe(cfg, false)};
  }

  unsigned decode_record_type(const json * j, const std::string & path, const Config &, u64) const override
  {
    if (!j) return kPgttFirst;
    std::string v = get_string(*j, path);
    if (v == "s1") return kPgttFirst;
    if (v == "s2") return kPgttSecond;
    throw ScenarioError(path, "the toy CD's stage is \"s1\" or \"s2\"");
  }

  void decode(const json & j, const std::string & path, const DecodeContext & ctx, Step & out) const override
  {
    const std::string op = get_string(need(j, path, "op"), path + "/op");
    out.op = Op::Invalidate;
    if (op == "tlbi") return tlbi(j, path, ctx, out);
    if (op == "cfgi") return cfgi(j, path, ctx, out);
    atc_inv(j, path, ctx, out);
  }

 private:
  static u64 field(const json & j, const std::string & path, const char * key, unsigned bits)
  {
    u64 v = get_u64(need(j, path, key), path + "/" + key);
    if (bits < 64 && v >= (u64{1} << bits))
      throw ScenarioError(path + "/" + key, std::string(key) + " is wider than " + std::to_string(bits) + " bits");
    return v;
  }

  /// addr, pages: an address range of 4 KiB pages inside the address space.
  static void range(const json & j, const std::string & path, const Config & cfg, InvPattern & p)
  {
    p.ranged = true;
    p.addr = get_u64(need(j, path, "addr"), path + "/addr");
    const u64 pages = j.contains("pages") ? get_u64(j["pages"], path + "/pages") : 1;
    const u64 pg = u64{1} << cfg.geo.page_shift, limit = u64{1} << cfg.geo.iova_bits();
    if (p.addr % pg) throw ScenarioError(path + "/addr", "addr " + hex(p.addr) + " is not page aligned");
    if (pages == 0 || p.addr >= limit || pages > (limit - p.addr) / pg)
      throw ScenarioError(path + "/pages", "the range goes beyond the address space");
    p.size = pages * pg;
  }

  /// CMD_TLBI_*: scope "all", "vmid" (every ASID of a VMID), "asid" (an ASID of a VMID), "va"
  /// (a range of an ASID), "vaa" (a range of every ASID of a VMID). "va"/"vaa" may say "leaf"
  /// (walk-cache entries kept) and "ttl" (the level of the entries meant).
  void tlbi(const json & j, const std::string & path, const DecodeContext & ctx, Step & out) const
  {
    const Config & cfg = ctx.config;
    only_keys(j, path, {"op", "note", "scope", "asid", "vmid", "addr", "pages", "leaf", "ttl"});
    const std::string scope = get_string(need(j, path, "scope"), path + "/scope");
    InvPattern & p = out.inv;
    p.iotlb = p.psc = true;
    const unsigned a = asid_bits(cfg), v = cfg.did_bits - a;
    const u64 vmid_mask = ((u64{1} << v) - 1) << a;
    auto vmid = [&] { return field(j, path, "vmid", v) << a; };
    if (scope == "all") {
      out.text = "tlbi all";
    } else if (scope == "vmid" || scope == "vaa") {
      p.did = vmid();
      p.did_mask = vmid_mask;
      out.text = "tlbi " + scope + " vmid=" + std::to_string(*p.did >> a);
    } else if (scope == "asid" || scope == "va") {
      p.did = vmid() | field(j, path, "asid", a);
      out.text = "tlbi " + scope + " asid=" + std::to_string(*p.did & ((u64{1} << a) - 1)) +
                 " vmid=" + std::to_string(*p.did >> a);
    } else {
      throw ScenarioError(path + "/scope", "scope is \"all\", \"vmid\", \"asid\", \"va\" or \"vaa\"");
    }
    if (scope == "va" || scope == "vaa") {
      range(j, path, cfg, p);
      out.text += " addr=" + hex(p.addr) + " size=" + hex(p.size);
      if (get_bool(j, path, "leaf", false)) {
        p.psc = false;
        out.text += " leaf";
      }
      if (j.contains("ttl")) {
        p.level = static_cast<unsigned>(field(j, path, "ttl", 3));
        if (*p.level < 1 || *p.level > cfg.geo.levels)
          throw ScenarioError(path + "/ttl", "ttl names a level from 1 to " + std::to_string(cfg.geo.levels));
        out.text += " ttl=" + std::to_string(*p.level);
      }
    } else {
      for (const char * k : {"addr", "pages", "leaf", "ttl"})
        if (j.contains(k)) throw ScenarioError(path + "/" + k, std::string("scope ") + scope + " takes no " + k);
    }
    out.rule = "MOD-1";
  }

  /// CMD_CFGI_STE (the stream's STE), CMD_CFGI_CD (one CD of the stream), CMD_CFGI_CD_ALL.
  void cfgi(const json & j, const std::string & path, const DecodeContext & ctx, Step & out) const
  {
    only_keys(j, path, {"op", "note", "what", "device", "pasid"});
    const std::string what = get_string(need(j, path, "what"), path + "/what");
    InvPattern & p = out.inv;
    p.pc_device = out.device = ctx.device(need(j, path, "device"), path + "/device");
    if (what == "ste") {
      p.context_cache = true;
    } else if (what == "cd") {
      p.pasid_cache = true;
      p.pasid = field(j, path, "pasid", ctx.config.pasid_bits);
    } else if (what == "cd_all") {
      p.pasid_cache = true;
    } else {
      throw ScenarioError(path + "/what", "what is \"ste\", \"cd\" or \"cd_all\"");
    }
    out.text = "cfgi " + what + " dev=" + ctx.config.devices[static_cast<std::size_t>(*p.pc_device)].name +
               (p.pasid ? " ssid=" + std::to_string(*p.pasid) : "");
    out.rule = "MOD-1";
  }

  /// CMD_ATC_INV: the device's ATC for one substream and a range (ATS-3).
  void atc_inv(const json & j, const std::string & path, const DecodeContext & ctx, Step & out) const
  {
    only_keys(j, path, {"op", "note", "device", "pasid", "addr", "pages"});
    InvPattern & p = out.inv;
    p.devtlb = true;
    p.device = out.device = ctx.device(need(j, path, "device"), path + "/device");
    p.pasid = field(j, path, "pasid", ctx.config.pasid_bits);
    range(j, path, ctx.config, p);
    out.text = "atc_inv dev=" + ctx.config.devices[static_cast<std::size_t>(*p.device)].name +
               " ssid=" + std::to_string(*p.pasid) + " addr=" + hex(p.addr) + " size=" + hex(p.size);
    out.rule = "ATS-3";
  }
};

const Toy toy;
[[maybe_unused]] const bool registered = register_profile(toy);

}  // namespace
}  // namespace nostale
