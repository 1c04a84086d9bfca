#include "spec/model/format.h"
#include "checker/report.h"
#include "checker/printable.h"
#include "checker/policies/all_violations.h"
#include "spec/interp/survival.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <sstream>

namespace nostale {

namespace {

std::string seconds(double s)
{
  char b[32];
  std::snprintf(b, sizeof b, "%.3f s", s);
  return b;
}

std::string event_text(const Scenario & sc, const Timeline & tl, const HwEvent & e)
{
  const Config & cfg = sc.config;
  if (e.kind == HwEvent::PageRequest)
    return "page request from " + cfg.devices.at(static_cast<std::size_t>(e.walker)).name + " for PASID " +
           std::to_string(e.entry.pasid) + " (outstanding until a drain)";
  if (e.kind == HwEvent::Complete) {
    std::size_t st = tl.invs[e.inv].step;
    return "complete the invalidation of step " + std::to_string(st) + " (" + sc.steps[st].text + ")";
  }
  std::string by = e.walker >= 0 ? cfg.devices.at(static_cast<std::size_t>(e.walker)).name : "?";
  // A walk for another PASID than the entry's (a second-stage entry carries none) says so.
  if (e.entry.kind != CacheKind::ContextCache && e.walker_pasid != e.entry.pasid && cfg.pasid_keyed())
    by += " pasid " + std::to_string(e.walker_pasid);
  return "fill " + describe(cfg, e.entry) + "  [" + by + ": " + e.source + "]";
}

/// VTD-PRIV-1: the request class a stale leaf serves when it serves supervisor requests only
/// (first-stage privilege; empty otherwise).
static std::string witness_privilege(const Scenario & sc, const Counterexample & c)
{
  const Entry & e = c.entry;
  const bool leaf = (e.kind == CacheKind::Iotlb || e.kind == CacheKind::DevTlb) && !e.wild && !e.negative;
  if (!sc.config.privilege || c.from_memory || !leaf || (e.perm & kPermRW) || !(e.perm & kPermSup)) return "";
  return "supervisor";
}

std::string witness_text(const Scenario & sc, const Counterexample & c)
{
  // Legacy VT-d requests carry no PASID (the context entry is per device only).
  const std::string pr = witness_privilege(sc, c);
  return "device " + sc.config.devices.at(static_cast<std::size_t>(c.device)).name +
         (sc.config.pasid_keyed() ? ", PASID " + std::to_string(c.pasid) : std::string()) + ", address " + iova_hex(sc.config, c.addr) +
         (pr.empty() ? std::string() : ", a " + pr + " request (PR=1)");
}

/// The table pages a free_pgtables step returns: its domain's freelist just before it.
std::vector<u64> freed_tables(const Scenario & sc, const Timeline & tl, std::size_t g)
{
  const Step & s = sc.steps.at(g);
  if (s.op != Op::FreePgtables || s.domain < 0) return {};
  std::vector<u64> pages;
  for (u64 f : tl.mem.at(g).domains().at(static_cast<std::size_t>(s.domain)).freelist)
    pages.push_back(f << sc.config.geo.page_shift);
  return pages;
}

/// A driver step as a trace line shows it: its text, and for a free of page tables the pages.
std::string step_text(const Scenario & sc, const Timeline & tl, std::size_t g)
{
  std::string t = sc.steps.at(g).text;
  if (sc.steps[g].op != Op::FreePgtables) return t;
  std::vector<u64> pages = freed_tables(sc, tl, g);
  if (pages.empty()) return t + ": no table page to free";
  t += ": frees table page" + std::string(pages.size() > 1 ? "s " : " ");
  for (std::size_t i = 0; i < pages.size(); ++i) t += (i ? ", " : "") + hex(pages[i]);
  return t;
}

/// The lines of one counterexample below its head line: witness, stale entry, memory, why,
/// and the trace.
void violation_lines(const Scenario & sc, const Timeline & tl, const Counterexample & c,
                     const std::function<void(const std::string &)> & line)
{
  const CheckPoint & cp = tl.checks[c.check];
  line("  rule " + c.rule + ": " + rule_text(c.rule));
  if (!c.page_request) line("  witness:     " + witness_text(sc, c));
  if (c.page_request)
    line("  outstanding: a page request of " + sc.config.devices.at(static_cast<std::size_t>(c.entry.dev)).name +
         " for PASID " + std::to_string(c.entry.pasid) + ", never drained");
  else if (c.from_memory)
    line("  stale:       (no cache entry) memory itself still reaches a freed frame");
  else if (c.walker_view)
    line("  stale:       (no cache entry) the walker reads memory without the table writes not yet flushed: " +
         describe_memory(sc.config, tl.walk_at_check(cp), c.device, c.pasid, c.addr));
  else
    line("  stale entry: " + describe(sc.config, c.entry));
  if (!c.page_request)
    line("  memory says: " + describe_memory(sc.config, tl.mem_at_check(cp), c.device, c.pasid, c.addr));
  std::string why = survival_text(sc, tl, why_survived(sc, tl, c));
  if (!why.empty()) line("  why:         " + why);
  line("  trace ('hw' lines are hardware actions between driver steps):");
  std::size_t ev = 0;
  for (std::size_t g = 0; g <= cp.step; ++g) {
    for (; ev < c.events.size() && c.events[ev].gap == g; ++ev) line("     hw  " + event_text(sc, tl, c.events[ev]));
    if (g == sc.steps.size()) {
      line("    end  <== check point: " + c.property + " violated");
      break;
    }
    const Step & s = sc.steps[g];
    std::string l = std::string("  ") + (g < 10 ? "   " : g < 100 ? "  " : " ") + std::to_string(g) + "  " + step_text(sc, tl, g);
    if (!s.note.empty()) l += "  # " + s.note;
    if (g == cp.step) l += "  <== check point: " + c.property + " violated";
    line(l);
  }
}

std::string property_text(const Counterexample & c)
{
  return c.property + (c.severity.empty() ? "" : " (" + c.severity + ")");
}

std::string check_label(const Scenario & sc, std::size_t step)
{
  return step >= sc.steps.size() ? "the end of the scenario" : "step " + std::to_string(step);
}

}  // namespace

namespace {

/// A scenario imported from a trace: how many assumptions fill in what the trace does not
/// show, and the caveats of its source (TRACE-C1/C2), which hold whatever the verdict.
template <class Line>
void imported_lines(const Scenario & sc, Line line)
{
  if (!sc.imported) return;
  const Provenance & p = *sc.imported;
  line("  imported:    " + p.format + " trace, " + std::to_string(p.assumptions.size()) + " assumption" +
       (p.assumptions.size() == 1 ? "" : "s") + " about what it does not show (`nostale import " + p.from +
       "` lists them)");
  for (const std::string & c : p.caveats) line("  caveat:      " + c);
}

}  // namespace

std::string render_text(const Scenario & sc, const CheckResult & r)
{
  // Every line is escaped as a whole (checker/printable.h) before its newline is added: names
  // and notes from the scenario file can neither start a line nor move the cursor.
  std::string o;
  auto line = [&](const std::string & l) { o += printable(l) + "\n"; };
  std::string stats = seconds(r.stats.seconds) + ", " + std::to_string(r.stats.solver_calls) + " solver calls";
  switch (r.verdict) {
    case Verdict::Safe:
      line(sc.file + ": SAFE  " + sc.name + "  (" + std::to_string(r.stats.check_points) +
           " check points, every device, PASID and address; " + stats + ")");
      if (!r.note.empty()) line("  note: " + r.note);
      imported_lines(sc, line);
      return o;
    case Verdict::Unknown:
      line(sc.file + ": UNKNOWN  " + sc.name + "  (" + r.reason + "; " + stats + ")");
      imported_lines(sc, line);
      return o;
    case Verdict::Violation:
      break;
  }
  std::string head = sc.file + ": VIOLATION " + r.property + (r.severity.empty() ? "" : " (" + r.severity + ")");
  if (!r.cex) {
    line(head + " at " + check_label(sc, *r.step) + "  " + sc.name + "  (explicit engine; " + stats + ")");
    return o;
  }
  Timeline tl = build_timeline(sc);
  if (!r.listed_all) {
    const Counterexample & c = *r.cex;
    line(head + " at " + check_label(sc, tl.checks[c.check].step) + "  [rule " + c.rule + "]  (" + stats + ")");
    line("  scenario:    " + sc.name);
    imported_lines(sc, line);
    if (!r.note.empty()) line("  note:        " + r.note);
    violation_lines(sc, tl, c, line);
    return o;
  }
  // --all: one block per distinct violation, each with the head line of a single one.
  const std::size_t n = r.all.size();
  for (std::size_t i = 0; i < n; ++i) {
    const Counterexample & c = r.all[i];
    line(sc.file + ": VIOLATION " + property_text(c) + " at " + check_label(sc, tl.checks[c.check].step) +
         "  [rule " + c.rule + "]  (" + std::to_string(i + 1) + " of " + std::to_string(n) +
         (i == 0 ? "; " + stats : std::string()) + ")");
    if (i == 0) line("  scenario:    " + sc.name);
    if (i == 0) imported_lines(sc, line);
    line("  distinct:    " + distinct_key(sc.config, c));
    if (i == 0 && !r.note.empty()) line("  note:        " + r.note);
    violation_lines(sc, tl, c, line);
  }
  line("  all:         " + std::to_string(n) + " distinct violation" + (n == 1 ? "" : "s") +
       " (distinct: check point, property, stale entry (cache, tags, level) and rule)" +
       (r.incomplete.empty() ? "" : "; incomplete: " + r.incomplete));
  return o;
}

namespace {

/// The caches the invalidations `invs` (of one step) name (those the hardware has), for diagrams.
nlohmann::json invalidated_caches(const Scenario & sc, const Timeline & tl, const std::vector<std::size_t> & invs)
{
  nlohmann::json caches = nlohmann::json::array();
  auto add = [&](bool named, CacheKind k) {
    std::string l = cache_label(sc.config, k);
    if (named && has_cache(sc.config, k) && std::find(caches.begin(), caches.end(), l) == caches.end()) caches.push_back(l);
  };
  for (std::size_t k : invs) {
    const Invalidation & inv = tl.invs[k];
    add(inv.pat.context_cache, CacheKind::ContextCache);
    add(inv.pat.pasid_cache, CacheKind::PasidCache);
    add(inv.pat.iotlb, CacheKind::Iotlb);
    add(inv.pat.psc, CacheKind::Psc);
    add(inv.pat.devtlb, CacheKind::DevTlb);
  }
  return caches;
}

nlohmann::json violation_json(const Scenario & sc, const Timeline & tl, const Counterexample & c)
{
  nlohmann::json j;
  const CheckPoint & cp = tl.checks[c.check];
  j["property"] = c.property;
  j["severity"] = c.severity.empty() ? nlohmann::json(nullptr) : nlohmann::json(c.severity);
  j["step"] = cp.step;
  j["rule"] = c.rule;
  j["rule_text"] = rule_text(c.rule);
  j["witness"] = {{"device", sc.config.devices.at(static_cast<std::size_t>(c.device)).name},
                  {"address", iova_hex(sc.config, c.addr)}};  // canonical where the scenario writes it so
  if (sc.config.pasid_keyed()) j["witness"]["pasid"] = c.pasid;  // legacy VT-d: requests carry none
  if (std::string pr = witness_privilege(sc, c); !pr.empty()) j["witness"]["privilege"] = pr;
  j["stale_entry"] = c.from_memory || c.page_request || c.walker_view ? nlohmann::json(nullptr)
                                                                      : nlohmann::json(describe(sc.config, c.entry));
  if (!j["stale_entry"].is_null()) j["stale_cache"] = cache_label(sc.config, c.entry.kind);
  if (c.walker_view) j["walker_sees"] = describe_memory(sc.config, tl.walk_at_check(cp), c.device, c.pasid, c.addr);
  if (c.page_request)
    j["page_request"] = {{"device", sc.config.devices.at(static_cast<std::size_t>(c.entry.dev)).name},
                         {"pasid", c.entry.pasid}};
  j["memory"] = describe_memory(sc.config, tl.mem_at_check(cp), c.device, c.pasid, c.addr);
  Survival why = why_survived(sc, tl, c);
  if (why.kind != Survival::NotApplicable) {
    j["survival"] = {{"kind", survival_name(why.kind)}, {"text", survival_text(sc, tl, why)}};
    if (why.inv) j["survival"]["invalidation_step"] = tl.invs[*why.inv].step;
  }
  j["trace"] = nlohmann::json::array();
  // Each step's invalidations, found once (a long trace has thousands of each).
  std::vector<std::vector<std::size_t>> invs_at(sc.steps.size());
  for (std::size_t k = 0; k < tl.invs.size(); ++k)
    if (tl.invs[k].step < invs_at.size()) invs_at[tl.invs[k].step].push_back(k);
  std::size_t ev = 0;
  for (std::size_t g = 0; g <= cp.step; ++g) {
    for (; ev < c.events.size() && c.events[ev].gap == g; ++ev) {
      const HwEvent & e = c.events[ev];
      nlohmann::json h = {{"hw", e.kind == HwEvent::Fill ? "fill" : e.kind == HwEvent::Complete ? "complete" : "page-request"},
                          {"text", event_text(sc, tl, e)}};
      if (e.kind == HwEvent::Complete) h["invalidation_step"] = tl.invs[e.inv].step;
      if (e.kind == HwEvent::Fill) h["cache"] = cache_label(sc.config, e.entry.kind);
      // The lane a diagram draws the event from: the device that walked or asked.
      if (e.kind != HwEvent::Complete && e.walker >= 0)
        h["device"] = sc.config.devices.at(static_cast<std::size_t>(e.walker)).name;
      j["trace"].push_back(h);
    }
    if (g == sc.steps.size()) {
      j["trace"].push_back({{"step", g}, {"op", "end"}, {"text", "end"}, {"check_point", true}});
      break;
    }
    nlohmann::json st = {{"step", g}, {"op", sc.steps[g].verb.empty() ? std::string(op_name(sc.steps[g].op)) : sc.steps[g].verb}, {"text", step_text(sc, tl, g)}};
    if (sc.steps[g].op == Op::FreePgtables) {
      st["frees_tables"] = nlohmann::json::array();
      for (u64 p : freed_tables(sc, tl, g)) st["frees_tables"].push_back(hex(p));
    }
    if (!sc.steps[g].note.empty()) st["note"] = sc.steps[g].note;
    // A step read from a trace names its line there (SARIF locations, HTML links).
    if (sc.imported && sc.imported->lines.at(g))
      st["source"] = {{"file", sc.imported->from}, {"line", sc.imported->lines[g]}};
    // For diagrams: the profile-independent kind of the step (its "op" may be a profile's verb),
    // and the caches an invalidation names.
    st["op_kind"] = op_name(sc.steps[g].op);
    if (nlohmann::json inv = invalidated_caches(sc, tl, invs_at[g]); !inv.empty()) st["invalidates"] = inv;
    if (g == cp.step) st["check_point"] = true;
    j["trace"].push_back(st);
  }
  return j;
}

}  // namespace

nlohmann::json render_json(const Scenario & sc, const CheckResult & r)
{
  nlohmann::json j;
  j["scenario"] = sc.file;
  j["name"] = sc.name;
  j["verdict"] = verdict_name(r.verdict);
  j["property"] = r.property.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.property);
  j["severity"] = r.severity.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.severity);
  j["step"] = r.step ? nlohmann::json(*r.step) : nlohmann::json(nullptr);
  j["rule"] = nullptr;
  j["witness"] = nullptr;
  j["trace"] = nlohmann::json::array();
  if (r.verdict == Verdict::Unknown) j["reason"] = r.reason;
  if (!r.note.empty()) j["note"] = r.note;
  if (sc.imported)
    j["imported"] = {{"from", sc.imported->from},
                     {"format", sc.imported->format},
                     {"assumptions", sc.imported->assumptions},
                     {"caveats", sc.imported->caveats}};
  if (r.cex) {
    Timeline tl = build_timeline(sc);
    nlohmann::json v = violation_json(sc, tl, *r.cex);
    for (auto it = v.begin(); it != v.end(); ++it)
      if (it.key() != "property" && it.key() != "severity" && it.key() != "step") j[it.key()] = it.value();
    if (r.listed_all) {
      j["violations"] = nlohmann::json::array();
      for (const Counterexample & c : r.all) {
        nlohmann::json x = violation_json(sc, tl, c);
        x["distinct"] = distinct_key(sc.config, c);
        j["violations"].push_back(x);
      }
      j["incomplete"] = r.incomplete.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.incomplete);
    }
  }
  j["stats"] = {{"seconds", r.stats.seconds},
                {"solver_calls", r.stats.solver_calls},
                {"solver_seconds", r.stats.solver_seconds},
                {"check_points", r.stats.check_points}};
  return j;
}

bool matches_expectation(const Scenario & sc, const CheckResult & r, std::string & why)
{
  const Expectation & e = sc.expect;
  std::string got = verdict_name(r.verdict);
  if (r.verdict == Verdict::Violation)
    got += " " + r.property + (r.severity.empty() ? "" : " " + r.severity) + " at step " +
           std::to_string(*r.step);
  std::string want = e.verdict;
  if (e.verdict == "violation")
    want += " " + e.property + (e.severity.empty() ? "" : " " + e.severity) +
            (e.step ? " at step " + std::to_string(*e.step) : "");
  bool ok = got.rfind(e.verdict, 0) == 0;
  // The rule is known only with a counterexample (not from the explicit engine).
  std::string rule = r.cex ? r.cex->rule : "";
  if (r.verdict == Verdict::Violation && !e.rule.empty() && r.cex) got += " [rule " + rule + "]";
  if (!e.rule.empty()) want += " [rule " + e.rule + "]";
  if (ok && e.verdict == "violation") {
    ok = r.property == e.property && (e.severity.empty() || r.severity == e.severity) &&
         (!e.step || r.step == e.step) && (e.rule.empty() || !r.cex || rule == e.rule);
  }
  why = "expected " + want + ", got " + got;
  return ok;
}

}  // namespace nostale
