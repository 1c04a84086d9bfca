// A counterexample, independent of any solver: the hardware actions interleaved with the
// driver steps, the witness, the stale entry, the property and the rule. It outlives the Z3
// context that found it and is replayed on the interpreter before anyone sees it.
#pragma once

#include <string>
#include <vector>

#include "spec/interp/cache.h"

namespace nostale {

struct HwEvent {
  enum Kind { Fill, Complete, PageRequest } kind = Fill;
  std::size_t gap = 0;      ///< happens before driver step `gap`
  u64 pos = 0;              ///< order inside the gap
  Entry entry;              ///< Fill: the entry inserted
  int walker = -1;          ///< Fill: the device whose walk / ATS request filled it;
                            ///< PageRequest: the device that issued it (for entry.pasid)
  u64 walker_pasid = 0;     ///< Fill: the PASID of that walk (second-stage entries carry none)
  std::string source;       ///< Fill: what the walk used ("memory", "PASID cache", ...)
  bool torn = false;        ///< Fill: it read a PASID-table entry torn (VTD-COH-3)
  bool from_cache = false;  ///< Fill: the walk used a cached entry (a PASID-cache copy, an
                            ///< upper-level pointer, or the IOTLB for an ATS request)
  bool from_iotlb = false;  ///< Fill: a device-TLB entry from an ATS request the IOTLB answered
  std::size_t inv = 0;      ///< Complete: index into Timeline::invs
};

struct Counterexample {
  std::size_t check = 0;    ///< index into Timeline::checks
  std::string property;
  std::string severity;
  std::string rule;
  int device = 0;
  u64 pasid = 0;
  u64 addr = 0;
  bool from_memory = false; ///< memory itself grants the freed frame (no cache entry)
  bool page_request = false;///< a page request of (entry.dev, entry.pasid) not drained
  bool walker_view = false; ///< no entry: a walk through what a non-coherent walker reads
                            ///< denies an access memory grants (VTD-COH-4)
  Entry entry;              ///< the stale entry
  std::vector<HwEvent> events;  ///< sorted by (gap, pos), completions first on ties
};

/// What a counterexample claims about its violation: that it is the first one in property
/// order at its check point (the default report), or only that it is there (one of the list
/// of `check --all`, which lists a violation even beside a higher-priority one).
enum class Claim { First, Present };

/// Replays `cex` on the interpreter: every fill must be one the hardware may make at that
/// moment, every sync must find its invalidations completed, and the check point must show
/// the claimed violation (as the first one in property order, for Claim::First). Returns ""
/// or why it failed.
std::string replay(const Scenario & sc, const Timeline & tl, const Counterexample & cex, Claim claim = Claim::First);


}  // namespace nostale

namespace nostale {
/// One line naming what the rule `id` requires, with its source (spec/docs/rules.md).
std::string rule_text(const std::string & id);
/// What memory grants (device, pasid) at addr, in words.
std::string describe_memory(const Config & cfg, const Memory & mem, int device, u64 pasid, u64 addr);
}  // namespace nostale
