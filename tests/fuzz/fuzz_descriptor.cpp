// libFuzzer entry: the VT-d descriptor codec (check_descriptor_input).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tests/fuzz/inputs.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t * data, std::size_t size)
{
  std::string finding =
      nostale::fuzz::check_descriptor_input(std::string_view(reinterpret_cast<const char *>(data), size));
  if (!finding.empty() && nostale::fuzz::known(finding)) return 0;
  if (!finding.empty()) {
    std::fprintf(stderr, "FINDING (descriptor): %s\n", finding.c_str());
    std::abort();
  }
  return 0;
}
