// nostale: the command line. The only code that talks to users: it expands paths, runs the
// engine per scenario, renders, and maps outcomes to exit codes (checker/exit_codes.h).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <unistd.h>
#include <z3++.h>

#include "checker/engine.h"
#include "checker/export/promela.h"
#include "checker/policies/all_violations.h"
#include "checker/cli/isolate.h"
#include "checker/cli/diff.h"
#include "checker/cli/merge.h"
#include "checker/cli/plan.h"
#include "checker/exit_codes.h"
#include "checker/printable.h"
#include "checker/report.h"
#include "checker/report_html.h"
#include "checker/report_sarif.h"
#include "checker/safe_write.h"
#include "checker/scenario_loader.h"
#include "checker/strict_json.h"
#include "checker/import/import.h"
#include "spec/model/errors.h"

namespace fs = std::filesystem;
using namespace nostale;
using namespace nostale::cli;

namespace {

struct Options {
  std::vector<std::string> paths;
  std::string format = "text";
  std::string out;
  double timeout = 0;
  std::string severity = "all";
  std::string completion;
  std::string engine = "smt";
  std::string smt2_dir;
  bool all = false;
  unsigned jobs = 1;
  std::string shard;  ///< "i/n", empty: the whole plan
};

CheckOptions engine_options(const Options & o)
{
  CheckOptions c;
  c.timeout_s = o.timeout;
  c.unsafe_only = o.severity == "unsafe";
  if (o.completion == "in-order") c.completion = Completion::InOrder;
  if (o.completion == "any-order" || o.completion == "relaxed") c.completion = Completion::AnyOrder;
  c.engine = o.engine;
  c.smt2_dir = o.smt2_dir;
  c.all = o.all;
  return c;
}

/// Writes the report to `path` (atomically, checker/safe_write.h) or to stdout.
bool emit(const std::string & path, const std::string & text)
{
  if (path.empty()) {
    std::cout << text << std::flush;
    return true;
  }
  try {
    write_atomically(path, text);
  } catch (const OutputError & e) {
    std::cerr << printable(e.what()) << "\n";
    return false;
  }
  return true;
}

/// "scenario i of n" and the time elapsed, rewritten in place on stderr while a run goes, when
/// stderr is a terminal; nothing at all otherwise (a pipe, a file, CI logs).
class Progress {
 public:
  explicit Progress(std::size_t total)
      : on_(total > 0 && ::isatty(STDERR_FILENO) == 1), total_(total), t0_(std::chrono::steady_clock::now())
  {
  }
  /// `done` scenarios reported; `running`: (scenario, check points proved) of those running.
  void show(std::size_t done, const std::vector<std::pair<std::string, std::size_t>> & running)
  {
    if (!on_) return;
    char head[96];
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
    std::snprintf(head, sizeof head, "nostale: scenario %zu of %zu, %.0f s elapsed", std::min(done + 1, total_), total_, secs);
    std::string line = head;
    if (!running.empty())
      line += ": " + running.front().first +
              (running.front().second ? " (" + std::to_string(running.front().second) + " check points proved)" : "") +
              (running.size() > 1 ? " and " + std::to_string(running.size() - 1) + " more" : "");
    if (line.size() > 150) line = line.substr(0, 147) + "...";
    std::cerr << "\r\033[K" << printable(line) << std::flush;
    shown_ = true;
  }
  /// Takes the line away (before a report is printed on the same terminal, and at the end).
  void clear()
  {
    if (shown_) std::cerr << "\r\033[K" << std::flush;
    shown_ = false;
  }

 private:
  bool on_;
  std::size_t total_;
  std::chrono::steady_clock::time_point t0_;
  bool shown_ = false;
};

int exit_for(Verdict v)
{
  switch (v) {
    case Verdict::Safe: return kExitSafe;
    case Verdict::Violation: return kExitViolation;
    case Verdict::Unknown: return kExitUnknown;
  }
  return kExitInternal;
}

/// What one scenario came to, as the child process (or the parent, for a limit) reports it.
struct Outcome {
  int code = kExitSafe;
  std::string text;       ///< text report, or the test-mode line
  nlohmann::json json;    ///< JSON report object
  bool pass = false;      ///< test mode: matched the expectation
  std::string error;      ///< printed on stderr (internal or output errors)
  std::string verdict;    ///< safe | violation | unknown | internal-error | output-error
};

Outcome render(const Scenario & sc, const CheckResult & r, bool test_mode)
{
  Outcome out;
  out.verdict = verdict_name(r.verdict);
  out.code = exit_for(r.verdict);
  out.json = render_json(sc, r);
  if (test_mode) {
    std::string why;
    out.pass = matches_expectation(sc, r, why);
    char secs[32];
    std::snprintf(secs, sizeof secs, "%.3f s", r.stats.seconds);
    out.text = printable(std::string(out.pass ? "PASS  " : "FAIL  ") + sc.file + "  (" +
                         why.substr(why.find("got ") + 4) + "; " + secs + ")" + (out.pass ? "" : "  " + why)) +
               "\n";
    out.json["pass"] = out.pass;
  } else {
    out.text = render_text(sc, r);
  }
  return out;
}

nlohmann::json to_json(const Outcome & o)
{
  return {{"code", o.code}, {"text", o.text}, {"json", o.json}, {"pass", o.pass}, {"error", o.error},
          {"verdict", o.verdict}};
}

Outcome from_json(const nlohmann::json & j)
{
  Outcome o;
  o.code = j.at("code").get<int>();
  o.text = j.at("text").get<std::string>();
  o.json = j.at("json");
  o.pass = j.at("pass").get<bool>();
  o.error = j.at("error").get<std::string>();
  o.verdict = j.at("verdict").get<std::string>();
  return o;
}

Outcome internal_error(const Scenario & sc, const std::string & detail)
{
  Outcome o;
  o.code = kExitInternal;
  o.verdict = "internal-error";
  o.error = sc.file + ": internal error: " + detail;
  return o;
}

/// The child-process job that checks one loaded scenario (checker/cli/isolate.h). Any
/// exception but OutputError (a replay failure, a Z3 error) reaches the parent as an internal
/// error.
ChildJob check_job(const Scenario & sc, const CheckOptions & copt, bool test_mode)
{
  ChildWork work = [&sc, copt, test_mode](const ChildChannel & ch) {
    CheckOptions opt = copt;
    opt.on_proved = [&](std::size_t step) { ch.progress(step); };
    // The result leaves before the solver state is torn down (seconds on large queries).
    opt.on_result = [&](const CheckResult & r) { ch.finish(to_json(render(sc, r, test_mode))); };
    try {
      return to_json(render(sc, check_scenario(sc, opt), test_mode));
    } catch (const OutputError & e) {
      Outcome o;
      o.code = kExitBadInput;
      o.verdict = "output-error";
      o.error = e.what();
      return to_json(o);
    }
  };
  // The child's solver stops itself at the limit; the parent's deadline, a little later,
  // covers what Z3's timeout does not (building the encoding, a stuck teardown).
  return ChildJob{work, copt.timeout_s > 0 ? copt.timeout_s + 0.25 : 0};
}

/// What the child's end means for its scenario.
Outcome outcome_of(const Scenario & sc, const ChildOutcome & c, bool test_mode)
{
  if (c.kind == ChildOutcome::Done)
    return c.result.contains("internal_error") ? internal_error(sc, c.result["internal_error"].get<std::string>())
                                               : from_json(c.result);
  if (c.kind == ChildOutcome::Crashed) return internal_error(sc, c.detail);
  // A limit: unknown, with the check points proved before it.
  CheckResult r;
  r.verdict = Verdict::Unknown;
  r.stats.seconds = c.seconds;
  r.stats.check_points = build_timeline(sc).checks.size();
  std::string proved;
  for (std::size_t st : c.proved) proved += (proved.empty() ? "" : ", ") + std::to_string(st);
  char secs[32];
  std::snprintf(secs, sizeof secs, "%.1f s", c.seconds);
  r.reason = std::string(c.kind == ChildOutcome::Timeout ? "timeout" : "interrupted (Ctrl-C)") + " after " + secs +
             "; " +
             (proved.empty() ? std::string("no check point proved yet")
                             : "proved: the check point" + std::string(c.proved.size() > 1 ? "s at steps " : " at step ") +
                                   proved + " (of " + std::to_string(r.stats.check_points) + ")");
  return render(sc, r, test_mode);
}

/// One planned check as the run goes: loaded (or why not), then its outcome.
struct Item {
  PlannedCheck check;
  std::size_t position = 0;  ///< in the whole plan, before sharding
  std::optional<Scenario> scenario;
  std::string load_error;   ///< printed on stderr
  bool load_internal = false;
  double load_seconds = 0;
  std::optional<Outcome> outcome;
};

/// The plan of a run: its checks (all, or those of its shard), each with its position in the
/// whole plan. Errors (a missing path) are printed; returns false when there were any.
bool plan_run(const Options & o, std::vector<Item> & items, std::size_t & total)
{
  std::vector<std::string> errors;
  std::vector<PlannedCheck> plan = expand(o.paths, errors);
  for (const std::string & e : errors) std::cerr << printable(e) << "\n";
  total = plan.size();
  std::optional<Shard> shard = o.shard.empty() ? std::nullopt : parse_shard(o.shard);
  for (std::size_t k = 0; k < plan.size(); ++k)
    if (!shard || shard_of(plan[k].id, shard->count) == shard->index) {
      Item it;
      it.check = plan[k];
      it.position = k;
      items.push_back(std::move(it));
    }
  return errors.empty();
}

/// Loads every planned scenario in the parent: a bad file is reported before any check runs.
void load_all(std::vector<Item> & items)
{
  for (Item & it : items) {
    auto t0 = std::chrono::steady_clock::now();
    try {
      it.scenario = load_scenario(it.check.file);
    } catch (const LoadError & e) {
      it.load_error = e.what();
    } catch (const std::exception & e) {  // a loader bug must not hide the other files' results
      it.load_error = it.check.file + ": internal error while loading: " + e.what();
      it.load_internal = true;
    }
    it.load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
}

/// Checks every loaded item, each scenario one job in its own process, --jobs at a time; calls
/// `done` after each outcome. Returns how many were not started (interrupted).
template <class F>
std::size_t check_items(std::vector<Item> & items, const Options & o, bool test_mode, F done, Progress * progress = nullptr)
{
  CheckOptions copt = engine_options(o);
  std::vector<ChildJob> jobs;
  std::vector<std::size_t> job_item;
  for (std::size_t k = 0; k < items.size(); ++k) {
    if (!items[k].scenario) continue;
    // --timeout counts the scenario's wall time from before it was read.
    CheckOptions sopt = copt;
    if (sopt.timeout_s > 0) sopt.timeout_s = std::max(0.001, sopt.timeout_s - items[k].load_seconds);
    jobs.push_back(check_job(*items[k].scenario, sopt, test_mode));
    job_item.push_back(k);
  }
  std::size_t finished = items.size() - jobs.size();  // the ones that did not load
  PoolTick tick;
  if (progress)
    tick = [&](const std::vector<std::pair<std::size_t, std::size_t>> & running) {
      std::vector<std::pair<std::string, std::size_t>> names;
      for (const auto & [j, proved] : running) names.push_back({items[job_item[j]].check.file, proved});
      progress->show(finished, names);
    };
  std::size_t started = run_pool(
      jobs, o.jobs,
      [&](std::size_t j, ChildOutcome c) {
        Item & it = items[job_item[j]];
        it.outcome = outcome_of(*it.scenario, c, test_mode);
        ++finished;
        done();
      },
      tick);
  if (progress) progress->clear();
  return jobs.size() - started;
}

int run(const Options & o, bool test_mode)
{
  std::vector<Item> items;
  std::size_t total = 0;
  int code = plan_run(o, items, total) ? kExitSafe : kExitBadInput;
  if (!o.out.empty()) {
    std::vector<std::string> files;
    for (const Item & it : items) files.push_back(it.check.file);
    std::string why = refuse_out_target(o.out, files);
    if (!why.empty()) {
      std::cerr << printable(why) << "\n";
      return kExitBadInput;
    }
  }
  install_interrupt_handler();
  load_all(items);
  // A text report to the terminal is streamed, scenario by scenario; a report to --out or in
  // JSON, SARIF or HTML is written whole at the end.
  const bool stream = o.out.empty() && o.format == "text";
  Progress progress(items.size());
  std::string text;
  auto add_text = [&](const std::string & t) {
    if (stream) {
      progress.clear();
      std::cout << t << std::flush;
    } else {
      text += t;
    }
  };
  nlohmann::json arr = nlohmann::json::array();
  nlohmann::json checks = nlohmann::json::array();  // --shard: what became of each check
  std::map<std::string, unsigned> count;  // by verdict, for the closing line
  unsigned passed = 0, failed = 0;
  std::size_t reported = 0;  // items[0, reported) are reported
  bool stopped = false;      // interrupted: the items not reported were not run
  // A report a service reads whole (SARIF, HTML) says which inputs were not checked, and why.
  auto not_checked = [&](const std::string & file, const std::string & status, const std::string & why) {
    if (o.format == "sarif" || o.format == "html")
      arr.push_back({{"scenario", file}, {"verdict", status}, {"error", why}, {"reason", why}});
  };
  // Reports the items that are ready, in plan order.
  auto report_ready = [&] {
    for (; reported < items.size(); ++reported) {
      Item & it = items[reported];
      std::string status = "reported";
      if (!it.scenario) {
        std::cerr << printable(it.load_error) << "\n";
        code = combine(code, it.load_internal ? kExitInternal : kExitBadInput);
        ++count[it.load_internal ? "internal error" : "bad input"];
        status = it.load_internal ? "internal error" : "bad input";
        not_checked(it.check.file, status, it.load_error);
        if (test_mode && !it.load_internal) {
          ++failed;
          add_text(printable("FAIL  " + it.check.file + ": bad input") + "\n");
        }
      } else if (!it.outcome) {
        if (!stopped) return;
        status = "not run";
      } else {
        Outcome & r = *it.outcome;
        if (!r.error.empty()) std::cerr << printable(r.error) << "\n";
        if (!test_mode || !r.error.empty()) code = combine(code, r.code);  // test: only the expectation counts
        ++count[r.verdict == "output-error" ? "output error" : r.verdict == "internal-error" ? "internal error" : r.verdict];
        if (!r.error.empty() && r.text.empty()) {
          status = r.verdict == "output-error" ? "output error" : "internal error";
          not_checked(it.check.file, status, r.error);
          if (test_mode) {
            ++failed;
            add_text(printable("FAIL  " + it.check.file + ": " + r.verdict) + "\n");
          }
        } else {
          if (test_mode) r.pass ? ++passed : ++failed;
          if (o.format != "text") arr.push_back(r.json);
          add_text(r.text);
        }
      }
      checks.push_back({{"id", it.check.id}, {"position", it.position}, {"status", status}});
    }
  };
  std::size_t skipped = check_items(items, o, test_mode, report_ready, &progress);
  stopped = true;
  report_ready();
  if (interrupted()) {
    code = combine(code, kExitUnknown);
    std::cerr << "nostale: interrupted: " << skipped << " of " << items.size() << " scenario"
              << (items.size() == 1 ? "" : "s") << " not started\n";
  }
  if (!o.out.empty() && code == kExitBadInput) {
    // A report that silently lacks the bad files would read as complete: write none.
    std::cerr << printable(o.out) << ": not written, because some input was bad\n";
    return code;
  }
  if (o.format == "sarif" || o.format == "html") {
    // Both read the JSON reports: a tool's view (code scanning) and a reader's (a browser).
    if (test_mode && failed) code = combine(code, kExitViolation);
    std::string page = o.format == "sarif" ? render_sarif(arr).dump(2) + "\n"
                                           : render_html(arr, std::string("nostale ") + (test_mode ? "test" : "check") +
                                                                   " of " + std::to_string(items.size()) + " scenario" +
                                                                   (items.size() == 1 ? "" : "s"));
    return emit(o.out, page) ? code : kExitBadInput;
  }
  if (o.format == "json") {
    nlohmann::json j = arr;
    if (test_mode) {
      j = {{"results", arr}, {"passed", passed}, {"failed", failed}};
      if (skipped) j["not_run"] = skipped;
    }
    if (!o.shard.empty()) {
      // A shard's report says which checks it had and what became of each, so that `nostale
      // merge` can tell a complete set of shards from one that lacks a check.
      nlohmann::json sj = {{"nostale_shard", o.shard}, {"total", total}, {"checks", checks}, {"results", arr}};
      if (test_mode) sj["passed"] = passed, sj["failed"] = failed;
      j = sj;
    }
    if (test_mode && failed) code = combine(code, kExitViolation);
    if (!emit(o.out, j.dump(2) + "\n")) return kExitBadInput;
    return code;
  }
  if (test_mode) {
    text += std::to_string(passed) + " passed, " + std::to_string(failed) + " failed" +
            (skipped ? ", " + std::to_string(skipped) + " not run (interrupted)" : "") +
            (o.shard.empty() ? "" : " (shard " + o.shard + ")") + "\n";
    if (failed) code = combine(code, kExitViolation);
  } else {
    // The closing count: how many scenarios came to what.
    std::string line = std::to_string(items.size()) + " scenario" + (items.size() == 1 ? "" : "s") + ":";
    bool first = true;
    for (const char * k : {"safe", "violation", "unknown", "bad input", "output error", "internal error"})
      if (count[k] || std::string(k) == "safe" || std::string(k) == "violation") {
        line += std::string(first ? " " : ", ") + std::to_string(count[k]) + " " + k +
                (std::string(k) == "violation" && count[k] != 1 ? "s" : "");
        first = false;
      }
    if (skipped) line += ", " + std::to_string(skipped) + " not run (interrupted)";
    if (!o.shard.empty()) line += " (shard " + o.shard + " of " + std::to_string(total) + ")";
    text += line + "\n";
  }
  if (!emit(o.out, text)) return kExitBadInput;
  return code;
}

/// `nostale diff OLD NEW`: both sides checked as `check` would, then compared scenario by
/// scenario (checker/cli/diff.h). Folders are paired by the path under each folder.
int diff(const std::string & old_path, const std::string & new_path, const Options & o)
{
  if (fs::is_directory(old_path) != fs::is_directory(new_path)) {
    std::cerr << "nostale diff: OLD and NEW must both be files (scenarios or traces) or both be folders\n";
    return kExitBadInput;
  }
  std::vector<Item> items;
  std::vector<std::string> keys;
  std::size_t old_count = 0;
  for (int side = 0; side < 2; ++side) {
    const std::string & root = side == 0 ? old_path : new_path;
    const bool folder = fs::is_directory(root);
    std::vector<std::string> errors;
    std::vector<PlannedCheck> plan = expand({root}, errors);
    for (const std::string & e : errors) std::cerr << printable(e) << "\n";
    if (!errors.empty()) return kExitBadInput;
    for (const PlannedCheck & c : plan) {
      Item it;
      it.check = c;
      it.position = items.size();
      items.push_back(std::move(it));
      keys.push_back(folder ? fs::path(c.file).lexically_relative(root).generic_string() : "");
    }
    if (side == 0) old_count = items.size();
  }
  if (!o.out.empty()) {
    std::vector<std::string> files;
    for (const Item & it : items) files.push_back(it.check.file);
    if (std::string why = refuse_out_target(o.out, files); !why.empty()) {
      std::cerr << printable(why) << "\n";
      return kExitBadInput;
    }
  }
  install_interrupt_handler();
  load_all(items);
  std::size_t skipped = check_items(items, o, false, [] {});
  std::vector<DiffSide> old_side, new_side;
  for (std::size_t k = 0; k < items.size(); ++k) {
    const Item & it = items[k];
    DiffSide d{keys[k], it.check.file, std::nullopt, "", "", 0};
    if (!it.scenario) {
      d.error = it.load_error;
      d.error_code = it.load_internal ? kExitInternal : kExitBadInput;
      std::cerr << printable(it.load_error) << "\n";
    } else if (!it.outcome) {
      d.error = "not run (interrupted)";
      d.error_code = kExitUnknown;
    } else if (!it.outcome->error.empty() && it.outcome->text.empty()) {
      d.error = it.outcome->error;
      d.error_code = it.outcome->code;
      std::cerr << printable(it.outcome->error) << "\n";
    } else {
      d.result = it.outcome->json;
      d.text = it.outcome->text;
    }
    (k < old_count ? old_side : new_side).push_back(std::move(d));
  }
  DiffResult r = diff_reports(old_side, new_side);
  if (skipped) std::cerr << "nostale: interrupted: " << skipped << " scenarios not started\n";
  if (!o.out.empty() && r.code == kExitBadInput) {
    std::cerr << printable(o.out) << ": not written, because some input was bad\n";
    return r.code;
  }
  std::string text = o.format == "json" ? r.report.dump(2) + "\n" : r.text;
  if (o.format == "sarif" || o.format == "html") {
    // What a review page shows: the findings NEW introduces, each with NEW's trace.
    std::map<std::string, std::string> change;
    for (const nlohmann::json & p : r.report["pairs"]) change[p["key"].get<std::string>()] = p["change"].get<std::string>();
    nlohmann::json introduced = nlohmann::json::array();
    for (const DiffSide & d : new_side)
      if (d.result && (change[d.key] == "new violation" || change[d.key] == "new counterexample"))
        introduced.push_back(*d.result);
    text = o.format == "sarif" ? render_sarif(introduced).dump(2) + "\n"
                               : render_html(introduced, "nostale diff: what " + new_path + " introduces over " + old_path);
  }
  return emit(o.out, text) ? r.code : kExitBadInput;
}

/// `nostale list`: the checks a run of these paths would do, with their ids.
int list(const Options & o)
{
  std::vector<Item> items;
  std::size_t total = 0;
  int code = plan_run(o, items, total) ? kExitSafe : kExitBadInput;
  std::string text;
  if (o.format == "json") {
    nlohmann::json arr = nlohmann::json::array();
    for (const Item & it : items)
      arr.push_back({{"id", it.check.id}, {"file", it.check.file}, {"position", it.position}});
    text = arr.dump(2) + "\n";
  } else {
    for (const Item & it : items) text += printable(it.check.id) + "\n";
  }
  if (code == kExitBadInput && !o.out.empty()) {
    std::cerr << printable(o.out) << ": not written, because some input was bad\n";
    return code;
  }
  return emit(o.out, text) ? code : kExitBadInput;
}

/// `nostale export --promela`: one scenario as a Promela model for SPIN (checker/export/promela.h).
/// Bad input and what the export does not support are one line each, exit 2.
int export_model(const std::string & file, const std::string & out, const PromelaOptions & opt)
{
  try {
    const Scenario sc = load_scenario(file);
    if (std::string why = promela_refusal(sc); !why.empty()) {
      std::cerr << printable(file) << ": cannot export: " << printable(why) << "\n";
      return kExitBadInput;
    }
    const std::string text = export_promela(sc, build_timeline(sc), opt);
    if (!out.empty())
      if (std::string why = refuse_out_target(out, {file}); !why.empty()) {
        std::cerr << printable(why) << "\n";
        return kExitBadInput;
      }
    return emit(out, text) ? kExitSafe : kExitBadInput;
  } catch (const LoadError & e) {
    std::cerr << printable(e.what()) << "\n";
  } catch (const ScenarioError & e) {
    std::cerr << printable(file) << ": cannot export: " << printable(e.what()) << "\n";
  }
  return kExitBadInput;
}

/// `nostale import TRACE`: the scenario a recorded trace stands for (checker/import/import.h),
/// as JSON that `check` reads back to the same verdict. Bad input is one line, exit 2.
int import_cmd(const std::string & file, const std::string & format, const std::string & out, const ImportOptions & opt)
{
  try {
    const std::string text = read_regular_file(file, kMaxTraceBytes);
    std::optional<TraceFormat> f = trace_format(file, text);
    if (format == "linux-ftrace") f = TraceFormat::LinuxFtrace;
    if (format == "qemu-vtd") f = TraceFormat::QemuVtd;
    if (format == "iommufd-vtd") f = TraceFormat::IommufdVtd;
    if (!f && text.find_first_not_of(" \t\r\n") == std::string::npos)
      f = TraceFormat::LinuxFtrace;  // it reports what is missing
    if (!f) {
      std::cerr << printable(file) << ": error: this is a scenario, not a trace (nostale check reads it as it is)\n";
      return kExitBadInput;
    }
    // Loaded as check loads it (what check would refuse is refused here too), imported once.
    nlohmann::ordered_json imported;
    load_trace(file, text, *f, opt, &imported);
    const std::string scenario = imported.dump(2) + "\n";
    if (!out.empty())
      if (std::string why = refuse_out_target(out, {file}); !why.empty()) {
        std::cerr << printable(why) << "\n";
        return kExitBadInput;
      }
    return emit(out, scenario) ? kExitSafe : kExitBadInput;
  } catch (const LoadError & e) {
    std::cerr << printable(e.what()) << "\n";
  }
  return kExitBadInput;
}

/// `--shard i/n`, validated as the option is parsed.
void add_shard(CLI::App * cmd, Options & o)
{
  cmd->add_option("--shard", o.shard,
                  "take only shard i of n (1 <= i <= n): a stable partition of the checks by id, for GNU "
                  "parallel, Slurm array jobs or Kubernetes indexed Jobs; join the JSON reports with `nostale merge`")
      ->check(CLI::Validator(
          [](std::string & v) { return parse_shard(v) ? std::string() : "--shard takes i/n with 1 <= i <= n"; },
          "i/n"));
}

void add_common(CLI::App * cmd, Options & o)
{
  cmd->add_option("paths", o.paths, "scenario or trace files, or folders (searched for *.json and *.trace)")->required();
  cmd->add_option("--format", o.format,
                  "output format: text, json, sarif (SARIF 2.1.0, one result per violation, the trace as a code "
                  "flow) or html (one self-contained page with a sequence diagram per counterexample; use --out)")
      ->check(CLI::IsMember({"text", "json", "sarif", "html"}));
  cmd->add_option("--out", o.out, "write the report to FILE (atomically) instead of stdout");
  cmd->add_option("--jobs,-j", o.jobs,
                  "check this many scenarios at once, each in its own process with its own solver and limits; "
                  "the report keeps the scenarios' order")
      ->check(CLI::Range(1u, 256u));
  add_shard(cmd, o);
  cmd->add_option("--timeout", o.timeout, "seconds per scenario (0: none); unknown when hit")
      ->check(CLI::Range(0.0, 86400.0));
  cmd->add_option("--severity", o.severity, "report no-stale findings of this severity")
      ->check(CLI::IsMember({"all", "unsafe"}));
  cmd->add_option("--completion,--ordering", o.completion,
                  "override the scenarios' completion order of pending invalidations "
                  "(relaxed = any-order: only waits and fences order them)")
      ->check(CLI::IsMember({"any-order", "in-order", "relaxed"}));
  cmd->add_option("--engine", o.engine,
                  "smt (default: symbolic, exhaustive at any width, with traces) or explicit "
                  "(enumeration by the interpreter, small geometries only, no trace)")
      ->check(CLI::IsMember({"smt", "explicit"}));
  cmd->add_option("--smt2", o.smt2_dir, "write every solver query to this folder as SMT-LIB2 (for other solvers)")
      ->check(CLI::ExistingDirectory);
}

}  // namespace

int main(int argc, char ** argv)
{
  CLI::App app{"nostale: exhaustive checking of IOMMU cache invalidation sequences.\n"
               "Exit codes: 0 safe, 1 violation (or a failed test), 2 bad input or usage, 3 unknown, 4 internal error."};
  app.set_version_flag("--version", std::string("nostale ") + NOSTALE_VERSION + " (Z3 " + Z3_get_full_version() + ")");
  app.require_subcommand(1, 1);
  Options check_opt, test_opt;
  CLI::App * check = app.add_subcommand("check", "prove scenarios safe or print the shortest counterexample");
  add_common(check, check_opt);
  check
      ->add_flag("--all", check_opt.all,
                 "list every distinct violation, not only the first: per check point and property, each "
                 "stale entry (cache, device, PASID, domain id, level) once, with its own shortest, replayed "
                 "trace (at most " + std::to_string(kAllPerQuery) + " per check point and property, " +
                 std::to_string(kAllTotal) + " in all; the report says when a bound was hit). smt engine only");
  CLI::App * test = app.add_subcommand("test", "run scenarios against the verdict each one expects");
  add_common(test, test_opt);
  Options list_opt;
  CLI::App * lst = app.add_subcommand("list", "print the checks a run of these paths would do, one id per line");
  lst->add_option("paths", list_opt.paths, "scenario files or folders (searched for *.json)")->required();
  lst->add_option("--format", list_opt.format, "output format")->check(CLI::IsMember({"text", "json"}));
  lst->add_option("--out", list_opt.out, "write the list to FILE (atomically) instead of stdout");
  add_shard(lst, list_opt);
  std::vector<std::string> merge_in;
  std::string merge_out;
  CLI::App * mrg = app.add_subcommand(
      "merge", "join the JSON reports of the shards of one run (check or test --shard i/n --format json) into the "
               "report the unsharded run writes; exit code as that run's");
  mrg->add_option("reports", merge_in, "the shards' JSON reports, one per shard, in any order")->required();
  mrg->add_option("--out", merge_out, "write the merged report to FILE (atomically) instead of stdout");
  Options diff_opt;
  std::string diff_old, diff_new;
  CLI::App * dif = app.add_subcommand(
      "diff", "check two versions of the same scenarios (files, or folders paired by path) and say which verdicts "
              "changed: exit 1 when NEW has a violation or counterexample OLD does not");
  dif->add_option("old", diff_old, "the scenario or trace file, or the folder, before the change")->required();
  dif->add_option("new", diff_new, "the scenario or trace file, or the folder, after the change")->required();
  dif->add_option("--format", diff_opt.format,
                  "output format: text, json, or sarif / html with the violations NEW introduces (for a review page)")
      ->check(CLI::IsMember({"text", "json", "sarif", "html"}));
  dif->add_option("--out", diff_opt.out, "write the report to FILE (atomically) instead of stdout");
  dif->add_option("--jobs,-j", diff_opt.jobs, "check this many scenarios at once")->check(CLI::Range(1u, 256u));
  dif->add_option("--timeout", diff_opt.timeout, "seconds per scenario (0: none); unknown when hit")
      ->check(CLI::Range(0.0, 86400.0));
  std::string export_in, export_out;
  bool promela = false;
  PromelaOptions promela_opt;
  CLI::App * exp = app.add_subcommand(
      "export", "write one generic-profile scenario at a reduced width as a model for another checker");
  exp->add_flag("--promela", promela, "as a Promela model for SPIN (spec/docs/promela.md)")->required();
  exp->add_option("scenario", export_in, "the scenario file")->required();
  exp->add_flag("--slice", promela_opt.slice,
                "choose the witness page first and fill only the cache entries covering it (same verdicts, "
                "one page's entries per branch)");
  exp->add_option("--out", export_out, "write the model to FILE (atomically) instead of stdout");
  std::string import_in, import_out, import_format = "auto";
  ImportOptions import_opt;
  CLI::App * imp = app.add_subcommand(
      "import", "turn a recorded trace (Linux ftrace of intel_iommu/iommu events, a QEMU vtd_* trace log, or an "
                "iommufd IOMMU_HWPT_INVALIDATE recording) into a scenario, its assumptions listed at the top; "
                "check and test read trace files directly too");
  imp->add_option("trace", import_in, "the trace file")->required();
  imp->add_option("--format", import_format, "the trace's format (auto: read from its content)")
      ->check(CLI::IsMember({"auto", "linux-ftrace", "qemu-vtd", "iommufd-vtd"}));
  imp->add_option("--batch-gap", import_opt.batch_gap_us,
                  "Linux ftrace: one task's qi_submit events further apart than this many microseconds are two "
                  "qi_submit_sync calls (default 0: only another event of that task, or another CPU, separates "
                  "calls; a split adds a wait, which can hide an ordering bug)")
      ->check(CLI::Range(0.0, 1e9));
  unsigned import_domain = 0;
  std::string ats_unknown = "yes";
  imp->add_option("--domain", import_domain,
                  "Linux ftrace: the domain id iommu:map/unmap are on (they name none); needed when the cache tags "
                  "name several domains, or none")
      ->check(CLI::Range(1u, 65535u));
  imp->add_option("--iommu", import_opt.iommu,
                  "Linux ftrace: read this remapping unit's events (\"dmar0\"), with every iommu:* event; needed "
                  "when the trace has several units");
  imp->add_option("--ats-unknown", ats_unknown,
                  "whether a device whose ATS the trace does not show has a device TLB (yes: the choice that can "
                  "only add reports)")
      ->check(CLI::IsMember({"yes", "no"}));
  imp->add_option("--out", import_out, "write the scenario to FILE (atomically) instead of stdout");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError & e) {
    int rc = app.exit(e);
    return rc == 0 ? kExitSafe : kExitBadInput;
  }
  for (const Options * o : {&check_opt, &test_opt})
    if (!o->shard.empty() && (o->format == "sarif" || o->format == "html")) {
      std::cerr << "--shard writes a part of a run for `nostale merge`: use --format json (or text)\n";
      return kExitBadInput;
    }
  if (check_opt.all && check_opt.engine != "smt") {
    std::cerr << "--all needs the smt engine: the explicit engine gives verdicts without traces\n";
    return kExitBadInput;
  }
  try {
    if (check->parsed()) return run(check_opt, false);
    if (lst->parsed()) return list(list_opt);
    if (dif->parsed()) return diff(diff_old, diff_new, diff_opt);
    if (exp->parsed()) return export_model(export_in, export_out, promela_opt);
    if (imp->parsed()) {
      if (import_domain) import_opt.domain = import_domain;
      import_opt.ats_unknown = ats_unknown == "yes";
      return import_cmd(import_in, import_format, import_out, import_opt);
    }
    if (mrg->parsed()) {
      MergeResult m = merge_reports(merge_in);
      for (const std::string & e : m.errors) std::cerr << printable(e) << "\n";
      if (m.report.is_null()) return m.code;
      if (m.code == kExitBadInput && !merge_out.empty()) {
        std::cerr << printable(merge_out) << ": not written, because some input was bad\n";
        return m.code;
      }
      return emit(merge_out, m.report.dump(2) + "\n") ? m.code : kExitBadInput;
    }
    return run(test_opt, true);
  } catch (const std::exception & e) {
    std::cerr << "nostale: internal error: " << e.what() << "\n";
    return kExitInternal;
  }
}
