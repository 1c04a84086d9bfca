// One fuzz input checked against the contract of the code under test. Shared by the libFuzzer
// targets (clang, NOSTALE_FUZZ) and by tests/unit/fuzz_regressions_test.cpp (any compiler), so
// saved crash inputs stay regression tests in the normal suite.
#pragma once

#include <string>
#include <string_view>

namespace nostale::fuzz {

/// parse_scenario(input, "fuzz.json") must return or throw LoadError. Returns "" if it did,
/// otherwise what went wrong (another exception type). Crashes and UB are the sanitizers' to catch.
std::string check_loader_input(std::string_view input);

/// Byte 0 chooses the form, the rest is the descriptor (see descriptor_input.cpp):
/// decode_raw/decode_json must succeed or throw ScenarioError, a decoded descriptor must
/// round-trip exactly, and (byte 0 bit 2) the descriptor inside a vtd scenario must load or be
/// rejected with LoadError. Returns "" or the finding.
std::string check_descriptor_input(std::string_view input);

/// NOSTALE_FUZZ_KNOWN="text1|text2": a finding whose message contains one of these is a known
/// bug awaiting its fix; the fuzz targets skip it so that a long run can look past it.
bool known(const std::string & finding);

}  // namespace nostale::fuzz
