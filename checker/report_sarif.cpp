#include "checker/report_sarif.h"

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace nostale {

namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

/// The rule of results that name none: "unknown" verdicts and violations found without a
/// counterexample (the explicit engine). SARIF requires a ruleId on every result (3.27.5).
const char * const kScenarioRule = "NOSTALE-SCENARIO";
const char * const kScenarioRuleText =
    "every property the scenario checks (no stale translation, no DMA after free, ...) holds at each of its check points";

/// Scenario files larger than this are not scanned for step lines (the loader's own bound is lower).
constexpr std::uintmax_t kMaxScannedBytes = 64u << 20;

/// The line (1-based) at which each element of the top-level "steps" array of a JSON scenario
/// text begins. Strings (with their escapes) are skipped whole, so brackets, quotes and
/// newlines inside them do not count; a "steps" key inside a nested object is not the one.
/// Anything that is not such a file gives no lines.
class StepLines {
 public:
  explicit StepLines(std::string_view text) : t_(text) {}

  std::vector<std::size_t> scan()
  {
    if (t_.substr(0, 3) == "\xEF\xBB\xBF") i_ = 3;  // a UTF-8 byte order mark
    ws();
    if (!at('{')) return {};
    next();
    for (;;) {
      ws();
      if (!at('"')) return {};  // '}' too: an object without "steps"
      std::string key;
      if (!string(&key)) return {};
      ws();
      if (!at(':')) return {};
      next();
      ws();
      if (key == "steps") return elements();
      if (!value()) return {};
      ws();
      if (!at(',')) return {};
      next();
    }
  }

 private:
  std::string_view t_;
  std::size_t i_ = 0;
  std::size_t line_ = 1;

  bool at(char c) const { return i_ < t_.size() && t_[i_] == c; }

  void next()
  {
    if (t_[i_] == '\n') ++line_;  // "\r\n" and "\n" end a line, as SARIF's default newLineSequences say
    ++i_;
  }

  void ws()
  {
    while (i_ < t_.size() && (t_[i_] == ' ' || t_[i_] == '\t' || t_[i_] == '\n' || t_[i_] == '\r')) next();
  }

  std::vector<std::size_t> elements()
  {
    if (!at('[')) return {};
    next();
    std::vector<std::size_t> lines;
    ws();
    if (at(']')) return lines;
    for (;;) {
      ws();
      lines.push_back(line_);
      if (!value()) return {};
      ws();
      if (at(']')) return lines;
      if (!at(',')) return {};
      next();
    }
  }

  /// A string at '"', decoded into *out (only to compare keys: non-ASCII escapes become '?').
  bool string(std::string * out)
  {
    next();
    while (i_ < t_.size()) {
      char c = t_[i_];
      next();
      if (c == '"') return true;
      if (c != '\\') {
        if (out) *out += c;
        continue;
      }
      if (i_ >= t_.size()) return false;
      char e = t_[i_];
      next();
      static const std::string_view simple = "\"\\/bfnrt", decoded = "\"\\/\b\f\n\r\t";
      if (std::size_t k = simple.find(e); k != std::string_view::npos) {
        if (out) *out += decoded[k];
      } else if (e == 'u') {
        unsigned cp = 0;
        for (int d = 0; d < 4; ++d, next()) {
          if (i_ >= t_.size()) return false;
          char h = t_[i_];
          int v = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
          if (v < 0) return false;
          cp = cp * 16 + static_cast<unsigned>(v);
        }
        if (out) *out += cp < 0x80 ? static_cast<char>(cp) : '?';
      } else {
        return false;
      }
    }
    return false;
  }

  /// Skips one value; nesting is counted without recursion, so no input can exhaust the stack.
  bool value()
  {
    if (i_ >= t_.size()) return false;
    if (at('"')) return string(nullptr);
    if (at('{') || at('[')) {
      std::size_t depth = 0;
      do {
        if (i_ >= t_.size()) return false;
        if (at('"')) {
          if (!string(nullptr)) return false;
          continue;
        }
        if (at('{') || at('[')) ++depth;
        if (at('}') || at(']')) --depth;
        next();
      } while (depth > 0);
      return true;
    }
    const std::size_t start = i_;  // a number or a literal
    while (i_ < t_.size() && std::string_view(",]} \t\r\n").find(t_[i_]) == std::string_view::npos) next();
    return i_ > start;
  }
};

std::string text_of(const json & j, const char * key)
{
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

bool flag(const json & j, const char * key)
{
  return j.is_object() && j.contains(key) && j[key].is_boolean() && j[key].get<bool>();
}

std::optional<std::size_t> index_of(const json & j, const char * key)
{
  if (!j.is_object() || !j.contains(key) || !j[key].is_number_integer()) return std::nullopt;
  if (j[key].is_number_unsigned()) return j[key].get<std::size_t>();
  long long v = j[key].get<long long>();
  return v < 0 ? std::nullopt : std::optional<std::size_t>(static_cast<std::size_t>(v));
}

/// Messages are one line: a note with a newline does not split a result's summary.
std::string one_line(std::string s)
{
  for (char & c : s)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  return s;
}

/// A path as a URI reference: absolute paths become file URIs; relative ones stay relative.
/// Every byte but the unreserved characters and '/' is percent-encoded (a ':' in a first
/// segment would otherwise read as a scheme).
std::string uri_of(const std::string & path)
{
  std::string u = !path.empty() && path[0] == '/' ? "file://" : "";
  for (unsigned char c : path) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
        c == '_' || c == '~' || c == '/') {
      u += static_cast<char>(c);
    } else {
      char b[4];
      std::snprintf(b, sizeof b, "%%%02X", c);
      u += b;
    }
  }
  return u;
}

/// The "source" of a trace entry, if it is well formed: {"file": non-empty string, "line": N >= 1}.
std::optional<std::pair<std::string, std::size_t>> source_of(const json & entry)
{
  if (!entry.is_object() || !entry.contains("source")) return std::nullopt;
  const json & s = entry["source"];
  std::string file = text_of(s, "file");
  std::optional<std::size_t> line = index_of(s, "line");
  if (file.empty() || !line || *line == 0) return std::nullopt;
  return std::make_pair(file, *line);
}

class SarifLog {
 public:
  void add_scenario(const json & s)
  {
    ++scenarios_;
    std::string verdict = text_of(s, "verdict");
    if (!s.is_object() || (s.contains("error") && !s["error"].is_null()) ||
        (verdict != "safe" && verdict != "violation" && verdict != "unknown")) {
      error(s);
      return;
    }
    ++count_[verdict];
    if (verdict == "unknown") return undecided(s);
    if (verdict == "safe") return;
    if (s.contains("violations") && s["violations"].is_array()) {
      for (const json & v : s["violations"]) violation(s, v);
    } else {
      violation(s, s);
    }
  }

  json log() const
  {
    json invocation = {{"executionSuccessful", count_.count("error") == 0}};
    if (!notifications_.empty()) invocation["toolExecutionNotifications"] = notifications_;
    json counts = json::object();
    for (const char * k : {"safe", "violation", "unknown", "error"})
      counts[k] = count_.count(k) ? count_.at(k) : 0u;
    json run = {{"tool", {{"driver", {{"name", "nostale"}, {"version", NOSTALE_VERSION}, {"rules", rules_}}}}},
                {"invocations", json::array({invocation})},
                {"results", results_},
                {"properties", {{"scenarios", scenarios_}, {"verdicts", counts}}}};
    // Where relative paths are read from; viewers resolve SRCROOT with it (3.14.14).
    std::error_code ec;
    fs::path cwd = fs::current_path(ec);
    if (relative_ && !ec && cwd.is_absolute()) {
      std::string dir = cwd.string();
      if (dir.back() != '/') dir += '/';
      run["originalUriBaseIds"] = {{"SRCROOT", {{"uri", uri_of(dir)}}}};
    }
    return {{"$schema", "https://json.schemastore.org/sarif-2.1.0.json"}, {"version", "2.1.0"}, {"runs", json::array({run})}};
  }

 private:
  json rules_ = json::array();
  std::map<std::string, std::size_t> rule_index_;
  json results_ = json::array();
  json notifications_ = json::array();
  std::map<std::string, unsigned> count_;
  unsigned scenarios_ = 0;
  bool relative_ = false;  ///< some artifactLocation uses SRCROOT
  std::map<std::string, std::vector<std::size_t>> step_lines_;  ///< by scenario path

  std::size_t rule(const std::string & id, const std::string & text)
  {
    auto it = rule_index_.find(id);
    if (it != rule_index_.end()) return it->second;
    json d = {{"id", id}};
    if (!text.empty()) {
      d["shortDescription"] = {{"text", one_line(text)}};
      d["fullDescription"] = {{"text", one_line(text)}};
    }
    rules_.push_back(d);
    return rule_index_[id] = rules_.size() - 1;
  }

  json artifact(const std::string & path)
  {
    json a = {{"uri", uri_of(path)}};
    if (path.empty() || path[0] != '/') {
      a["uriBaseId"] = "SRCROOT";
      relative_ = true;
    }
    return a;
  }

  json physical(const std::string & path, std::optional<std::size_t> line)
  {
    json p = {{"artifactLocation", artifact(path)}};
    if (line) p["region"] = {{"startLine", *line}};
    return p;
  }

  /// The line where step `step` of a scenario file begins, read from the file once.
  std::optional<std::size_t> step_line(const std::string & file, std::size_t step)
  {
    auto it = step_lines_.find(file);
    if (it == step_lines_.end()) {
      std::vector<std::size_t> lines;
      std::error_code ec;
      // A regular file only: a FIFO or a device given as a scenario path must not block or be read.
      if (fs::is_regular_file(file, ec) && fs::file_size(file, ec) <= kMaxScannedBytes && !ec) {
        std::ifstream in(file, std::ios::binary);
        std::ostringstream ss;
        if (in && (ss << in.rdbuf())) lines = StepLines(ss.str()).scan();
      }
      it = step_lines_.emplace(file, std::move(lines)).first;
    }
    if (step < it->second.size()) return it->second[step];
    return std::nullopt;
  }

  /// The physical location of driver step `step`: its trace entry's "source", else its line
  /// in the scenario file, else the scenario file alone.
  json step_location(const std::string & file, std::optional<std::size_t> step, const json & entry)
  {
    if (auto src = source_of(entry)) return physical(src->first, src->second);
    return physical(file, step ? step_line(file, *step) : std::nullopt);
  }

  static std::string witness_text(const json & w)
  {
    if (!w.is_object()) return "";
    std::string t = "device " + text_of(w, "device");
    if (auto p = index_of(w, "pasid")) t += ", PASID " + std::to_string(*p);
    t += ", address " + text_of(w, "address");
    if (std::string pr = text_of(w, "privilege"); !pr.empty()) t += ", a " + pr + " request";
    return t;
  }

  static std::string summary(const json & v, const std::string & rule_id, bool at_end, std::optional<std::size_t> step)
  {
    std::string prop = text_of(v, "property"), sev = text_of(v, "severity");
    std::string m = (prop.empty() ? std::string("a property") : prop) + (sev.empty() ? "" : " (" + sev + ")") + " violated";
    if (at_end) m += " at the end of the scenario";
    else if (step) m += " at step " + std::to_string(*step);
    m += " [rule " + rule_id + "]";
    if (std::string e = text_of(v, "stale_entry"); !e.empty()) {
      m += "; stale entry: " + e;
    } else if (v.contains("page_request") && v["page_request"].is_object()) {
      const json & pr = v["page_request"];
      m += "; a page request of " + text_of(pr, "device") +
           (index_of(pr, "pasid") ? " for PASID " + std::to_string(*index_of(pr, "pasid")) : "") + " is never drained";
    } else if (std::string w = text_of(v, "walker_sees"); !w.empty()) {
      m += "; the walker sees: " + w;
    }
    if (std::string w = witness_text(v.contains("witness") ? v["witness"] : json()); !w.empty()) m += "; witness: " + w;
    if (v.contains("survival")) {
      if (std::string why = text_of(v["survival"], "text"); !why.empty()) m += "; why: " + why;
    }
    return one_line(m);
  }

  /// One result per violation `v` of scenario `s` (v is s itself without --all).
  void violation(const json & s, const json & v)
  {
    if (!v.is_object()) return error(s);
    const std::string file = text_of(s, "scenario");
    std::string rule_id = text_of(v, "rule");
    std::size_t index = 0;
    if (rule_id.empty()) {
      rule_id = kScenarioRule;
      index = rule(rule_id, kScenarioRuleText);
    } else {
      index = rule(rule_id, text_of(v, "rule_text"));
    }
    std::optional<std::size_t> step = index_of(v, "step");
    const json trace = v.contains("trace") && v["trace"].is_array() ? v["trace"] : json::array();
    // The check point's trace entry: the one marked so, else the driver step of index "step".
    json cp;
    for (const json & e : trace)
      if (flag(e, "check_point")) cp = e;
    for (const json & e : trace)
      if (cp.is_null() && step && !e.contains("hw") && index_of(e, "step") == step) cp = e;
    const bool at_end = text_of(cp, "op") == "end";

    json r = {{"ruleId", rule_id},
              {"ruleIndex", index},
              {"kind", "fail"},
              {"level", text_of(v, "severity") == "restrictive" ? "warning" : "error"},
              {"message", {{"text", summary(v, rule_id, at_end, step)}}}};
    if (!file.empty() || source_of(cp))
      r["locations"] = json::array({{{"physicalLocation", step_location(file, at_end ? std::nullopt : step, cp)}}});

    json props = json::object();
    if (std::string n = text_of(s, "name"); !n.empty()) props["scenarioName"] = n;
    for (const char * k : {"property", "severity", "step", "witness", "memory", "stale_entry", "distinct"})
      if (v.contains(k) && !v[k].is_null()) props[k] = v[k];
    if (!props.empty()) r["properties"] = props;

    if (!trace.empty()) {
      json locations = json::array();
      for (const json & e : trace) {
        std::string text = text_of(e, "text");
        if (std::string note = text_of(e, "note"); !note.empty()) text += " # " + note;
        json tfl = json::object();
        json loc = {{"message", {{"text", one_line(text)}}}};
        if (e.contains("hw")) {
          // Hardware actions happen between driver steps: no place in the scenario file.
          tfl["kinds"] = json::array({"hardware"});
          if (std::string hw = text_of(e, "hw"); !hw.empty() && hw != "hardware") tfl["kinds"].push_back(hw);
        } else if (auto st = index_of(e, "step")) {
          const bool end = text_of(e, "op") == "end";
          if (!file.empty() || source_of(e)) loc["physicalLocation"] = step_location(file, end ? std::nullopt : st, e);
        }
        tfl["location"] = loc;
        if (flag(e, "check_point")) tfl["importance"] = "essential";
        locations.push_back(tfl);
      }
      r["codeFlows"] = json::array({{{"threadFlows", json::array({{{"locations", locations}}})}}});
    }
    results_.push_back(r);
  }

  /// "unknown": the tool could not decide (SARIF kind "open", whose level must be "none").
  void undecided(const json & s)
  {
    const std::string file = text_of(s, "scenario");
    std::string reason = text_of(s, "reason");
    json r = {{"ruleId", kScenarioRule},
              {"ruleIndex", rule(kScenarioRule, kScenarioRuleText)},
              {"kind", "open"},
              {"level", "none"},
              {"message", {{"text", one_line("undecided: " + (reason.empty() ? std::string("no reason given") : reason))}}}};
    if (!file.empty()) r["locations"] = json::array({{{"physicalLocation", physical(file, std::nullopt)}}});
    results_.push_back(r);
  }

  /// A scenario that was not checked: a notification of the invocation, which then did not succeed.
  void error(const json & s)
  {
    std::string text = text_of(s, "error");
    if (text.empty()) text = s.is_object() ? "not checked (verdict '" + text_of(s, "verdict") + "')" : "not a scenario report";
    ++count_["error"];
    json n = {{"level", "error"}, {"message", {{"text", one_line(text)}}}};
    if (std::string file = text_of(s, "scenario"); !file.empty())
      n["locations"] = json::array({{{"physicalLocation", physical(file, std::nullopt)}}});
    notifications_.push_back(n);
  }
};

}  // namespace

nlohmann::json render_sarif(const nlohmann::json & results)
{
  SarifLog log;
  // `test --format json` and `--shard` wrap the array in an object; a single report is one scenario.
  const json & arr = results.is_object() && results.contains("results") ? results["results"] : results;
  if (arr.is_array()) {
    for (const json & s : arr) log.add_scenario(s);
  } else if (!arr.is_null()) {
    log.add_scenario(arr);
  }
  return log.log();
}

}  // namespace nostale
