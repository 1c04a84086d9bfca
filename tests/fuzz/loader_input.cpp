// Loader contract: any text either loads or is rejected with LoadError, a one-line message
// naming the file; every other exception escaping parse_scenario, or a LoadError message with a
// line break or other control character, is a finding.
#include <cstdlib>
#include <exception>
#include <string>
#include <typeinfo>

#include "checker/scenario_loader.h"
#include "tests/fuzz/inputs.h"

namespace nostale::fuzz {

bool known(const std::string & finding)
{
  const char * env = std::getenv("NOSTALE_FUZZ_KNOWN");
  std::string list = env ? env : "";
  for (std::size_t b = 0; b < list.size();) {
    std::size_t e = list.find('|', b);
    if (e == std::string::npos) e = list.size();
    if (e > b && finding.find(list.substr(b, e - b)) != std::string::npos) return true;
    b = e + 1;
  }
  return false;
}

std::string check_loader_input(std::string_view input)
{
  try {
    parse_scenario(std::string(input), "fuzz.json");
  } catch (const LoadError & e) {
    std::string msg = e.what();
    if (msg.rfind("fuzz.json", 0) != 0) return "LoadError does not name the file: " + msg;
    // scenario_loader.h: "a one-line, user-facing description" (input text echoed raw could
    // break the line, or the terminal).
    for (char c : msg)
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
        return "LoadError message has control character " + std::to_string(static_cast<unsigned char>(c)) + ": " + msg;
  } catch (const std::exception & e) {
    return std::string("parse_scenario threw ") + typeid(e).name() + ": " + e.what();
  } catch (...) {
    return "parse_scenario threw a non-std exception";
  }
  return {};
}

}  // namespace nostale::fuzz
