// The registry of profiles: every folder of spec/profiles/ (listed by spec/CMakeLists.txt in
// the generated profile_list.inc) defines `const Profile & <folder>_profile()`. Adding a profile
// adds a folder; nothing here changes.

#include "spec/profiles/api/profile.h"

namespace nostale {

#define NOSTALE_PROFILE(p) const Profile & p##_profile();
#include "profile_list.inc"
#undef NOSTALE_PROFILE

static std::vector<const Profile *> & profiles()
{
#define NOSTALE_PROFILE(p) &p##_profile(),
  static std::vector<const Profile *> all = {
#include "profile_list.inc"
  };
#undef NOSTALE_PROFILE
  return all;
}

bool register_profile(const Profile & p)
{
  profiles().push_back(&p);
  return true;
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
