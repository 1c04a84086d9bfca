#include "spec/model/errors.h"
#include "spec/profiles/profile.h"

namespace nostale {

void Profile::decode_caps(const nlohmann::json & j, const std::string & path, Config &) const
{
  if (j.empty()) return;
  throw ScenarioError(path, "profile " + std::string(id()) + " has no hardware capabilities to set");
}

unsigned Profile::decode_pgtt(const nlohmann::json * j, const std::string & path, const Config &, u64) const
{
  if (j) throw ScenarioError(path, "profile " + std::string(id()) + " has one untyped stage: pgtt is not a field here");
  return kPgttNone;
}

// One line per profile folder.
const Profile & generic_profile();
const Profile & vtd_profile();

static const std::vector<const Profile *> & profiles()
{
  static const std::vector<const Profile *> all = {&generic_profile(), &vtd_profile()};
  return all;
}

const Profile * find_profile(std::string_view id)
{
  for (const Profile * p : profiles())
    if (p->id() == id) return p;
  return nullptr;
}

std::vector<std::string> profile_ids()
{
  std::vector<std::string> v;
  for (const Profile * p : profiles()) v.emplace_back(p->id());
  return v;
}

}  // namespace nostale
