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

}  // namespace nostale
