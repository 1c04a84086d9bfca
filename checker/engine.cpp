#include "checker/engine.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <z3++.h>

#include "checker/safe_write.h"
#include "spec/interp/explorer.h"
#include "spec/model/properties.h"
#include "spec/model/errors.h"
#include "spec/profiles/api/profile.h"
#include "spec/smt/encoding.h"

namespace nostale {

const char * verdict_name(Verdict v)
{
  switch (v) {
    case Verdict::Safe: return "safe";
    case Verdict::Violation: return "violation";
    case Verdict::Unknown: return "unknown";
  }
  return "?";
}

namespace {

using Clock = std::chrono::steady_clock;

unsigned count_true(const z3::model & m, const z3::expr_vector & v)
{
  unsigned n = 0;
  for (unsigned i = 0; i < v.size(); ++i) n += m.eval(v[i], true).is_true();
  return n;
}

CheckResult check_explicit(const Scenario & sc, const Timeline & tl, const CheckOptions & opt)
{
  CheckResult r;
  ExplicitResult e = explore(sc, tl, opt.unsafe_only, 200000, opt.timeout_s);
  if (!e.complete) {
    r.verdict = Verdict::Unknown;
    r.reason = e.limit;
    return r;
  }
  if (!e.check) {
    r.verdict = Verdict::Safe;
    return r;
  }
  r.verdict = Verdict::Violation;
  r.property = e.property;
  r.severity = e.severity;
  r.step = tl.checks[*e.check].step;
  return r;
}

const char * completion_name(Completion c) { return c == Completion::InOrder ? "in-order" : "any-order"; }

}  // namespace

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

namespace {

/// check_scenario with the Z3 context given, so that the in-order verdict's any-order
/// re-check shares it (and its time budget), and the result is handed to on_result while
/// every solver object is still alive.
CheckResult check_in(z3::context & ctx, const Scenario & input, const CheckOptions & opt, Clock::time_point t0)
{
  Scenario sc = input;
  if (opt.completion) sc.config.completion = *opt.completion;
  Timeline tl = build_timeline(sc);
  CheckResult r;
  r.stats.check_points = tl.checks.size();
  auto finish = [&](CheckResult res) {
    res.stats.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    if (opt.on_result) opt.on_result(res);  // may not return (a child process leaving early)
    return res;
  };
  if (opt.engine == "explicit") {
    CheckResult e = check_explicit(sc, tl, opt);
    e.stats.check_points = tl.checks.size();
    return finish(e);
  }

  // Gives `s` what is left of the scenario's time budget; false when nothing is left.
  auto arm = [&](z3::solver & s) {
    if (opt.timeout_s <= 0) return true;
    double left = opt.timeout_s - std::chrono::duration<double>(Clock::now() - t0).count();
    if (left <= 0) return false;
    s.set("timeout", static_cast<unsigned>(left * 1000) + 1u);
    return true;
  };
  const char * not_shortest = "this trace may not be the shortest: the time limit stopped shrinking it";
  for (std::size_t ci = 0; ci < tl.checks.size(); ++ci) {
    auto tb = Clock::now();
    smt::Encoding enc(ctx, sc, tl, ci);
    z3::expr base = enc.constraints();
    if (std::getenv("NOSTALE_DEBUG"))
      std::fprintf(stderr, "[nostale] step %zu: encoding built in %.3f s\n", tl.checks[ci].step,
                   std::chrono::duration<double>(Clock::now() - tb).count());
    for (const Query & q : kQueries) {
      if (opt.unsafe_only && std::string(q.severity) == "restrictive") continue;
      std::optional<z3::expr> bad = enc.violation(q.property, q.severity);
      if (!bad) continue;
      // A fresh QF_BV solver per query keeps Z3 in its one-shot bit-blasting mode (measured
      // against the default, the incremental core and the qfbv tactic: fastest or equal).
      z3::solver s(ctx, "QF_BV");
      if (!arm(s)) {
        r.verdict = Verdict::Unknown;
        r.reason = "timeout before check point at step " + std::to_string(tl.checks[ci].step);
        return finish(r);
      }
      s.add(base);
      s.add(*bad);
      if (!opt.smt2_dir.empty()) {
        std::string path = opt.smt2_dir + "/" + smt2_query_name(sc, tl.checks[ci].step, q.property, q.severity);
        write_regular_file(path, "; nostale query: " + sc.name + ", check point at step " +
                                     std::to_string(tl.checks[ci].step) + ", " + q.property + " " + q.severity +
                                     ", " + completion_name(sc.config.completion) +
                                     " completion (sat = violation)\n" + s.to_smt2());
      }
      auto tq = Clock::now();
      z3::check_result res = s.check();
      ++r.stats.solver_calls;
      if (std::getenv("NOSTALE_DEBUG"))
        std::fprintf(stderr, "[nostale] step %zu %s %s: %s in %.3f s\n", tl.checks[ci].step, q.property,
                     q.severity, res == z3::sat ? "sat" : res == z3::unsat ? "unsat" : "unknown",
                     std::chrono::duration<double>(Clock::now() - tq).count());
      if (res == z3::unknown) {
        r.verdict = Verdict::Unknown;
        r.reason = s.reason_unknown() + " (check point at step " + std::to_string(tl.checks[ci].step) +
                   ", property " + q.property + "); earlier check points are safe";
        return finish(r);
      }
      if (res == z3::unsat) continue;

      // Shortest trace: fewest hardware actions. Stop shrinking on unsat or unknown.
      z3::model m = s.get_model();
      z3::expr_vector acts = enc.actions();
      for (unsigned k = count_true(m, acts); k > 0;) {
        if (!arm(s)) {
          r.note = not_shortest;
          break;
        }
        s.add(z3::atmost(acts, k - 1));
        ++r.stats.solver_calls;
        z3::check_result shrunk = s.check();
        if (shrunk == z3::unknown && opt.timeout_s > 0) r.note = not_shortest;
        if (shrunk != z3::sat) break;
        m = s.get_model();
        k = count_true(m, acts);
      }
      Counterexample cex = enc.extract(m, q.property, q.severity);
      if (const Profile * prof = find_profile(sc.profile)) cex.rule = prof->rule(cex, sc, tl);
      std::string why = replay(sc, tl, cex);
      if (!why.empty()) {
        std::string events;
        for (const HwEvent & e : cex.events)
          events += "\n  gap " + std::to_string(e.gap) + " pos " + std::to_string(e.pos) + ": " +
                    (e.kind == HwEvent::Complete ? "complete #" + std::to_string(e.inv)
                     : e.kind == HwEvent::PageRequest ? std::string("page request")
                                                      : "fill " + describe(sc.config, e.entry) + (e.torn ? " (torn)" : ""));
        throw InternalError("counterexample at step " + std::to_string(tl.checks[ci].step) +
                            " does not replay on the interpreter: " + why + "; claimed " + cex.property +
                            " " + cex.severity + " on " + describe(sc.config, cex.entry) + " for dev " +
                            std::to_string(cex.device) + " pasid " + std::to_string(cex.pasid) + " addr " +
                            std::to_string(cex.addr) + events);
      }
      r.verdict = Verdict::Violation;
      r.property = cex.property;
      r.severity = cex.severity;
      r.step = tl.checks[ci].step;
      r.cex = cex;
      return finish(r);
    }
    if (opt.on_proved) opt.on_proved(tl.checks[ci].step);  // every query here was unsat
  }
  r.verdict = Verdict::Safe;
  // A verdict that holds only because descriptors execute in order must say so (OPEN-1).
  if (sc.config.completion == Completion::InOrder && !opt.completion) {
    CheckOptions any = opt;
    any.completion = Completion::AnyOrder;
    any.on_proved = nullptr;  // progress is about the verdict being reported
    any.on_result = nullptr;
    CheckResult a = check_in(ctx, input, any, t0);  // same deadline: it counts from t0
    r.stats.solver_calls += a.stats.solver_calls;
    if (a.verdict == Verdict::Violation)
      r.note = "safe only under in-order completion: with any-order completion, " + a.property +
               (a.severity.empty() ? "" : " (" + a.severity + ")") + " at step " + std::to_string(*a.step) +
               " [rule " + (a.cex ? a.cex->rule : std::string("?")) + "]";
    else if (a.verdict == Verdict::Unknown)
      r.note = "any-order completion not decided: " + a.reason;
    else
      r.note = "also safe under any-order completion";
  }
  return finish(r);
}

}  // namespace

CheckResult check_scenario(const Scenario & sc, const CheckOptions & opt)
{
  z3::context ctx;
  return check_in(ctx, sc, opt, Clock::now());
}

}  // namespace nostale
