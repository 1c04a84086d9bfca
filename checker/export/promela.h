// `nostale export --promela`: one generic-profile scenario as a Promela model for SPIN, a peer
// checker over the same semantics (spec/docs/promela.md). The driver steps run in order with
// memory taken from the Timeline's snapshots (constant per gap); every hardware action (fill,
// ATS fill, evict, completion) is a nondeterministic choice between them. Which entry a fill may
// insert, which entries a completion removes and which cached entries violate a property are
// asked of the reference interpreter (fillable_for, matches, evaluate), never re-derived here.
#pragma once

#include <string>

#include "spec/model/timeline.h"

namespace nostale {

/// Limits of the export: a wider geometry or a larger entry universe is refused.
constexpr unsigned kPromelaMaxPageBits = 10;
constexpr std::size_t kPromelaMaxEntries = 4000;

struct PromelaOptions {
  /// Choose the witness page first and fill only entries covering it (slice_guard in
  /// promela.cpp): the same verdicts, one page's entries per branch instead of all pages'.
  bool slice = false;
};

/// Why `sc` cannot be exported (one line), or "" when it can.
std::string promela_refusal(const Scenario & sc);

/// The Promela model of `sc` (its Timeline `tl`). Throws ScenarioError when the entry universe
/// grows past kPromelaMaxEntries. Call only when promela_refusal(sc) is empty.
std::string export_promela(const Scenario & sc, const Timeline & tl, const PromelaOptions & opt = {});

}  // namespace nostale
