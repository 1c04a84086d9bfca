#include "spec/profiles/profile.h"

namespace nostale {

// One line per profile folder.
const Profile & generic_profile();

static const std::vector<const Profile *> & profiles()
{
  static const std::vector<const Profile *> all = {&generic_profile()};
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
