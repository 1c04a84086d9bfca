// SLICE-1: a class of witness PASIDs an encoding may be restricted to (see encoding.h,
// pasid_slices(), and spec/docs/semantics.md "Slices").
#pragma once

#include <optional>
#include <vector>

#include "spec/semantics/pattern.h"

namespace nostale::smt {

/// SLICE-1: the witnesses of one PASID class, the witness PASID `pasid`, or (none) every PASID
/// outside `named`. An encoding of a slice fixes the witness PASID to the class and leaves out
/// what no entry the witness uses can depend on: invalidations whose PASID filter names another
/// PASID (match.h: such a filter matches only entries tagged with its PASID, and every tracked
/// entry is the witness's) and PASID-table entries of other PASIDs in the witness's walks.
/// Every behaviour of the whole encoding with the witness in the class is one of the slice's
/// and the converse (spec/docs/semantics.md, "Slices"), so a property holds at a check point
/// exactly when it holds in every slice.
struct PasidSlice {
  std::optional<u64> pasid;
  std::vector<u64> named;  ///< every PASID the scenario names (pasid_slices())
};

}  // namespace nostale::smt
