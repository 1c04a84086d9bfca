// The SMT encoding of one check point: "is there a behaviour of the hardware, a device, a PASID
// and an address for which property P is violated here?" as a QF_BV formula over a symbolic
// witness (device, PASID, address).
//
// Design (the witness encoding of DESIGN.md §2):
// - Memory is concrete at every gap (driver steps are deterministic); only the witness, the
//   moments of hardware actions and their choices are symbolic. Walks are ite-terms over the
//   concrete page tables of each memory epoch, so one solver call covers every address.
// - The bound, per cache the hardware declares (Config::hw, spec/hw/description.h; a role no
//   cache plays has its instances forced inactive):
//   - A cached entry that a lookup of the witness can hit was inserted by one fill, through a
//     walk that used at most one cached record of the translating structure (PASID cache; the
//     legacy context cache) and at most one pointer-cache entry (paging-structure / walk cache)
//     at a higher level, each inserted by an earlier fill and not removed in between.
//     Derivations are therefore chains with strictly increasing levels. Tracked: one instance
//     per level of each per-level pointer cache; one of the leaf cache (IOTLB / TLB); one of
//     the device-side cache (device TLB / ATC), filled by a walk or by ATS from the leaf
//     instance; one of the record cache as a target; and, per walk, one private copy of the
//     record it used (private copies are exact because caches are sets of entries, MOD-2).
//   - A structure above the translating records (VT-d scalable-mode context entries; the toy
//     profile's STE): a walk that reads a record from memory needs that structure's entry, from
//     memory or from one cached copy filled earlier: again one private copy per walk, plus one
//     instance of its cache as a target.
//   - Nested walks add one instance per level for the second-stage pointers they read, walked
//     from the parent's root for one symbolic guest-physical address gq: the witness's own at
//     the check point when such an entry is the stale one, the one a later nested fill goes on
//     from when that fill uses it, or any when it is judged by its tags alone
//     (no-reuse-while-cached). One address suffices: a query needs one stale target.
//   That is the bound: at most one fill per tracked entry per query, and no eviction
//   (evictions only remove options). Later fills of the same tag cannot help, because the
//   hardware could have skipped them. Tags are whatever the cache declares: the domain tag is
//   one bit-vector of the packed declared fields, so a second domain tag (ASID and VMID) adds
//   no instance. tests/unit/differential_test.cpp checks this argument against the explorer's
//   exhaustive enumeration, for every registered profile.
// - Time: every hardware action has a moment (gap, pos); gap g precedes driver step g; pos
//   orders actions inside a gap arbitrarily. An invalidation removes an entry filled at f and
//   used at u iff it completes at c with f < c <= u and its pattern matches the entry's tags.
//
// Parts (spec/smt, internal): terms.h the shared context and term shapes; memory_terms the
// walks and entries of memory; invalidations the completion moments and what each removes;
// fills the tracked instances and their walks; judgement the targets at the check point;
// extract.cpp the reading of a model. Each part builds its terms in its constructor, in a fixed
// order (encoding_impl.h), so the queries are reproducible to the byte.
#pragma once

#include <z3++.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "spec/interp/counterexample.h"
#include "spec/smt/slice.h"

namespace nostale::smt {


/// The slices that cover every witness PASID of `sc`: one per PASID a step names
/// (named_pasids()), and one for all the others.
std::vector<PasidSlice> pasid_slices(const Scenario & sc);

class Encoding {
 public:
  /// `lo`: the gap of a valid cut before the check point (CUT-1, cut_at()), where the encoding
  /// starts with empty caches; 0 for the whole scenario. `slice`: only the witnesses of one
  /// PASID class (SLICE-1); null for all.
  Encoding(z3::context & ctx, const Scenario & sc, const Timeline & tl, std::size_t check, std::size_t lo = 0,
           const PasidSlice * slice = nullptr);
  ~Encoding();
  Encoding(const Encoding &) = delete;
  Encoding & operator=(const Encoding &) = delete;

  /// Well-formedness: witness ranges, completion windows, fill derivations.
  z3::expr constraints();
  /// The violation of `property` (with `severity` for no-stale) at this check point; a null
  /// optional when the property cannot apply here (no-reuse-while-cached away from a free, or
  /// no tracked entry that could violate it).
  std::optional<z3::expr> violation(const std::string & property, const std::string & severity);
  /// The violation of `property` by targets of one kind only: memory itself (no kind) or the
  /// entries of cache `kind`; null when none of them could violate it here.
  std::optional<z3::expr> violation_of(const std::string & property, const std::string & severity,
                                       std::optional<CacheKind> kind);
  /// Boolean terms, one per hardware action a model uses; minimising their sum gives the
  /// shortest trace.
  z3::expr_vector actions();
  /// Reads the counterexample out of a model of constraints() && violation(...).
  Counterexample extract(const z3::model & m, const std::string & property,
                         const std::string & severity);
  /// True exactly in models that show the same distinct violation as `m` (what --all lists
  /// once): the target extract() reports (a tracked cache, memory itself, or a page request)
  /// with the same tags: device, PASID (unless untagged), domain id, level, not-present,
  /// arbitrary, and for a device-TLB entry whether ATS filled it from the IOTLB. The witness
  /// address and the trace are not part of it. Its negation blocks the violation.
  z3::expr same_violation(const z3::model & m, const std::string & property, const std::string & severity);

  /// CUT-1: the whole query (on its own, not with constraints(), which fixes a DMA check
  /// point's witness): for some witness, an entry present at this check point is not what a
  /// walk of memory here would fill (another tag, level, output, permission, an arbitrary or
  /// negative entry, a torn read). Unsatisfiable exactly when the check point is a valid cut
  /// for the checks after it (spec/smt/cut.cpp). Only where cut_possible() says so.
  z3::expr cut_query();
  /// cut_query() without the constraints every query shares: an entry present here that a
  /// walk of memory would not give, for any witness. `constraints() && v || cut_breach()`
  /// under those shared constraints asks both questions at once (checker/solve.cpp).
  z3::expr cut_breach();
  /// The constraints every query shares, without the check point's witness (constraints()
  /// is these and judge.witness()).
  z3::expr shared_constraints();
  /// What constraints() adds to shared_constraints(): the witness a DMA check point fixes.
  z3::expr witness_constraint();
  /// CUT-1: the scenario has none of the state the cut argument does not cover (nested
  /// second-stage entries, page requests) and, at check point `check`, no invalidation is
  /// pending (every one submitted before it was waited for before it).
  static bool cut_possible(const Scenario & sc, const Timeline & tl, std::size_t check);
  /// CUT-2: check point `check` is a cut, known without asking: `lo` is a cut before it (0:
  /// the start), no walk reads anything different at any gap from lo to the check point, and
  /// cut_possible() holds there (spec/smt/cut.cpp).
  static bool quiet_cut(const Scenario & sc, const Timeline & tl, std::size_t lo, std::size_t check);

  /// The symbolic witness, for preferring readable values of it (a page-aligned address in a
  /// range the driver touched).
  struct Witness {
    z3::expr device, pasid, addr;
  };
  Witness witness();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nostale::smt
