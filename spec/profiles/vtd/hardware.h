// The VT-d hardware description (spec/hw/description.h).
#pragma once

#include "spec/hw/description.h"
#include "spec/model/scenario.h"

namespace nostale::vtd {

/// The configuration a VT-d description depends on (its caps).
struct Mode {
  bool legacy = false;    ///< legacy (context-entry) translation instead of scalable mode
  bool cm = false;        ///< CAP.CM: caching mode
  bool coherent = true;   ///< ECAP.C
};

/// VT-d as configured.
hw::Description hardware(const Config & cfg, Mode mode);

}  // namespace nostale::vtd
