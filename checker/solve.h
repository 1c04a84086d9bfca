// The engine's mechanism: one object per scenario run that answers "is (check point, property)
// violated?" with sat and a model, unsat, unknown and why, or not applicable. It owns what every
// question shares: the scenario (its completion order chosen), the timeline, the time budget,
// the encoding of the check point last asked about, and the --smt2 dump. What to ask and what to
// do with an answer (stop at the first violation, shrink, replay, the in-order note) are the
// policies in checker/policies/. A policy that lists every distinct violation (issue 9) fits
// on top without changing this: it asks solve() again with `extra` constraints that block the
// violations already found (terms from encoding(check)), and shrinks each answer by refine().
#pragma once

#include <z3++.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "checker/engine.h"
#include "spec/interp/counterexample.h"
#include "spec/model/properties.h"
#include "spec/smt/encoding.h"

namespace nostale {

using Clock = std::chrono::steady_clock;

/// A time budget for a whole scenario, counted from `start`; `seconds` <= 0 means none. A
/// re-check (the in-order note) copies it and so shares the deadline.
struct Budget {
  Clock::time_point start = Clock::now();
  double seconds = 0;

  bool limited() const { return seconds > 0; }
  /// Gives `s` what is left; false when nothing is (then `s` must not be asked).
  bool arm(z3::solver & s) const;
};

/// What the solver said about one query. Sat keeps the query's solver, so that a policy can
/// ask again with more constraints (ScenarioRun::refine): fewer actions, a blocked entry.
struct Answer {
  enum Kind { Sat, Unsat, Unknown, NotApplicable };
  Kind kind = NotApplicable;
  std::size_t check = 0;  ///< index into Timeline::checks
  Query query{"", ""};
  /// Unknown: the solver's reason, or "no time left" when the budget was spent before it was
  /// asked (then `asked` is false).
  std::string reason;
  bool asked = true;
  /// The context of the query's terms (CUT-1: each cut's encodings have their own), declared
  /// before the model and the solver so that it outlives them.
  std::shared_ptr<z3::context> ctx;
  std::optional<z3::model> model;        ///< Sat
  std::shared_ptr<z3::solver> solver;    ///< Sat: holds constraints, violation and extras
};

/// One scenario run: every query of every check point, with one context and one deadline.
class ScenarioRun {
 public:
  /// `sc` with its completion order already chosen; `smt2_dir` empty: no dump.
  ScenarioRun(z3::context & ctx, Scenario sc, Budget budget, std::string smt2_dir = "");

  const Scenario & scenario() const { return sc_; }
  const Timeline & timeline() const { return tl_; }
  const Budget & budget() const { return budget_; }
  /// A policy may give what follows its own deadline (e.g. a share of the budget per violation).
  void set_budget(const Budget & b) { budget_ = b; }
  std::size_t check_points() const { return tl_.checks.size(); }
  std::size_t step(std::size_t check) const { return tl_.checks.at(check).step; }
  unsigned solver_calls() const { return solver_calls_; }
  double solver_seconds() const { return solver_seconds_; }
  /// Encodings built so far, slices (SLICE-1) included.
  unsigned encodings_built() const { return encodings_built_; }
  /// CUT-1: the steps of the check points found to be cuts so far, in order.
  const std::vector<std::size_t> & cuts() const { return cuts_; }
  /// CUT-1: ask about a cut only this many gaps after the previous one (tests ask at every
  /// check point, to exercise cuts on short scenarios).
  void set_cut_min_gaps(std::size_t n) { cut_min_gaps_ = n; }

  /// The encoding of `check`, built once and kept until another check point is asked about.
  smt::Encoding & encoding(std::size_t check);
  /// Moves on to `check` without building its encoding: asks the cut of the check point held
  /// before when that was not asked yet, finds the cut `check` starts from, lets go of the
  /// previous encoding, and starts a new context where it is time to (CUT-1, CUT-2).
  void advance(std::size_t check);

  /// Asks whether `q` is violated at `check`, under `extra` constraints too (e.g. blocking
  /// a violation already reported). Writes the --smt2 dump when one is asked for and there
  /// are no `extra` constraints (the dump is the query of (check point, property) itself).
  Answer solve(std::size_t check, const Query & q, const std::vector<z3::expr> & extra = {});
  /// One query for all of `qs` at once: Unsat proves every one of them at `check` (Unsat too
  /// when none applies); Sat or Unknown says only that the queries must be asked one by one.
  /// Not with --smt2, whose dumps are one per property (then it answers Sat without asking).
  /// A Sat answer of the whole encoding keeps its model, for adopt().
  /// Where a cut is worth asking about at `check`, asks that too (CUT-1): Unsat then also
  /// makes `check` a cut.
  Answer solve_any(std::size_t check, const std::vector<Query> & qs);
  /// A Sat answer of solve_any() whose model shows `q` violated: `q`'s own Sat answer, with
  /// that model and a solver holding `q`'s query, without asking again (NotApplicable when
  /// the model does not show `q`, or the answer is not of the whole encoding held now).
  Answer adopt(const Answer & any, const Query & q);
  /// `sat`'s model as the answer of its query under `more` too, without asking, where the
  /// model satisfies every one of `more`: Sat, with a solver holding the query and `more`
  /// (NotApplicable otherwise, or where `sat` is not of the encoding held now).
  Answer reuse(const Answer & sat, const std::vector<z3::expr> & more);
  /// Asks the solver of a Sat answer again with `more` added (it stays added); the answer's
  /// own model is not changed. Throws InternalError for an answer that is not Sat.
  Answer refine(const Answer & sat, const z3::expr & more);
  /// The counterexample a Sat answer's model shows, with the profile's rule (InternalError if
  /// the answer is not Sat).
  Counterexample counterexample(const Answer & sat);

  /// Lets go of the cached encoding and its terms (before a re-check in the same context:
  /// terms kept alive change the ids Z3 gives new ones, and with them its models).
  void release()
  {
    base_.reset();
    enc_.reset();
    at_ = false;
  }

 private:
  Answer ask(Answer a);
  /// CUT-1: asks whether the check point of the encoding held now is a cut, when it may be
  /// and when it would pay (the checks after it would start later).
  void try_cut();
  /// CUT-1, CUT-2: the step of a check point found to be a cut; cuts_ stays in step order,
  /// each once (a policy may come back to a check point).
  void add_cut(std::size_t s)
  {
    if (!is_cut(s)) cuts_.push_back(s);
  }
  /// Whether `s` is at or before the latest cut (cuts are found in step order).
  bool is_cut(std::size_t s) const { return !cuts_.empty() && cuts_.back() >= s; }
  /// CUT-1: whether a cut at `check` is still to be asked about and would pay.
  bool cut_worth_asking(std::size_t check) const;
  /// SLICE-1: whether proving `check` one witness PASID class at a time pays: the scenario
  /// names kSliceMinPasids PASIDs, and the encoding holds kSliceMinInvalidations invalidations
  /// with a PASID filter or the scenario has kSliceMinDevices devices.
  bool worth_slicing(std::size_t check) const;
  void ask_any(Answer & a, smt::Encoding & enc, const z3::expr_vector & any, bool with_cut);
  /// Gives `a` a fresh solver of the current context, armed with what is left of the budget;
  /// false (and `a` Unknown, "no time left", not asked) when nothing is.
  bool new_solver(Answer & a);
  /// adopt() and reuse(): `sat`'s model as the answer of `q` under `more`, where it satisfies
  /// them, on the encoding held now; `how` says where the model came from (NOSTALE_DEBUG).
  Answer answered(const Answer & sat, const Query & q, const std::vector<z3::expr> & more, const char * how);
  z3::expr_vector violations(smt::Encoding & enc, const std::vector<Query> & qs);
  void dump(std::size_t check, const Query & q, z3::solver & s) const;

  /// The context of the encodings from cut ctx_lo_ on: the caller's before the first cut.
  std::shared_ptr<z3::context> ctx_;
  std::size_t ctx_lo_ = 0;
  unsigned ctx_first_ = 0;  ///< encodings_built_ when ctx_ was made
  /// Encodings built in one context at least before a cut starts a new one (measured on a
  /// 1,201-step flow: 1 10.1 s, 8 8.9 s, 16 8.6 s, 32 8.1 s, 64 8.4 s and more memory).
  static constexpr unsigned kContextSpan = 16;
  Scenario sc_;
  Timeline tl_;
  Budget budget_;
  std::string smt2_dir_;
  unsigned solver_calls_ = 0;
  double solver_seconds_ = 0;
  unsigned encodings_built_ = 0;
  bool at_ = false;           ///< advance() was called for at_check_ (and not released since)
  std::size_t at_check_ = 0;  ///< the check point held: enc_ is its encoding when built
  std::unique_ptr<smt::Encoding> enc_;
  std::size_t enc_lo_ = 0;  ///< the cut at_check_'s encodings start at
  /// SLICE-1: the witness PASID classes; solve_any asks them one by one where the scenario
  /// names at least kSliceMinPasids PASIDs.
  std::vector<smt::PasidSlice> slices_;
  std::optional<z3::expr> base_;  ///< enc_->constraints()
  std::vector<std::size_t> cuts_;
  std::size_t cut_tried_ = 0;  ///< check points before this one were considered for a cut
  std::size_t cut_min_gaps_ = kCutMinGaps;
};

/// How many of `actions` a model makes true: the length of its trace in hardware actions.
unsigned count_true(const z3::model & m, const z3::expr_vector & actions);

}  // namespace nostale
