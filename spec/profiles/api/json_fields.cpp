#include "spec/profiles/api/json_fields.h"

#include <cctype>
#include <vector>

#include "spec/model/errors.h"

namespace nostale::json_fields {

static std::string type_name(const json & j) { return j.type_name(); }

void only_keys(const json & j, const std::string & path, std::initializer_list<const char *> allowed)
{
  if (!j.is_object()) throw ScenarioError(path.empty() ? "/" : path, "expected an object, got " + type_name(j));
  for (auto it = j.begin(); it != j.end(); ++it) {
    bool ok = false;
    for (const char * a : allowed) ok |= it.key() == a;
    if (!ok) {
      std::string list;
      for (const char * a : allowed) list += std::string(list.empty() ? "" : ", ") + a;
      throw ScenarioError(path + "/" + it.key(), "unknown key '" + it.key() + "' (allowed: " + list + ")");
    }
  }
}

const json & need(const json & j, const std::string & path, const char * key)
{
  auto it = j.find(key);
  if (it == j.end()) throw ScenarioError(path + "/" + key, std::string("missing required key '") + key + "'");
  return *it;
}

u64 get_u64(const json & j, const std::string & path)
{
  if (j.is_number_unsigned()) return j.get<u64>();
  if (j.is_number_integer()) throw ScenarioError(path, "expected a non-negative integer, got " + j.dump());
  if (j.is_string()) {
    const std::string s = j.get<std::string>();
    bool ok = s.size() > 2 && s.size() <= 18 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
    for (std::size_t i = 2; ok && i < s.size(); ++i) ok = std::isxdigit(static_cast<unsigned char>(s[i])) != 0;
    if (!ok) throw ScenarioError(path, "expected a hex string \"0x...\" of at most 64 bits, got \"" + s + "\"");
    return std::stoull(s.substr(2), nullptr, 16);
  }
  throw ScenarioError(path, "expected an unsigned integer or a \"0x...\" string, got " + type_name(j));
}

u64 get_u64(const json & obj, const std::string & path, const char * key, u64 dflt)
{
  auto it = obj.find(key);
  return it == obj.end() ? dflt : get_u64(*it, path + "/" + key);
}

bool get_bool(const json & obj, const std::string & path, const char * key, bool dflt)
{
  auto it = obj.find(key);
  if (it == obj.end()) return dflt;
  if (!it->is_boolean()) throw ScenarioError(path + "/" + key, "expected true or false, got " + type_name(*it));
  return it->get<bool>();
}

std::string get_string(const json & j, const std::string & path)
{
  if (!j.is_string()) throw ScenarioError(path, "expected a string, got " + type_name(j));
  return j.get<std::string>();
}

unsigned get_flags(const json & j, const std::string & path, std::initializer_list<const char *> names)
{
  std::vector<const char *> v(names);
  unsigned all = (1u << v.size()) - 1;
  if (j.is_number_unsigned()) {
    u64 x = j.get<u64>();
    if (x > all) throw ScenarioError(path, "flag bits out of range (at most " + std::to_string(all) + ")");
    return static_cast<unsigned>(x);
  }
  if (!j.is_array()) throw ScenarioError(path, "expected an array of flag names or an integer mask");
  unsigned r = 0;
  for (std::size_t i = 0; i < j.size(); ++i) {
    std::string p = path + "/" + std::to_string(i);
    std::string n = get_string(j[i], p);
    bool ok = false;
    for (std::size_t b = 0; b < v.size(); ++b)
      if (n == v[b]) { r |= 1u << b; ok = true; }
    if (!ok) {
      std::string list;
      for (const char * a : v) list += std::string(list.empty() ? "" : ", ") + a;
      throw ScenarioError(p, "unknown flag '" + n + "' (allowed: " + list + ")");
    }
  }
  return r;
}

}  // namespace nostale::json_fields
