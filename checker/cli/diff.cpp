#include "checker/cli/diff.h"

#include <map>

#include "checker/cli/merge.h"
#include "checker/exit_codes.h"

namespace nostale::cli {

namespace {

std::string str(const nlohmann::json & j, const char * key)
{
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

/// "no-stale (unsafe) at step 4 [rule MOD-1]", "safe", "unknown".
std::string describe(const nlohmann::json & r)
{
  std::string v = str(r, "verdict");
  if (v != "violation") return v.empty() ? "no verdict" : v;
  std::string s = str(r, "property");
  if (!str(r, "severity").empty()) s += " (" + str(r, "severity") + ")";
  if (r.contains("step") && r["step"].is_number_unsigned()) s += " at step " + std::to_string(r["step"].get<unsigned>());
  if (!str(r, "rule").empty()) s += " [rule " + str(r, "rule") + "]";
  return s;
}

const DiffSide * find(const std::vector<DiffSide> & side, const std::string & key)
{
  for (const DiffSide & d : side)
    if (d.key == key) return &d;
  return nullptr;
}

/// What a violation is, apart from where (see diff_reports).
std::string finding_of(const nlohmann::json & r)
{
  std::string entry = str(r, "stale_entry");
  std::string kind = entry.substr(0, entry.find(" ["));
  return str(r, "property") + "/" + str(r, "severity") + "/" + str(r, "rule") + "/" + kind;
}

}  // namespace

DiffResult diff_reports(const std::vector<DiffSide> & old_side, const std::vector<DiffSide> & new_side)
{
  DiffResult out;
  // Every key once, in the order of NEW, then the keys only OLD has.
  std::vector<std::string> keys;
  for (const DiffSide & d : new_side) keys.push_back(d.key);
  for (const DiffSide & d : old_side)
    if (!find(new_side, d.key)) keys.push_back(d.key);
  std::map<std::string, unsigned> count;
  nlohmann::json pairs = nlohmann::json::array();
  std::string details;
  for (const std::string & key : keys) {
    const DiffSide * o = find(old_side, key);
    const DiffSide * n = find(new_side, key);
    nlohmann::json p = {{"key", key}};
    if (o) p["old"] = o->result ? nlohmann::json{{"file", o->file}, {"verdict", str(*o->result, "verdict")}, {"finding", describe(*o->result)}}
                                : nlohmann::json{{"file", o->file}, {"error", o->error}};
    if (n) p["new"] = n->result ? nlohmann::json{{"file", n->file}, {"verdict", str(*n->result, "verdict")}, {"finding", describe(*n->result)}}
                                : nlohmann::json{{"file", n->file}, {"error", n->error}};
    std::string change;
    if ((o && !o->result) || (n && !n->result)) {
      change = "error";
      if (o && !o->result) out.code = combine(out.code, o->error_code);
      if (n && !n->result) out.code = combine(out.code, n->error_code);
    } else {
      const std::string ov = o ? str(*o->result, "verdict") : "absent";
      const std::string nv = n ? str(*n->result, "verdict") : "absent";
      if (nv == "violation" && ov != "violation") change = "new violation";
      else if (nv == "violation" && finding_of(*o->result) != finding_of(*n->result)) change = "new counterexample";
      else if (ov == "violation" && nv != "violation") change = nv == "absent" ? "removed" : nv == "safe" ? "fixed" : "unknown";
      else if (nv == "unknown") change = "unknown";
      else if (nv == "absent") change = "removed";
      else if (ov == "absent") change = "added";
      else if (ov != nv) change = "now " + nv;  // unknown before, safe now
      else change = "unchanged";
      if (change == "new violation" || change == "new counterexample") out.code = combine(out.code, kExitViolation);
      if (change == "unknown") out.code = combine(out.code, kExitUnknown);
    }
    p["change"] = change;
    ++count[change];
    pairs.push_back(p);
    const std::string label = key.empty() ? (n ? n->file : o->file) : key;
    if (change == "unchanged" || change == "added") continue;
    std::string line = change;
    for (char & c : line) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    line += "  " + label + ": ";
    if (change == "error") {
      std::vector<std::string> why;
      if (o && !o->result) why.push_back("old: " + o->error);
      if (n && !n->result) why.push_back("new: " + n->error);
      line += why.size() == 2 ? why[0] + "; " + why[1] : why[0];
    } else
      line += "old " + (o ? describe(*o->result) : std::string("absent")) + ", new " +
              (n ? describe(*n->result) : std::string("absent"));
    out.text += line + "\n";
    // What is new is shown whole: the reviewer reads the trace of the NEW version.
    if ((change == "new violation" || change == "new counterexample") && n) details += "\n" + n->text;
  }
  nlohmann::json summary = nlohmann::json::object();
  std::string closing = "nostale diff: " + std::to_string(keys.size()) + " scenario" + (keys.size() == 1 ? "" : "s") + ":";
  bool first = true;
  for (const char * k : {"new violation", "new counterexample", "fixed", "unknown", "now safe", "error", "unchanged", "added", "removed"}) {
    summary[k] = count[k];
    if (!count[k] && std::string(k) != "new violation") continue;
    const bool plural = count[k] != 1 && (std::string(k) == "new violation" || std::string(k) == "new counterexample");
    closing += std::string(first ? " " : ", ") + std::to_string(count[k]) + " " + k + (plural ? "s" : "");
    first = false;
  }
  out.text += details + (details.empty() ? "" : "\n") + closing + "\n";
  out.report = {{"pairs", pairs}, {"summary", summary}};
  return out;
}

}  // namespace nostale::cli
