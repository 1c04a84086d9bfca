#include "checker/import/ftrace_events.h"

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include "checker/import/vtd_builder.h"

namespace nostale::importer {

namespace {

bool all_digits(const std::string & s, std::size_t from, std::size_t to)
{
  return to > from && std::all_of(s.begin() + static_cast<std::ptrdiff_t>(from), s.begin() + static_cast<std::ptrdiff_t>(to),
                                   [](char c) { return c >= '0' && c <= '9'; });
}

/// "123.456789:" (the timestamp token).
bool timestamp(const std::string & tok, double & ts)
{
  if (tok.size() < 2 || tok.back() != ':') return false;
  const std::string t = tok.substr(0, tok.size() - 1);
  const std::size_t dot = t.find('.');
  if (dot == std::string::npos || !all_digits(t, 0, dot) || !all_digits(t, dot + 1, t.size())) return false;
  ts = std::strtod(t.c_str(), nullptr);
  return true;
}

}  // namespace

std::vector<std::string> words(const std::string & s)
{
  std::istringstream in(s);
  std::vector<std::string> w;
  for (std::string t; in >> t;) w.push_back(t);
  return w;
}

bool parse_event(const std::string & line, std::size_t n, Event & e)
{
  // The CPU field "[003]" is the anchor: the first "[digits]" followed by blanks, an optional
  // irq-flags column ("d..1.") and the timestamp. Task names may hold blanks, dashes,
  // brackets and parentheses ("(udev-worker)", "fio[7]"); arguments may hold brackets too.
  for (std::size_t lb = line.find('['); lb != std::string::npos; lb = line.find('[', lb + 1)) {
    const std::size_t rb = line.find(']', lb);
    if (rb == std::string::npos || !all_digits(line, lb + 1, rb) || rb + 1 >= line.size() ||
        (line[rb + 1] != ' ' && line[rb + 1] != '\t'))
      continue;
    std::istringstream rest(line.substr(rb + 1));
    std::string tok;
    if (!(rest >> tok)) continue;
    if (!timestamp(tok, e.ts) && !(rest >> tok && timestamp(tok, e.ts))) continue;
    std::string name;
    if (!(rest >> name) || name.size() < 2 || name.back() != ':') continue;
    name.pop_back();
    for (const char * sys : {"intel_iommu:", "iommu:"})
      if (name.rfind(sys, 0) == 0) name = name.substr(std::string(sys).size());
    // Before the CPU: TASK-PID, then an optional "(TGID)" column of digits or dashes.
    std::string head = line.substr(0, lb);
    while (!head.empty() && (head.back() == ' ' || head.back() == '\t')) head.pop_back();
    if (!head.empty() && head.back() == ')') {
      const std::size_t open = head.rfind('(');
      if (open != std::string::npos && head.find_first_not_of(" -0123456789", open + 1) == head.size() - 1) {
        head = head.substr(0, open);
        while (!head.empty() && (head.back() == ' ' || head.back() == '\t')) head.pop_back();
      }
    }
    const std::size_t first = head.find_first_not_of(" \t");
    if (first == std::string::npos) return false;
    e.task = head.substr(first);
    const std::size_t dash = e.task.rfind('-');
    if (dash == std::string::npos || !all_digits(e.task, dash + 1, e.task.size())) return false;
    u64 cpu;
    if (!parse_u64(line.substr(lb + 1, rb - lb - 1), cpu) || cpu > 0xffffff) return false;
    e.cpu = static_cast<unsigned>(cpu);
    e.name = name;
    std::getline(rest, e.args);
    const std::size_t a = e.args.find_first_not_of(" \t");
    e.args = a == std::string::npos ? std::string() : e.args.substr(a);
    e.line = n;
    return true;
  }
  return false;
}

u64 field(const std::string & file, const Event & e, const std::string & key)
{
  // The key at a word's start: "size=" must not match inside "unmapped_size=".
  std::size_t k = 0;
  for (k = e.args.find(key + "="); k != std::string::npos && k > 0 && e.args[k - 1] != ' ';
       k = e.args.find(key + "=", k + 1))
    ;
  if (k == std::string::npos) fail(file, e.line, e.name + ": no " + key + "= in '" + e.args + "'");
  const std::size_t v = k + key.size() + 1, end = e.args.find(' ', v);
  u64 x;
  if (!parse_u64(e.args.substr(v, end == std::string::npos ? std::string::npos : end - v), x))
    fail(file, e.line, e.name + ": " + key + " is not a number in '" + e.args + "'");
  return x;
}

namespace {

void check_tag(const std::string & file, const Event & e, Tag & t, u64 did, u64 pasid, const std::string & dev)
{
  if (!parse_bdf(dev, t.sid)) fail(file, e.line, e.name + ": '" + dev + "' is not a PCI device name");
  if (t.type != "iotlb" && t.type != "devtlb" && t.type != "nesting_iotlb" && t.type != "nesting_devtlb")
    fail(file, e.line, e.name + ": unknown cache tag type '" + t.type + "'");
  if (did > 0xffff) fail(file, e.line, e.name + ": did " + std::to_string(did) + " is wider than 16 bits");
  if (pasid >= (u64{1} << 20)) fail(file, e.line, e.name + ": pasid is wider than 20 bits");
  t.did = static_cast<unsigned>(did);
  t.pasid = pasid;
}

}  // namespace

Tag parse_tag(const std::string & file, const Event & e)
{
  std::vector<std::string> w = words(e.args);
  Tag t;
  u64 did, pasid, ref;
  if (w.size() != 9 || w[1] != "type" || w[3] != "did" || w[5] != "pasid" || w[7] != "ref" ||
      w[0].find('/') == std::string::npos || !parse_u64(w[4], did) || !parse_u64(w[6], pasid) || !parse_u64(w[8], ref))
    fail(file, e.line, e.name + ": expected 'IOMMU/DEVICE type T did N pasid N ref N', got '" + e.args + "'");
  t.iommu = w[0].substr(0, w[0].find('/'));
  t.type = w[2];
  t.ref = static_cast<long>(std::min<u64>(ref, 1u << 30));
  check_tag(file, e, t, did, pasid, w[0].substr(w[0].find('/') + 1));
  return t;
}

Tag parse_flush_range(const std::string & file, const Event & e)
{
  std::vector<std::string> w = words(e.args);
  Tag t;
  u64 did, pasid;
  const std::size_t lb = w.size() > 1 ? w[1].rfind('[') : std::string::npos;
  if (w.size() != 13 || w[2] != "type" || w[4] != "did" || w[7] != "addr" || w[9] != "pages" || w[11] != "mask" ||
      lb == std::string::npos || w[1].back() != ']' || !parse_u64(w[1].substr(lb + 1, w[1].size() - lb - 2), pasid) ||
      !parse_u64(w[5], did))
    fail(file, e.line, e.name + ": expected 'IOMMU DEVICE[PASID] type T did N [START-END] addr A pages P mask M', got '" +
                           e.args + "'");
  t.iommu = w[0];
  t.type = w[3];
  check_tag(file, e, t, did, pasid, w[1].substr(0, lb));
  return t;
}

}  // namespace nostale::importer
