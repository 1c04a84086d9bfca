// VT-d descriptor codec contract (spec/profiles/vtd/descriptor.h): decode_raw and decode_json
// accept or throw ScenarioError; what decodes re-encodes to the same words (encode_raw is the
// exact inverse of decode_raw) and reads back from its readable form (to_json). Optionally
// the same descriptor goes through the loader inside a small vtd scenario, so the profile's
// capability checks, the semantic decoding and the timeline see it too.
//
// Input layout: byte 0 = mode, the rest = payload.
//   mode[1:0]  0: two little-endian u64 words (128-bit), zero-padded
//              1: four words (256-bit)
//              2: payload[0] % 8 words (wrong counts must be rejected cleanly)
//              3: payload is readable JSON for decode_json
//   mode[2]    also load it as a "descriptor" step of a vtd scenario
//   mode[7:3]  that scenario's caps: [3] legacy mode, [4] dit, [5] pds=false, [6] psi=false, [7] cm
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <optional>
#include <typeinfo>
#include <vector>

#include "checker/scenario_loader.h"
#include "spec/model/errors.h"
#include "spec/profiles/vtd/descriptor.h"
#include "tests/fuzz/inputs.h"

namespace nostale::fuzz {

namespace {

using json = nlohmann::json;

std::vector<u64> take_words(std::string_view & in, std::size_t n)
{
  std::vector<u64> w(n, 0);
  for (std::size_t i = 0; i < n * 8 && i < in.size(); ++i)
    w[i / 8] |= u64{static_cast<unsigned char>(in[i])} << (8 * (i % 8));
  in.remove_prefix(std::min(in.size(), n * 8));
  return w;
}

std::string hex_word(u64 v)
{
  char b[24];
  std::snprintf(b, sizeof b, "0x%016llx", static_cast<unsigned long long>(v));
  return b;
}

/// A vtd scenario whose one descriptor step is `step` (raw words or readable form): two
/// devices (d1 with ATS), two domains, a mapping, the descriptor, a DMA and a check.
std::string wrap(const json & step, unsigned mode)
{
  bool legacy = mode & 8;
  json caps = {{"mode", legacy ? "legacy" : "scalable"}, {"dit", bool(mode & 16)}, {"pds", !(mode & 32)},
               {"psi", !(mode & 64)}, {"cm", bool(mode & 128)}};
  json attach = {{"op", "attach"}, {"device", "d0"}, {"domain", "A"}};
  if (!legacy) {
    attach["pasid"] = 0;
    attach["pgtt"] = "first";
  }
  json sc = {
      {"name", "fuzz"},
      {"profile", "vtd"},
      {"config",
       {{"iova_bits", 48},
        {"caps", caps},
        {"devices", {{{"name", "d0"}, {"sid", "0x0100"}}, {{"name", "d1"}, {"sid", "0x0300"}, {"ats", true}}}},
        {"domains", {{{"name", "A"}, {"did", 2}}, {{"name", "B"}, {"did", 3}}}}}},
      {"steps",
       {attach,
        {{"op", "map"}, {"domain", "A"}, {"iova", "0x200000"}, {"size", "0x1000"}, {"phys", "0x80000"}, {"perm", "rw"}},
        step,
        {{"op", "dma"}, {"device", "d0"}, {"addr", "0x200000"}, {"access", "read"}},
        {{"op", "check"}}}},
      {"expect", {{"verdict", "unknown"}}}};
  if (!legacy) sc["steps"][3]["pasid"] = 0;
  return sc.dump();
}

/// Round-trip properties of a descriptor decode accepted. Returns "" or the finding.
std::string round_trip(const vtd::Descriptor & d, const std::vector<u64> * words)
{
  std::vector<u64> enc = vtd::encode_raw(d);
  if (words && enc != *words) return "encode_raw(decode_raw(w)) != w";
  if (vtd::decode_raw(enc, "/re") != d) return "decode_raw(encode_raw(d)) != d";
  json j = vtd::to_json(d);
  if (vtd::decode_json(j, "/re") != d) return "decode_json(to_json(d)) != d: " + j.dump();
  if (vtd::describe(d).empty()) return "describe(d) is empty";
  return {};
}

}  // namespace

std::string check_descriptor_input(std::string_view input)
{
  if (input.empty()) return {};
  unsigned mode = static_cast<unsigned char>(input[0]);
  input.remove_prefix(1);
  json step = {{"op", "descriptor"}};
  std::string stage = "decode";
  try {
    std::optional<vtd::Descriptor> d;
    std::vector<u64> words;
    if ((mode & 3) == 3) {
      json j = json::parse(input, nullptr, /*allow_exceptions=*/false);
      if (j.is_discarded()) return {};  // not JSON: nothing for decode_json to read
      step["desc"] = j;
      try {
        d = vtd::decode_json(j, "/desc");
      } catch (const ScenarioError &) {
      }
    } else {
      std::size_t n = (mode & 3) == 0 ? 2 : (mode & 3) == 1 ? 4 : 0;
      if ((mode & 3) == 2 && !input.empty()) {
        n = static_cast<unsigned char>(input[0]) % 8;
        input.remove_prefix(1);
      }
      words = take_words(input, n);
      step["raw"] = json::array();
      for (u64 w : words) step["raw"].push_back(hex_word(w));
      try {
        d = vtd::decode_raw(words, "/raw");
      } catch (const ScenarioError &) {
      }
    }
    stage = "round trip";
    if (d) {
      std::string f = round_trip(*d, (mode & 3) == 3 ? nullptr : &words);
      if (!f.empty()) return f + " (" + vtd::describe(*d) + ")";
    }
    if (mode & 4) {
      stage = "loader";
      std::string f = check_loader_input(wrap(step, mode));
      if (!f.empty()) return f;
    }
  } catch (const std::exception & e) {
    return stage + " threw " + typeid(e).name() + ": " + e.what();
  } catch (...) {
    return stage + " threw a non-std exception";
  }
  return {};
}

}  // namespace nostale::fuzz
