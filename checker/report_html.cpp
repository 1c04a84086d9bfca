#include "checker/report_html.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

namespace nostale {

namespace {

using nlohmann::json;

// Diagram geometry, in px. Row texts are cut to kTextChars (the whole text is in a <title>).
constexpr int kLaneW = 112;
constexpr int kLeft = 8;
constexpr int kHead = 52;
constexpr int kRowH = 24;
constexpr int kFoot = 34;
constexpr int kTextChars = 92;
constexpr int kTextW = 640;
constexpr double kCharW = 6.7;      // one character of the 11px monospace font, about
constexpr double kHeadCharW = 6.1;  // and of the 10px bold one of the lane names

/// Text for HTML and inline SVG alike (also valid XML): the markup characters as entities, and
/// control characters, which XML forbids, as U+FFFD.
std::string esc(const std::string & s)
{
  std::string o;
  o.reserve(s.size());
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (ch) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      case '\'': o += "&#39;"; break;
      default: o += (c < 0x20 && c != '\n' && c != '\t') || c == 0x7f ? std::string("\xEF\xBF\xBD") : std::string(1, ch);
    }
  }
  return o;
}

/// At most n characters (UTF-8 code points, never cut inside one), an ellipsis where cut.
std::string clip(const std::string & s, std::size_t n)
{
  std::vector<std::size_t> starts;
  for (std::size_t i = 0; i < s.size(); ++i)
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) starts.push_back(i);
  if (starts.size() <= n || n == 0) return s;
  return s.substr(0, starts[n - 1]) + "\xE2\x80\xA6";
}

/// j[key], or null: results may be built by hand, so no key is assumed to exist.
const json & field(const json & j, const char * key)
{
  static const json none;
  if (!j.is_object()) return none;
  auto it = j.find(key);
  return it == j.end() ? none : *it;
}

/// A value as text: strings as they are, other values printed, null empty.
std::string str(const json & j)
{
  if (j.is_null()) return "";
  return j.is_string() ? j.get<std::string>() : j.dump(-1, ' ', false, json::error_handler_t::replace);
}
std::string str(const json & j, const char * key) { return str(field(j, key)); }
bool flag(const json & j, const char * key) { return field(j, key).is_boolean() && field(j, key).get<bool>(); }

const json & trace_of(const json & v)
{
  static const json empty = json::array();
  const json & t = field(v, "trace");
  return t.is_array() ? t : empty;
}

bool is_hw(const json & t) { return field(t, "hw").is_string(); }
bool is_fill(const json & t) { return str(t, "hw") == "fill"; }

/// The cache a fill names: its "cache" key, or (older reports) the words between "fill " and " [".
std::string fill_cache(const json & t)
{
  if (std::string c = str(t, "cache"); !c.empty()) return c;
  std::string text = str(t, "text");
  std::size_t b = text.find(" [");
  return text.rfind("fill ", 0) == 0 && b != std::string::npos ? text.substr(5, b - 5) : "";
}

std::vector<std::string> invalidated(const json & step)
{
  std::vector<std::string> caches;
  const json & named = field(step, "invalidates");
  if (named.is_array())
    for (const json & c : named)
      if (c.is_string()) caches.push_back(c.get<std::string>());
  return caches;
}

std::string anchor(int k, const std::string & step) { return "s-" + std::to_string(k) + "-step-" + step; }

// ---- lanes ----------------------------------------------------------------------------------

struct Lane {
  std::string kind;  ///< driver, memory, cache, device (also the CSS class lane-<kind>)
  std::string name;
};

struct Lanes {
  std::vector<Lane> list;
  int find(std::string_view kind, const std::string & name) const
  {
    for (std::size_t i = 0; i < list.size(); ++i)
      if (list[i].kind == kind && list[i].name == name) return static_cast<int>(i);
    return -1;
  }
  static int x(int lane) { return kLeft + lane * kLaneW + kLaneW / 2; }
};

/// Driver and memory, then each cache the counterexample fills, invalidates or finds stale (in
/// walk order, the device TLB last), then each device, as they appear.
Lanes lanes_of(const json & v)
{
  std::vector<std::string> caches, devices;
  auto add = [](std::vector<std::string> & to, const std::string & name) {
    if (!name.empty() && std::find(to.begin(), to.end(), name) == to.end()) to.push_back(name);
  };
  for (const json & t : trace_of(v)) {
    if (is_fill(t)) add(caches, fill_cache(t));
    for (const std::string & c : invalidated(t)) add(caches, c);
    add(devices, str(t, "device"));
  }
  add(caches, str(v, "stale_cache"));
  add(devices, str(field(v, "witness"), "device"));
  add(devices, str(field(v, "page_request"), "device"));
  static const std::vector<std::string> order = {"context-cache", "PASID-cache", "paging-structure-cache", "IOTLB",
                                                 "device-TLB"};
  auto rank = [](const std::string & c) { return std::find(order.begin(), order.end(), c) - order.begin(); };
  std::stable_sort(caches.begin(), caches.end(), [&](const auto & a, const auto & b) { return rank(a) < rank(b); });
  Lanes l;
  l.list = {{"driver", "driver"}, {"memory", "memory"}};
  for (const std::string & c : caches) l.list.push_back({"cache", c});
  for (const std::string & d : devices) l.list.push_back({"device", d});
  return l;
}

/// A long name on two lines, broken after a space or hyphen where the longer line is shortest
/// ("paging-" / "structure-cache"); b is empty if it fits on one.
void split_name(const std::string & name, std::string & a, std::string & b)
{
  a = name;
  b.clear();
  if (name.size() <= 14) return;
  std::size_t best = 0, longest = name.size();
  for (std::size_t i = 1; i + 1 < name.size(); ++i) {
    if (name[i] != ' ' && name[i] != '-') continue;
    const std::size_t first = name[i] == '-' ? i + 1 : i;
    if (std::max(first, name.size() - i - 1) < longest) best = i, longest = std::max(first, name.size() - i - 1);
  }
  if (best == 0) return;
  a = name.substr(0, name[best] == '-' ? best + 1 : best);
  b = name.substr(best + 1);
}

/// A lane's head: its name in a box, on two lines if long.
std::string lane_head(const Lane & lane, int i)
{
  const int x = Lanes::x(i);
  std::string o = "<g class=\"lane lane-" + lane.kind + "\" data-lane=\"" + esc(lane.name) + "\"><title>" +
                  esc(lane.kind + ": " + lane.name) + "</title><rect x=\"" + std::to_string(x - kLaneW / 2 + 6) +
                  "\" y=\"8\" width=\"" + std::to_string(kLaneW - 12) + "\" height=\"34\" rx=\"4\"/>";
  std::string a, b;
  split_name(lane.name, a, b);
  const auto max = static_cast<std::size_t>((kLaneW - 14) / kHeadCharW);
  auto line = [&](const std::string & s, int y) {
    return "<text x=\"" + std::to_string(x) + "\" y=\"" + std::to_string(y) + "\">" + esc(clip(s, max)) + "</text>";
  };
  o += b.empty() ? line(a, 29) : line(a, 23) + line(b, 36);
  return o + "</g>";
}

// ---- rows -----------------------------------------------------------------------------------

enum class StepKind { Memory, Invalidate, Wait, Check, Other };

/// What a driver step does, by its profile-independent "op_kind" (its "op" may be a profile's
/// verb; older reports have no op_kind).
StepKind step_kind(const json & t)
{
  std::string k = str(t, "op_kind");
  if (k.empty()) k = str(t, "op");
  if (k == "invalidate" || !invalidated(t).empty()) return StepKind::Invalidate;
  if (k == "sync" || k == "fence" || k == "inv_wait") return StepKind::Wait;
  if (k == "check" || k == "end") return StepKind::Check;
  static const std::vector<std::string> memory = {"map",        "unmap",    "free_pgtables", "free_frame", "config_write",
                                                  "attach",     "detach",   "free_pasid",    "free_did",   "assign_did",
                                                  "share_table", "set_root", "clflush"};
  return std::find(memory.begin(), memory.end(), k) != memory.end() ? StepKind::Memory : StepKind::Other;
}

/// One counterexample's diagram: lanes across, one row per trace entry down.
class Diagram {
 public:
  Diagram(const json & v, int k) : v_(v), trace_(trace_of(v)), k_(k), lanes_(lanes_of(v))
  {
    text_x_ = kLeft + static_cast<int>(lanes_.list.size()) * kLaneW + 12;
    for (std::size_t i = 0; i < trace_.size(); ++i)
      if (flag(trace_[i], "check_point")) cp_ = static_cast<int>(i);
    stale_fill_ = find_stale_fill();
  }

  std::string svg() const
  {
    const int width = text_x_ + kTextW;
    const int height = kHead + static_cast<int>(trace_.size()) * kRowH + kFoot;
    std::string o = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"seq\" width=\"" + std::to_string(width) +
                    "\" height=\"" + std::to_string(height) + "\" viewBox=\"0 0 " + std::to_string(width) + " " +
                    std::to_string(height) + "\"><title>" +
                    esc("sequence diagram: " + str(v_, "property") + " at step " + str(v_, "step")) + "</title>";
    if (cp_ >= 0)
      o += "<rect class=\"cp-row\" x=\"0\" y=\"" + std::to_string(top(cp_)) + "\" width=\"" + std::to_string(width) +
           "\" height=\"" + std::to_string(kRowH) + "\"/>";
    o += stale_box();
    for (std::size_t i = 0; i < lanes_.list.size(); ++i)
      o += "<line class=\"life\" x1=\"" + std::to_string(Lanes::x(static_cast<int>(i))) + "\" y1=\"42\" x2=\"" +
           std::to_string(Lanes::x(static_cast<int>(i))) + "\" y2=\"" + std::to_string(height - kFoot + 4) + "\"/>";
    for (std::size_t i = 0; i < lanes_.list.size(); ++i) o += lane_head(lanes_.list[i], static_cast<int>(i));
    for (std::size_t r = 0; r < trace_.size(); ++r) o += row(static_cast<int>(r));
    return o + "</svg>";
  }

 private:
  const json & v_;
  const json & trace_;
  int k_;
  Lanes lanes_;
  int text_x_ = 0;
  int cp_ = -1;  ///< the row of the check point (-1: none marked)
  int stale_fill_ = -1;

  static int top(int r) { return kHead + r * kRowH; }
  static int mid(int r) { return top(r) + kRowH / 2; }

  /// The fill that created the stale entry: the last one whose text names the entry (or, if
  /// none does, its tags: the text up to "]").
  int find_stale_fill() const
  {
    const std::string entry = str(v_, "stale_entry");
    if (entry.empty()) return -1;
    const std::size_t close = entry.find(']');
    const std::string tags = close == std::string::npos ? entry : entry.substr(0, close + 1);
    for (const std::string & key : {entry, tags})
      for (int i = static_cast<int>(trace_.size()) - 1; i >= 0; --i)
        if (is_fill(trace_[i]) && str(trace_[i], "text").find(key) != std::string::npos) return i;
    return -1;
  }

  /// The stale entry: a red box on its cache's lane from the fill that created it (or the
  /// check point) down to the check point, and its text under the diagram.
  std::string stale_box() const
  {
    const std::string entry = str(v_, "stale_entry");
    const int lane = lanes_.find("cache", str(v_, "stale_cache"));
    const int to = cp_ >= 0 ? cp_ : static_cast<int>(trace_.size()) - 1;  // a hand-made trace may mark none
    if (entry.empty() || lane < 0 || to < 0) return "";
    const int from = stale_fill_ >= 0 && stale_fill_ <= to ? stale_fill_ : to;
    const int x = Lanes::x(lane) - kLaneW / 2 + 14;
    const int bottom = top(static_cast<int>(trace_.size())) + 20;
    const int chars = static_cast<int>((text_x_ + kTextW - x) / kCharW) - 8;
    return "<rect class=\"stale\" data-lane=\"" + esc(lanes_.list[static_cast<std::size_t>(lane)].name) + "\" x=\"" +
           std::to_string(x) + "\" y=\"" + std::to_string(top(from) + 2) + "\" width=\"" + std::to_string(kLaneW - 28) +
           "\" height=\"" + std::to_string(top(to + 1) - top(from) - 4) + "\" rx=\"3\"><title>" +
           esc("stale entry: " + entry) + "</title></rect><text class=\"stale-label\" x=\"" + std::to_string(x) +
           "\" y=\"" + std::to_string(bottom) + "\"><title>" + esc(entry) + "</title>" +
           esc(clip("stale: " + entry, static_cast<std::size_t>(std::max(chars, 12)))) + "</text>";
  }

  static std::string arrow(int x1, int x2, int y, const std::string & cls, const std::string & label)
  {
    const int dir = x2 >= x1 ? 1 : -1;
    auto s = [](int n) { return std::to_string(n); };
    std::string o = "<line class=\"" + cls + "\" x1=\"" + s(x1) + "\" y1=\"" + s(y) + "\" x2=\"" + s(x2 - dir * 6) +
                    "\" y2=\"" + s(y) + "\"/><polygon class=\"" + cls + "\" points=\"" + s(x2) + "," + s(y) + " " +
                    s(x2 - dir * 9) + "," + s(y - 4) + " " + s(x2 - dir * 9) + "," + s(y + 4) + "\"/>";
    const auto chars = static_cast<std::size_t>(std::max(3, static_cast<int>(std::abs(x2 - x1) / 6.2) - 1));
    if (!label.empty())
      o += "<text class=\"lbl\" x=\"" + s((x1 + x2) / 2) + "\" y=\"" + s(y - 4) + "\">" + esc(clip(label, chars)) + "</text>";
    return o;
  }

  static std::string mark(const char * shape, const std::string & cls, int x, int y)
  {
    auto s = [](int n) { return std::to_string(n); };
    if (std::string_view(shape) == "diamond")
      return "<polygon class=\"" + cls + "\" points=\"" + s(x) + "," + s(y - 6) + " " + s(x + 6) + "," + s(y) + " " +
             s(x) + "," + s(y + 6) + " " + s(x - 6) + "," + s(y) + "\"/>";
    if (std::string_view(shape) == "bar")
      return "<rect class=\"" + cls + "\" x=\"" + s(x - 22) + "\" y=\"" + s(y - 5) + "\" width=\"44\" height=\"10\" rx=\"2\"/>";
    return "<circle class=\"" + cls + "\" cx=\"" + s(x) + "\" cy=\"" + s(y) + "\" r=\"5\"/>";
  }

  /// A mark's label, right of it on the driver lane (up to the memory lane).
  static std::string side_label(int x, int y, const std::string & op)
  {
    const auto chars = static_cast<std::size_t>(std::max(3, static_cast<int>((Lanes::x(1) - 4 - x) / 6.2)));
    return "<text class=\"lbl side\" x=\"" + std::to_string(x) + "\" y=\"" + std::to_string(y + 4) + "\">" +
           esc(clip(op, chars)) + "</text>";
  }

  /// The row's text on the right, cut; the whole text (and the step's note) in its <title>.
  std::string row_text(int r, const std::string & text, const std::string & tip, bool hw) const
  {
    return std::string("<text class=\"rt") + (hw ? " hw" : "") + "\" x=\"" + std::to_string(text_x_) + "\" y=\"" +
           std::to_string(mid(r) + 4) + "\"><title>" + esc(tip) + "</title>" + esc(clip(text, kTextChars)) + "</text>";
  }

  std::vector<int> cache_lanes(const std::vector<std::string> & caches) const
  {
    std::vector<int> l;
    for (const std::string & c : caches)
      if (int i = lanes_.find("cache", c); i >= 0) l.push_back(i);
    std::sort(l.begin(), l.end());
    return l;
  }

  std::string row(int r) const
  {
    const json & t = trace_[static_cast<std::size_t>(r)];
    return is_hw(t) ? hw_row(r, t) : step_row(r, t);
  }

  /// A driver step: an arrow to memory or to the caches it invalidates, a wait bar or a check
  /// mark on the driver lane; the whole row links to the step's note.
  std::string step_row(int r, const json & t) const
  {
    const std::string step = str(t, "step"), text = str(t, "text"), op = str(t, "op"), note = str(t, "note");
    const int y = mid(r), drv = Lanes::x(0);
    std::string o = "<a href=\"#" + esc(anchor(k_, step)) + "\" class=\"row step" + (r == cp_ ? " cp" : "") + "\">";
    switch (step_kind(t)) {
      case StepKind::Memory: o += arrow(drv, Lanes::x(1), y, "drv", op); break;
      case StepKind::Invalidate: {
        std::vector<int> to = cache_lanes(invalidated(t));
        if (to.empty() && lanes_.list.size() > 2 && lanes_.list[2].kind == "cache") to.push_back(2);
        if (to.empty()) {
          o += mark("circle", "inv", drv, y);
          break;
        }
        o += arrow(drv, Lanes::x(to.back()), y, "inv", op);
        for (std::size_t i = 0; i + 1 < to.size(); ++i) o += mark("diamond", "inv", Lanes::x(to[i]), y);
        break;
      }
      case StepKind::Wait: o += mark("bar", "wait", drv, y) + side_label(drv + 26, y, op); break;
      case StepKind::Check: o += mark("diamond", "chk", drv, y) + side_label(drv + 10, y, op); break;
      case StepKind::Other: o += mark("circle", "oth", drv, y) + side_label(drv + 10, y, op); break;
    }
    std::string label = (step.size() < 3 ? std::string(3 - step.size(), ' ') : "") + step + "  " + text;
    if (r == cp_) label += "  <== check point: " + str(v_, "property") + " violated";
    o += row_text(r, label, step + "  " + text + (note.empty() ? "" : "\n# " + note), false);
    return o + "</a>";
  }

  /// A hardware action: a fill from the device (or memory) into its cache, a completion marked
  /// on the caches its step invalidates (linked to that step), a page request to the driver.
  std::string hw_row(int r, const json & t) const
  {
    const std::string hw = str(t, "hw"), text = str(t, "text");
    const int y = mid(r);
    std::string o = "<g class=\"row hw-" + esc(hw) + (r == stale_fill_ ? " stale-origin" : "") + "\">";
    const int dev = lanes_.find("device", str(t, "device"));
    if (hw == "fill") {
      const int cache = lanes_.find("cache", fill_cache(t));
      const int from = dev >= 0 ? dev : 1;
      o += cache >= 0 ? arrow(Lanes::x(from), Lanes::x(cache), y, r == stale_fill_ ? "fill stale-fill" : "fill", "fill")
                      : mark("circle", "fill", Lanes::x(from), y);
    } else if (hw == "complete") {
      const std::string step = str(t, "invalidation_step");
      std::vector<int> at;
      for (const json & s : trace_)
        if (!is_hw(s) && str(s, "step") == step) at = cache_lanes(invalidated(s));
      if (at.empty()) at.push_back(0);
      o += "<a href=\"#" + esc(anchor(k_, step)) + "\" class=\"done\">";
      if (at.size() > 1)
        o += "<line x1=\"" + std::to_string(Lanes::x(at.front())) + "\" y1=\"" + std::to_string(y) + "\" x2=\"" +
             std::to_string(Lanes::x(at.back())) + "\" y2=\"" + std::to_string(y) + "\"/>";
      for (int l : at) o += mark("circle", "done", Lanes::x(l), y);
      o += "<text class=\"lbl done-lbl\" x=\"" + std::to_string(Lanes::x(at.back()) + 10) + "\" y=\"" +
           std::to_string(y + 4) + "\">" + esc(clip("done " + step, 12)) + "</text></a>";
    } else if (hw == "page-request") {
      o += dev >= 0 ? arrow(Lanes::x(dev), Lanes::x(0), y, "preq", "page request") : mark("circle", "preq", Lanes::x(0), y);
    } else {
      o += mark("circle", "oth", Lanes::x(1), y);
    }
    o += row_text(r, " hw  " + text, text, true);
    return o + "</g>";
  }
};

// ---- page -----------------------------------------------------------------------------------

std::string verdict_class(const std::string & verdict)
{
  return verdict == "safe" || verdict == "violation" || verdict == "unknown" ? "v-" + verdict : "v-other";
}

std::string property_text(const json & v)
{
  std::string p = str(v, "property"), sev = str(v, "severity");
  return p.empty() || sev.empty() ? p : p + " (" + sev + ")";
}

std::string seconds(const json & r)
{
  const json & s = field(field(r, "stats"), "seconds");
  if (!s.is_number()) return "";
  char b[32];
  std::snprintf(b, sizeof b, "%.3f", s.get<double>());
  return b;
}

const json & violations_of(const json & r)
{
  static const json none = json::array();
  const json & all = field(r, "violations");
  return all.is_array() ? all : none;
}

std::string summary_table(const json & results)
{
  std::string o =
      "<table class=\"summary\"><thead><tr><th>file</th><th>name</th><th>verdict</th><th>property</th>"
      "<th>rule</th><th>step</th><th>seconds</th></tr></thead><tbody>";
  for (std::size_t i = 0; i < results.size(); ++i) {
    const json & r = results[i];
    const std::string verdict = str(r, "verdict");
    const std::size_t n = violations_of(r).size();
    o += "<tr><td><a href=\"#r-" + std::to_string(i) + "\">" + esc(str(r, "scenario")) + "</a></td><td>" +
         esc(str(r, "name")) + "</td><td><span class=\"verdict " + verdict_class(verdict) + "\">" + esc(verdict) +
         "</span>" + (n > 1 ? " " + std::to_string(n) + " distinct" : "") + "</td><td>" + esc(property_text(r)) +
         "</td><td>" + esc(str(r, "rule")) + "</td><td>" + esc(str(r, "step")) + "</td><td class=\"num\">" +
         seconds(r) + "</td></tr>";
  }
  return o + "</tbody></table>";
}

/// The facts of one counterexample: the rule explained, witness, stale entry, memory, why.
std::string facts(const json & v)
{
  std::string o = "<dl class=\"facts\">";
  auto item = [&](const char * dt, const std::string & html) {
    if (!html.empty()) o += std::string("<dt>") + dt + "</dt><dd>" + html + "</dd>";
  };
  if (std::string rule = str(v, "rule"); !rule.empty())
    item("rule", "<b>" + esc(rule) + "</b>" + (str(v, "rule_text").empty() ? "" : ": " + esc(str(v, "rule_text"))));
  const json & w = field(v, "witness");
  if (w.is_object()) {
    std::string t = "device " + str(w, "device");
    if (!field(w, "pasid").is_null()) t += ", PASID " + str(w, "pasid");
    t += ", address " + str(w, "address");
    if (!str(w, "privilege").empty()) t += ", a " + str(w, "privilege") + " request";
    item("witness", esc(t));
  }
  if (std::string e = str(v, "stale_entry"); !e.empty()) {
    const std::string cache = str(v, "stale_cache");
    item("stale entry", "<span class=\"stale-text\">" + esc(e) + "</span>" +
                            (cache.empty() ? "" : " <span class=\"muted\">in the " + esc(cache) + "</span>"));
  }
  item("walker sees", esc(str(v, "walker_sees")));
  if (const json & pr = field(v, "page_request"); pr.is_object())
    item("outstanding", esc("a page request of " + str(pr, "device") + " for PASID " + str(pr, "pasid") + ", never drained"));
  item("memory says", esc(str(v, "memory")));
  item("why", esc(str(field(v, "survival"), "text")));
  item("distinct", esc(str(v, "distinct")));
  return o + "</dl>";
}

/// The driver steps with their scenario notes: the targets of the diagram's step links.
std::string notes_table(const json & v, int k)
{
  std::string o = "<table class=\"notes\"><thead><tr><th>step</th><th>text</th><th>note</th></tr></thead><tbody>";
  for (const json & t : trace_of(v)) {
    if (is_hw(t)) continue;
    const std::string step = str(t, "step");
    o += "<tr id=\"" + esc(anchor(k, step)) + "\"" + (flag(t, "check_point") ? " class=\"cp\"" : "") + "><td>" +
         esc(step) + "</td><td class=\"mono\">" + esc(str(t, "text")) + "</td><td>" + esc(str(t, "note")) + "</td></tr>";
  }
  return o + "</tbody></table>";
}

std::string counterexample(const json & v, int k, std::size_t i, std::size_t n)
{
  std::string head = property_text(v) + " at step " + str(v, "step");
  if (!str(v, "rule").empty()) head += "  [rule " + str(v, "rule") + "]";
  if (n > 1) head = "Violation " + std::to_string(i + 1) + " of " + std::to_string(n) + ": " + head;
  return "<div class=\"cex\" id=\"cex-" + std::to_string(k) + "\"><h3>" + esc(head) + "</h3>" + facts(v) +
         "<div class=\"diagram\">" + Diagram(v, k).svg() + "</div>" + notes_table(v, k) + "</div>";
}

/// One scenario's verdict, then a diagram per counterexample (one per element of "violations"
/// after `check --all`). `k` numbers the diagrams of the page (their link targets).
std::string section(const json & r, std::size_t i, int & k)
{
  const std::string verdict = str(r, "verdict");
  std::string o = "<section class=\"result\" id=\"r-" + std::to_string(i) + "\"><h2><span class=\"verdict " +
                  verdict_class(verdict) + "\">" + esc(verdict) + "</span> " + esc(str(r, "scenario")) +
                  "</h2><p class=\"name\">" + esc(str(r, "name")) + "</p>";
  if (verdict == "unknown" || !str(r, "reason").empty())
    o += "<p class=\"reason\"><b>reason:</b> " + esc(str(r, "reason").empty() ? "(none given)" : str(r, "reason")) + "</p>";
  if (!str(r, "note").empty()) o += "<p class=\"note\"><b>note:</b> " + esc(str(r, "note")) + "</p>";
  if (!str(r, "incomplete").empty()) o += "<p class=\"note\"><b>incomplete:</b> " + esc(str(r, "incomplete")) + "</p>";
  const json & all = violations_of(r);
  if (!all.empty()) {
    for (std::size_t j = 0; j < all.size(); ++j) o += counterexample(all[j], k++, j, all.size());
  } else if (!trace_of(r).empty()) {
    o += counterexample(r, k++, 0, 1);
  } else if (verdict == "violation") {
    o += "<p class=\"note\">" + esc(property_text(r) + " at step " + str(r, "step")) +
         ": no counterexample trace (explicit engine)</p>";
  }
  return o + "</section>";
}

const char * const kStyle = R"(
body{font:14px/1.45 "DejaVu Sans",system-ui,sans-serif;margin:24px;color:#1d2330;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:26px 0 2px;border-top:1px solid #d8dde6;padding-top:14px}
h3{font-size:15px;margin:16px 0 6px}p{margin:4px 0}.muted,.name{color:#5a6474}
.mono,table.notes td.mono{font-family:"DejaVu Sans Mono",ui-monospace,monospace;font-size:12px}
table{border-collapse:collapse;margin:8px 0}th,td{border:1px solid #d8dde6;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f0f3f7}td.num{text-align:right;font-variant-numeric:tabular-nums}
.verdict{font-weight:700;padding:1px 6px;border-radius:3px;color:#fff;font-size:12px;text-transform:uppercase}
.v-safe{background:#2e7d32}.v-violation{background:#c62828}.v-unknown{background:#b26a00}.v-other{background:#5a6474}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:6px 0}
dl.facts dt{font-weight:700;color:#4a5568}dl.facts dd{margin:0}
.stale-text{color:#c62828;font-family:"DejaVu Sans Mono",ui-monospace,monospace;font-size:12px;font-weight:700}
.diagram{overflow-x:auto;border:1px solid #d8dde6;border-radius:4px;margin:8px 0}
tr.cp td{background:#fdecea}tr:target td{background:#fff3b0}
svg.seq{display:block;max-width:100%;height:auto}
svg.seq text{font-family:"DejaVu Sans Mono",ui-monospace,monospace;font-size:11px;fill:#1d2330;white-space:pre}
svg.seq .life{stroke:#b8c0cc;stroke-dasharray:4 3}
svg.seq .lane rect{stroke-width:1.2}svg.seq .lane text{font-size:10px;font-weight:700;text-anchor:middle}
.lane-driver rect{fill:#e3ecfa;stroke:#1f4e8c}.lane-memory rect{fill:#eceff3;stroke:#5a6474}
.lane-cache rect{fill:#fff4e0;stroke:#b26a00}.lane-device rect{fill:#e6f4e7;stroke:#2e7d32}
line.drv{stroke:#1f4e8c;stroke-width:1.5}polygon.drv{fill:#1f4e8c}
line.inv{stroke:#7b3fa0;stroke-width:1.5}polygon.inv,circle.inv{fill:#7b3fa0}
line.fill{stroke:#2e7d32;stroke-width:1.5}polygon.fill,circle.fill{fill:#2e7d32}
line.stale-fill{stroke:#c62828;stroke-width:2.5}polygon.stale-fill{fill:#c62828}
line.preq{stroke:#b26a00;stroke-dasharray:5 3}polygon.preq,circle.preq{fill:#b26a00}
a.done line{stroke:#7b3fa0;stroke-dasharray:2 2}circle.done{fill:#fff;stroke:#7b3fa0;stroke-width:1.5}
.wait{fill:#1f4e8c}.chk,.oth{fill:#5a6474}.cp .chk{fill:#c62828}
.cp-row{fill:#fdecea}.stale{fill:#c62828;fill-opacity:.13;stroke:#c62828;stroke-width:2}
svg.seq .stale-label{fill:#c62828;font-weight:700}svg.seq .rt.hw{fill:#5a6474}svg.seq .cp .rt{fill:#c62828;font-weight:700}
svg.seq .lbl{font-size:10px;fill:#4a5568;text-anchor:middle}
svg.seq .done-lbl{text-anchor:start;fill:#7b3fa0}svg.seq .side{text-anchor:start}
svg.seq a.step:hover .rt{text-decoration:underline}
)";

// Marks on <html> whether the page rendered: no script or resource error, no blocked request,
// and every diagram with a non-empty box. tests/unit/report_html_test.cpp reads it (--dump-dom).
const char * const kSelfCheck = R"(
(function () {
  var errors = [];
  window.addEventListener('error', function (e) { errors.push(e.message || 'a resource failed to load'); }, true);
  document.addEventListener('securitypolicyviolation', function (e) { errors.push('blocked ' + e.blockedURI); });
  window.addEventListener('load', function () {
    var svgs = document.querySelectorAll('svg');
    try {
      for (var i = 0; i < svgs.length; i++) {
        var b = svgs[i].getBBox();
        if (!(b.width > 0 && b.height > 0)) errors.push('diagram ' + i + ' is empty');
      }
    } catch (x) { errors.push(String(x)); }
    document.documentElement.setAttribute('data-check', errors.length ? 'nostale-report-error: ' + errors.join('; ')
                                                                      : 'nostale-report-ok: ' + svgs.length + ' diagrams');
  });
})();
)";

}  // namespace

std::string render_html(const nlohmann::json & results_in, const std::string & title)
{
  const json results = results_in.is_array() ? results_in : json::array({results_in});
  std::size_t safe = 0, violations = 0, unknown = 0;
  for (const json & r : results) {
    const std::string v = str(r, "verdict");
    safe += v == "safe";
    violations += v == "violation";
    unknown += v == "unknown";
  }
  // The policy forbids every request: the page must work from the file alone.
  std::string o =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
      "script-src 'unsafe-inline'; img-src data:\"><link rel=\"icon\" href=\"data:,\"><title>" +
      esc(title) + "</title><style>" + kStyle + "</style><script>" + kSelfCheck + "</script></head><body><h1>" +
      esc(title) + "</h1><p class=\"muted\">" + std::to_string(results.size()) + " scenario" +
      (results.size() == 1 ? "" : "s") + ": " + std::to_string(safe) + " safe, " + std::to_string(violations) +
      " violation" + (violations == 1 ? "" : "s") + ", " + std::to_string(unknown) + " unknown</p>" +
      summary_table(results);
  int k = 0;
  for (std::size_t i = 0; i < results.size(); ++i) o += section(results[i], i, k);
  return o + "</body></html>\n";
}

}  // namespace nostale
