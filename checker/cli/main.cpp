// nostale: the command line. The only code that talks to users: it expands paths, runs the
// engine per scenario, renders, and maps outcomes to exit codes (checker/exit_codes.h).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <z3++.h>

#include "checker/engine.h"
#include "checker/exit_codes.h"
#include "checker/report.h"
#include "checker/scenario_loader.h"
#include "spec/model/errors.h"

namespace fs = std::filesystem;
using namespace nostale;

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
  return c;
}

/// Writes `text` to `path` atomically (temp file + rename), or to stdout.
bool emit(const std::string & path, const std::string & text)
{
  if (path.empty()) {
    std::cout << text << std::flush;
    return true;
  }
  std::string tmp = path + ".nostale-tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f || !(f << text) || !f.flush()) {
      std::error_code ec;
      fs::remove(tmp, ec);
      std::cerr << path << ": error: cannot write the output file\n";
      return false;
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    std::cerr << path << ": error: cannot write the output file\n";
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

int run(const Options & o, bool test_mode)
{
  std::vector<std::string> errors;
  std::vector<std::string> files = expand(o.paths, errors);
  int code = errors.empty() ? kExitSafe : kExitBadInput;
  for (const std::string & e : errors) std::cerr << e << "\n";
  CheckOptions copt = engine_options(o);
  std::ostringstream text;
  nlohmann::json arr = nlohmann::json::array();
  unsigned passed = 0, failed = 0;
  for (const std::string & f : files) {
    Scenario sc;
    try {
      sc = load_scenario(f);
    } catch (const LoadError & e) {
      std::cerr << e.what() << "\n";
      code = combine(code, kExitBadInput);
      if (test_mode) {
        ++failed;
        text << "FAIL  " << f << ": bad input\n";
      }
      continue;
    }
    CheckResult r;
    try {
      r = check_scenario(sc, copt);
    } catch (const InternalError & e) {
      std::cerr << f << ": internal error: " << e.what() << "\n";
      return kExitInternal;  // nothing half-written: the report is emitted only at the end
    } catch (const z3::exception & e) {
      std::cerr << f << ": internal error: Z3: " << e.msg() << "\n";
      return kExitInternal;
    }
    if (test_mode) {
      std::string why;
      bool ok = matches_expectation(sc, r, why);
      ok ? ++passed : ++failed;
      char secs[32];
      std::snprintf(secs, sizeof secs, "%.3f s", r.stats.seconds);
      text << (ok ? "PASS  " : "FAIL  ") << f << "  (" << why.substr(why.find("got ") + 4) << "; "
           << secs << ")" << (ok ? "" : "  " + why) << "\n";
      nlohmann::json j = render_json(sc, r);
      j["pass"] = ok;
      arr.push_back(j);
    } else {
      code = combine(code, exit_for(r.verdict));
      if (o.format == "json") arr.push_back(render_json(sc, r));
      else text << render_text(sc, r);
    }
  }
  if (!o.out.empty() && code == kExitBadInput) {
    // A report that silently lacks the bad files would read as complete: write none.
    std::cerr << o.out << ": not written, because some input was bad\n";
    return code;
  }
  if (test_mode) {
    text << passed << " passed, " << failed << " failed\n";
    if (failed) code = combine(code, kExitViolation);
    if (o.format == "json") {
      nlohmann::json j = {{"results", arr}, {"passed", passed}, {"failed", failed}};
      if (!emit(o.out, j.dump(2) + "\n")) return kExitBadInput;
      return code;
    }
  } else if (o.format == "json") {
    if (!emit(o.out, arr.dump(2) + "\n")) return kExitBadInput;
    return code;
  }
  if (!emit(o.out, text.str())) return kExitBadInput;
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
  CLI::App * test = app.add_subcommand("test", "run scenarios against the verdict each one expects");
  add_common(test, test_opt);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError & e) {
    int rc = app.exit(e);
    return rc == 0 ? kExitSafe : kExitBadInput;
  }
  try {
    if (check->parsed()) return run(check_opt, false);
    return run(test_opt, true);
  } catch (const std::exception & e) {
    std::cerr << "nostale: internal error: " << e.what() << "\n";
    return kExitInternal;
  }
}
