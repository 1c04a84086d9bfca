// Small text helpers shared by messages, traces and reports.
#pragma once

#include <cstdio>
#include <string>

#include "spec/model/scenario.h"

namespace nostale {

/// "0x..." of a 64-bit value, as scenarios write addresses.
inline std::string hex(u64 v)
{
  char b[32];
  std::snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
  return b;
}

/// An IOVA as traces print it: sign-extended from the top modelled bit where the scenario
/// writes first-stage addresses in canonical form (Config::canonical, VTD-PRIV-3: kernel SVA's
/// upper half, 0xffff888000000000 with a 48-bit first stage), else as modelled.
inline std::string iova_hex(const Config & cfg, u64 addr)
{
  const unsigned w = cfg.geo.iova_bits();
  if (!cfg.canonical || w >= 64 || !((addr >> (w - 1)) & 1)) return hex(addr);
  return hex(addr | ~((u64{1} << w) - 1));
}

}  // namespace nostale
