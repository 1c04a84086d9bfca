// Exit codes of the nostale executable (DESIGN.md §6), in one place.
#pragma once

namespace nostale {

constexpr int kExitSafe = 0;       ///< every scenario safe (check), every expectation met (test)
constexpr int kExitViolation = 1;  ///< a violation was found (check), an expectation failed (test)
constexpr int kExitBadInput = 2;   ///< bad input or usage
constexpr int kExitUnknown = 3;    ///< a limit was hit; the reason is printed
constexpr int kExitInternal = 4;   ///< nostale itself is wrong (e.g. a trace that does not replay)

}  // namespace nostale
