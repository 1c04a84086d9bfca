// Policy: a safe verdict that holds only because descriptors complete in order must say so
// (OPEN-1). The scenario is checked again under any-order completion, within the same
// deadline, and the note says what that gave.
#pragma once

#include <string>

#include "checker/engine.h"

namespace nostale {

/// Whether `r` needs the note: safe under the in-order completion the scenario itself chose
/// (not one the caller forced with CheckOptions::completion).
bool needs_in_order_note(const Scenario & sc, const CheckOptions & opt, const CheckResult & r);

/// The options of the any-order re-check: the caller's, without its progress callbacks.
CheckOptions any_order_options(const CheckOptions & opt);

/// The note, from the any-order re-check's result.
std::string in_order_note(const CheckResult & any_order);

}  // namespace nostale
