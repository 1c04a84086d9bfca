// Why a stale entry survived to its check point: the judgement's own account, from the
// counterexample and the invalidations the driver submitted, not from the trace's shape. The
// profile names the rule from this (Profile::rule), so that a flush that was never issued is
// not named after a coverage rule, and a flush that did not cover the entry names the command
// that missed it (its decoder's rule).
#pragma once

#include <optional>
#include <string>

#include "spec/interp/counterexample.h"

namespace nostale {

struct Survival {
  enum Kind {
    NotApplicable,     ///< no cache entry to invalidate (memory itself, a page request)
    NeverInvalidated,  ///< no invalidation of its cache was submitted after its fill
    NotCovered,        ///< invalidations of its cache were submitted; none covers it (`inv`: the last)
    NotWaited,         ///< `inv` covers it but no wait forced its completion before the check point
    Refilled,          ///< `inv` covered it and completed, and it was filled again afterwards
  } kind = NotApplicable;
  std::optional<std::size_t> inv;  ///< index into Timeline::invs
  bool from_iotlb = false;         ///< Refilled: a device-TLB entry refilled from the IOTLB (ATS)
  std::size_t fill_gap = 0;        ///< the gap of the (last) fill of the entry
  std::string cache;               ///< the entry's cache, as traces name it
  bool leaf_only = false;          ///< NotCovered: a leaf-only flush over a paging-structure entry (MOD-3)
};

const char * survival_name(Survival::Kind k);

/// Why `cex.entry` survived. Invalidations count if submitted before the check point.
Survival why_survived(const Scenario & sc, const Timeline & tl, const Counterexample & cex);

/// The rule a violation names in the profile-independent catalogue (MOD-*, CORE-*, ATS-*,
/// PASID-*, OPEN-*): which invalidation, ordering or wait the driver owed, decided from the
/// property, the cache of the stale entry and why it survived.
std::string rule_for(const Violation & v, const CheckPoint & cp, const Survival & why = {});

/// PT-SHARE-1 / PT-SHARE-2 when the violation comes from a table page linked into several
/// address spaces, else "": an entry of a domain whose walk for the witness goes through a
/// shared page, never flushed under that domain's id (PT-SHARE-1); or a walk of memory (or a
/// cached pointer) reaching a page that one domain unlinked and freed while another still links
/// it (PT-SHARE-2).
std::string shared_table_rule(const Scenario & sc, const Timeline & tl, const Counterexample & cex,
                              const Survival & why);

/// One line for traces: why the entry survived, naming the steps.
std::string survival_text(const Scenario & sc, const Timeline & tl, const Survival & s);

}  // namespace nostale
