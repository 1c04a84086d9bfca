// The VT-d hardware description (spec/hw/description.h).
#pragma once

#include "spec/hw/description.h"
#include "spec/model/scenario.h"

namespace nostale::vtd {

/// VT-d as configured: scalable mode, or legacy mode (`legacy`).
hw::Description hardware(const Config & cfg, bool legacy);

}  // namespace nostale::vtd
