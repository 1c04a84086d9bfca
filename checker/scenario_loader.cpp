#include "spec/model/format.h"
#include "checker/scenario_loader.h"
#include "checker/printable.h"
#include "checker/strict_json.h"
#include "checker/import/import.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include "spec/interp/counterexample.h"
#include "spec/model/errors.h"
#include "spec/model/properties.h"
#include "spec/model/timeline.h"
#include "spec/profiles/api/json_fields.h"
#include "spec/profiles/api/profile.h"

namespace nostale {

namespace {

using json = nlohmann::json;
using namespace json_fields;

/// " pasid N" in a step's text, or nothing where the records have no PASID (VT-d legacy mode).
std::string pasid_text(const Config & c, u64 pasid)
{
  return c.pasid_keyed() ? " pasid " + std::to_string(pasid) : std::string();
}

class Loader {
 public:
  explicit Loader(Scenario & sc) : sc_(sc) {}

  void load(const json & j)
  {
    only_keys(j, "", {"name", "description", "imported", "profile", "config", "steps", "expect"});
    sc_.name = get_string(need(j, "", "name"), "/name");
    if (j.contains("description")) sc_.description = get_string(j["description"], "/description");
    sc_.profile = get_string(need(j, "", "profile"), "/profile");
    profile_ = find_profile(sc_.profile);
    if (!profile_) {
      std::string ids;
      for (const std::string & id : profile_ids()) ids += (ids.empty() ? "" : ", ") + id;
      throw ScenarioError("/profile", "unknown profile '" + sc_.profile + "' (known: " + ids + ")");
    }
    config(need(j, "", "config"), "/config");
    const json & steps = need(j, "", "steps");
    if (!steps.is_array()) throw ScenarioError("/steps", "expected an array of steps");
    if (steps.size() > kMaxSteps)
      throw ScenarioError("/steps", "more than " + std::to_string(kMaxSteps) + " steps");
    for (const Domain & d : sc_.config.domains) dids_.push_back(d.did);
    // Whether traces print canonical IOVAs is known before any step's text is written.
    for (std::size_t i = 0; i < steps.size(); ++i)
      if (steps[i].is_object())
        for (const char * k : {"iova", "addr"})
          if (steps[i].contains(k) && steps[i].contains("op") && steps[i]["op"].is_string() &&
              iova_ops(steps[i]["op"].get<std::string>()))
            try {
              iova(steps[i], "/steps/" + std::to_string(i), k);
            } catch (const ScenarioError &) {
              // reported where the step is read
            }
    for (std::size_t i = 0; i < steps.size(); ++i)
      sc_.steps.push_back(step(steps[i], "/steps/" + std::to_string(i)));
    expect(need(j, "", "expect"), "/expect");
    if (j.contains("imported")) imported(j["imported"], "/imported");
  }

 private:
  /// What `nostale import` records about the trace a scenario came from (Provenance).
  void imported(const json & j, const std::string & path)
  {
    only_keys(j, path, {"from", "format", "assumptions", "caveats", "lines"});
    Provenance p;
    p.from = get_string(need(j, path, "from"), path + "/from");
    p.format = get_string(need(j, path, "format"), path + "/format");
    for (const char * k : {"assumptions", "caveats"})
      if (j.contains(k)) {
        const json & a = j[k];
        if (!a.is_array()) throw ScenarioError(path + "/" + k, "expected an array of strings");
        for (std::size_t i = 0; i < a.size(); ++i)
          (std::string(k) == "caveats" ? p.caveats : p.assumptions)
              .push_back(get_string(a[i], path + "/" + k + "/" + std::to_string(i)));
      }
    const json & lines = need(j, path, "lines");
    if (!lines.is_array() || lines.size() != sc_.steps.size())
      throw ScenarioError(path + "/lines", "expected one trace line number per step (0: added by the importer)");
    for (std::size_t i = 0; i < lines.size(); ++i)
      p.lines.push_back(bounded(lines[i], path + "/lines/" + std::to_string(i), 0, u64{1} << 40));
    sc_.imported = std::move(p);
  }

  Scenario & sc_;
  const Profile * profile_ = nullptr;
  std::vector<std::optional<u64>> dids_;  // each domain's id as the steps go

  u64 bounded(const json & j, const std::string & path, u64 lo, u64 hi)
  {
    u64 v = get_u64(j, path);
    if (v < lo || v > hi)
      throw ScenarioError(path, std::to_string(v) + " is out of range [" + std::to_string(lo) + ", " +
                                    std::to_string(hi) + "]");
    return v;
  }

  std::string name(const json & j, const std::string & path)
  {
    std::string n = get_string(j, path);
    if (n.empty() || n.size() > 64) throw ScenarioError(path, "names are 1 to 64 characters");
    return n;
  }

  /// The index of the name at `j` in `names`, declared on first use (at most kMaxPasidTables);
  /// `what` names the kind in the error.
  unsigned declared(std::vector<std::string> & names, const json & j, const std::string & path, const char * what)
  {
    const std::string n = name(j, path);
    for (std::size_t i = 0; i < names.size(); ++i)
      if (names[i] == n) return static_cast<unsigned>(i);
    if (names.size() >= kMaxPasidTables)
      throw ScenarioError(path, "at most " + std::to_string(kMaxPasidTables) + " " + what + " names");
    names.push_back(n);
    return static_cast<unsigned>(names.size() - 1);
  }

  /// The index of PASID table `n` (Config::pasid_tables), declared on first use: each device
  /// has its own table of each name (VTD-CTX-1).
  unsigned pasid_table(Config & c, const json & j, const std::string & path)
  {
    return declared(c.pasid_tables, j, path, "PASID table");
  }

  /// The index of root table `n` (Config::roots), declared on first use (VTD-ROOT-1).
  unsigned root_table(Config & c, const json & j, const std::string & path)
  {
    return declared(c.roots, j, path, "root table");
  }

  void config(const json & j, const std::string & path)
  {
    Config & c = sc_.config;
    only_keys(j, path, {"iova_bits", "geometry", "pasid_bits", "did_bits", "completion", "devices",
                        "domains", "pt_pool", "caps"});
    if (j.contains("iova_bits")) {
      u64 b = get_u64(j["iova_bits"], path + "/iova_bits");
      if (b != 39 && b != 48 && b != 57)
        throw ScenarioError(path + "/iova_bits", "iova_bits must be 39, 48 or 57 (3, 4 or 5 levels)");
      c.geo.levels = static_cast<unsigned>((b - 12) / 9);
    }
    if (j.contains("geometry")) {
      std::string gp = path + "/geometry";
      const json & g = j["geometry"];
      only_keys(g, gp, {"page_shift", "level_bits", "levels"});
      c.geo.page_shift = static_cast<unsigned>(bounded(need(g, gp, "page_shift"), gp + "/page_shift", 12, 12));
      c.geo.level_bits = static_cast<unsigned>(bounded(need(g, gp, "level_bits"), gp + "/level_bits", 1, 9));
      c.geo.levels = static_cast<unsigned>(bounded(need(g, gp, "levels"), gp + "/levels", 2, 5));
      if (j.contains("iova_bits") && c.geo.iova_bits() != get_u64(j["iova_bits"], path + "/iova_bits"))
        throw ScenarioError(gp, "geometry disagrees with iova_bits");
    }
    if (j.contains("pasid_bits")) c.pasid_bits = static_cast<unsigned>(bounded(j["pasid_bits"], path + "/pasid_bits", 1, 20));
    if (j.contains("did_bits")) c.did_bits = static_cast<unsigned>(bounded(j["did_bits"], path + "/did_bits", 1, 16));
    if (j.contains("completion")) {
      std::string m = get_string(j["completion"], path + "/completion");
      if (m == "any-order") c.completion = Completion::AnyOrder;
      else if (m == "in-order") c.completion = Completion::InOrder;
      else throw ScenarioError(path + "/completion", "completion must be \"any-order\" or \"in-order\"");
    }
    if (j.contains("pt_pool")) {
      c.pt_pool = get_u64(j["pt_pool"], path + "/pt_pool");
      if (c.pt_pool % 4096 || c.pt_pool >= (u64{1} << 62))
        throw ScenarioError(path + "/pt_pool", "pt_pool must be page aligned and below 2^62");
    }
    std::map<std::string, int> seen;
    const json & devs = need(j, path, "devices");
    if (!devs.is_array() || devs.empty() || devs.size() > 16)
      throw ScenarioError(path + "/devices", "expected an array of 1 to 16 devices");
    for (std::size_t i = 0; i < devs.size(); ++i) {
      std::string p = path + "/devices/" + std::to_string(i);
      only_keys(devs[i], p, {"name", "ats", "pri", "sid", "context", "pasid_table"});
      Device d{name(need(devs[i], p, "name"), p + "/name"), get_bool(devs[i], p, "ats", false),
               get_bool(devs[i], p, "pri", false), std::nullopt, get_bool(devs[i], p, "context", true)};
      if (d.pri && !d.ats) throw ScenarioError(p + "/pri", "page requests (PRI) need ATS");
      if (devs[i].contains("pasid_table")) d.pasid_table = pasid_table(c, devs[i]["pasid_table"], p + "/pasid_table");
      if (devs[i].contains("sid")) {
        d.sid = bounded(devs[i]["sid"], p + "/sid", 0, 0xffff);
        for (const Device & o : c.devices)
          if (o.sid == d.sid) throw ScenarioError(p + "/sid", "two devices with requester id " + hex(*d.sid));
      }
      if (seen.count(d.name)) throw ScenarioError(p + "/name", "duplicate device name '" + d.name + "'");
      seen[d.name] = 1;
      c.devices.push_back(d);
    }
    seen.clear();
    const json & doms = need(j, path, "domains");
    if (!doms.is_array() || doms.empty() || doms.size() > 16)
      throw ScenarioError(path + "/domains", "expected an array of 1 to 16 domains");
    for (std::size_t i = 0; i < doms.size(); ++i) {
      std::string p = path + "/domains/" + std::to_string(i);
      only_keys(doms[i], p, {"name", "did", "skip_levels"});
      Domain d{name(need(doms[i], p, "name"), p + "/name"), std::nullopt};
      if (doms[i].contains("did")) d.did = bounded(doms[i]["did"], p + "/did", 0, (u64{1} << c.did_bits) - 1);
      if (doms[i].contains("skip_levels")) d.skip_levels = skip_levels(doms[i]["skip_levels"], p + "/skip_levels", c.geo);
      if (seen.count(d.name)) throw ScenarioError(p + "/name", "duplicate domain name '" + d.name + "'");
      seen[d.name] = 1;
      c.domains.push_back(d);
    }
    // Called without caps too: the profile sets its defaults (e.g. vtd's scalable mode).
    profile_->decode_caps(j.contains("caps") ? j["caps"] : nlohmann::json::object(), path + "/caps", c);
    c.hw = profile_->hardware(c);
    // A profile that declares hardware the engines cannot model is nostale's bug (exit 4).
    NOSTALE_CHECK(unsupported(c.hw).empty(), "the " + sc_.profile + " profile: " + unsupported(c.hw));
    for (std::size_t i = 0; i < c.devices.size(); ++i) {
      if (!c.devices[i].context && !c.context_cache())
        throw ScenarioError(path + "/devices/" + std::to_string(i) + "/context",
                            "context entries above the PASID tables need a profile that has them (vtd in "
                            "scalable mode)");
      if (devs[i].contains("pasid_table") && !c.context_cache())
        throw ScenarioError(path + "/devices/" + std::to_string(i) + "/pasid_table",
                            "a context entry that points to a PASID table needs a profile that has them (vtd in "
                            "scalable mode)");
    }
    profile_->check_config(c, path);
    for (std::size_t i = 0; i < c.domains.size(); ++i)
      if (!c.domains[i].skip_levels.empty() && !c.hw.format.level_skipping)
        throw ScenarioError(path + "/domains/" + std::to_string(i) + "/skip_levels",
                            "the " + sc_.profile + " profile's page tables cannot skip levels (AMD-PT-1)");
  }

  /// Table levels a domain skips (AMD-PT-1): neither the root level nor level 1, each once.
  std::vector<unsigned> skip_levels(const json & j, const std::string & path, const Geometry & geo)
  {
    if (!j.is_array()) throw ScenarioError(path, "expected an array of table levels");
    std::vector<unsigned> out;
    for (std::size_t k = 0; k < j.size(); ++k) {
      const std::string p = path + "/" + std::to_string(k);
      if (geo.levels < 3) throw ScenarioError(p, "a table of " + std::to_string(geo.levels) + " levels has no level to skip");
      unsigned l = static_cast<unsigned>(bounded(j[k], p, 2, geo.levels - 1));
      if (std::find(out.begin(), out.end(), l) != out.end()) throw ScenarioError(p, "level " + std::to_string(l) + " listed twice");
      out.push_back(l);
    }
    return out;
  }

  int lookup(const json & j, const std::string & path, bool device)
  {
    std::string n = get_string(j, path);
    const Config & c = sc_.config;
    std::size_t count = device ? c.devices.size() : c.domains.size();
    for (std::size_t i = 0; i < count; ++i)
      if ((device ? c.devices[i].name : c.domains[i].name) == n) return static_cast<int>(i);
    throw ScenarioError(path, std::string("unknown ") + (device ? "device" : "domain") + " '" + n + "'");
  }

  u64 pasid(const json & j, const std::string & path, const char * key, u64 lo)
  {
    if (!j.contains(key)) {
      if (lo > 0) throw ScenarioError(path + "/" + key, "a PASID >= 1 is required");
      return 0;
    }
    u64 v = get_u64(j[key], path + "/" + key);
    if (v >= (u64{1} << sc_.config.pasid_bits))
      throw ScenarioError(path + "/" + key, "PASID " + std::to_string(v) + " is wider than pasid_bits (" +
                                                std::to_string(sc_.config.pasid_bits) + ")");
    if (v < lo) throw ScenarioError(path + "/" + key, "bind and unbind need a PASID >= 1 (PASID 0 is requests without PASID, PASID-1)");
    return v;
  }

  /// "write": how the PASID-table entry is stored: "present-bit" (P cleared first / set last,
  /// the default) or "whole-entry" (rewritten with several stores while a walk may read it).
  bool write_mode(const json & j, const std::string & path)
  {
    if (!j.contains("write")) return false;
    std::string w = get_string(j["write"], path + "/write");
    if (w == "present-bit") return false;
    if (w == "whole-entry") return true;
    throw ScenarioError(path + "/write", "write must be \"present-bit\" or \"whole-entry\"");
  }

  /// A first-stage privilege bit (map "supervisor": U/S=0; attach "sre": SRE=1; VTD-PRIV-1/2):
  /// only where the hardware declares privilege. Setting one turns privilege on for the
  /// scenario (Config::privilege).
  bool privilege_bit(const json & j, const std::string & path, const char * key)
  {
    if (!get_bool(j, path, key, false)) return false;
    if (!sc_.config.hw.features.privilege)
      throw ScenarioError(path + "/" + key, "this hardware has no first-stage privilege (U/S, SRE)");
    sc_.config.privilege = true;
    return true;
  }

  /// An IOVA (map, unmap, share_table, dma). Where the hardware has first-stage paging (x86
  /// 4- and 5-level, VTD-PRIV-3) an address whose bits above the modelled width all equal its
  /// top bit is canonical: it means the upper half of the modelled space (0xffff888000000000
  /// is 0x888000000000 with 48 bits), and traces then print upper-half IOVAs canonical.
  /// `noncanonical` (dma only): set for an address that is not, which faults; nullptr: such an
  /// address is left for the range checks to reject.
  static bool iova_ops(const std::string & op) { return op == "map" || op == "unmap" || op == "share_table" || op == "dma"; }

  u64 iova(const json & j, const std::string & path, const char * key, bool * noncanonical = nullptr)
  {
    const u64 a = get_u64(need(j, path, key), path + "/" + key);
    const unsigned w = sc_.config.geo.iova_bits();
    if (!sc_.config.hw.features.privilege || w >= 64 || (a >> w) == 0) return a;
    const u64 upper = ~((u64{1} << (w - 1)) - 1);  // bits 63 .. w-1
    if ((a & upper) == upper) {
      sc_.config.canonical = true;
      return a & ((u64{1} << w) - 1);
    }
    if (noncanonical) *noncanonical = true;
    return a;
  }

  /// An address range [addr, addr + size) of whole pages inside the IOVA space.
  void range(const std::string & path, u64 addr, u64 size, u64 align, const char * akey)
  {
    u64 limit = u64{1} << sc_.config.geo.iova_bits();
    if (size == 0 || size % align) throw ScenarioError(path + "/size", "size must be a non-zero multiple of " + hex(align));
    if (addr % align) throw ScenarioError(path + "/" + akey, hex(addr) + " is not aligned to " + hex(align));
    if (addr >= limit || size > limit - addr)
      throw ScenarioError(path + "/size", "range goes beyond the " + std::to_string(sc_.config.geo.iova_bits()) + "-bit IOVA space");
  }

  Step step(const json & j, const std::string & path)
  {
    Step s;
    s.path = path;
    if (!j.is_object()) throw ScenarioError(path, "expected a step object");
    std::string op = get_string(need(j, path, "op"), path + "/op");
    if (j.contains("note")) s.note = get_string(j["note"], path + "/note");
    const Config & c = sc_.config;
    const Geometry & g = c.geo;
    u64 page = u64{1} << g.page_shift;
    auto dom = [&] { return s.domain = lookup(need(j, path, "domain"), path + "/domain", false); };
    auto dev = [&] { return s.device = lookup(need(j, path, "device"), path + "/device", true); };
    auto dname = [&] { return c.domains[static_cast<std::size_t>(s.domain)].name; };
    auto vname = [&] { return c.devices[static_cast<std::size_t>(s.device)].name; };

    if (op == "map") {
      only_keys(j, path, {"op", "note", "domain", "iova", "size", "phys", "perm", "page_size", "supervisor"});
      s.op = Op::Map;
      s.supervisor = privilege_bit(j, path, "supervisor");
      dom();
      s.iova = iova(j, path, "iova");
      s.size = get_u64(need(j, path, "size"), path + "/size");
      s.phys = get_u64(need(j, path, "phys"), path + "/phys");
      s.page_size = get_u64(j, path, "page_size", page);
      bool ok = false;
      for (unsigned l = 1; l <= g.max_leaf_level(); ++l) ok |= g.size(l) == s.page_size;
      if (!ok) throw ScenarioError(path + "/page_size", "page_size must be a leaf size of this geometry (4 KiB, 2 MiB, 1 GiB)");
      range(path, s.iova, s.size, s.page_size, "iova");
      if (s.size / s.page_size > 1024)
        throw ScenarioError(path + "/size", "more than 1024 pages in one map step; use a larger page_size");
      if (s.phys % s.page_size) throw ScenarioError(path + "/phys", hex(s.phys) + " is not aligned to the page size");
      if (s.phys >= (u64{1} << 62) || s.size > (u64{1} << 62) - s.phys)
        throw ScenarioError(path + "/phys", "physical addresses stay below 2^62");
      std::string perm = get_string(need(j, path, "perm"), path + "/perm");
      if (perm == "r") s.perm = kPermRead;
      else if (perm == "w") s.perm = kPermWrite;
      else if (perm == "rw") s.perm = kPermRW;
      else throw ScenarioError(path + "/perm", "perm must be \"r\", \"w\" or \"rw\"");
      s.text = "map " + dname() + " iova " + iova_hex(c, s.iova) + " size " + hex(s.size) + " -> " + hex(s.phys) + " " + perm;
      if (s.page_size != page) s.text += " (page_size " + hex(s.page_size) + ")";
      if (s.supervisor) s.text += " supervisor (U/S=0)";
    } else if (op == "unmap") {
      only_keys(j, path, {"op", "note", "domain", "iova", "size", "free_tables"});
      s.op = Op::Unmap;
      dom();
      s.iova = iova(j, path, "iova");
      s.size = get_u64(need(j, path, "size"), path + "/size");
      s.free_tables = get_bool(j, path, "free_tables", false);
      range(path, s.iova, s.size, page, "iova");
      s.text = "unmap " + dname() + " iova " + iova_hex(c, s.iova) + " size " + hex(s.size) + (s.free_tables ? " (frees emptied table pages)" : "");
    } else if (op == "share_table") {
      // PT-SHARE-1: one table page linked into several address spaces.
      only_keys(j, path, {"op", "note", "domain", "from", "iova", "level"});
      s.op = Op::ShareTable;
      dom();
      s.from = lookup(need(j, path, "from"), path + "/from", false);
      if (s.from == s.domain) throw ScenarioError(path + "/from", "share_table links a table page of another domain");
      for (int d : {s.domain, s.from})
        if (!c.domains[static_cast<std::size_t>(d)].skip_levels.empty())
          throw ScenarioError(path, "share_table is not modelled for domains that skip levels (AMD-PT-1)");
      s.level = static_cast<unsigned>(bounded(need(j, path, "level"), path + "/level", 1, g.levels - 1));
      s.iova = iova(j, path, "iova");
      range(path, s.iova, 1, 1, "iova");  // any address in the entry's span names it
      s.iova &= ~(g.size(s.level + 1) - 1);  // the entry of level + 1 that holds the address
      s.text = "share_table " + dname() + " iova " + iova_hex(c, s.iova) + " level " + std::to_string(s.level) + " -> " +
               c.domains[static_cast<std::size_t>(s.from)].name + "'s level-" + std::to_string(s.level) +
               " table page";
    } else if (op == "free_pgtables") {
      only_keys(j, path, {"op", "note", "domain"});
      s.op = Op::FreePgtables;
      dom();
      s.text = "free_pgtables " + dname() + " (return the freelist's table pages)";
    } else if (op == "free_frame") {
      only_keys(j, path, {"op", "note", "phys", "size"});
      s.op = Op::FreeFrame;
      s.phys = get_u64(need(j, path, "phys"), path + "/phys");
      s.size = get_u64(j, path, "size", page);
      if (s.size == 0 || s.size % page) throw ScenarioError(path + "/size", "size must be a non-zero multiple of the page size");
      if (s.phys % page) throw ScenarioError(path + "/phys", hex(s.phys) + " is not page aligned");
      if (s.phys >= (u64{1} << 62) || s.size > (u64{1} << 62) - s.phys)
        throw ScenarioError(path + "/phys", "physical addresses stay below 2^62");
      s.text = "free_frame " + hex(s.phys) + " size " + hex(s.size);
    } else if (op == "attach" || op == "bind") {
      only_keys(j, path, {"op", "note", "device", "pasid", "domain", "pgtt", "parent", "write", "dirty_tracking", "sre"});
      s.op = Op::ConfigWrite;  // the whole record, made present
      s.cw.sre = privilege_bit(j, path, "sre");
      s.verb = "attach";  // what JSON traces have always called it
      s.cw.present = true;
      s.cw.dirty = get_bool(j, path, "dirty_tracking", false);
      s.cw.torn = write_mode(j, path);
      dev();
      s.pasid = pasid(j, path, "pasid", op == "bind" ? 1 : 0);
      dom();
      auto did = dids_[static_cast<std::size_t>(s.domain)];
      s.cw.type = profile_->decode_record_type(j.contains("pgtt") ? &j["pgtt"] : nullptr, path + "/pgtt", c,
                                        did ? *did : 0);
      s.text = op + " " + vname() + pasid_text(c, s.pasid) + " -> domain " + dname();
      if (s.cw.type == kPgttNested) {
        if (!j.contains("parent"))
          throw ScenarioError(path + "/parent", "a nested entry needs its nesting parent: the second-stage domain");
        s.cw.parent = lookup(j["parent"], path + "/parent", false);
        if (!dids_[static_cast<std::size_t>(s.cw.parent)])
          throw ScenarioError(path + "/parent", "the nesting parent has no domain id");
      } else if (j.contains("parent")) {
        throw ScenarioError(path + "/parent", "parent only goes with pgtt \"nested\"");
      }
      if (s.cw.type == kPgttFirst) s.text += " (first stage)";
      if (s.cw.type == kPgttSecond) s.text += " (second stage)";
      if (s.cw.type == kPgttPassThrough) s.text += " (pass-through)";
      if (s.cw.type == kPgttNested)
        s.text += " (nested over " + c.domains[static_cast<std::size_t>(s.cw.parent)].name + ")";
      if (s.cw.sre) s.text += " SRE";
      if (s.cw.torn) s.text += " [whole entry rewritten while live]";
    } else if (op == "detach" || op == "unbind") {
      only_keys(j, path, {"op", "note", "device", "pasid", "write"});
      s.op = Op::ConfigWrite;  // the record made not present
      s.verb = "detach";  // what JSON traces have always called it
      s.cw.torn = write_mode(j, path);
      dev();
      s.pasid = pasid(j, path, "pasid", op == "unbind" ? 1 : 0);
      s.text = op + " " + vname() + pasid_text(c, s.pasid) +
               (s.cw.torn ? " [whole entry zeroed while present]" : "");
    } else if (op == "free_pasid") {
      only_keys(j, path, {"op", "note", "pasid"});
      s.op = Op::FreePasid;
      if (!j.contains("pasid")) throw ScenarioError(path + "/pasid", "missing required key 'pasid'");
      s.pasid = pasid(j, path, "pasid", 0);
      s.text = "free_pasid " + std::to_string(s.pasid);
    } else if (op == "free_did") {
      only_keys(j, path, {"op", "note", "domain"});
      s.op = Op::FreeDid;
      dom();
      if (!dids_[static_cast<std::size_t>(s.domain)])
        throw ScenarioError(path + "/domain", "the domain has no domain id to free");
      s.text = "free_did " + dname() + " (did " + std::to_string(*dids_[static_cast<std::size_t>(s.domain)]) + ")";
      dids_[static_cast<std::size_t>(s.domain)].reset();
    } else if (op == "assign_did") {
      only_keys(j, path, {"op", "note", "domain", "did"});
      s.op = Op::AssignDid;
      dom();
      s.did = bounded(need(j, path, "did"), path + "/did", 0, (u64{1} << c.did_bits) - 1);
      dids_[static_cast<std::size_t>(s.domain)] = s.did;
      s.text = "assign_did " + dname() + " did " + std::to_string(s.did);
    } else if (op == "dirty_tracking") {
      only_keys(j, path, {"op", "note", "device", "pasid", "enable"});
      s.op = Op::ConfigWrite;  // only the dirty-tracking bit of the live record
      s.verb = "dirty_tracking";  // what JSON traces have always called it
      s.cw.fields = ConfigWrite::Fields::Dirty;
      dev();
      s.pasid = pasid(j, path, "pasid", 0);
      if (!j.contains("enable")) throw ScenarioError(path + "/enable", "missing required key 'enable'");
      s.cw.dirty = get_bool(j, path, "enable", false);
      s.text = std::string("dirty tracking ") + (s.cw.dirty ? "on" : "off") + " for " + vname() + " pasid " +
               std::to_string(s.pasid) + " (SSADE of the live PASID-table entry)";
    } else if (op == "context") {
      only_keys(j, path, {"op", "note", "device", "present", "pasid_table", "root"});
      if (!c.context_cache())
        throw ScenarioError(path + "/op", "context steps need a profile with context entries above the PASID "
                                          "tables (vtd in scalable mode)");
      s.op = Op::ConfigWrite;  // the structure above the PASID-table entries
      s.verb = "context";  // what JSON traces have always called it
      s.cw.depth = 1;
      dev();
      if (!j.contains("present")) throw ScenarioError(path + "/present", "missing required key 'present'");
      s.cw.present = get_bool(j, path, "present", true);
      s.text = "context entry of " + vname() + (s.cw.present ? " set present" : " cleared");
      if (j.contains("pasid_table")) {  // a write of its PASID-directory pointer (VTD-CTX-1)
        if (!s.cw.present)
          throw ScenarioError(path + "/pasid_table", "a cleared context entry points to no PASID table");
        s.cw.table = static_cast<int>(pasid_table(sc_.config, j["pasid_table"], path + "/pasid_table"));
        s.text += " -> PASID table " + sc_.config.pasid_tables[static_cast<std::size_t>(s.cw.table)];
      }
      if (j.contains("root")) {  // the context entry of another root table (VTD-ROOT-1)
        s.cw.root = static_cast<int>(root_table(sc_.config, j["root"], path + "/root"));
        s.text += " in root table " + sc_.config.roots[static_cast<std::size_t>(s.cw.root)];
      }
    } else if (op == "set_root") {
      // iommu_set_root_entry: RTADDR_REG, GCMD.SRTP, wait for GSTS.RTPS (VTD-ROOT-1).
      only_keys(j, path, {"op", "note", "root"});
      if (!c.context_cache())
        throw ScenarioError(path + "/op", "set_root needs a profile with context entries above the PASID tables "
                                          "(vtd in scalable mode)");
      s.op = Op::SetRoot;
      if (!j.contains("root")) throw ScenarioError(path + "/root", "missing required key 'root'");
      s.root = root_table(sc_.config, j["root"], path + "/root");
      s.text = "set_root " + sc_.config.roots[s.root] + " (RTADDR_REG, GCMD.SRTP, wait for GSTS.RTPS)";
      auto es = c.caps.find("esrtps");
      if (es != c.caps.end() && es->second) {
        // CAP.ESRTPS: the SRTP flow invalidates every cache but the device TLB (VTD-ROOT-3).
        s.srtp_invalidates = true;
        s.inv.context_cache = s.inv.pasid_cache = s.inv.iotlb = s.inv.psc = true;
        s.text += ", which invalidates the context cache, PASID cache, IOTLB and paging-structure caches (ESRTPS)";
      }
    } else if (op == "ats") {
      only_keys(j, path, {"op", "note", "device", "enable"});
      s.op = Op::Ats;
      dev();
      if (!c.devices[static_cast<std::size_t>(s.device)].ats)
        throw ScenarioError(path + "/device", "the device has no ATS capability (\"ats\": false): no ATS Enable bit");
      if (!j.contains("enable")) throw ScenarioError(path + "/enable", "missing required key 'enable'");
      s.enable = get_bool(j, path, "enable", true);
      s.text = "ATS of " + vname() + (s.enable ? " enabled" : " disabled") + " (PCIe ATS Enable bit)";
    } else if (op == "clflush") {
      // clflush_cache_range(addr, size): the lines of a range of page-table entries, of one
      // PASID-table or context entry, or (no target) every write so far (VTD-COH-1, VTD-COH-5).
      only_keys(j, path, {"op", "note", "domain", "iova", "size", "level", "device", "pasid", "context", "directory"});
      s.op = Op::Clflush;
      s.text = "clflush (table writes so far reach memory the walker reads)";
      if (j.contains("domain")) {
        for (const char * k : {"device", "pasid", "context", "directory"})
          if (j.contains(k)) throw ScenarioError(path + "/" + k, "a clflush names page-table entries (domain) or an entry of a device, not both");
        s.flush.kind = Flush::Kind::Tables;
        dom();
        s.iova = get_u64(need(j, path, "iova"), path + "/iova");
        s.size = get_u64(need(j, path, "size"), path + "/size");
        range(path, s.iova, s.size, page, "iova");
        if (j.contains("level")) s.flush.level = static_cast<unsigned>(bounded(j["level"], path + "/level", 1, g.levels));
        s.text = "clflush_cache_range: " + dname() + "'s " +
                 (s.flush.level ? "level-" + std::to_string(s.flush.level) + " " : std::string()) +
                 "page-table entries for iova " + hex(s.iova) + " size " + hex(s.size);
      } else if (j.contains("device")) {
        if (j.contains("level")) throw ScenarioError(path + "/level", "level names page-table entries: give a domain");
        s.flush.kind = Flush::Kind::Record;
        dev();
        const bool directory = get_bool(j, path, "directory", false);
        if (directory && j.contains("context")) throw ScenarioError(path + "/context", "a clflush names one entry");
        if (directory) {
          if (!c.context_cache())
            throw ScenarioError(path + "/directory", "a PASID directory needs a profile with context entries above "
                                                     "the PASID tables (vtd in scalable mode)");
          s.flush.kind = Flush::Kind::Directory;
          s.pasid = pasid(j, path, "pasid", 0);
          const u64 first = s.pasid >> kPasidTableShift << kPasidTableShift;
          s.text = "clflush_cache_range: the PASID-directory entry of " + vname() + " for PASIDs " +
                   std::to_string(first) + "-" + std::to_string(first + (u64{1} << kPasidTableShift) - 1);
        } else if (get_bool(j, path, "context", false)) {
          if (j.contains("pasid")) throw ScenarioError(path + "/pasid", "a context entry has no PASID");
          if (!c.context_cache())
            throw ScenarioError(path + "/context", "context entries need a profile with context entries above the "
                                                   "PASID tables (vtd in scalable mode)");
          s.flush.depth = 1;
          s.text = "clflush_cache_range: the context entry of " + vname();
        } else {
          s.pasid = pasid(j, path, "pasid", 0);
          s.text = "clflush_cache_range: the " + c.entry_name() + " of " + vname() + " pasid " + std::to_string(s.pasid);
        }
      } else {
        for (const char * k : {"iova", "size", "level", "pasid", "context", "directory"})
          if (j.contains(k)) throw ScenarioError(path + "/" + k, std::string("a clflush with ") + k + " names a domain or a device");
      }
    } else if (op == "sync" || op == "check") {
      only_keys(j, path, {"op", "note"});
      s.op = op == "sync" ? Op::Sync : Op::Check;
      s.text = op;
    } else if (op == "dma") {
      only_keys(j, path, {"op", "note", "device", "pasid", "addr", "access", "privilege"});
      s.op = Op::Dma;
      dev();
      s.pasid = pasid(j, path, "pasid", 0);
      s.iova = iova(j, path, "addr", &s.noncanonical);
      if (!s.noncanonical && s.iova >= (u64{1} << g.iova_bits()))
        throw ScenarioError(path + "/addr", hex(s.iova) + " is beyond the IOVA width");
      std::string a = get_string(need(j, path, "access"), path + "/access");
      if (a == "read") s.perm = kPermRead;
      else if (a == "write") s.perm = kPermWrite;
      else throw ScenarioError(path + "/access", "access must be \"read\" or \"write\"");
      if (j.contains("privilege")) {
        // VTD-PRIV-1: the request's PR bit (user: PR=0, the default).
        const std::string pr = get_string(j["privilege"], path + "/privilege");
        if (pr != "user" && pr != "supervisor")
          throw ScenarioError(path + "/privilege", "privilege must be \"user\" or \"supervisor\"");
        if (!c.hw.features.privilege)
          throw ScenarioError(path + "/privilege", "this hardware has no request privilege (first-stage U/S, PR)");
        s.supervisor = pr == "supervisor";
        sc_.config.privilege |= s.supervisor;
      }
      s.text = "dma " + vname() + pasid_text(c, s.pasid) + " " + (s.supervisor ? "supervisor " : "") + a + " " +
               iova_hex(c, s.iova) + (s.noncanonical ? " (not canonical: the request faults, nothing is judged)" : "");
    } else {
      bool mine = false;
      for (const std::string & o : profile_->ops()) mine |= o == op;
      if (!mine)
        throw ScenarioError(path + "/op", "unknown op '" + op + "' for profile " + sc_.profile);
      DecodeContext ctx{
          c, [&](const json & n, const std::string & p) { return lookup(n, p, false); },
          [&](const json & n, const std::string & p) { return lookup(n, p, true); },
          [&](u64 sid, const std::string & p) {
            for (std::size_t i = 0; i < c.devices.size(); ++i)
              if (c.devices[i].sid == sid) return static_cast<int>(i);
            throw ScenarioError(p, "no device has requester id " + hex(sid));
          },
          [&](int d) { return dids_.at(static_cast<std::size_t>(d)); }};
      profile_->decode(j, path, ctx, s);
    }
    return s;
  }

  void expect(const json & j, const std::string & path)
  {
    only_keys(j, path, {"verdict", "property", "severity", "step", "rule"});
    Expectation & e = sc_.expect;
    e.verdict = get_string(need(j, path, "verdict"), path + "/verdict");
    if (e.verdict != "safe" && e.verdict != "violation" && e.verdict != "unknown")
      throw ScenarioError(path + "/verdict", "verdict must be safe, violation or unknown");
    if (e.verdict != "violation") {
      for (const char * k : {"property", "severity", "step", "rule"})
        if (j.contains(k)) throw ScenarioError(path + "/" + k, std::string("'") + k + "' only goes with verdict violation");
      return;
    }
    e.property = get_string(need(j, path, "property"), path + "/property");
    const PropertyInfo * prop = find_property(e.property);
    if (!prop) throw ScenarioError(path + "/property", "unknown property '" + e.property + "'");
    if (j.contains("severity")) {
      if (prop->severity_count < 2)
        throw ScenarioError(path + "/severity", "property " + e.property + " has no severity");
      e.severity = get_string(j["severity"], path + "/severity");
      if (query_bit(e.property, e.severity) == kQueryCount) {
        std::string known;
        for (unsigned s = 0; s < prop->severity_count; ++s) known += std::string(s ? " or " : "") + prop->severities[s];
        throw ScenarioError(path + "/severity", "severity must be " + known);
      }
    }
    if (j.contains("step")) e.step = bounded(j["step"], path + "/step", 0, sc_.steps.size());
    if (j.contains("rule")) {
      e.rule = get_string(j["rule"], path + "/rule");
      if (rule_text(e.rule) == e.rule)  // rule_text knows every id a counterexample can name
        throw ScenarioError(path + "/rule", "unknown rule id '" + e.rule + "' (spec/docs/rules.md lists them)");
    }
  }
};

}  // namespace

namespace {

/// The loader's body; its messages may quote names and tokens from the file.
Scenario parse_raw(const std::string & text, const std::string & file, std::size_t max_bytes = kMaxScenarioBytes)
{
  if (text.size() > max_bytes)
    throw LoadError(file + ": error: file is larger than " + std::to_string(kMaxScenarioBytes >> 20) + " MiB");
  if (text.find_first_not_of(" \t\r\n") == std::string::npos)
    throw LoadError(file + ":1:1: error: empty file (expected a JSON object)");
  json j = parse_strict_json(text, file);
  Scenario sc;
  sc.file = file;
  try {
    Loader(sc).load(j);
    build_timeline(sc);  // steps inconsistent with memory are bad input too
  } catch (const ScenarioError & e) {
    throw LoadError(file + ": error at " + e.where() + ": " + e.what());
  } catch (const json::exception & e) {
    throw LoadError(file + ": error: " + e.what());
  }
  return sc;
}

}  // namespace

Scenario parse_scenario(const std::string & text, const std::string & file)
{
  try {
    return parse_raw(text, file);
  } catch (const LoadError & e) {
    // One line, whatever the file quoted into it (a name with a newline, a DEL in a token).
    throw LoadError(printable(e.what()));
  }
}

Scenario load_scenario(const std::string & file)
{
  std::string text;
  try {
    text = read_regular_file(file, kMaxTraceBytes);
    if (std::optional<TraceFormat> f = trace_format(file, text)) return load_trace(file, text, *f);
  } catch (const LoadError & e) {
    throw LoadError(printable(e.what()));
  }
  return parse_scenario(text, file);
}

Scenario load_trace(const std::string & file, const std::string & text, TraceFormat format, const ImportOptions & opt,
                    nlohmann::ordered_json * imported)
{
  nlohmann::ordered_json j = import_trace(file, text, format, opt);
  if (imported) *imported = j;
  const std::vector<std::size_t> lines = j["imported"]["lines"].get<std::vector<std::size_t>>();
  try {
    return parse_raw(j.dump(), file, kMaxTraceBytes * 4);  // the steps are what is bounded
  } catch (const LoadError & e) {
    // The loader names a step of the imported scenario: name the trace line it came from.
    std::string m = e.what();
    const std::string key = ": error at /steps/";
    std::size_t k = m.find(key);
    if (k == std::string::npos) throw;
    std::size_t step = std::stoul(m.substr(k + key.size()));
    std::size_t rest = m.find_first_not_of("0123456789", k + key.size());
    if (step >= lines.size() || lines[step] == 0)
      throw LoadError(printable(m.substr(0, k) + ": error in the scenario the importer wrote, step " +
                                std::to_string(step) + m.substr(rest)));
    throw LoadError(printable(file + ":" + std::to_string(lines[step]) + ": error" + m.substr(rest)));
  }
}

}  // namespace nostale
