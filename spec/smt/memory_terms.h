// Memory as terms over a symbolic address: walks of the concrete page tables of each memory
// epoch (what the walker sees at a gap) and of memory at the check point, PASID-table and
// context entries, freed ranges, and the translations built from walks (nesting, pass-through).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <utility>
#include <vector>

#include "spec/semantics/translate.h"
#include "spec/smt/terms.h"
#include "spec/smt/z3_domain.h"

namespace nostale::smt {

/// The scenario sets or clears some device's ATS Enable bit (Op::Ats, ATS-9).
inline bool has_ats_steps(const Scenario & sc)
{
  for (const Step & st : sc.steps)
    if (st.op == Op::Ats) return true;
  return false;
}

struct MemTerms {
  const Memory * mem;
  std::map<std::tuple<u64, unsigned, unsigned, unsigned>, Res> memo;  // table, level, stop, address id
  /// The addresses the memo is keyed by, kept alive: Z3 gives a freed term's id to the next new
  /// one, and a walk built later for another address must not find this one's result.
  std::vector<z3::expr> keys;
};

class MemoryTerms {
 public:
  explicit MemoryTerms(Terms & terms);

  /// Memory at the check point.
  MemTerms check_mem;

  /// Walk from the concrete table `t` of level `l` to a leaf, or to the pointer at `stop`, for
  /// the address `addr` (the witness, or a guest-physical address in a nested second stage).
  Res walk_concrete(MemTerms & m, u64 t, unsigned l, unsigned stop, const z3::expr & addr);
  /// Walk from a symbolic table frame X: anything but a level-`l` table reads as arbitrary.
  Res walk_sym(MemTerms & m, const z3::expr & X, unsigned l, unsigned stop) { return walk_sym(m, X, l, stop, t.wa); }
  Res walk_sym(MemTerms & m, const z3::expr & X, unsigned l, unsigned stop, const z3::expr & addr);

  /// Walk on below a pointer of level `l` to the symbolic table X: of level l - 1, or, with
  /// `next` (levels skipped, AMD-PT-1), of the level it names (0: l - 1), only if the address's
  /// skipped index bits are zero.
  Res walk_below(MemTerms & m, const z3::expr & X, unsigned l, const std::optional<z3::expr> & next, unsigned stop,
                 const z3::expr & addr);
  /// The index bits of levels below + 1 .. l - 1 of `addr` are zero (AMD-PT-1).
  z3::expr skipped_zero(unsigned l, unsigned below, const z3::expr & addr);

  /// The PASID-table entry of (device w, the witness PASID) in memory m.
  Attach attach_at(const Memory & m, const z3::expr & w) { return attach_at(m, w, t.wp); }
  Attach attach_at(const Memory & m, const z3::expr & w, const z3::expr & pasid);
  z3::expr is_free(const Memory & m, const z3::expr & f);
  /// Device w's context entry is present in memory m (always, without context entries).
  z3::expr ctx_at(const Memory & m, const z3::expr & w);
  /// The PASID table device w's context entry points to in m (VTD-CTX-1).
  z3::expr tab_at(const Memory & m, const z3::expr & w);
  /// The PASID-table entry of (w, pasid) in w's PASID table `tab` in m: memory's when its
  /// context entry points there, else the parked table's (Memory::attachment_in).
  Attach attach_in(const Memory & m, const z3::expr & w, const z3::expr & tab, const z3::expr & pasid);
  /// The ATS Enable bit of device `w` in `m` (ATS-9); only scenarios with ats steps need it
  /// (has_ats_steps).
  z3::expr ats_at(const Memory & m, const z3::expr & w);

  /// The term `f` builds from memory, at the symbolic gap g. Epochs whose terms are identical
  /// (Z3 shares equal terms) are merged, so memory changes elsewhere cost nothing here.
  template <class F>
  auto at_gap(const z3::expr & g, F f)
  {
    auto acc = f(epochs.back().terms);
    auto cur = acc;
    for (std::size_t i = epochs.size() - 1; i-- > 0;) {
      auto x = f(epochs[i].terms);
      if (same(x, cur)) continue;
      acc = ite(z3::ule(g, t.bv(epochs[i].last_gap, t.GW)), x, acc);
      cur = x;
    }
    return acc;
  }

  // ---- translations built from walks ----------------------------------------------------

  z3::expr out_frame(const z3::expr & base, const z3::expr & lvl) { return out_frame(base, lvl, t.wa); }
  z3::expr out_frame(const z3::expr & base, const z3::expr & lvl, const z3::expr & addr);
  /// The pass-through translation of the witness address (mirrors nostale::pass_through).
  Res pass_res();

  /// Nested translation (mirrors nostale::nest): the first-stage result's output is a
  /// guest-physical frame, translated by `walk_s2(gpa)`; the combined entry is 4 KiB.
  /// The guest-physical address of a first-stage result for the witness, and whether the
  /// second stage can translate it (mirrors nostale::guest_physical).
  std::pair<z3::expr, z3::expr> guest_physical(const Res & s1);
  template <class W>
  Res nest(const Res & s1, W walk_s2)
  {
    // The second-stage walk is the encoding's; how the two stages combine is the kernel's.
    auto [leaf1, gpa] = guest_physical(s1);
    Res s2 = walk_s2(gpa);
    using Tr = sem::Tr<Z3Domain>;
    Tr n = sem::nest(Z3Domain{t.c}, Tr{s1.kind, s1.frame, s1.perm}, leaf1,
                     Tr{s2.kind, out_frame(s2.frame, s2.level, gpa), s2.perm}, t.FW);
    return Res{n.kind, t.bv(1, kLvlW), n.out, n.perm, t.bv(0, t.FW)};  // cached as 4 KiB
  }

 private:
  struct Epoch {
    std::size_t last_gap;
    MemTerms terms;
  };

  z3::expr index(unsigned l, const z3::expr & addr);
  /// Fills read what the walker sees (Timeline::walk), grouped where it does not change.
  void build_epochs();

  /// The values the term X can take when it is an ite-tree of constants (null otherwise),
  /// memoised by X's id; the terms are kept alive so that their ids stay theirs.
  const std::set<u64> * values(const z3::expr & X);

  Terms & t;
  std::vector<Epoch> epochs;
  std::map<unsigned, std::optional<std::set<u64>>> values_;
  std::vector<z3::expr> values_keys_;
};

}  // namespace nostale::smt
