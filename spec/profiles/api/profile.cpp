// The defaults of the profile interface.
#include "spec/model/errors.h"
#include "spec/profiles/api/profile.h"
#include "spec/interp/survival.h"

namespace nostale {

void Profile::decode_caps(const nlohmann::json & j, const std::string & path, Config &) const
{
  if (j.empty()) return;
  throw ScenarioError(path, "profile " + std::string(id()) + " has no hardware capabilities to set");
}

std::vector<hw::Description> Profile::variants(const Config & cfg) const { return {hardware(cfg)}; }

unsigned Profile::decode_record_type(const nlohmann::json * j, const std::string & path, const Config &, u64) const
{
  if (j) throw ScenarioError(path, "profile " + std::string(id()) + " has one untyped stage: pgtt is not a field here");
  return kPgttNone;
}

std::string Profile::rule(const Counterexample & cex, const Scenario & sc, const Timeline & tl) const
{
  Violation v{cex.property, cex.severity, cex.from_memory, cex.entry, cex.page_request, cex.walker_view};
  const Survival why = why_survived(sc, tl, cex);
  if (std::string r = shared_table_rule(sc, tl, cex, why); !r.empty()) return r;  // PT-SHARE-1/2
  return rule_for(v, tl.checks.at(cex.check), why);
}

}  // namespace nostale
