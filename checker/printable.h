// Text for terminals: names, notes and paths come from scenario files, so a byte that a
// terminal would act on (a newline that forges a "SAFE" line, an escape sequence) is shown
// escaped instead. Valid UTF-8 text passes unchanged.
#pragma once

#include <string>
#include <string_view>

namespace nostale {

/// C0 controls, DEL and C1 controls become \xNN or \u00NN; invalid UTF-8 bytes become \xNN;
/// a backslash stays as it is.
std::string printable(std::string_view s);

}  // namespace nostale
