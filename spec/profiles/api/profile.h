// A hardware profile: which commands a scenario may use and what they mean, as semantic
// invalidation patterns (InvPattern) over the shared caches. The common driver steps (map,
// unmap, attach, frees, sync, dma, check) are the loader's; a profile decodes its own command
// steps. Adding a profile = one folder under spec/profiles/ (spec/docs/adding-a-profile.md).
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "spec/hw/description.h"
#include "spec/interp/counterexample.h"
#include "spec/model/scenario.h"

namespace nostale {

/// What a decoder may ask about the scenario at the point of the step.
struct DecodeContext {
  const Config & config;
  std::function<int(const nlohmann::json &, const std::string &)> domain;  ///< name -> index
  std::function<int(const nlohmann::json &, const std::string &)> device;  ///< name -> index
  std::function<int(u64, const std::string &)> device_by_sid;  ///< requester id -> index
  std::function<std::optional<u64>(int)> did_of;  ///< a domain's id at this step
};

class Profile {
 public:
  virtual ~Profile() = default;
  virtual std::string_view id() const = 0;
  /// The profile's command ops (e.g. "invalidate").
  virtual std::vector<std::string> ops() const = 0;
  /// Decodes the command `j` (at JSON pointer `path`) into `out` (op Invalidate); throws
  /// ScenarioError on bad input.
  virtual void decode(const nlohmann::json & j, const std::string & path, const DecodeContext & ctx,
                      Step & out) const = 0;
  /// Decodes config/caps (hardware capabilities) into `cfg`; the default has none.
  virtual void decode_caps(const nlohmann::json & j, const std::string & path, Config & cfg) const;
  /// What the hardware is, as configured (spec/hw/description.h); the loader stores it in
  /// Config::hw once the configuration is read.
  virtual hw::Description hardware(const Config & cfg) const = 0;
  /// Every hardware configuration the profile can be, as descriptions of `cfg`'s geometry
  /// (each mode and capability that changes what the engines model): the differential test
  /// draws its random scenarios from them. The default is the one `hardware(cfg)`.
  virtual std::vector<hw::Description> variants(const Config & cfg) const;
  /// Checks the whole configuration once it is read (e.g. reserved domain ids).
  virtual void check_config(const Config &, const std::string &) const {}
  /// The translation type of the record an attach step writes (ConfigWrite::type), from the
  /// step's `pgtt` field (nullptr: absent; VT-d names it after its PGTT field). The default
  /// profile has one untyped stage and rejects the field.
  virtual unsigned decode_record_type(const nlohmann::json * j, const std::string & path, const Config & cfg,
                               u64 did) const;
  /// The rule a counterexample names, in the profile's terms. The default names the
  /// profile-independent rule from why the entry survived (spec/interp/survival.h).
  virtual std::string rule(const Counterexample & cex, const Scenario & sc, const Timeline & tl) const;
};

/// Adds a profile that does not live in spec/profiles/ (a test-only one, tests/profiles/);
/// `p` must outlive every lookup. Returns true, so that a static initialiser can call it.
bool register_profile(const Profile & p);

/// The profile named `id`, or nullptr.
const Profile * find_profile(std::string_view id);
std::vector<std::string> profile_ids();

}  // namespace nostale
