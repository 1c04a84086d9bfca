#include "checker/solve.h"

#include <cstdio>
#include <cstdlib>

#include "checker/engine.h"
#include "checker/safe_write.h"
#include "spec/model/errors.h"
#include "spec/profiles/api/profile.h"

namespace nostale {

namespace {

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

bool debug() { return std::getenv("NOSTALE_DEBUG") != nullptr; }

const char * answer_name(z3::check_result r)
{
  return r == z3::sat ? "sat" : r == z3::unsat ? "unsat" : "unknown";
}

const char * completion_name(Completion c) { return c == Completion::InOrder ? "in-order" : "any-order"; }

}  // namespace

unsigned count_true(const z3::model & m, const z3::expr_vector & actions)
{
  unsigned n = 0;
  for (unsigned i = 0; i < actions.size(); ++i) n += m.eval(actions[i], true).is_true();
  return n;
}

bool Budget::arm(z3::solver & s) const
{
  if (!limited()) return true;
  double left = seconds - since(start);
  if (left <= 0) return false;
  s.set("timeout", static_cast<unsigned>(left * 1000) + 1u);
  return true;
}

ScenarioRun::ScenarioRun(z3::context & ctx, Scenario sc, Budget budget, std::string smt2_dir)
    : ctx_(std::shared_ptr<z3::context>(), &ctx), sc_(std::move(sc)), tl_(build_timeline(sc_)), budget_(budget), smt2_dir_(std::move(smt2_dir)),
      slices_(smt::pasid_slices(sc_))
{
}

void ScenarioRun::advance(std::size_t check)
{
  if (at_ && at_check_ == check) return;
  if (at_ && check > at_check_) try_cut();
  // CUT-1: the latest cut before this check point (cuts are found in check-point order).
  std::size_t lo = 0;
  for (std::size_t c : cuts_)
    if (c < step(check)) lo = c;
  // CUT-2: nothing a walk reads changed since that cut, so this check point is a cut too, and
  // its own encoding starts here (one gap of fills instead of every gap since the cut).
  if (smt::Encoding::quiet_cut(sc_, tl_, lo, check)) {
    add_cut(step(check));
    lo = step(check);
  }
  // The previous check point's terms go before the next one's are made, and constraints()
  // right after the encoding: Z3 reuses the ids of freed terms, and its models (so the traces
  // and the number of shrinking calls) depend on them.
  release();
  if (lo != ctx_lo_ && encodings_built_ - ctx_first_ >= kContextSpan) {
    // CUT-1: encodings from another cut share no terms with those before, so they may start a
    // new context. Z3's per-context state grows with every encoding built in it (measured:
    // the same query took 3x longer at step 1,000 of one context than in a fresh one), and
    // tearing a context down costs about 20 ms: a new one every kContextSpan encodings.
    // Answers still held keep their context alive (Answer::ctx).
    ctx_first_ = encodings_built_;
    ctx_ = std::make_shared<z3::context>();
    ctx_lo_ = lo;
  }
  at_ = true;
  at_check_ = check;
  enc_lo_ = lo;
}

smt::Encoding & ScenarioRun::encoding(std::size_t check)
{
  advance(check);
  if (enc_) return *enc_;
  auto tb = Clock::now();
  enc_ = std::make_unique<smt::Encoding>(*ctx_, sc_, tl_, check, enc_lo_);
  ++encodings_built_;
  base_ = enc_->constraints();
  if (debug()) std::fprintf(stderr, "[nostale] step %zu: encoding built in %.3f s\n", step(check), since(tb));
  return *enc_;
}

bool ScenarioRun::worth_slicing(std::size_t check) const
{
  if (slices_.size() < kSliceMinPasids + 1) return false;
  if (sc_.config.devices.size() >= kSliceMinDevices) return true;
  // The invalidations with a PASID filter that the encoding holds (those completed before its
  // cut are left out): what a slice leaves out of all but one query.
  std::size_t n = 0, s = step(check);
  for (const Invalidation & inv : tl_.invs)
    if (inv.step < s && inv.pat.pasid && !(enc_lo_ > 0 && inv.sync && *inv.sync < enc_lo_)) ++n;
  return n >= kSliceMinInvalidations;
}

bool ScenarioRun::cut_worth_asking(std::size_t check) const
{
  std::size_t s = step(check), lo = cuts_.empty() ? 0 : cuts_.back();
  // Worth a query only when the encodings after it would be shorter by enough to matter, and
  // some check point follows.
  return check >= cut_tried_ && check + 1 < check_points() && !is_cut(s) && s - lo >= cut_min_gaps_ &&
         smt::Encoding::cut_possible(sc_, tl_, check);
}

void ScenarioRun::try_cut()
{
  std::size_t check = at_check_;
  // Not built (its slices proved it): a cut left unasked costs time, never a verdict.
  if (!enc_ || !cut_worth_asking(check)) return;  // (or asked before: a policy may come back to a check point)
  cut_tried_ = check + 1;
  std::size_t s = step(check);
  z3::solver sv(*ctx_, "QF_BV");
  if (!budget_.arm(sv)) return;
  sv.add(enc_->cut_query());
  auto tq = Clock::now();
  z3::check_result res = sv.check();
  ++solver_calls_;
  solver_seconds_ += since(tq);
  if (debug()) std::fprintf(stderr, "[nostale] step %zu cut: %s in %.3f s\n", s, answer_name(res), since(tq));
  if (res == z3::unsat) add_cut(s);
}

bool ScenarioRun::new_solver(Answer & a)
{
  // A fresh QF_BV solver per query keeps Z3 in its one-shot bit-blasting mode (measured
  // against the default, the incremental core and the qfbv tactic: fastest or equal).
  a.ctx = ctx_;
  a.solver = std::make_shared<z3::solver>(*ctx_, "QF_BV");
  if (budget_.arm(*a.solver)) return true;
  a.kind = Answer::Unknown;
  a.reason = "no time left";
  a.asked = false;
  a.solver.reset();
  return false;
}

Answer ScenarioRun::solve(std::size_t check, const Query & q, const std::vector<z3::expr> & extra)
{
  Answer a;
  a.check = check;
  a.query = q;
  std::optional<z3::expr> bad = encoding(check).violation(q.property, q.severity);
  if (!bad) return a;  // NotApplicable
  if (!new_solver(a)) return a;
  a.solver->add(*base_);
  a.solver->add(*bad);
  for (const z3::expr & e : extra) a.solver->add(e);
  // The dump is the query itself; the re-asks of --all and of a readable witness (with
  // `extra`) would overwrite it under the same name.
  if (!smt2_dir_.empty() && extra.empty()) dump(check, q, *a.solver);
  return ask(std::move(a));
}

/// One query for every property in `any` (the violations of `enc`), and where `with_cut` the
/// cut too (CUT-1): unsat proves every property and the cut. Fills in the kind of `a`.
void ScenarioRun::ask_any(Answer & a, smt::Encoding & enc, const z3::expr_vector & any, bool with_cut)
{
  if (new_solver(a)) {
    if (with_cut) {
      a.solver->add(enc.shared_constraints());
      a.solver->add((enc.witness_constraint() && z3::mk_or(any)) || enc.cut_breach());
    } else {
      a.solver->add(enc.constraints());
      a.solver->add(z3::mk_or(any));
    }
    a = ask(std::move(a));
  }
  a.solver.reset();  // the model stays: adopt() may take it as one property's answer
}

Answer ScenarioRun::answered(const Answer & sat, const Query & q, const std::vector<z3::expr> & more, const char * how)
{
  Answer a;
  a.check = sat.check;
  a.query = q;
  a.kind = Answer::NotApplicable;
  if (sat.kind != Answer::Sat || !sat.model || !at_ || at_check_ != sat.check || !enc_) return a;
  std::optional<z3::expr> bad = enc_->violation(q.property, q.severity);
  if (!bad) return a;
  z3::expr_vector all(*ctx_);
  all.push_back(*base_);
  all.push_back(*bad);
  for (const z3::expr & e : more) all.push_back(e);
  for (unsigned i = 0; i < all.size(); ++i)  // one by one: no new term (Z3's models depend on term ids)
    if (!sat.model->eval(all[i], true).is_true()) return a;
  // The model satisfies the query: it is the query's answer, and the solver holds the query for
  // the policies that ask again with more (refine, shrink).
  if (!new_solver(a)) return a;
  a.solver->add(all);
  a.model = sat.model;
  a.kind = Answer::Sat;
  if (debug()) std::fprintf(stderr, "[nostale] step %zu %s %s: sat in %s\n", step(a.check), q.property, q.severity, how);
  return a;
}

Answer ScenarioRun::adopt(const Answer & any, const Query & q)
{
  return answered(any, q, {}, "the model of the query for every property");
}

Answer ScenarioRun::reuse(const Answer & sat, const std::vector<z3::expr> & more)
{
  return answered(sat, sat.query, more, "the model already found");
}

z3::expr_vector ScenarioRun::violations(smt::Encoding & enc, const std::vector<Query> & qs)
{
  z3::expr_vector any(*ctx_);
  for (const Query & q : qs)
    if (std::optional<z3::expr> bad = enc.violation(q.property, q.severity)) any.push_back(*bad);
  return any;
}

Answer ScenarioRun::solve_any(std::size_t check, const std::vector<Query> & qs)
{
  Answer a;
  a.check = check;
  a.kind = Answer::Sat;  // "ask one by one"
  if (!smt2_dir_.empty()) return a;
  advance(check);
  // CUT-1: where a cut is worth asking about, the same query asks it too: unsat then proves
  // every property here and the cut (on a long safe flow, one query instead of two).
  const bool with_cut = cut_worth_asking(check);
  bool cut = with_cut;
  if (worth_slicing(check)) {
    // SLICE-1: one query per witness PASID class, each over a smaller encoding. They prove
    // what the whole query would (the slices are exact), and the whole encoding is not built;
    // where one is sat, the properties are asked one by one of the whole encoding, which
    // gives the trace.
    for (const smt::PasidSlice & sl : slices_) {
      auto tb = Clock::now();
      smt::Encoding part(*ctx_, sc_, tl_, check, enc_lo_, &sl);
      ++encodings_built_;  // it grows the context as much (kContextSpan)
      z3::expr_vector part_any = violations(part, qs);
      double built = since(tb);
      if (part_any.empty() && !cut) continue;
      ask_any(a, part, part_any, cut);
      if (a.kind == Answer::Sat && cut) {  // a property, or only the cut: ask again without it
        cut = false;
        if (part_any.empty()) continue;
        ask_any(a, part, part_any, false);
      }
      a.model.reset();  // a slice's model is not one of the whole encoding
      if (debug())
        std::fprintf(stderr, "[nostale] step %zu: slice %s (built in %.3f s): %s\n", step(check),
                     sl.pasid ? ("PASID " + std::to_string(*sl.pasid)).c_str() : "other PASIDs", built,
                     a.kind == Answer::Unsat ? "unsat" : a.kind == Answer::Sat ? "sat" : "unknown");
      if (a.kind != Answer::Unsat) return a;  // sat or unknown: ask one by one
    }
    a.kind = Answer::Unsat;
  } else {
    smt::Encoding & enc = encoding(check);
    z3::expr_vector any = violations(enc, qs);
    if (any.empty()) {
      a.kind = Answer::Unsat;
      return a;
    }
    ask_any(a, enc, any, with_cut);
  }
  // Asked (by the slices, or in the whole query): the cut query alone would say the same.
  if (with_cut && a.kind == Answer::Unsat) cut_tried_ = check + 1;
  if (cut && a.kind == Answer::Unsat) {
    add_cut(step(check));
    if (debug()) std::fprintf(stderr, "[nostale] step %zu: a cut (asked with the properties)\n", step(check));
  }
  return a;
}

Answer ScenarioRun::refine(const Answer & sat, const z3::expr & more)
{
  if (sat.kind != Answer::Sat || !sat.solver) throw InternalError("refine: not a sat answer");
  Answer a = sat;
  a.model.reset();
  if (!budget_.arm(*a.solver)) {
    a.kind = Answer::Unknown;
    a.reason = "no time left";
    a.asked = false;
    return a;
  }
  a.solver->add(more);
  return ask(std::move(a));
}

/// Checks `a.solver` and fills in the answer.
Answer ScenarioRun::ask(Answer a)
{
  auto tq = Clock::now();
  z3::check_result res = a.solver->check();
  ++solver_calls_;
  solver_seconds_ += since(tq);
  if (debug())
    std::fprintf(stderr, "[nostale] step %zu %s %s: %s in %.3f s\n", step(a.check), a.query.property,
                 a.query.severity, answer_name(res), since(tq));
  if (res == z3::sat) {
    a.kind = Answer::Sat;
    a.model = a.solver->get_model();
  } else if (res == z3::unsat) {
    a.kind = Answer::Unsat;
  } else {
    a.kind = Answer::Unknown;
    a.reason = a.solver->reason_unknown();
  }
  if (a.kind != Answer::Sat) a.solver.reset();
  return a;
}

void ScenarioRun::dump(std::size_t check, const Query & q, z3::solver & s) const
{
  std::string path = smt2_dir_ + "/" + smt2_query_name(sc_, step(check), q.property, q.severity);
  write_regular_file(path, "; nostale query: " + sc_.name + ", check point at step " + std::to_string(step(check)) +
                               ", " + q.property + " " + q.severity + ", " + completion_name(sc_.config.completion) +
                               " completion (sat = violation)\n" + s.to_smt2());
}

std::string smt2_query_name(const Scenario & sc, std::size_t step, const std::string & property,
                            const std::string & severity)
{
  // The scenario's path, with '%' and '/' (and bytes a file name should not hold) percent-
  // encoded: two scenarios never share a name, whatever folders they come from.
  std::string enc;
  for (unsigned char ch : sc.file) {
    if (ch == '%' || ch == '/' || ch < 0x20 || ch == 0x7f) {
      char b[4];
      std::snprintf(b, sizeof b, "%%%02X", ch);
      enc += b;
    } else {
      enc += static_cast<char>(ch);
    }
  }
  if (enc.size() > 160) {  // file names are at most 255 bytes: keep the tail, made unique by a hash
    u64 h = 1469598103934665603ull;
    for (unsigned char ch : sc.file) h = (h ^ ch) * 1099511628211ull;
    char b[20];
    std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(h));
    enc = std::string(b) + "-" + enc.substr(enc.size() - 140);
  }
  return enc + "." + completion_name(sc.config.completion) + ".step" + std::to_string(step) + "." + property +
         (severity.empty() ? "" : "." + severity) + ".smt2";
}

Counterexample ScenarioRun::counterexample(const Answer & sat)
{
  if (sat.kind != Answer::Sat || !sat.model) throw InternalError("counterexample: not a sat answer");
  Counterexample cex = encoding(sat.check).extract(*sat.model, sat.query.property, sat.query.severity);
  if (const Profile * prof = find_profile(sc_.profile)) cex.rule = prof->rule(cex, sc_, tl_);
  return cex;
}

}  // namespace nostale
