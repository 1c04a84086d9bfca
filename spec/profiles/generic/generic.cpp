// The `generic` profile: Linux's cache-invalidate uapi, struct iommu_cache_invalidate_info
// (include/uapi/linux/iommu.h, v5.3-v5.15), rules GAPI-1..4 of ../reference/rules.md.
#include <cstdio>

#include "spec/model/format.h"
#include "spec/model/errors.h"
#include "spec/profiles/api/json_fields.h"
#include "spec/profiles/api/profile.h"

namespace nostale {

namespace {

using json = nlohmann::json;
using namespace json_fields;

enum Cache : unsigned { kIotlb = 1, kDevIotlb = 2, kPasid = 4 };         // GAPI-1
enum Granu : unsigned { kDomain = 0, kGranuPasid = 1, kAddr = 2 };        // GAPI-1
enum Flags : unsigned { kFlagPasid = 1, kFlagArchid = 2, kFlagLeaf = 4 }; // GAPI-3/4

class Generic final : public Profile {
 public:
  std::string_view id() const override { return "generic"; }
  std::vector<std::string> ops() const override { return {"invalidate"}; }

  /// The caches of the uapi (GAPI-1: IOTLB, DEV_IOTLB, PASID) and the paging-structure caches
  /// its LEAF flag spares (MOD-3). The PASID-table entry it binds is the guest's VT-d one (the
  /// 2017 uapi passed guest PASID tables through, ../shared/seed/), with the same chunks.
  hw::Description hardware(const Config & cfg) const override
  {
    using hw::Holds;
    using hw::RecordField;
    hw::Description d;
    d.profile = "generic";
    d.tags = {{"device", 8}, {"archid", cfg.did_bits}, {"pasid", cfg.pasid_bits}};
    d.domain_tags = {"archid"};
    d.chain = {{"PASID-table entry", {"device", "pasid"},
                {{RecordField::Present, RecordField::Type, RecordField::SecondStagePtr, RecordField::Dirty},
                 {RecordField::Domain},
                 {RecordField::FirstStagePtr}}}};
    d.caches = {{"PASID-cache", Holds::Record, 0, {"device", "pasid", "archid"}, false, false},
                {"paging-structure-cache", Holds::Pointer, -1, {"archid", "pasid"}, true, false},
                {"IOTLB", Holds::Leaf, -1, {"archid", "pasid"}, false, false},
                {"device-TLB", Holds::Device, -1, {"device", "pasid"}, false, false}};
    d.format = {cfg.geo.page_shift, cfg.geo.level_bits, cfg.geo.levels, 0b1110, false, false};
    d.features = {false, false, false, false, false};  // the uapi's host IOMMU walks coherently
    return d;
  }

  void decode(const json & j, const std::string & path, const DecodeContext & ctx,
              Step & out) const override
  {
    const Config & cfg = ctx.config;
    only_keys(j, path, {"op", "note", "domain", "device", "version", "cache", "granularity",
                        "pasid_info", "addr_info"});
    if (j.contains("version") && get_u64(j["version"], path + "/version") != 1)
      throw ScenarioError(path + "/version", "only version 1 of iommu_cache_invalidate_info exists");
    out.op = Op::Invalidate;
    out.domain = ctx.domain(need(j, path, "domain"), path + "/domain");

    unsigned cache = get_flags(need(j, path, "cache"), path + "/cache", {"IOTLB", "DEV_IOTLB", "PASID"});
    if (cache == 0) throw ScenarioError(path + "/cache", "no cache selected");
    const json & gj = need(j, path, "granularity");
    unsigned granu = 0;
    if (gj.is_string()) {
      std::string g = gj.get<std::string>();
      if (g == "DOMAIN") granu = kDomain;
      else if (g == "PASID") granu = kGranuPasid;
      else if (g == "ADDR") granu = kAddr;
      else throw ScenarioError(path + "/granularity", "unknown granularity '" + g + "' (DOMAIN, PASID, ADDR)");
    } else {
      u64 g = get_u64(gj, path + "/granularity");
      if (g > 2) throw ScenarioError(path + "/granularity", "granularity must be 0 (DOMAIN), 1 (PASID) or 2 (ADDR)");
      granu = static_cast<unsigned>(g);
    }
    static const char * gname[] = {"DOMAIN", "PASID", "ADDR"};

    // GAPI-2: DEV_IOTLB supports PASID and ADDR; IOTLB all three; PASID cache DOMAIN and PASID.
    if ((cache & kDevIotlb) && granu == kDomain)
      throw ScenarioError(path + "/granularity", "DEV_IOTLB cannot be invalidated at DOMAIN granularity (GAPI-2)");
    if ((cache & kPasid) && granu == kAddr)
      throw ScenarioError(path + "/granularity", "the PASID cache cannot be invalidated at ADDR granularity (GAPI-2)");

    InvPattern & p = out.inv;
    p.iotlb = cache & kIotlb;
    p.devtlb = cache & kDevIotlb;
    p.pasid_cache = cache & kPasid;
    p.psc = p.iotlb;
    if (p.devtlb) {
      if (!j.contains("device"))
        throw ScenarioError(path + "/device", "DEV_IOTLB needs the device the call is made on");
      p.device = ctx.device(j["device"], path + "/device");
    } else if (j.contains("device")) {
      out.device = ctx.device(j["device"], path + "/device");
    }
    if (p.device) out.device = *p.device;

    std::string text = "invalidate";
    static const char * cname[] = {"IOTLB", "DEV_IOTLB", "PASID"};
    for (unsigned b = 0, first = 1; b < 3; ++b)
      if (cache & (1u << b)) {
        text += std::string(first ? " " : "|") + cname[b];
        first = 0;
      }
    text += std::string(" ") + gname[granu];

    auto id_field = [&](const json & info, const std::string & ipath, unsigned flags, const char * key,
                        unsigned flag, unsigned bits) -> std::optional<u64> {
      if (!(flags & flag)) {
        if (info.contains(key))
          throw ScenarioError(ipath + "/" + key, std::string("'") + key + "' given but its flag is not set");
        return std::nullopt;
      }
      u64 v = get_u64(need(info, ipath, key), ipath + "/" + key);
      if (bits < 64 && v >= (u64{1} << bits))
        throw ScenarioError(ipath + "/" + key, std::string(key) + " " + std::to_string(v) + " is wider than " +
                                                   std::to_string(bits) + " bits");
      return v;
    };

    if (granu == kDomain) {
      for (const char * k : {"pasid_info", "addr_info"})
        if (j.contains(k)) throw ScenarioError(path + "/" + k, "DOMAIN granularity takes no pasid_info / addr_info");
      p.did = ctx.did_of(out.domain);
      if (!p.did) throw ScenarioError(path + "/domain", "the domain has no domain id at this step");
      text += " did=" + std::to_string(*p.did);
      out.rule = "GAPI-1";
    } else if (granu == kGranuPasid) {
      if (j.contains("addr_info")) throw ScenarioError(path + "/addr_info", "PASID granularity takes pasid_info");
      std::string ip = path + "/pasid_info";
      const json & info = need(j, path, "pasid_info");
      only_keys(info, ip, {"flags", "pasid", "archid"});
      unsigned flags = get_flags(need(info, ip, "flags"), ip + "/flags", {"PASID", "ARCHID"});
      if (flags == 0) throw ScenarioError(ip + "/flags", "pasid_info needs PASID or ARCHID (GAPI-4)");
      p.pasid = id_field(info, ip, flags, "pasid", kFlagPasid, cfg.pasid_bits);
      p.did = id_field(info, ip, flags, "archid", kFlagArchid, cfg.did_bits);
      out.rule = "GAPI-4";
    } else {
      if (j.contains("pasid_info")) throw ScenarioError(path + "/pasid_info", "ADDR granularity takes addr_info");
      std::string ip = path + "/addr_info";
      const json & info = need(j, path, "addr_info");
      only_keys(info, ip, {"flags", "pasid", "archid", "addr", "granule_size", "nb_granules"});
      unsigned flags = get_flags(need(info, ip, "flags"), ip + "/flags", {"PASID", "ARCHID", "LEAF"});
      p.pasid = id_field(info, ip, flags, "pasid", kFlagPasid, cfg.pasid_bits);
      p.did = id_field(info, ip, flags, "archid", kFlagArchid, cfg.did_bits);
      if (flags & kFlagLeaf) p.psc = false;  // MOD-3: leaf-only keeps paging-structure entries
      u64 addr = get_u64(need(info, ip, "addr"), ip + "/addr");
      u64 gs = get_u64(need(info, ip, "granule_size"), ip + "/granule_size");
      u64 nb = get_u64(need(info, ip, "nb_granules"), ip + "/nb_granules");
      if (gs < (u64{1} << cfg.geo.page_shift) || (gs & (gs - 1)))
        throw ScenarioError(ip + "/granule_size", "granule_size must be a power of two of at least one page");
      if (nb == 0) throw ScenarioError(ip + "/nb_granules", "nb_granules must be at least 1");
      if (addr % gs) throw ScenarioError(ip + "/addr", "addr " + hex(addr) + " is not aligned to granule_size");
      u64 limit = u64{1} << cfg.geo.iova_bits();
      if (addr >= limit || gs > limit || nb > limit / gs || addr > limit - gs * nb)
        throw ScenarioError(ip + "/nb_granules", "the range goes beyond the " +
                                                     std::to_string(cfg.geo.iova_bits()) + "-bit IOVA space");
      p.ranged = true;
      p.addr = addr;
      p.size = gs * nb;
      text += " addr=" + hex(addr) + " size=" + hex(p.size);
      if (flags & kFlagLeaf) text += " LEAF";
      out.rule = "GAPI-3";
    }
    if (p.pasid) text += " pasid=" + std::to_string(*p.pasid);
    if (p.did && granu != kDomain) text += " archid=" + std::to_string(*p.did);
    if (p.device) text += " dev=" + cfg.devices[static_cast<std::size_t>(*p.device)].name;
    out.text = text;
  }
};

}  // namespace

const Profile & generic_profile()
{
  static const Generic g;
  return g;
}

}  // namespace nostale
