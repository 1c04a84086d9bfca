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
#include <z3++.h>

#include "checker/engine.h"
#include "checker/policies/all_violations.h"
#include "checker/cli/isolate.h"
#include "checker/exit_codes.h"
#include "checker/printable.h"
#include "checker/report.h"
#include "checker/safe_write.h"
#include "checker/scenario_loader.h"
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
};

/// Files and folders (recursively, *.json, sorted) in the order given.
std::vector<std::string> expand(const std::vector<std::string> & paths, std::vector<std::string> & errors)
{
  std::vector<std::string> files;
  for (const std::string & p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<std::string> found;
      for (auto it = fs::recursive_directory_iterator(p, ec); !ec && it != fs::recursive_directory_iterator();
           it.increment(ec))
        if (it->is_regular_file(ec) && it->path().extension() == ".json" &&
            !it->path().filename().string().ends_with(".schema.json"))  // the JSON Schema itself
          found.push_back(it->path().string());
      if (ec) errors.push_back(p + ": error: cannot read the folder: " + ec.message());
      std::sort(found.begin(), found.end());
      if (found.empty() && !ec) errors.push_back(p + ": error: no .json scenarios in this folder");
      files.insert(files.end(), found.begin(), found.end());
    } else if (fs::exists(p, ec)) {
      files.push_back(p);
    } else {
      errors.push_back(p + ": error: no such file or folder");
    }
  }
  return files;
}

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

/// Worst outcome wins: internal error, bad input, violation, unknown, safe.
int combine(int a, int b)
{
  auto rank = [](int c) {
    switch (c) {
      case kExitInternal: return 4;
      case kExitBadInput: return 3;
      case kExitViolation: return 2;
      case kExitUnknown: return 1;
      default: return 0;
    }
  };
  return rank(a) >= rank(b) ? a : b;
}

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

/// Checks one loaded scenario in a child process (checker/cli/isolate.h). Any exception but
/// OutputError (a replay failure, a Z3 error) reaches the parent as an internal error.
Outcome check_one(const Scenario & sc, const CheckOptions & copt, bool test_mode)
{
  ChildOutcome c = run_isolated(
      [&](const ChildChannel & ch) {
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
      },
      // The child's solver stops itself at the limit; the parent's deadline, a little later,
      // covers what Z3's timeout does not (building the encoding, a stuck teardown).
      copt.timeout_s > 0 ? copt.timeout_s + 0.25 : 0);
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

int run(const Options & o, bool test_mode)
{
  std::vector<std::string> errors;
  std::vector<std::string> files = expand(o.paths, errors);
  int code = errors.empty() ? kExitSafe : kExitBadInput;
  for (const std::string & e : errors) std::cerr << printable(e) << "\n";
  if (!o.out.empty()) {
    std::string why = refuse_out_target(o.out, files);
    if (!why.empty()) {
      std::cerr << printable(why) << "\n";
      return kExitBadInput;
    }
  }
  install_interrupt_handler();
  CheckOptions copt = engine_options(o);
  // A text report to the terminal is streamed, scenario by scenario; a report to --out or in
  // JSON is written whole at the end.
  const bool stream = o.out.empty() && o.format != "json";
  std::string text;
  auto add_text = [&](const std::string & t) {
    if (stream) std::cout << t << std::flush;
    else text += t;
  };
  nlohmann::json arr = nlohmann::json::array();
  std::map<std::string, unsigned> count;  // by verdict, for the closing line
  unsigned passed = 0, failed = 0;
  std::size_t done = 0;
  for (const std::string & f : files) {
    if (interrupted()) break;
    ++done;
    auto t_load = std::chrono::steady_clock::now();
    Scenario sc;
    try {
      sc = load_scenario(f);
    } catch (const LoadError & e) {
      std::cerr << printable(e.what()) << "\n";
      code = combine(code, kExitBadInput);
      ++count["bad input"];
      if (test_mode) {
        ++failed;
        add_text(printable("FAIL  " + f + ": bad input") + "\n");
      }
      continue;
    } catch (const std::exception & e) {  // a loader bug must not hide the other files' results
      std::cerr << printable(f + ": internal error while loading: " + e.what()) << "\n";
      code = combine(code, kExitInternal);
      ++count["internal error"];
      continue;
    }
    // --timeout counts the scenario's wall time from before it was read.
    CheckOptions sopt = copt;
    if (sopt.timeout_s > 0)
      sopt.timeout_s = std::max(0.001, sopt.timeout_s - std::chrono::duration<double>(
                                                             std::chrono::steady_clock::now() - t_load).count());
    Outcome r = check_one(sc, sopt, test_mode);
    if (!r.error.empty()) std::cerr << printable(r.error) << "\n";
    if (!test_mode || !r.error.empty()) code = combine(code, r.code);  // test: only the expectation counts
    ++count[r.verdict == "output-error" ? "output error" : r.verdict == "internal-error" ? "internal error" : r.verdict];
    if (!r.error.empty() && r.text.empty()) {
      if (test_mode) {
        ++failed;
        add_text(printable("FAIL  " + f + ": " + r.verdict) + "\n");
      }
      continue;
    }
    if (test_mode) r.pass ? ++passed : ++failed;
    if (o.format == "json") arr.push_back(r.json);
    add_text(r.text);
  }
  std::size_t skipped = files.size() - done;
  if (interrupted()) {
    code = combine(code, kExitUnknown);
    std::cerr << "nostale: interrupted: " << skipped << " of " << files.size() << " scenario"
              << (files.size() == 1 ? "" : "s") << " not started\n";
  }
  if (!o.out.empty() && code == kExitBadInput) {
    // A report that silently lacks the bad files would read as complete: write none.
    std::cerr << printable(o.out) << ": not written, because some input was bad\n";
    return code;
  }
  if (test_mode) {
    text += std::to_string(passed) + " passed, " + std::to_string(failed) + " failed" +
            (skipped ? ", " + std::to_string(skipped) + " not run (interrupted)" : "") + "\n";
    if (failed) code = combine(code, kExitViolation);
    if (o.format == "json") {
      nlohmann::json j = {{"results", arr}, {"passed", passed}, {"failed", failed}};
      if (skipped) j["not_run"] = skipped;
      if (!emit(o.out, j.dump(2) + "\n")) return kExitBadInput;
      return code;
    }
  } else if (o.format == "json") {
    if (!emit(o.out, arr.dump(2) + "\n")) return kExitBadInput;
    return code;
  } else {
    // The closing count: how many scenarios came to what.
    std::string line = std::to_string(files.size()) + " scenario" + (files.size() == 1 ? "" : "s") + ":";
    bool first = true;
    for (const char * k : {"safe", "violation", "unknown", "bad input", "output error", "internal error"})
      if (count[k] || std::string(k) == "safe" || std::string(k) == "violation") {
        line += std::string(first ? " " : ", ") + std::to_string(count[k]) + " " + k +
                (std::string(k) == "violation" && count[k] != 1 ? "s" : "");
        first = false;
      }
    if (skipped) line += ", " + std::to_string(skipped) + " not run (interrupted)";
    text += line + "\n";
  }
  if (!emit(o.out, text)) return kExitBadInput;
  return code;
}

void add_common(CLI::App * cmd, Options & o)
{
  cmd->add_option("paths", o.paths, "scenario files or folders (searched for *.json)")->required();
  cmd->add_option("--format", o.format, "output format")->check(CLI::IsMember({"text", "json"}));
  cmd->add_option("--out", o.out, "write the report to FILE (atomically) instead of stdout");
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
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError & e) {
    int rc = app.exit(e);
    return rc == 0 ? kExitSafe : kExitBadInput;
  }
  if (check_opt.all && check_opt.engine != "smt") {
    std::cerr << "--all needs the smt engine: the explicit engine gives verdicts without traces\n";
    return kExitBadInput;
  }
  try {
    if (check->parsed()) return run(check_opt, false);
    return run(test_opt, true);
  } catch (const std::exception & e) {
    std::cerr << "nostale: internal error: " << e.what() << "\n";
    return kExitInternal;
  }
}
