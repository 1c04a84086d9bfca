#include "checker/import/vtd_builder.h"

#include <algorithm>
#include <cstdio>

#include "checker/scenario_loader.h"

namespace nostale::importer {

void fail(const std::string & file, std::size_t line, const std::string & what)
{
  throw LoadError(file + ":" + std::to_string(line) + ": error: " + what);
}

bool parse_u64(const std::string & s, u64 & v)
{
  if (s.empty()) return false;
  const bool hexa = s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
  const unsigned base = hexa ? 16 : 10;
  v = 0;
  for (std::size_t i = hexa ? 2 : 0; i < s.size(); ++i) {
    const char c = s[i];
    unsigned d;
    if (c >= '0' && c <= '9') d = static_cast<unsigned>(c - '0');
    else if (hexa && c >= 'a' && c <= 'f') d = static_cast<unsigned>(c - 'a' + 10);
    else if (hexa && c >= 'A' && c <= 'F') d = static_cast<unsigned>(c - 'A' + 10);
    else return false;
    if (v > (~u64{0} - d) / base) return false;
    v = v * base + d;
  }
  return true;
}

bool parse_bdf(const std::string & s, std::uint16_t & sid)
{
  // [domain:]bus:dev.fn, hexadecimal; the PCI segment is not part of the requester id.
  std::string t = s;
  if (std::count(t.begin(), t.end(), ':') == 2) t = t.substr(t.find(':') + 1);
  const std::size_t colon = t.find(':'), dot = t.find('.');
  if (colon == std::string::npos || dot == std::string::npos || dot < colon) return false;
  u64 bus, dev, fn;
  if (!parse_u64("0x" + t.substr(0, colon), bus) || !parse_u64("0x" + t.substr(colon + 1, dot - colon - 1), dev) ||
      !parse_u64("0x" + t.substr(dot + 1), fn) || colon == 0 || dot == colon + 1 || dot + 1 == t.size())
    return false;
  if (bus > 0xff || dev > 0x1f || fn > 7) return false;
  sid = static_cast<std::uint16_t>(bus << 8 | dev << 3 | fn);
  return true;
}

Device & VtdBuilder::device(std::uint16_t sid)
{
  auto it = devices_.find(sid);
  if (it != devices_.end()) return it->second;
  char name[16];
  std::snprintf(name, sizeof name, "%02x:%02x.%x", sid >> 8, (sid >> 3) & 0x1f, sid & 7);
  return devices_[sid] = Device{name, sid, false};
}

std::string VtdBuilder::domain(unsigned did)
{
  auto it = domains_.find(did);
  if (it != domains_.end()) return it->second;
  return domains_[did] = "did" + std::to_string(did);
}

void VtdBuilder::step(ojson s, std::size_t line)
{
  steps_.push_back(std::move(s));
  lines_.push_back(line);
}

void VtdBuilder::insert(std::size_t at, ojson s, std::size_t line)
{
  steps_.insert(steps_.begin() + static_cast<std::ptrdiff_t>(at), std::move(s));
  lines_.insert(lines_.begin() + static_cast<std::ptrdiff_t>(at), line);
}

ojson VtdBuilder::finish(const std::string & name, const std::string & description, const std::string & from,
                         const std::string & format, unsigned iova_bits) const
{
  ojson sc;
  sc["name"] = name;
  sc["description"] = description;
  ojson imp;
  imp["from"] = from;
  imp["format"] = format;
  imp["assumptions"] = assumptions_;
  imp["caveats"] = caveats_;
  imp["lines"] = lines_;
  sc["imported"] = imp;
  sc["profile"] = "vtd";
  ojson cfg;
  cfg["iova_bits"] = iova_bits;
  cfg["completion"] = completion_;
  if (!caps_.empty()) cfg["caps"] = caps_;
  cfg["devices"] = ojson::array();
  for (const auto & [sid, d] : devices_) {
    char s[8];
    std::snprintf(s, sizeof s, "0x%x", sid);
    cfg["devices"].push_back(ojson{{"name", d.name}, {"sid", s}, {"ats", d.ats}});
  }
  cfg["domains"] = ojson::array();
  for (const auto & [did, n] : domains_) cfg["domains"].push_back(ojson{{"name", n}, {"did", did}});
  sc["config"] = cfg;
  sc["steps"] = steps_;
  sc["expect"] = expect_.is_null() ? ojson{{"verdict", "safe"}} : expect_;
  return sc;
}

bool expect_comment(const std::string & file, std::size_t n, const std::string & line, VtdBuilder & b)
{
  const std::string key = "nostale-expect:";
  std::size_t k = line.find(key);
  if (k == std::string::npos || line.find_first_not_of(" \t#") != k) return false;
  ojson e = ojson::parse(line.substr(k + key.size()), nullptr, false);
  if (!e.is_object()) fail(file, n, "nostale-expect takes a JSON object (the scenario's expect block)");
  b.expect(e);
  return true;
}

}  // namespace nostale::importer
