// render_html (checker/report_html.h) on the real `nostale check --format json` output of bundled
// scenarios: the diagrams' lanes, the stale entry, the step links, escaping; then the page in
// headless Chromium (Debian's chromium package, installed by tools/setup).
#include "checker/report_html.h"
#include "tests/unit/cli_harness.h"

#include <cstdint>
#include <cstdlib>
#include <set>

namespace {

const std::string kAts = "scenarios/generic/ats-order-bug.json";
const std::string kVtdBug = "scenarios/vtd/buggy/unmap-no-flush-bug.json";
const std::string kSafe = "scenarios/generic/ats-order-ok.json";
const std::string kTwoMissing = "scenarios/vtd/buggy/unmap-two-missing-flushes-bug.json";

std::size_t count(const std::string & s, const std::string & what)
{
  std::size_t n = 0;
  for (std::size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + what.size())) ++n;
  return n;
}

/// The first group of every match of `re`.
std::vector<std::string> captures(const std::string & s, const std::string & re)
{
  std::vector<std::string> v;
  const std::regex r(re);
  for (auto it = std::sregex_iterator(s.begin(), s.end(), r); it != std::sregex_iterator(); ++it) v.push_back((*it)[1]);
  return v;
}

std::vector<std::string> svgs_of(const std::string & page)
{
  std::vector<std::string> v;
  for (std::size_t at = page.find("<svg"); at != std::string::npos; at = page.find("<svg", at + 1))
    v.push_back(page.substr(at, page.find("</svg>", at) + 6 - at));
  return v;
}

/// What the page must show for `s` (its own escaping, written out here independently).
std::string html(const std::string & s)
{
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      case '\'': o += "&#39;"; break;
      default: o += c;
    }
  }
  return o;
}

std::size_t driver_steps(const json & v)
{
  std::size_t n = 0;
  for (const json & t : v["trace"]) n += !t.contains("hw");
  return n;
}

class ReportHtml : public Cli {
 public:
  json check(const std::string & args)
  {
    Proc r = run("check --format json " + args);
    EXPECT_TRUE(r.exited && (r.code == 0 || r.code == 1)) << r;
    json j = json::parse(r.out, nullptr, false);
    EXPECT_TRUE(j.is_array()) << r;
    return j.is_array() ? j : json::array();
  }

  /// Every driver step of each diagram links to a row of the notes table under it.
  static void expect_step_links(const std::string & page, const std::vector<std::string> & svgs, const json & cexs)
  {
    ASSERT_EQ(svgs.size(), cexs.size());
    for (std::size_t k = 0; k < svgs.size(); ++k) {
      std::vector<std::string> links = captures(svgs[k], R"re(<a href="#(s-[0-9]+-step-[0-9]+)" class="row step)re");
      EXPECT_EQ(links.size(), driver_steps(cexs[k])) << "diagram " << k;
      for (const std::string & l : links) {
        EXPECT_EQ(l.rfind("s-" + std::to_string(k) + "-", 0), 0u) << l;
        EXPECT_EQ(count(page, "<tr id=\"" + l + "\""), 1u) << "link target " << l;
      }
    }
  }
};

TEST_F(ReportHtml, AtsOrderBugHasItsLanesTheStaleEntryAndStepLinks)
{
  json j = check(kAts);
  ASSERT_EQ(j.size(), 1u);
  const json & v = j[0];
  ASSERT_EQ(v["verdict"], "violation") << v;
  const std::string page = nostale::render_html(j, "ats-order-bug");
  std::vector<std::string> svgs = svgs_of(page);
  ASSERT_EQ(svgs.size(), 1u);
  const std::string & svg = svgs[0];
  // The lanes, left to right: driver, memory, the two caches, the device.
  std::size_t last = 0;
  for (const char * lane : {"driver", "memory", "IOTLB", "device-TLB", "d0"}) {
    std::size_t at = svg.find("data-lane=\"" + std::string(lane) + "\"><title>");
    ASSERT_NE(at, std::string::npos) << "lane " << lane << "\n" << svg;
    EXPECT_GT(at, last) << "lane order at " << lane;
    last = at;
  }
  // The stale entry: a box on the device-TLB lane, the fill that made it in red, its text.
  ASSERT_EQ(v["stale_cache"], "device-TLB");
  EXPECT_EQ(count(svg, "<rect class=\"stale\" data-lane=\"device-TLB\""), 1u) << svg;
  EXPECT_EQ(count(svg, "class=\"row hw-fill stale-origin\""), 1u) << svg;
  EXPECT_NE(svg.find(html("stale: " + v["stale_entry"].get<std::string>())), std::string::npos) << svg;
  // The check point row; the completion of step 4 marked on the device-TLB, linked to step 4.
  EXPECT_EQ(count(svg, "class=\"row step cp\""), 1u);
  EXPECT_NE(svg.find(html("<== check point: no-stale violated")), std::string::npos);
  EXPECT_NE(svg.find("<a href=\"#s-0-step-4\" class=\"done\">"), std::string::npos) << svg;
  expect_step_links(page, svgs, json::array({v}));
  // The rule explained, the witness, memory, why.
  for (const char * key : {"rule_text", "memory"}) EXPECT_NE(page.find(html(v[key])), std::string::npos) << key;
  EXPECT_NE(page.find(html(v["survival"]["text"])), std::string::npos);
  EXPECT_NE(page.find("<b>ATS-7</b>"), std::string::npos);
  EXPECT_NE(page.find("device d0, PASID 0, address 0x200000"), std::string::npos);
  // Each note is in the notes table.
  for (const json & t : v["trace"]) {
    if (t.contains("note")) {
      EXPECT_NE(page.find("<td>" + html(t["note"]) + "</td>"), std::string::npos) << t;
    }
  }
}

TEST_F(ReportHtml, AVtdBugAndASafeScenarioInOneSummary)
{
  json j = check(kSafe + " " + kVtdBug);
  ASSERT_EQ(j.size(), 2u);
  const std::string page = nostale::render_html(j, "two");
  EXPECT_EQ(count(page, "<tr><td><a href=\"#r-"), 2u) << "one summary row per scenario";
  EXPECT_NE(page.find("1 safe, 1 violation, 0 unknown"), std::string::npos);
  std::vector<std::string> svgs = svgs_of(page);
  ASSERT_EQ(svgs.size(), 1u) << "a diagram for the violation only";
  const json & bug = j[0]["verdict"] == "violation" ? j[0] : j[1];
  ASSERT_EQ(bug["verdict"], "violation");
  ASSERT_TRUE(bug["stale_cache"].is_string()) << bug;
  const std::string cache = bug["stale_cache"];
  EXPECT_NE(svgs[0].find("<g class=\"lane lane-cache\" data-lane=\"" + html(cache) + "\""), std::string::npos);
  EXPECT_EQ(count(svgs[0], "<rect class=\"stale\" data-lane=\"" + html(cache) + "\""), 1u) << svgs[0];
  EXPECT_NE(page.find(html(bug["stale_entry"])), std::string::npos);
  EXPECT_NE(page.find("<b>" + html(bug["rule"]) + "</b>: " + html(bug["rule_text"])), std::string::npos);
  expect_step_links(page, svgs, json::array({bug}));
  // The safe scenario's section: its verdict, no diagram.
  std::size_t safe = page.find(">safe</span> " + html(kSafe) + "</h2>");
  ASSERT_NE(safe, std::string::npos) << page;
  std::size_t end = page.find("</section>", safe);
  EXPECT_EQ(page.substr(safe, end - safe).find("<svg"), std::string::npos);
}

TEST_F(ReportHtml, CheckAllDrawsOneDiagramPerViolation)
{
  json j = check("--all " + kTwoMissing);
  ASSERT_EQ(j.size(), 1u);
  const json & all = j[0]["violations"];
  ASSERT_GE(all.size(), 2u) << j;
  const std::string page = nostale::render_html(j, "all");
  std::vector<std::string> svgs = svgs_of(page);
  ASSERT_EQ(svgs.size(), all.size());
  for (std::size_t k = 0; k < svgs.size(); ++k)
    EXPECT_EQ(count(svgs[k], "<rect class=\"stale\""), 1u) << "violation " << k;
  expect_step_links(page, svgs, all);
  EXPECT_NE(page.find("Violation 2 of " + std::to_string(all.size())), std::string::npos);
  std::vector<std::string> ids = captures(page, R"re( id="([^"]+)")re");
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size()) << "ids are unique";
}

TEST_F(ReportHtml, NoNetworkReference)
{
  json j = check(kAts + " " + kVtdBug);
  std::string page = nostale::render_html(j, "offline");
  const std::string ns = "xmlns=\"http://www.w3.org/2000/svg\"";
  EXPECT_EQ(count(page, ns), count(page, "<svg"));
  for (std::size_t at; (at = page.find(ns)) != std::string::npos;) page.erase(at, ns.size());
  for (const char * ref : {"http://", "https://", " src=", "url(", "@import", "@font-face"})
    EXPECT_EQ(page.find(ref), std::string::npos) << ref;
  for (const std::string & href : captures(page, R"re( href="([^"]*)")re"))
    EXPECT_TRUE(href.rfind("#", 0) == 0 || href == "data:,") << "a link within the page only: " << href;
  EXPECT_NE(page.find("content=\"default-src 'none';"), std::string::npos) << "a policy that blocks every request";
}

TEST(ReportHtmlByHand, EveryTextIsEscaped)
{
  const json results = json::parse(R"([
    {"scenario": "a<b>&\"c'.json", "name": "<i>name</i>", "verdict": "violation", "property": "no-stale",
     "severity": "unsafe", "step": 1, "rule": "R<1>", "rule_text": "x & <y>",
     "witness": {"device": "d<0>", "pasid": 0, "address": "0x0"}, "stale_entry": "IOTLB [<e>] -> 0x1",
     "stale_cache": "IOTLB", "memory": "m<m>", "survival": {"kind": "k", "text": "s<s>"},
     "trace": [{"step": 0, "op": "map", "text": "map <x>", "note": "<script>alert(1)</script>"},
               {"hw": "fill", "cache": "IOTLB", "device": "d<0>", "text": "fill IOTLB [<e>] -> 0x1"},
               {"step": 1, "op": "check", "text": "check", "check_point": true}],
     "stats": {"seconds": 0.5}},
    {"scenario": "u.json", "name": "u", "verdict": "unknown", "reason": "gave up: <timeout> & \"more\"",
     "trace": []}])");
  const std::string page = nostale::render_html(results, "T<&>");
  EXPECT_EQ(count(page, "<script"), 1u) << "the page's own self-check only";
  EXPECT_NE(page.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  for (const char * raw : {"<i>", "<e>", "<x>", "<y>", "<m>", "<s>", "d<0>", "R<1>", "<timeout>", "T<&>"})
    EXPECT_EQ(page.find(raw), std::string::npos) << raw;
  EXPECT_NE(page.find("a&lt;b&gt;&amp;&quot;c&#39;.json"), std::string::npos);
  EXPECT_NE(page.find("data-lane=\"d&lt;0&gt;\""), std::string::npos) << "attributes too";
  EXPECT_NE(page.find("gave up: &lt;timeout&gt; &amp; &quot;more&quot;"), std::string::npos) << "the unknown's reason";
  EXPECT_NE(page.find("<title>T&lt;&amp;&gt;</title>"), std::string::npos);
  EXPECT_EQ(svgs_of(page).size(), 1u);
}

TEST(ReportHtmlByHand, LongTracesGrowAndTheirTextsAreCut)
{
  const std::string long_text = "map " + std::string(300, 'x');
  auto height = [&](int steps) {
    json v = {{"scenario", "long.json"}, {"verdict", "violation"}, {"property", "no-stale"}, {"step", steps - 1},
              {"trace", json::array()}};
    for (int s = 0; s < steps; ++s) v["trace"].push_back({{"step", s}, {"op", "map"}, {"text", s == 3 ? long_text : "map"}});
    v["trace"].back()["check_point"] = true;
    std::string page = nostale::render_html(json::array({v}), "long");
    std::vector<std::string> h = captures(page, R"re(<svg [^>]*height="([0-9]+)")re");
    EXPECT_EQ(h.size(), 1u);
    EXPECT_NE(page.find("<title>3  " + long_text + "</title>"), std::string::npos) << "the whole text as a tooltip";
    EXPECT_EQ(page.find(long_text + "</text>"), std::string::npos) << "the shown text is cut";
    EXPECT_NE(page.find("xxx\xE2\x80\xA6</text>"), std::string::npos) << "with an ellipsis";
    return h.empty() ? 0 : std::stoi(h[0]);
  };
  const int h10 = height(10), h20 = height(20), h200 = height(200);
  EXPECT_GT(h20, h10);
  EXPECT_EQ(h200 - h10, 19 * (h20 - h10)) << "rows of one height each";
}

// ---- headless Chromium ----------------------------------------------------------------------

/// Debian's chromium (tools/setup installs it); empty if missing.
std::string chromium()
{
  for (const char * p : {"/usr/bin/chromium", "/usr/bin/chromium-browser"})
    if (fs::exists(p)) return p;
  return "";
}

std::uint32_t be32(const std::string & s, std::size_t at)
{
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i) v = v << 8 | static_cast<unsigned char>(s.at(at + i));
  return v;
}

struct Rendered {
  int status = -1;
  std::string dom, log;
  fs::path png;
};

/// Loads `page` in headless Chromium once: its DOM after the load event, and a screenshot.
/// A container needs --no-sandbox, a writable HOME and a profile dir of its own.
Rendered render_in_chromium(const fs::path & dir, const std::string & page)
{
  Rendered r;
  const fs::path file = dir / "report.html";
  spit(file, page);
  r.png = dir / "report.png";
  const std::string cmd = "HOME=" + quote(dir.string()) + " timeout 120 " + quote(chromium()) +
                          " --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run"
                          " --disable-extensions --disable-component-update --disable-background-networking"
                          " --hide-scrollbars --user-data-dir=" + quote((dir / "profile").string()) +
                          " --window-size=1280,2000 --screenshot=" + quote(r.png.string()) + " --dump-dom " +
                          quote("file://" + file.string()) + " >" + quote((dir / "dom.html").string()) + " 2>" +
                          quote((dir / "chromium.log").string()) + " </dev/null";
  r.status = std::system(cmd.c_str());
  r.dom = slurp(dir / "dom.html");
  r.log = slurp(dir / "chromium.log");
  return r;
}

/// The page's self-check (checker/report_html.cpp): data-check on <html>, set on load.
std::string self_check(const std::string & dom)
{
  std::vector<std::string> v = captures(dom, R"re(<html[^>]* data-check="([^"]*)")re");
  return v.empty() ? "(no self-check result)" : v[0];
}

class ReportHtmlChromium : public ReportHtml {
 public:
  void SetUp() override
  {
    ReportHtml::SetUp();
    ASSERT_FALSE(chromium().empty()) << "chromium is missing: install Debian's chromium package "
                                        "(apt-get install chromium; tools/setup does)";
  }
};

TEST_F(ReportHtmlChromium, RendersWithoutErrorsAndScreenshots)
{
  // The page as the CLI writes it: `check --format html --out FILE`, exit 1 for the violations.
  const std::string out = (dir / "cli.html").string();
  Proc cli = run("check --format html --out " + quote(out) + " " + kAts + " " + kVtdBug);
  EXPECT_EQ(cli.code, 1) << cli;
  EXPECT_TRUE(cli.out.empty()) << cli;
  const std::string page = slurp(out);
  ASSERT_NE(page.find("<svg"), std::string::npos) << cli;
  Rendered r = render_in_chromium(dir, page);
  ASSERT_EQ(r.status, 0) << r.log;
  // No script error, no blocked request, and each diagram has a non-empty box.
  EXPECT_EQ(self_check(r.dom), "nostale-report-ok: 2 diagrams") << r.log;
  const std::string png = slurp(r.png);
  ASSERT_GE(png.size(), 33u) << "no screenshot\n" << r.log;
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_EQ(png.substr(12, 4), "IHDR");
  EXPECT_EQ(be32(png, 16), 1280u);
  EXPECT_EQ(be32(png, 20), 2000u);
  // NOSTALE_REPORT_HTML=path keeps the page (docs/report.png is a screenshot of it).
  if (const char * keep = std::getenv("NOSTALE_REPORT_HTML")) spit(keep, page);
}

TEST_F(ReportHtmlChromium, TheSelfCheckSeesErrorsEmptyDiagramsAndRequests)
{
  // The check above is not vacuous: a script error, an empty diagram and a request all show.
  std::string page = nostale::render_html(json::array(), "broken");
  page.insert(page.find("</body>"), "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"></svg>"
                                    "<img src=\"http://127.0.0.1:9/x.png\"><script>null.x;</script>");
  Rendered r = render_in_chromium(dir, page);
  ASSERT_EQ(r.status, 0) << r.log;
  const std::string check = self_check(r.dom);
  EXPECT_EQ(check.rfind("nostale-report-error: ", 0), 0u) << check;
  EXPECT_NE(check.find("diagram 0 is empty"), std::string::npos) << check;
  EXPECT_NE(check.find("blocked http://127.0.0.1:9/x.png"), std::string::npos) << check;
  EXPECT_NE(check.find("TypeError"), std::string::npos) << check;
}

}  // namespace
