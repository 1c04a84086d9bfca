// Judgement at the check point: the routes a lookup by the witness takes to its PASID-table
// entry, what memory and each tracked entry translate then, whether an entry is present and hit,
// and per property the condition that an entry (or memory itself) violates it.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "spec/semantics/judge.h"
#include "spec/semantics/translate.h"
#include "spec/smt/z3_domain.h"
#include "spec/smt/fills.h"

namespace nostale::smt {

class Judgement {
 public:
  Judgement(Terms & terms, MemoryTerms & mem, Invalidations & inv, Fills & fills);

  /// Per target: the condition that it is the violating entry (nullptr: memory itself).
  std::vector<std::pair<Instance *, z3::expr>> targets(const std::string & prop, const std::string & sev);
  /// The witness's ranges (and, at a DMA check point, its values).
  z3::expr witness();

 private:
  /// A translation at the check point: kind, output frame for the witness, permissions (the
  /// kernel's, spec/semantics/judge.h).
  using Tr = sem::Tr<Z3Domain>;
  /// The route a lookup by the witness takes to a PASID-table entry (mirrors Route in
  /// evaluate): 0 memory's, 1 the cached PASID entry (pct), 2 memory's PASID table through a
  /// context entry cleared in memory but still cached. One route per query: a violation needs
  /// one stale target, reached one way.
  struct RouteSel {
    z3::expr valid, did, pgtt, root, s2, sre;
  };
  using Targets = std::vector<std::pair<Instance *, z3::expr>>;

  void dma_after_free(const Tr & mt, Targets & v);
  void missed_dirty(Targets & v);
  void reuse_while_cached(Targets & v);
  void stale(const Tr & mt, const std::string & sev, Targets & v);

  Tr from_res(const Res & r) { return Tr{r.kind, mem.out_frame(r.frame, r.level), r.perm}; }
  /// VTD-PRIV-1/2: what each request class may use of `x` through a PASID entry of type `pgtt`
  /// and SRE `sre` (the kernel's sem::privileged); `x` itself without first-stage privilege.
  Tr privileged(const Tr & x, const z3::expr & pgtt, const z3::expr & sre)
  {
    return t.priv_on ? Tr{x.kind, x.out, sem::privileged(D, x.perm, pgtt, sre)} : x;
  }
  /// At the check point, through the second stage `s2` in memory then.
  Res nest_at_check(const z3::expr & pgtt, const z3::expr & s2, const Res & s1);
  /// The witness's PASID-table entry at the check point (built once per encoding).
  Attach attach_T();
  /// The routes themselves, each with the condition that it exists: memory's entry, the cached
  /// one (pct), and (with context entries) memory's table through a cached cleared context
  /// entry.
  const std::vector<RouteSel> & routes();
  /// One route chosen per query, where the judgement depends on it.
  RouteSel route();
  /// The route's first-stage result for the witness (its own table walk).
  Res s1_T();
  /// The guest-physical address the route's nested entry gives the witness: where the
  /// second-stage entries of nested walks are looked up.
  std::pair<z3::expr, z3::expr> gpa_T();
  /// The witness's PASID-table entry in memory whether or not its context entry is present.
  Attach raw_T();
  /// The witness's PASID-table entry in memory in the table the cached context entry (cct)
  /// points to: raw_T unless context entries change tables (VTD-CTX-1).
  Attach cc_T();
  /// The cached context entry C does not lead where memory's does: memory translates nothing
  /// for the witness, or C points to another PASID table.
  z3::expr off_memory(Instance & C);
  /// What cc_T translates (a lookup through a cached context entry uses it).
  Tr raw_tr();
  Tr memory_tr();
  /// What a walk from the root gives the witness through what a non-coherent walker reads at
  /// the check point (Timeline::walk_at_check), mirrors Evaluation::walker_translation.
  Tr walker_tr();
  Tr built(Instance & I);

  z3::expr present(Instance & I) { return I.active && inv.kept(I, I.t, t.T); }
  z3::expr hit(Instance & I);
  z3::expr allows(const z3::expr & perm) { return (perm & t.bv(t.cp.access, t.PermW)) != t.bv(0, t.PermW); }
  z3::expr reaches_free(const Tr & x);
  z3::expr unsafe(const Tr & b, const Tr & m);
  z3::expr restrictive(const Tr & b, const Tr & m);

  Terms & t;
  MemoryTerms & mem;
  Invalidations & inv;
  Fills & fills;
  const Z3Domain D;  ///< the kernel's value domain (spec/semantics/judge.h)
  std::optional<Attach> attach_T_;
  std::vector<RouteSel> routes_;
  std::optional<RouteSel> route_;
  std::optional<Res> s1_T_;
  std::optional<Attach> raw_T_;
  std::optional<MemTerms> walk_mem_;  ///< the walker's view at the check point
};

}  // namespace nostale::smt
