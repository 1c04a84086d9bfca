// Loader contract: any text either loads or is rejected with LoadError (a one-line message
// naming the file); every other exception escaping parse_scenario is a finding.
#include <exception>
#include <string>
#include <typeinfo>

#include "checker/scenario_loader.h"
#include "tests/fuzz/inputs.h"

namespace nostale::fuzz {

std::string check_loader_input(std::string_view input)
{
  try {
    parse_scenario(std::string(input), "fuzz.json");
  } catch (const LoadError & e) {
    std::string msg = e.what();
    if (msg.rfind("fuzz.json", 0) != 0) return "LoadError does not name the file: " + msg;
  } catch (const std::exception & e) {
    return std::string("parse_scenario threw ") + typeid(e).name() + ": " + e.what();
  } catch (...) {
    return "parse_scenario threw a non-std exception";
  }
  return {};
}

}  // namespace nostale::fuzz
