// render_sarif (checker/report_sarif.h) on the JSON reports of bundled scenarios, run through the
// real CLI, and on hand-made reports. Every log must validate against the OASIS SARIF 2.1.0 schema
// (tools/setup fetches it into the build dir), and broken logs must not, so that the validation
// cannot pass vacuously.
#include "tests/unit/cli_harness.h"

#include "checker/report_sarif.h"

#include <algorithm>
#include <functional>
#include <set>

namespace {

const std::string kSchema = NOSTALE_SARIF_SCHEMA;
const std::string kPython = NOSTALE_PYTHON3;
const std::string kAtsBug = "scenarios/generic/ats-order-bug.json";       // ATS-7 at step 6
const std::string kAtsOk = "scenarios/generic/ats-order-ok.json";         // safe
const std::string kVtdBug = "scenarios/vtd/buggy/unmap-no-flush-bug.json";  // one key per line
const std::string kTwoBugs = "scenarios/vtd/buggy/unmap-two-missing-flushes-bug.json";

std::string trimmed(const std::string & l)
{
  std::size_t b = l.find_first_not_of(" \t\r");
  return b == std::string::npos ? "" : l.substr(b);
}

/// The 1-based number of the n-th line after the `"steps": [` line that `pick` accepts, 0 if none:
/// the step lines found independently of the scanner, for files laid out one way throughout.
std::size_t nth_line(const std::vector<std::string> & lines, const std::function<bool(const std::string &)> & pick, std::size_t n)
{
  std::size_t i = 0;
  while (i < lines.size() && lines[i].find("\"steps\": [") == std::string::npos) ++i;
  for (++i; i < lines.size(); ++i)
    if (pick(trimmed(lines[i])) && n-- == 0) return i + 1;
  return 0;
}

/// Steps written one per line, as {"op": ...}.
std::size_t one_line_step(const std::vector<std::string> & lines, std::size_t step)
{
  return nth_line(lines, [](const std::string & t) { return t.rfind("{\"op\"", 0) == 0; }, step);
}

/// Steps written one key per line: the step begins at a line holding "{" alone.
std::size_t multi_line_step(const std::vector<std::string> & lines, std::size_t step)
{
  return nth_line(lines, [](const std::string & t) { return t == "{" || t == "{,"; }, step);
}

const json & only_run(const json & log) { return log.at("runs").at(0); }

std::size_t start_line(const json & physical)
{
  return physical.contains("region") ? physical["region"].at("startLine").get<std::size_t>() : 0;
}

class ReportSarif : public Cli {
 public:
  fs::path old_cwd;

  void SetUp() override
  {
    Cli::SetUp();
    // render_sarif reads relative scenario paths from the current directory, where the CLI ran.
    old_cwd = fs::current_path();
    fs::current_path(kSrc);
  }

  void TearDown() override
  {
    fs::current_path(old_cwd);
    Cli::TearDown();
  }

  json check(const std::string & args, int code)
  {
    Proc r = run("check --format json " + args);
    EXPECT_TRUE(r.exited && r.code == code) << r;
    json j = json::parse(r.out, nullptr, false);
    EXPECT_TRUE(j.is_array()) << r;
    return j;
  }

  /// Runs tests/validate_sarif.py on the logs; its exit code, and its output in `out`.
  int validate(const std::vector<json> & logs, bool expect_invalid, std::string & out)
  {
    static int serial = 0;
    std::string cmd = quote(kPython) + " " + quote(kSrc + "/tests/validate_sarif.py") + " " + quote(kSchema) +
                      (expect_invalid ? " --expect-invalid" : "");
    for (const json & l : logs) {
      fs::path f = dir / ("log-" + std::to_string(serial++) + ".sarif");
      spit(f, l.dump(2));
      cmd += " " + quote(f.string());
    }
    fs::path o = dir / "validate.txt";
    int st = std::system((cmd + " >" + quote(o.string()) + " 2>&1").c_str());
    out = slurp(o);
    return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  }

  void expect_valid(const json & log)
  {
    ASSERT_TRUE(fs::is_regular_file(kSchema))
        << kSchema << " is missing: tools/setup fetches the OASIS SARIF 2.1.0 schema there (npm pack "
        << "@datadog/datadog-ci@2.48.0, sha256-checked); run it, or see its stderr for why it could not";
    std::string out;
    EXPECT_EQ(validate({log}, false, out), 0) << out << "\n" << log.dump(2).substr(0, 6000);
  }
};

TEST_F(ReportSarif, AViolationIsOneResultAtItsCheckPointStepWithTheTraceAsItsCodeFlow)
{
  json j = check(kAtsBug, 1);
  ASSERT_EQ(j.size(), 1u);
  const json & v = j[0];
  json log = nostale::render_sarif(j);
  expect_valid(log);
  EXPECT_EQ(log["$schema"], "https://json.schemastore.org/sarif-2.1.0.json");
  EXPECT_EQ(log["version"], "2.1.0");
  ASSERT_EQ(log["runs"].size(), 1u);
  const json & rn = only_run(log);
  EXPECT_EQ(rn["tool"]["driver"]["name"], "nostale");
  EXPECT_EQ(rn["tool"]["driver"]["version"], NOSTALE_VERSION);
  EXPECT_EQ(rn["invocations"][0]["executionSuccessful"], true);
  EXPECT_EQ(rn["properties"]["verdicts"]["violation"], 1);

  // The rule: ATS-7, described by its rule text, listed once.
  ASSERT_EQ(rn["results"].size(), 1u);
  const json & r = rn["results"][0];
  EXPECT_EQ(r["ruleId"], "ATS-7");
  EXPECT_EQ(r["ruleId"], v["rule"]);
  ASSERT_EQ(rn["tool"]["driver"]["rules"].size(), 1u);
  const json & rule = rn["tool"]["driver"]["rules"][0];
  EXPECT_EQ(rule["id"], "ATS-7");
  EXPECT_EQ(rule["shortDescription"]["text"], v["rule_text"]);
  EXPECT_EQ(rule["fullDescription"]["text"], v["rule_text"]);
  EXPECT_EQ(r["ruleIndex"], 0);
  EXPECT_EQ(r["level"], "error");  // severity unsafe

  // The message: one line with the property, the stale entry, the witness and why it survived.
  std::string msg = r["message"]["text"];
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  for (const std::string & part : {std::string("no-stale (unsafe) violated at step 6"), v["stale_entry"].get<std::string>(),
                                   std::string("device d0, PASID 0, address 0x200000"), v["survival"]["text"].get<std::string>()})
    EXPECT_NE(msg.find(part), std::string::npos) << part << "\nnot in: " << msg;

  // The location: the scenario file as given (relative), at the line where step 6 begins.
  std::vector<std::string> lines = split_lines(slurp(kSrc + "/" + kAtsBug));
  const std::size_t check_line = one_line_step(lines, 6);
  ASSERT_GT(check_line, 0u);
  EXPECT_NE(lines[check_line - 1].find("\"op\": \"check\""), std::string::npos) << lines[check_line - 1];
  const json & loc = r["locations"].at(0)["physicalLocation"];
  EXPECT_EQ(loc["artifactLocation"]["uri"], kAtsBug);
  EXPECT_EQ(loc["artifactLocation"]["uriBaseId"], "SRCROOT");
  EXPECT_EQ(start_line(loc), check_line);
  std::string root = rn["originalUriBaseIds"]["SRCROOT"]["uri"];
  EXPECT_EQ(root.rfind("file:///", 0), 0u) << root;
  EXPECT_EQ(root.back(), '/') << root;

  // The code flow: one location per trace entry, driver steps at their lines, hardware actions
  // without a place, the check point marked essential.
  const json & trace = v["trace"];
  ASSERT_EQ(r["codeFlows"].size(), 1u);
  ASSERT_EQ(r["codeFlows"][0]["threadFlows"].size(), 1u);
  const json & flow = r["codeFlows"][0]["threadFlows"][0]["locations"];
  ASSERT_EQ(flow.size(), trace.size());
  std::size_t hw = 0, essential = 0;
  for (std::size_t i = 0; i < trace.size(); ++i) {
    const json & t = trace[i];
    const json & f = flow[i];
    std::string text = t["text"].get<std::string>() + (t.contains("note") ? " # " + t["note"].get<std::string>() : "");
    EXPECT_EQ(f["location"]["message"]["text"], text) << i;
    if (t.contains("hw")) {
      ++hw;
      EXPECT_FALSE(f["location"].contains("physicalLocation")) << i;
      EXPECT_EQ(f["kinds"][0], "hardware") << i;
      EXPECT_EQ(f["kinds"][1], t["hw"]) << i;
    } else {
      EXPECT_EQ(f["location"]["physicalLocation"]["artifactLocation"]["uri"], kAtsBug) << i;
      EXPECT_EQ(start_line(f["location"]["physicalLocation"]), one_line_step(lines, t["step"].get<std::size_t>())) << i;
    }
    if (f.value("importance", "") == "essential") {
      ++essential;
      EXPECT_EQ(t.value("check_point", false), true) << i;
    }
  }
  EXPECT_EQ(hw, 4u);
  EXPECT_EQ(essential, 1u);
  EXPECT_EQ(flow.back().value("importance", ""), "essential");
}

TEST_F(ReportSarif, AStepWrittenOverSeveralLinesIsLocatedAtItsOpeningBrace)
{
  json j = check(kVtdBug, 1);
  json log = nostale::render_sarif(j);
  expect_valid(log);
  const json & rn = only_run(log);
  ASSERT_EQ(rn["results"].size(), 1u);
  const json & r = rn["results"][0];
  // The rule the scenario itself expects.
  json scenario = json::parse(slurp(kSrc + "/" + kVtdBug));
  EXPECT_EQ(r["ruleId"], scenario["expect"]["rule"]);
  EXPECT_EQ(r["ruleId"], "VTD-SEQ-10");
  EXPECT_EQ(rn["tool"]["driver"]["rules"][0]["id"], "VTD-SEQ-10");
  const std::size_t step = scenario["expect"]["step"].get<std::size_t>();
  std::vector<std::string> lines = split_lines(slurp(kSrc + "/" + kVtdBug));
  const std::size_t line = multi_line_step(lines, step);
  ASSERT_GT(line, 0u);
  ASSERT_LT(line, lines.size());
  EXPECT_NE(lines[line].find("\"op\": \"check\""), std::string::npos) << "the line after the brace: " << lines[line];
  EXPECT_EQ(start_line(r["locations"][0]["physicalLocation"]), line);
  // Every driver step of the code flow, likewise.
  const json & trace = j[0]["trace"];
  const json & flow = r["codeFlows"][0]["threadFlows"][0]["locations"];
  ASSERT_EQ(flow.size(), trace.size());
  for (std::size_t i = 0; i < trace.size(); ++i)
    if (trace[i].contains("step")) {
      EXPECT_EQ(start_line(flow[i]["location"]["physicalLocation"]), multi_line_step(lines, trace[i]["step"].get<std::size_t>())) << i;
    }
}

TEST_F(ReportSarif, ASafeScenarioGivesNoResult)
{
  json log = nostale::render_sarif(check(kAtsOk, 0));
  expect_valid(log);
  const json & rn = only_run(log);
  EXPECT_TRUE(rn["results"].is_array());
  EXPECT_EQ(rn["results"].size(), 0u);
  EXPECT_EQ(rn["tool"]["driver"]["rules"].size(), 0u);
  EXPECT_EQ(rn["invocations"][0]["executionSuccessful"], true);
  EXPECT_EQ(rn["properties"]["verdicts"]["safe"], 1);
  EXPECT_EQ(rn["properties"]["scenarios"], 1);
}

TEST_F(ReportSarif, CheckAllGivesOneResultPerViolationAndListsEachRuleOnce)
{
  json j = check("--all " + kTwoBugs, 1);
  ASSERT_EQ(j.size(), 1u);
  const json & vs = j[0]["violations"];
  ASSERT_GE(vs.size(), 2u);
  json log = nostale::render_sarif(j);
  expect_valid(log);
  const json & rn = only_run(log);
  const json & results = rn["results"];
  const json & rules = rn["tool"]["driver"]["rules"];
  ASSERT_EQ(results.size(), vs.size());
  std::set<std::string> used, listed;
  for (const json & v : vs) used.insert(v["rule"].get<std::string>());
  for (const json & d : rules) listed.insert(d["id"].get<std::string>());
  EXPECT_EQ(listed, used);
  EXPECT_EQ(rules.size(), used.size()) << "each rule once";
  EXPECT_EQ(used, (std::set<std::string>{"VTD-GRAN-1", "VTD-GRAN-6"}));

  std::vector<std::string> lines = split_lines(slurp(kSrc + "/" + kTwoBugs));
  const std::size_t steps = json::parse(slurp(kSrc + "/" + kTwoBugs))["steps"].size();
  for (std::size_t i = 0; i < vs.size(); ++i) {
    const json & v = vs[i];
    const json & r = results[i];
    EXPECT_EQ(r["ruleId"], v["rule"]) << i;
    EXPECT_EQ(rules[r["ruleIndex"].get<std::size_t>()]["id"], v["rule"]) << i;
    EXPECT_EQ(r["level"], "error") << i;  // unsafe, or no severity
    EXPECT_EQ(r["properties"]["distinct"], v["distinct"]) << i;
    EXPECT_EQ(r["codeFlows"][0]["threadFlows"][0]["locations"].size(), v["trace"].size()) << i;
    const std::size_t step = v["step"].get<std::size_t>();
    const json & loc = r["locations"][0]["physicalLocation"];
    EXPECT_EQ(loc["artifactLocation"]["uri"], kTwoBugs);
    // A check point at the end of the scenario has no step object: the file without a region.
    EXPECT_EQ(start_line(loc), step < steps ? one_line_step(lines, step) : 0) << i;
    if (step == steps) {
      EXPECT_NE(r["message"]["text"].get<std::string>().find("at the end of the scenario"), std::string::npos) << i;
    }
  }
}

TEST_F(ReportSarif, SeveralScenariosMakeOneRun)
{
  json j = check(kAtsBug + " " + kAtsOk + " " + kVtdBug, 1);
  ASSERT_EQ(j.size(), 3u);
  json log = nostale::render_sarif(j);
  expect_valid(log);
  const json & rn = only_run(log);
  ASSERT_EQ(rn["results"].size(), 2u);
  EXPECT_EQ(rn["results"][0]["ruleId"], "ATS-7");
  EXPECT_EQ(rn["results"][1]["ruleId"], "VTD-SEQ-10");
  EXPECT_EQ(rn["results"][1]["ruleIndex"], 1);
  EXPECT_EQ(rn["properties"]["verdicts"], json({{"safe", 1}, {"violation", 2}, {"unknown", 0}, {"error", 0}}));
  // `nostale test --format json` wraps the same objects in {"results": [...]}.
  Proc t = run("test --format json " + kAtsBug);
  EXPECT_EQ(t.code, 0) << t;
  json tj = json::parse(t.out, nullptr, false);
  ASSERT_TRUE(tj.is_object()) << t;
  json tlog = nostale::render_sarif(tj);
  ASSERT_EQ(only_run(tlog)["results"].size(), 1u);
  EXPECT_EQ(only_run(tlog)["results"][0]["ruleId"], "ATS-7");
}

TEST_F(ReportSarif, ATraceEntrysSourceTakesPrecedenceOverTheScenarioLine)
{
  // An imported scenario: its steps came from a recorded trace, whose lines the entries carry.
  std::string file = write("imported.json",
                           "{\n"
                           "  \"steps\": [\n"
                           "    {\"op\": \"attach\"},\n"
                           "    {\"op\": \"unmap\"},\n"
                           "    {\"op\": \"check\"}\n"
                           "  ]\n"
                           "}\n");
  json trace = json::array({
      {{"step", 0}, {"op", "attach"}, {"text", "attach"}, {"source", {{"file", "trace.log"}, {"line", 0}}}},  // not a line: ignored
      {{"hw", "fill"}, {"text", "fill IOTLB"}},
      {{"step", 1}, {"op", "unmap"}, {"text", "unmap"}, {"source", {{"file", "traces/dmesg.log"}, {"line", 42}}}},
      {{"step", 2}, {"op", "check"}, {"text", "check"}, {"check_point", true}, {"source", {{"file", "traces/dmesg.log"}, {"line", 57}}}},
  });
  json v = {{"scenario", file}, {"name", "imported"}, {"verdict", "violation"}, {"property", "no-stale"},
            {"severity", "restrictive"}, {"step", 2}, {"rule", "MOD-1"}, {"rule_text", "an IOTLB entry is stale"},
            {"witness", nullptr}, {"trace", trace}};
  json log = nostale::render_sarif(json::array({v}));
  expect_valid(log);
  const json & r = only_run(log)["results"].at(0);
  EXPECT_EQ(r["level"], "warning");  // restrictive
  const json & loc = r["locations"][0]["physicalLocation"];
  EXPECT_EQ(loc["artifactLocation"]["uri"], "traces/dmesg.log");
  EXPECT_EQ(loc["artifactLocation"]["uriBaseId"], "SRCROOT");
  EXPECT_EQ(start_line(loc), 57u);
  const json & flow = r["codeFlows"][0]["threadFlows"][0]["locations"];
  ASSERT_EQ(flow.size(), 4u);
  // Step 0's "source" is no line: the scenario file (absolute: a file URI, no uriBaseId), line 3.
  const json & s0 = flow[0]["location"]["physicalLocation"];
  EXPECT_EQ(s0["artifactLocation"]["uri"], "file://" + file);
  EXPECT_FALSE(s0["artifactLocation"].contains("uriBaseId"));
  EXPECT_EQ(start_line(s0), 3u);
  EXPECT_EQ(flow[2]["location"]["physicalLocation"]["artifactLocation"]["uri"], "traces/dmesg.log");
  EXPECT_EQ(start_line(flow[2]["location"]["physicalLocation"]), 42u);
  EXPECT_EQ(start_line(flow[3]["location"]["physicalLocation"]), 57u);
  EXPECT_EQ(flow[3]["importance"], "essential");
  // Without the sources, the scenario's own lines.
  for (json & e : v["trace"]) e.erase("source");
  json plain = nostale::render_sarif(json::array({v}));
  EXPECT_EQ(start_line(only_run(plain)["results"][0]["locations"][0]["physicalLocation"]), 5u);
}

TEST_F(ReportSarif, TheStepScannerSkipsStringsEscapesAndNestedSteps)
{
  // Brackets, quotes and "steps" inside strings and nested objects; a step that begins on the line
  // where the previous one ends; an escaped key. Each step's expected line is in `want`.
  const std::string text =
      "\xEF\xBB\xBF{\n"                                                       // 1
      "  \"name\": \"a \\\"steps\\\": [ {\\\"op\\\"} ] \\\\\",\n"             // 2
      "  \"config\": {\"steps\": [{\"op\": \"x\"}, {\"op\": \"y\"}]},\n"      // 3
      "  \"description\": \"}]{[\",\n"                                        // 4
      "  \"\\u0073teps\":\n"                                                  // 5
      "  [\n"                                                                 // 6
      "    {\"op\": \"attach\", \"note\": \"a \\\" [ { quoted\"},\n"          // 7
      "\n"                                                                    // 8
      "    {\n"                                                               // 9
      "      \"op\": \"map\", \"nested\": {\"a\": [1, {\"b\": \"]\"}]}\n"     // 10
      "    }, {\"op\": \"check\"},\n"                                         // 11
      "    {\"op\": \"x\\u0022 \\n\", \"n\": -1.5e3, \"t\": true, \"f\": null}\n"  // 12
      "  ],\n"                                                                // 13
      "  \"expect\": {}\n"                                                    // 14
      "}\n";
  const std::vector<std::size_t> want = {7, 9, 11, 12};
  ASSERT_TRUE(json::accept(text.substr(3))) << "the fixture is JSON";
  std::string crlf;
  for (char c : text) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  for (const auto & [name, body] : {std::pair<std::string, std::string>{"lf.json", text}, {"crlf.json", crlf}}) {
    std::string file = write(name, body);
    json trace = json::array();
    for (std::size_t s = 0; s <= want.size(); ++s)  // and one step past the last: no region
      trace.push_back({{"step", s}, {"op", "x"}, {"text", "x"}});
    json v = {{"scenario", file}, {"verdict", "violation"}, {"step", 3}, {"rule", "MOD-1"}, {"trace", trace}};
    json log = nostale::render_sarif(json::array({v}));
    const json & flow = only_run(log)["results"][0]["codeFlows"][0]["threadFlows"][0]["locations"];
    ASSERT_EQ(flow.size(), want.size() + 1);
    for (std::size_t s = 0; s < want.size(); ++s)
      EXPECT_EQ(start_line(flow[s]["location"]["physicalLocation"]), want[s]) << name << " step " << s;
    EXPECT_FALSE(flow[want.size()]["location"]["physicalLocation"].contains("region")) << name;
    EXPECT_EQ(start_line(only_run(log)["results"][0]["locations"][0]["physicalLocation"]), 12u) << name;
    expect_valid(log);
  }
  // A file that is missing, or is no JSON object with "steps" (a recorded trace, say): the file
  // without a region.
  std::string not_json = write("trace.txt", "  <idle>-0  [000] qi_submit_sync: {\"steps\": [\n{\n");
  for (const std::string & f : {not_json, (dir / "missing.json").string()}) {
    json v = {{"scenario", f}, {"verdict", "violation"}, {"step", 0}, {"rule", "MOD-1"},
              {"trace", json::array({{{"step", 0}, {"text", "x"}, {"check_point", true}}})}};
    json log = nostale::render_sarif(json::array({v}));
    const json & loc = only_run(log)["results"][0]["locations"][0]["physicalLocation"];
    EXPECT_EQ(loc["artifactLocation"]["uri"], "file://" + f);
    EXPECT_FALSE(loc.contains("region")) << f;
  }
}

TEST_F(ReportSarif, UnknownIsAnOpenResultAndAnUncheckedScenarioFailsTheInvocation)
{
  json unknown = {{"scenario", kAtsBug}, {"name", "x"}, {"verdict", "unknown"}, {"property", nullptr},
                  {"step", nullptr}, {"rule", nullptr}, {"trace", json::array()},
                  {"reason", "timeout after 1.0 s; no check point proved yet"}};
  json log = nostale::render_sarif(json::array({unknown}));
  expect_valid(log);
  const json & rn = only_run(log);
  ASSERT_EQ(rn["results"].size(), 1u);
  const json & r = rn["results"][0];
  EXPECT_EQ(r["kind"], "open");  // SARIF 3.27.9: the tool could not decide
  EXPECT_EQ(r["level"], "none");  // 3.27.10: any kind but "fail" has level "none"
  EXPECT_NE(r["message"]["text"].get<std::string>().find("timeout after 1.0 s"), std::string::npos);
  EXPECT_EQ(rn["tool"]["driver"]["rules"][r["ruleIndex"].get<std::size_t>()]["id"], r["ruleId"]);
  EXPECT_EQ(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], kAtsBug);
  EXPECT_EQ(rn["invocations"][0]["executionSuccessful"], true);
  EXPECT_EQ(rn["properties"]["verdicts"]["unknown"], 1);

  json broken = {{"scenario", "scenarios/x.json"}, {"verdict", "internal-error"}, {"error", "scenarios/x.json: internal error: boom"}};
  log = nostale::render_sarif(json::array({unknown, broken}));
  expect_valid(log);
  const json & inv = only_run(log)["invocations"][0];
  EXPECT_EQ(inv["executionSuccessful"], false);
  ASSERT_EQ(inv["toolExecutionNotifications"].size(), 1u);
  EXPECT_EQ(inv["toolExecutionNotifications"][0]["level"], "error");
  EXPECT_NE(inv["toolExecutionNotifications"][0]["message"]["text"].get<std::string>().find("boom"), std::string::npos);
  EXPECT_EQ(only_run(log)["results"].size(), 1u);
}

TEST_F(ReportSarif, PathsArePercentEncodedURIReferences)
{
  json v = {{"scenario", "my scenarios/a:b#1.json"}, {"verdict", "violation"}, {"step", 0}, {"rule", "MOD-1"}, {"trace", json::array()}};
  json log = nostale::render_sarif(json::array({v}));
  expect_valid(log);
  const json & a = only_run(log)["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"];
  EXPECT_EQ(a["uri"], "my%20scenarios/a%3Ab%231.json");
  EXPECT_EQ(a["uriBaseId"], "SRCROOT");
  EXPECT_FALSE(only_run(log)["results"][0].contains("codeFlows")) << "no trace, no code flow";
}

TEST_F(ReportSarif, TheSchemaRejectsBrokenLogs)
{
  json good = nostale::render_sarif(check(kAtsBug, 1));
  expect_valid(good);
  if (HasFatalFailure()) return;
  std::vector<json> bad;
  auto broken = [&](const std::function<void(json &)> & f) {
    json l = good;
    f(l);
    bad.push_back(l);
  };
  broken([](json & l) { l["version"] = "2.0.0"; });
  broken([](json & l) { l["runs"][0]["results"][0].erase("message"); });
  broken([](json & l) { l["runs"][0]["results"][0]["level"] = "fatal"; });
  broken([](json & l) { l["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] = 0; });
  broken([](json & l) { l["runs"][0]["results"][0]["codeFlows"][0]["threadFlows"][0]["locations"][0]["importance"] = "vital"; });
  broken([](json & l) { l["runs"][0]["tool"]["driver"].erase("name"); });
  for (std::size_t i = 0; i < bad.size(); ++i) {
    std::string out;
    EXPECT_EQ(validate({bad[i]}, true, out), 0) << "broken log " << i << " passed the schema:\n" << out;
  }
  std::string out;
  EXPECT_EQ(validate({bad[0]}, false, out), 1) << out;
  EXPECT_NE(out.find("error at /version"), std::string::npos) << out;
}

}  // namespace

namespace {

// Through the CLI: `check --format sarif`, a scenario and a trace in one run; the trace's result
// is located at its line in the trace file.
TEST_F(ReportSarif, TheCliWritesOneLogForScenariosAndTracesAlike)
{
  const std::string trace = "scenarios/traces/linux/unmap-no-devtlb-flush-bug.trace";
  std::string out = (dir / "run.sarif").string();
  Proc r = run("check --format sarif --out " + quote(out) + " scenarios/generic/ats-order-bug.json " + trace);
  EXPECT_EQ(r.code, 1) << r;
  EXPECT_TRUE(r.out.empty()) << r;
  json log = json::parse(slurp(out), nullptr, false);
  ASSERT_TRUE(log.is_object()) << slurp(out);
  expect_valid(log);
  const json & results = only_run(log).at("results");
  ASSERT_EQ(results.size(), 2u) << log.dump(2).substr(0, 4000);
  EXPECT_EQ(results[0]["ruleId"], "ATS-7");
  EXPECT_EQ(results[1]["ruleId"], "VTD-GRAN-6");
  // The violation's check point is a step the importer added; the code flow's steps read from
  // the trace are at their lines there (the unmap is line 18).
  bool unmap_at_18 = false;
  for (const json & l : results[1]["codeFlows"][0]["threadFlows"][0]["locations"])
    if (l["location"].contains("physicalLocation") &&
        l["location"]["physicalLocation"]["artifactLocation"]["uri"] == trace &&
        l["location"]["physicalLocation"].contains("region") &&
        start_line(l["location"]["physicalLocation"]) == 18)
      unmap_at_18 = true;
  EXPECT_TRUE(unmap_at_18) << results[1].dump(2).substr(0, 6000);
  // A shard is a part of a run for `nostale merge`, which reads JSON.
  Proc s = run("check --format sarif --shard 1/2 scenarios/generic/ats-order-bug.json");
  EXPECT_EQ(s.code, 2) << s;
}

}  // namespace

namespace {

// The reviewer's command for a code-review page: `diff --format sarif` lists what NEW introduces,
// and nothing for a patch that only fixes.
TEST_F(ReportSarif, DiffGivesTheViolationsTheNewVersionIntroduces)
{
  const std::string ok = "scenarios/traces/linux/unmap-v6.11-ok.trace";
  const std::string bug = "scenarios/traces/linux/unmap-no-devtlb-flush-bug.trace";
  Proc r = run("diff --format sarif " + ok + " " + bug);
  EXPECT_EQ(r.code, 1) << r;
  json log = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(log.is_object()) << r;
  expect_valid(log);
  ASSERT_EQ(only_run(log).at("results").size(), 1u) << r.out.substr(0, 4000);
  EXPECT_EQ(only_run(log)["results"][0]["ruleId"], "VTD-GRAN-6");
  Proc fix = run("diff --format sarif " + bug + " " + ok);
  EXPECT_EQ(fix.code, 0) << fix;
  json none = json::parse(fix.out, nullptr, false);
  ASSERT_TRUE(none.is_object()) << fix;
  expect_valid(none);
  EXPECT_TRUE(only_run(none).at("results").empty()) << fix.out.substr(0, 4000);
}

}  // namespace

namespace {

// A log that a code-scanning service reads whole says which inputs were not checked.
TEST_F(ReportSarif, AnInputThatDidNotLoadFailsTheInvocation)
{
  const std::string bad = write("bad.trace", "# tracer: nop\n  fio-1 [000] ..... 1.0: qi_submit: p_iotlb_inv dmar0: 0x20036\n");
  Proc r = run("check --format sarif scenarios/generic/ats-order-bug.json " + quote(bad));
  EXPECT_EQ(r.code, 2) << r;
  json log = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(log.is_object()) << r;
  expect_valid(log);
  const json & inv = only_run(log).at("invocations").at(0);
  EXPECT_EQ(inv["executionSuccessful"], false) << inv.dump(2);
  EXPECT_NE(inv.dump().find(":2: error: qi_submit"), std::string::npos) << inv.dump(2);
  EXPECT_EQ(only_run(log)["results"].size(), 1u);
}

}  // namespace
