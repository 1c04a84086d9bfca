// Error types. ScenarioError is bad user input (exit 2); InternalError is a broken invariant of
// nostale itself (exit 4). NOSTALE_CHECK stays on in release builds: an unsound verifier is
// worse than a crashing one.
#pragma once

#include <stdexcept>
#include <string>

namespace nostale {

/// Bad input: `where` is a JSON pointer (or file:line:col), `what()` the message.
class ScenarioError : public std::runtime_error {
 public:
  ScenarioError(std::string where, const std::string & message)
      : std::runtime_error(message), where_(std::move(where)) {}
  const std::string & where() const { return where_; }

 private:
  std::string where_;
};

class InternalError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace nostale

#define NOSTALE_CHECK(cond, msg)                                                        \
  do {                                                                                  \
    if (!(cond))                                                                        \
      throw ::nostale::InternalError(std::string(__FILE__ ":") + std::to_string(__LINE__) + \
                                     ": " + (msg));                                     \
  } while (0)
