// Linux ftrace text (the tracefs `trace` file, or `trace-cmd report`) of the intel_iommu and
// iommu tracepoints, as a vtd scenario. Formats: TRACE-1 (qi_submit), TRACE-2/3 (cache_tag_*),
// TRACE-5/6 (iommu:*), quoted in spec/docs/rules.md; how each event becomes steps, and what is
// assumed where the trace is silent: spec/docs/traces.md.
#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "checker/import/import.h"
#include "checker/import/importers.h"
#include "checker/import/vtd_builder.h"
#include "spec/profiles/vtd/descriptor.h"
#include "spec/model/errors.h"

namespace nostale {

namespace {

using namespace importer;
using vtd::Descriptor;

/// One event line: `TASK-PID [(TGID)] [CPU] [FLAGS] SECONDS: EVENT: ARGS`.
struct Event {
  std::size_t line = 0;
  std::string task;  ///< "kworker/0:1-42": task and pid, the caller's identity
  unsigned cpu = 0;
  double ts = 0;
  std::string name;  ///< without the system prefix ("intel_iommu:", "iommu:")
  std::string args;
};

std::vector<std::string> words(const std::string & s)
{
  std::istringstream in(s);
  std::vector<std::string> w;
  for (std::string t; in >> t;) w.push_back(t);
  return w;
}

/// Parses an event line; false if the line is not one.
bool parse_event(const std::string & line, std::size_t n, Event & e)
{
  // The CPU field "[003]" is the anchor: the task name before it may hold spaces or dashes.
  std::size_t lb = 0;
  for (;;) {
    lb = line.find('[', lb);
    if (lb == std::string::npos) return false;
    std::size_t rb = line.find(']', lb);
    if (rb != std::string::npos && rb > lb + 1 &&
        std::all_of(line.begin() + static_cast<std::ptrdiff_t>(lb) + 1, line.begin() + static_cast<std::ptrdiff_t>(rb),
                    [](char c) { return c >= '0' && c <= '9'; }))
      break;
    ++lb;
  }
  std::size_t rb = line.find(']', lb);
  std::string head = line.substr(0, lb);
  // An optional "(TGID)" column between the task and the CPU (options/record-tgid).
  if (std::size_t p = head.rfind('('); p != std::string::npos && head.find(')', p) != std::string::npos)
    head = head.substr(0, p);
  while (!head.empty() && (head.back() == ' ' || head.back() == '\t')) head.pop_back();
  std::size_t first = head.find_first_not_of(" \t");
  if (first == std::string::npos) return false;
  e.task = head.substr(first);
  std::size_t dash = e.task.rfind('-');
  if (dash == std::string::npos || dash + 1 == e.task.size() ||
      !std::all_of(e.task.begin() + static_cast<std::ptrdiff_t>(dash) + 1, e.task.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return false;
  e.cpu = static_cast<unsigned>(std::stoul(line.substr(lb + 1, rb - lb - 1)));
  std::istringstream rest(line.substr(rb + 1));
  std::string tok;
  if (!(rest >> tok)) return false;
  // The irq-flags column ("d..1.") is there in the tracefs file, not in trace-cmd's default.
  if (tok.back() != ':') {
    if (!(rest >> tok)) return false;
  }
  if (tok.back() != ':') return false;
  tok.pop_back();
  char * end = nullptr;
  e.ts = std::strtod(tok.c_str(), &end);
  if (end == tok.c_str() || *end) return false;
  std::string name;
  if (!(rest >> name) || name.back() != ':') return false;
  name.pop_back();
  for (const char * sys : {"intel_iommu:", "iommu:"})
    if (name.rfind(sys, 0) == 0) name = name.substr(std::string(sys).size());
  e.name = name;
  std::getline(rest, e.args);
  e.args = e.args.substr(std::min(e.args.size(), e.args.find_first_not_of(" \t")));
  e.line = n;
  return true;
}

/// "key=value" of `args` as a u64 (value up to the next space); fails the line otherwise.
u64 field(const std::string & file, const Event & e, const std::string & key)
{
  std::size_t k = e.args.find(key + "=");
  if (k == std::string::npos) fail(file, e.line, e.name + ": no " + key + "= in '" + e.args + "'");
  std::size_t v = k + key.size() + 1, end = e.args.find(' ', v);
  u64 x;
  if (!parse_u64(e.args.substr(v, end == std::string::npos ? std::string::npos : end - v), x))
    fail(file, e.line, e.name + ": " + key + " is not a number in '" + e.args + "'");
  return x;
}

struct Qi {
  Event ev;
  std::string iommu;
  std::vector<u64> raw;
  Descriptor d;
};

struct Tag {
  Event ev;
  std::string iommu;
  std::uint16_t sid = 0;
  std::string type;  ///< iotlb, devtlb, nesting_iotlb, nesting_devtlb
  unsigned did = 0;
  u64 pasid = 0;
  long ref = 0;
};

/// "dmar0/0000:03:00.0 type iotlb did 2 pasid 0 ref 1" (TRACE-2).
Tag parse_tag(const std::string & file, const Event & e)
{
  std::vector<std::string> w = words(e.args);
  Tag t;
  t.ev = e;
  u64 did, pasid, ref;
  if (w.size() != 9 || w[1] != "type" || w[3] != "did" || w[5] != "pasid" || w[7] != "ref" ||
      w[0].find('/') == std::string::npos || !parse_u64(w[4], did) || !parse_u64(w[6], pasid) ||
      !parse_u64(w[8], ref))
    fail(file, e.line, e.name + ": expected 'IOMMU/DEVICE type T did N pasid N ref N', got '" + e.args + "'");
  t.iommu = w[0].substr(0, w[0].find('/'));
  if (!parse_bdf(w[0].substr(w[0].find('/') + 1), t.sid))
    fail(file, e.line, e.name + ": '" + w[0].substr(w[0].find('/') + 1) + "' is not a PCI device name");
  t.type = w[2];
  if (t.type != "iotlb" && t.type != "devtlb" && t.type != "nesting_iotlb" && t.type != "nesting_devtlb")
    fail(file, e.line, e.name + ": unknown cache tag type '" + t.type + "'");
  if (did > 0xffff) fail(file, e.line, e.name + ": did " + std::to_string(did) + " is wider than 16 bits");
  if (pasid >= (u64{1} << 20)) fail(file, e.line, e.name + ": pasid is wider than 20 bits");
  t.did = static_cast<unsigned>(did);
  t.pasid = pasid;
  t.ref = static_cast<long>(ref);
  return t;
}

/// The domain an IOTLB-type descriptor names (0: none, a global one).
unsigned flushed_did(const Descriptor & d)
{
  if (auto * x = std::get_if<vtd::IotlbInv>(&d.body)) return x->g == vtd::IotlbGran::Global ? 0 : x->did;
  if (auto * x = std::get_if<vtd::PIotlbInv>(&d.body)) return x->did;
  return 0;
}

/// What the events between two driver events are: maps, unmaps, attaches and the
/// qi_submit_sync calls between them.
struct Item {
  enum Kind { Batch, Map, Unmap, Assign, Unassign, Attach } kind;
  Event ev;
  std::vector<Qi> batch;  ///< Batch: one qi_submit_sync call
  Tag tag;                ///< Assign / Unassign
  u64 iova = 0, size = 0, phys = 0;
  std::uint16_t sid = 0;  ///< Attach
};

class FtraceImport {
 public:
  FtraceImport(const std::string & file, const ImportOptions & opt) : file_(file), opt_(opt) {}

  ojson run(const std::string & text)
  {
    read(text);
    // A trace with nothing to check must not read as a safe one.
    if (items_.empty())
      fail(file_, 1, "no intel_iommu:qi_submit, intel_iommu:cache_tag_* or iommu:map/unmap event in the trace "
                     "(enable them under /sys/kernel/tracing/events, or with trace-cmd record -e)");
    declare();
    emit();
    return b_.finish("Linux ftrace of intel_iommu and iommu events",
                     "Invalidation descriptors, maps, unmaps and cache tags read from the intel_iommu and iommu "
                     "tracepoints of " + file_ + "; what the trace does not show is listed under imported/assumptions.",
                     file_, "linux-ftrace", iova_bits_);
  }

 private:
  const std::string file_;
  const ImportOptions opt_;
  VtdBuilder b_;
  std::vector<Item> items_;
  std::map<std::string, std::vector<std::size_t>> ignored_;  ///< event name -> lines
  std::string iommu_;
  unsigned iova_bits_ = 48;
  bool pfsid_ = false;

  void note_ignored(const Event & e) { ignored_[e.name].push_back(e.line); }

  void read(const std::string & text)
  {
    std::istringstream in(text);
    std::string line;
    std::size_t n = 0;
    while (std::getline(in, line)) {
      ++n;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.find_first_not_of(" \t") == std::string::npos) continue;
      const std::string t = line.substr(line.find_first_not_of(" \t"));
      if (t[0] == '#') {
        expect_comment(file_, n, t, b_);
        continue;  // the tracefs header
      }
      // trace-cmd report's preamble ("cpus=2", "version = 6", "CPU 1 is empty").
      if (t.rfind("cpus=", 0) == 0 || t.rfind("version =", 0) == 0 ||
          (t.rfind("CPU ", 0) == 0 && t.find(" is empty") != std::string::npos))
        continue;
      if (t.find("LOST") != std::string::npos && t.find("EVENTS") != std::string::npos)
        fail(file_, n, "the ring buffer lost events here: the trace is incomplete (record again with a larger buffer_size_kb)");
      Event e;
      if (!parse_event(line, n, e))
        fail(file_, n, "not an ftrace event line (expected 'TASK-PID [CPU] SECONDS: EVENT: ARGS')");
      event(e);
    }
  }

  void event(const Event & e)
  {
    if (e.name == "qi_submit") return qi(e);
    if (e.name == "cache_tag_assign" || e.name == "cache_tag_unassign") {
      Item it{e.name == "cache_tag_assign" ? Item::Assign : Item::Unassign, e, {}, parse_tag(file_, e), 0, 0, 0, 0};
      if (it.tag.type.rfind("nesting_", 0) == 0)
        fail(file_, e.line, "a nested domain's cache tag: nested translation is imported from iommufd recordings "
                            "(nostale import --help), not from ftrace");
      return items_.push_back(it);
    }
    if (e.name == "map" || e.name == "unmap") {
      Item it{e.name == "map" ? Item::Map : Item::Unmap, e, {}, {}, 0, 0, 0, 0};
      it.iova = field(file_, e, "iova");
      if (e.name == "map") {
        it.size = field(file_, e, "size");
        it.phys = field(file_, e, "paddr");
      } else {
        // unmapped_size is what the page tables gave up; size is what was asked (TRACE-5).
        it.size = field(file_, e, "unmapped_size");
      }
      if (it.size == 0) return note_ignored(e);
      if (it.iova % 4096 || it.size % 4096 || (e.name == "map" && it.phys % 4096))
        fail(file_, e.line, e.name + ": address or size is not a multiple of 4 KiB");
      if (it.iova + it.size - 1 >= (u64{1} << 48)) iova_bits_ = 57;
      if (it.iova + it.size < it.iova || it.iova + it.size - 1 >= (u64{1} << 57))
        fail(file_, e.line, e.name + ": the range does not fit in 57 bits of IOVA");
      return items_.push_back(it);
    }
    if (e.name == "attach_device_to_domain") {
      std::size_t k = e.args.find("device=");
      std::uint16_t sid;
      if (k == std::string::npos || !parse_bdf(e.args.substr(k + 7), sid))
        fail(file_, e.line, "attach_device_to_domain: expected 'IOMMU: device=DDDD:BB:DD.F'");
      Item it{Item::Attach, e, {}, {}, 0, 0, 0, sid};
      return items_.push_back(it);
    }
    // Read, and shown elsewhere: cache_tag_flush_* say what the driver meant to flush, the
    // qi_submit lines what it sent; the rest carry no invalidation (TRACE-2..6).
    note_ignored(e);
  }

  void qi(const Event & e)
  {
    std::vector<std::string> w = words(e.args);
    if (w.size() != 6 || w[1].back() != ':')
      fail(file_, e.line, "qi_submit: expected 'TYPE IOMMU: QW0 QW1 QW2 QW3', got '" + e.args + "'");
    Qi q;
    q.ev = e;
    q.iommu = w[1].substr(0, w[1].size() - 1);
    for (std::size_t i = 2; i < 6; ++i) {
      u64 v;
      if (!parse_u64(w[i], v)) fail(file_, e.line, "qi_submit: '" + w[i] + "' is not a 64-bit word");
      q.raw.push_back(v);
    }
    if (iommu_.empty()) iommu_ = q.iommu;
    if (q.iommu != iommu_)
      fail(file_, e.line, "a second remapping unit (" + q.iommu + " after " + iommu_ +
                              "): a scenario models one invalidation queue; split the trace by unit (grep " + iommu_ + ")");
    // qw2 and qw3 are zero in a 128-bit queue too: the 256-bit form reads the same (TRACE-1).
    std::vector<u64> raw = q.raw;
    if (raw[2] == 0 && raw[3] == 0) raw.resize(2);
    try {
      q.d = vtd::decode_raw(raw, "");
    } catch (const ScenarioError & x) {
      fail(file_, e.line, std::string("qi_submit: ") + x.what());
    }
    if (w[0] != vtd::type_name(q.d.type()))
      fail(file_, e.line, "qi_submit: the label '" + w[0] + "' does not match the descriptor's type (" +
                              vtd::type_name(q.d.type()) + ")");
    if (auto * x = std::get_if<vtd::DevTlbInv>(&q.d.body); x && x->pfsid) pfsid_ = true;
    if (auto * x = std::get_if<vtd::PDevTlbInv>(&q.d.body); x && x->pfsid) pfsid_ = true;
    // One qi_submit_sync call traces its descriptors back to back from one task on one CPU.
    if (!items_.empty() && items_.back().kind == Item::Batch) {
      const Event & last = items_.back().batch.back().ev;
      const bool gap = opt_.batch_gap_us > 0 && (e.ts - last.ts) * 1e6 > opt_.batch_gap_us;
      if (last.cpu == e.cpu && last.task == e.task && !gap && ignored_since(last.line) == 0) {
        items_.back().batch.push_back(q);
        return;
      }
    }
    Item it{Item::Batch, e, {q}, {}, 0, 0, 0, 0};
    items_.push_back(it);
  }

  /// Ignored events after line `l` (they end a qi_submit_sync call: nothing else is traced
  /// inside one).
  std::size_t ignored_since(std::size_t l) const
  {
    std::size_t k = 0;
    for (const auto & [name, lines] : ignored_)
      k += static_cast<std::size_t>(std::count_if(lines.begin(), lines.end(), [&](std::size_t x) { return x > l; }));
    return k;
  }

  // --- who is attached where --------------------------------------------------------------

  struct Binding {
    std::uint16_t sid;
    unsigned did;
    u64 pasid;
    auto operator<=>(const Binding &) const = default;
  };
  std::map<Binding, std::size_t> first_seen_;  ///< binding -> item index of its first assign
  std::map<unsigned, std::string> pgtt_;       ///< did -> "first" | "second"
  std::map<std::size_t, unsigned> unmap_did_, map_did_;  ///< item index -> resolved did

  /// The domains, devices and bindings the whole trace shows, before any step is written.
  void declare()
  {
    std::set<unsigned> dids;
    for (std::size_t i = 0; i < items_.size(); ++i) {
      const Item & it = items_[i];
      if (it.kind == Item::Assign) {
        dids.insert(it.tag.did);
        b_.device(it.tag.sid);
        if (it.tag.type == "devtlb") b_.device(it.tag.sid).ats = true;
        first_seen_.try_emplace(Binding{it.tag.sid, it.tag.did, it.tag.pasid}, i);
      }
      if (it.kind == Item::Attach) b_.device(it.sid);
      if (it.kind == Item::Batch)
        for (const Qi & q : it.batch) {
          if (unsigned d = flushed_did(q.d)) {
            dids.insert(d);
            pgtt_.try_emplace(d, std::holds_alternative<vtd::PIotlbInv>(q.d.body) ? "first" : "second");
          }
          if (auto * x = std::get_if<vtd::PcInv>(&q.d.body); x && x->g != vtd::PcGran::Global) dids.insert(x->did);
          if (auto * x = std::get_if<vtd::DevTlbInv>(&q.d.body)) b_.device(x->sid).ats = true;
          if (auto * x = std::get_if<vtd::PDevTlbInv>(&q.d.body)) b_.device(x->sid).ats = true;
        }
    }
    for (unsigned d : dids) b_.domain(d);
    for (unsigned d : dids)
      if (!pgtt_.count(d)) {
        pgtt_[d] = "first";
        b_.assume("domain id " + std::to_string(d) + " is never flushed by an IOTLB descriptor: its PASID-table "
                  "entries are taken as first-stage (the Linux default where ECAP.FLTS is set)");
      }
    for (const auto & [d, p] : pgtt_)
      if (dids.count(d))
        b_.assume("domain id " + std::to_string(d) + " translates " + p + "-stage: its IOTLB flushes are " +
                  (p == "first" ? "PASID-based (p_iotlb_inv), as for a first-stage domain"
                                : "DID-based (iotlb_inv), as for a second-stage domain"));
    resolve_maps();
    if (pfsid_) b_.caps("dit", true);
    b_.assume("page sizes: every map is 4 KiB pages (iommu:map does not say which page sizes the driver used)");
    b_.assume("permissions: every map is read-write (iommu:map does not print them)");
    b_.assume("device TLBs: a device has ATS when the trace shows a devtlb cache tag or a device-TLB descriptor "
              "for it, and none otherwise");
    b_.assume("completion: pending invalidations complete in any order before a wait (VT-d's relaxed "
              "reading, OPEN-1); pass --completion in-order to check under Linux v6.12's in-order reading");
    b_.assume("each qi_submit_sync call ends with the wait descriptor it appends, which the tracepoint does "
              "not print (TRACE-1). A call is a run of qi_submit lines from one task on one CPU with no other "
              "event between them" +
              std::string(opt_.batch_gap_us > 0 ? " and no gap above " + std::to_string(opt_.batch_gap_us) + " us" : "") +
              "; two calls traced back to back read as one, which can only add reports, never hide one");
    b_.assume("the wait appended by qi_submit_sync carries no page-request drain (QI_OPT_WAIT_DRAIN is not traced)");
    b_.assume("strict invalidation: iommu_unmap's caller may reuse the range as soon as the flush that follows "
              "the unmap returns, so a check point follows each unmap's flush (or the unmap itself when none "
              "follows)");
    b_.assume("page-table pages: unmaps free no table page (the trace does not show the gather freelist), so "
              "paging-structure caches are checked against unmapped leaves only");
  }

  /// Which domain each map and unmap is on: iommu:map/unmap name none (TRACE-5).
  void resolve_maps()
  {
    const auto & doms = b_.domains();
    for (std::size_t i = 0; i < items_.size(); ++i) {
      if (items_[i].kind != Item::Unmap) continue;
      if (doms.size() == 1) {
        unmap_did_[i] = doms.begin()->first;
        continue;
      }
      // The domain of the IOTLB flush that follows, before the next driver event.
      for (std::size_t k = i + 1; k < items_.size() && items_[k].kind == Item::Batch && !unmap_did_.count(i); ++k)
        for (const Qi & q : items_[k].batch)
          if (unsigned d = flushed_did(q.d)) {
            unmap_did_[i] = d;
            break;
          }
      if (!unmap_did_.count(i)) {
        // Or the one domain a traced map put the range in.
        std::set<unsigned> on;
        for (std::size_t k = 0; k < i; ++k)
          if (items_[k].kind == Item::Map && map_did_.count(k) && overlaps(items_[k], items_[i])) on.insert(map_did_[k]);
        if (on.size() != 1)
          fail(file_, items_[i].ev.line, "unmap: the trace has several domains and neither a flush nor an earlier "
                                         "map says which one this unmap is on");
        unmap_did_[i] = *on.begin();
      }
      for (std::size_t k = 0; k < i; ++k)
        if (items_[k].kind == Item::Map && !map_did_.count(k) && overlaps(items_[k], items_[i]))
          map_did_[k] = unmap_did_[i];
    }
    for (std::size_t i = 0; i < items_.size(); ++i)
      if (items_[i].kind == Item::Map && !map_did_.count(i)) {
        if (doms.size() != 1)
          fail(file_, items_[i].ev.line, doms.empty() ? "map: no domain id appears in the trace (enable "
                                                        "intel_iommu:cache_tag_assign and intel_iommu:qi_submit)"
                                                      : "map: the trace has several domains and no later unmap "
                                                        "says which one this map is on");
        map_did_[i] = doms.begin()->first;
      }
    if (doms.empty())
      for (const Item & it : items_)
        if (it.kind == Item::Unmap)
          fail(file_, it.ev.line, "unmap: no domain id appears in the trace (enable intel_iommu:cache_tag_assign "
                                  "and intel_iommu:qi_submit)");
  }

  static bool overlaps(const Item & a, const Item & b)
  {
    return a.iova < b.iova + b.size && b.iova < a.iova + a.size;
  }

  // --- steps ------------------------------------------------------------------------------

  std::map<Binding, bool> attached_;
  std::map<std::pair<std::uint16_t, unsigned>, bool> dev_on_;  ///< (sid, did) has a binding
  u64 next_frame_ = 0x7e0000000000;  ///< frames the importer makes up: far from pt_pool

  ojson attach(const Binding & x)
  {
    return {{"op", "attach"},
            {"device", b_.device(x.sid).name},
            {"pasid", x.pasid},
            {"domain", b_.domain(x.did)},
            {"pgtt", pgtt_.at(x.did)}};
  }

  void emit()
  {
    // State before the trace: bindings whose first evidence is not an assign, devices only a
    // descriptor names, ranges unmapped but never mapped in the trace.
    preamble();
    std::size_t last_batch_start = 0;
    std::set<std::pair<unsigned, u64>> last_batch_pc;  // (did, pasid) the last batch's pc_inv names
    bool pending_check = false;
    std::string check_note;
    auto close = [&] {
      if (!pending_check) return;
      b_.step({{"op", "check"}, {"note", check_note}}, 0);
      pending_check = false;
    };
    for (std::size_t i = 0; i < items_.size(); ++i) {
      const Item & it = items_[i];
      if (it.kind != Item::Batch) close();
      switch (it.kind) {
        case Item::Batch: {
          last_batch_start = b_.size();
          last_batch_pc.clear();
          for (const Qi & q : it.batch) {
            ojson raw = ojson::array();
            for (u64 w : q.raw) raw.push_back(hex(w));
            if (q.raw[2] == 0 && q.raw[3] == 0) raw.erase(raw.begin() + 2, raw.end());
            b_.step({{"op", "descriptor"},
                     {"raw", raw},
                     {"note", "trace line " + std::to_string(q.ev.line) + ": qi_submit " + vtd::type_name(q.d.type()) + " " + q.iommu}},
                    q.ev.line);
            if (auto * x = std::get_if<vtd::PcInv>(&q.d.body)) last_batch_pc.insert({x->did, x->pasid});
          }
          b_.step({{"op", "descriptor"},
                   {"desc", {{"type", "inv_wait"}, {"sw", true}, {"status_data", 1}, {"status_addr", "0x1000"}}},
                   {"note", "the wait qi_submit_sync appends to the call ending at line " +
                                std::to_string(it.batch.back().ev.line) + " and polls (not traced, TRACE-1)"}},
                  0);
          break;
        }
        case Item::Map:
          b_.step({{"op", "map"},
                   {"domain", b_.domain(map_did_.at(i))},
                   {"iova", hex(it.iova)},
                   {"size", hex(it.size)},
                   {"phys", hex(it.phys)},
                   {"perm", "rw"},
                   {"note", "trace line " + std::to_string(it.ev.line) + ": iommu:map"}},
                  it.ev.line);
          break;
        case Item::Unmap:
          b_.step({{"op", "unmap"},
                   {"domain", b_.domain(unmap_did_.at(i))},
                   {"iova", hex(it.iova)},
                   {"size", hex(it.size)},
                   {"note", "trace line " + std::to_string(it.ev.line) + ": iommu:unmap"}},
                  it.ev.line);
          pending_check = true;
          check_note = "iommu_unmap of line " + std::to_string(it.ev.line) +
                       " returns once its flush is done (assumed: the next driver event, or the end of the trace)";
          break;
        case Item::Assign: {
          Binding x{it.tag.sid, it.tag.did, it.tag.pasid};
          if (!attached_[x]) {
            ojson s = attach(x);
            s["note"] = "trace line " + std::to_string(it.ev.line) + ": cache_tag_assign " + it.tag.type +
                        " (the PASID-table entry is written with it, dmar_domain_attach_device)";
            b_.step(s, it.ev.line);
            attached_[x] = true;
          }
          break;
        }
        case Item::Unassign: {
          Binding x{it.tag.sid, it.tag.did, it.tag.pasid};
          if (it.tag.type != "iotlb" || it.tag.ref != 1 || !attached_[x]) break;
          // intel_pasid_tear_down_entry clears the entry, then invalidates the PASID cache:
          // the entry went before the batch with that pc_inv, when the last batch has one.
          const bool before = last_batch_pc.count({x.did, x.pasid}) != 0;
          ojson s = {{"op", "detach"},
                     {"device", b_.device(x.sid).name},
                     {"pasid", x.pasid},
                     {"note", "trace line " + std::to_string(it.ev.line) + ": cache_tag_unassign iotlb ref 1" +
                                  (before ? " (the entry was cleared before the pc_inv that follows it, "
                                            "intel_pasid_tear_down_entry)"
                                          : "")}};
          if (before) b_.insert(last_batch_start, s, it.ev.line);
          else b_.step(s, it.ev.line);
          attached_[x] = false;
          break;
        }
        case Item::Attach:
          ignored_[it.ev.name].push_back(it.ev.line);  // the cache_tag_assign that follows names the domain
          break;
      }
    }
    close();
    std::string ign;
    for (const auto & [name, lines] : ignored_) {
      ign += (ign.empty() ? "" : "; ") + name + " x" + std::to_string(lines.size()) + " (line" +
             (lines.size() > 1 ? "s " : " ") + std::to_string(lines.front());
      if (lines.size() > 1) ign += (lines.size() > 2 ? ", ..., " : ", ") + std::to_string(lines.back());
      ign += ")";
    }
    if (!ign.empty())
      b_.assume("events read but not turned into steps (cache_tag_flush_* say what the driver meant to flush, "
                "the qi_submit lines what it sent; unmaps of 0 bytes change nothing): " + ign);
  }

  void preamble()
  {
    // A binding first shown by an unassign, or a device a descriptor names but no tag does.
    std::set<std::uint16_t> bound;
    for (const auto & [x, i] : first_seen_) bound.insert(x.sid);
    for (std::size_t i = 0; i < items_.size(); ++i) {
      const Item & it = items_[i];
      if (it.kind == Item::Unassign) {
        Binding x{it.tag.sid, it.tag.did, it.tag.pasid};
        if (!first_seen_.count(x)) {
          first_seen_[x] = 0;
          bound.insert(x.sid);
          ojson s = attach(x);
          s["note"] = "attached before the trace began (line " + std::to_string(it.ev.line) + " unassigns it)";
          b_.step(s, 0);
          attached_[x] = true;
          b_.assume("device " + b_.device(x.sid).name + " PASID " + std::to_string(x.pasid) + " was attached to domain id " +
                    std::to_string(x.did) + " before the trace began (line " + std::to_string(it.ev.line) + " unassigns it)");
        }
      }
    }
    for (std::size_t i = 0; i < items_.size(); ++i) {
      if (items_[i].kind != Item::Batch) continue;
      for (const Qi & q : items_[i].batch) {
        std::uint16_t sid;
        u64 pasid = 0;
        if (auto * x = std::get_if<vtd::DevTlbInv>(&q.d.body)) sid = x->sid;
        else if (auto * y = std::get_if<vtd::PDevTlbInv>(&q.d.body)) sid = y->sid, pasid = y->pasid;
        else continue;
        if (bound.count(sid)) continue;
        unsigned did = 0;
        for (const Qi & o : items_[i].batch)
          if (unsigned d = flushed_did(o.d)) did = d;
        if (!did && b_.domain_count() == 1) did = b_.domains().begin()->first;
        if (!did)
          fail(file_, q.ev.line, "device " + b_.device(sid).name + " is flushed but the trace neither assigns it a "
                                 "cache tag nor flushes a domain's IOTLB in the same call, so its domain is unknown");
        Binding x{sid, did, pasid};
        bound.insert(sid);
        ojson s = attach(x);
        s["note"] = "attached before the trace began (line " + std::to_string(q.ev.line) + " flushes its device TLB)";
        b_.step(s, 0);
        attached_[x] = true;
        b_.assume("device " + b_.device(sid).name + " PASID " + std::to_string(pasid) + " was attached to domain id " +
                  std::to_string(did) + " before the trace began (line " + std::to_string(q.ev.line) +
                  " flushes its device TLB in a call that flushes that domain)");
      }
    }
    // A domain that maps or unmaps must be reachable by a device, or nothing could be stale.
    std::set<unsigned> used;
    for (const auto & [i, d] : map_did_) used.insert(d);
    for (const auto & [i, d] : unmap_did_) used.insert(d);
    for (unsigned did : used) {
      bool any = false;
      for (const auto & [x, i] : first_seen_) any |= x.did == did;
      for (const auto & [x, on] : attached_) any |= x.did == did;
      if (any) continue;
      std::uint16_t sid = 0xff00;  // a requester id no real trace uses here
      while (b_.devices().count(sid)) ++sid;
      Binding x{sid, did, 0};
      b_.device(sid);
      ojson s = attach(x);
      s["note"] = "a device the trace does not name, attached before it began";
      b_.step(s, 0);
      attached_[x] = true;
      b_.assume("domain id " + std::to_string(did) + " maps or unmaps but the trace names no device on it: device " +
                b_.device(sid).name + " (no ATS) is taken to be attached at PASID 0 before the trace began");
    }
    // Ranges unmapped that no earlier traced map covers were mapped before the trace began.
    for (std::size_t i = 0; i < items_.size(); ++i) {
      const Item & it = items_[i];
      if (it.kind != Item::Unmap) continue;
      // The pages of the range no earlier map on that domain wrote.
      for (u64 p = it.iova; p < it.iova + it.size;) {
        u64 q = p;
        while (q < it.iova + it.size && !mapped_before(i, unmap_did_.at(i), q)) q += 4096;
        if (q > p) {
          b_.step({{"op", "map"},
                   {"domain", b_.domain(unmap_did_.at(i))},
                   {"iova", hex(p)},
                   {"size", hex(q - p)},
                   {"phys", hex(next_frame_)},
                   {"perm", "rw"},
                   {"note", "mapped before the trace began (line " + std::to_string(it.ev.line) + " unmaps it)"}},
                  0);
          b_.assume("iova " + hex(p) + " size " + hex(q - p) + " on domain id " + std::to_string(unmap_did_.at(i)) +
                    " was mapped before the trace began (line " + std::to_string(it.ev.line) +
                    " unmaps it), read-write, to frames at " + hex(next_frame_) + " (any frame would do)");
          next_frame_ += q - p;
          premapped_.push_back({unmap_did_.at(i), p, q});
        }
        while (q < it.iova + it.size && mapped_before(i, unmap_did_.at(i), q)) q += 4096;
        p = q;
      }
    }
  }

  struct Range {
    unsigned did;
    u64 lo, hi;
  };
  std::vector<Range> premapped_;

  bool mapped_before(std::size_t i, unsigned did, u64 page) const
  {
    for (const Range & r : premapped_)
      if (r.did == did && page >= r.lo && page < r.hi) return true;
    for (std::size_t k = 0; k < i; ++k)
      if (items_[k].kind == Item::Map && map_did_.count(k) && map_did_.at(k) == did && page >= items_[k].iova &&
          page < items_[k].iova + items_[k].size)
        return true;
    return false;
  }
};

}  // namespace

namespace importer {
ojson import_linux_ftrace(const std::string & file, const std::string & text, const ImportOptions & opt)
{
  return FtraceImport(file, opt).run(text);
}
}  // namespace importer

}  // namespace nostale
