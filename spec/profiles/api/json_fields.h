// Strict readers of JSON fields, shared by the scenario loader and the profiles' command
// decoders. Every error names the JSON pointer of the offending value.
#pragma once

#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>

#include "spec/model/scenario.h"

namespace nostale::json_fields {

using json = nlohmann::json;

/// Throws ScenarioError unless `j` is an object whose keys are all in `allowed`.
void only_keys(const json & j, const std::string & path, std::initializer_list<const char *> allowed);
/// The member `key` (required), or throws naming path/key.
const json & need(const json & j, const std::string & path, const char * key);
/// A 64-bit unsigned value: a non-negative JSON integer or a "0x..." hex string.
u64 get_u64(const json & j, const std::string & path);
u64 get_u64(const json & obj, const std::string & path, const char * key, u64 dflt);
bool get_bool(const json & obj, const std::string & path, const char * key, bool dflt);
std::string get_string(const json & j, const std::string & path);
/// A set of named flags: an array of names from `names` (bit i = names[i]) or an integer mask.
unsigned get_flags(const json & j, const std::string & path,
                   std::initializer_list<const char *> names);

}  // namespace nostale::json_fields
