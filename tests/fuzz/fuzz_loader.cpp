// libFuzzer entry: the scenario loader (check_loader_input).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tests/fuzz/inputs.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t * data, std::size_t size)
{
  std::string finding =
      nostale::fuzz::check_loader_input(std::string_view(reinterpret_cast<const char *>(data), size));
  if (!finding.empty() && nostale::fuzz::known(finding)) return 0;
  if (!finding.empty()) {
    std::fprintf(stderr, "FINDING (loader): %s\n", finding.c_str());
    std::abort();
  }
  return 0;
}
