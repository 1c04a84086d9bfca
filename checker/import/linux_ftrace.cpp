// Linux ftrace text (the tracefs `trace` file, or `trace-cmd report`) of the intel_iommu and
// iommu tracepoints, as a vtd scenario. Formats: TRACE-1 (qi_submit), TRACE-2/3 (cache_tag_*),
// TRACE-5/6 (iommu:*), quoted in spec/docs/rules.md; how each event becomes steps, and what is
// assumed where the trace is silent: spec/docs/traces.md. Where the trace is silent, every
// choice is one that can only add reports; where no such choice exists, the import stops and
// says what to record or which option to pass.
#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "checker/import/ftrace_events.h"
#include "checker/import/importers.h"
#include "spec/model/errors.h"
#include "spec/profiles/vtd/descriptor.h"

namespace nostale::importer {

namespace {

using vtd::Descriptor;


struct Qi {
  Event ev;
  std::vector<u64> raw;
  Descriptor d;
};

/// The domain an IOTLB-type descriptor names (0: none, a global one).
unsigned flushed_did(const Descriptor & d)
{
  if (auto * x = std::get_if<vtd::IotlbInv>(&d.body)) return x->g == vtd::IotlbGran::Global ? 0 : x->did;
  if (auto * x = std::get_if<vtd::PIotlbInv>(&d.body)) return x->did;
  return 0;
}

/// How long before its cache_tag_unassign a teardown's calls may start (microseconds): the
/// calls of intel_pasid_tear_down_entry follow each other within a few. Longer, and an earlier
/// pc_inv of the task would be taken as the teardown's.
constexpr double kTeardownUs = 1000;

/// One thing the trace shows a task doing, in trace order.
struct Item {
  enum Kind { Batch, Map, Unmap, Assign, Unassign, FlushTag, Attach } kind;
  Event ev;
  std::vector<Qi> batch;  ///< Batch: one qi_submit_sync call
  Tag tag;                ///< Assign / Unassign / FlushTag
  u64 iova = 0, size = 0, phys = 0;
  std::uint16_t sid = 0;  ///< Attach
};

struct Binding {
  std::uint16_t sid;
  unsigned did;
  u64 pasid;
  auto operator<=>(const Binding &) const = default;
};

class FtraceImport {
 public:
  FtraceImport(const std::string & file, const ImportOptions & opt) : file_(file), opt_(opt) {}

  ojson run(const std::string & text)
  {
    read(text);
    if (items_.empty())
      fail(file_, 1, "no intel_iommu:qi_submit, intel_iommu:cache_tag_* or iommu:map/unmap event in the trace "
                     "(enable them under /sys/kernel/tracing/events, or with trace-cmd record -e)");
    declare();
    emit();
    // A trace where nothing is taken away cannot show a stale translation: refused, never SAFE.
    if (!took_away_)
      fail(file_, items_.back().ev.line,
           "nothing in the trace takes a translation away (no iommu:unmap, no cache_tag_unassign), so nothing "
           "could be stale: record iommu:unmap (and iommu:map) with the intel_iommu events");
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
  std::map<std::string, std::vector<std::size_t>> ignored_;  ///< what was read but is no step -> lines
  std::map<std::string, std::size_t> open_batch_;            ///< "task@cpu" -> its qi_submit_sync call
  std::string iommu_;
  unsigned iova_bits_ = 48;
  bool pfsid_ = false;
  bool took_away_ = false;

  void ignore(const std::string & what, const Event & e) { ignored_[what].push_back(e.line); }
  static std::string who(const Event & e) { return e.task + "@" + std::to_string(e.cpu); }

  // --- reading ----------------------------------------------------------------------------

  void read(const std::string & text)
  {
    std::istringstream in(text);
    std::string line;
    std::size_t n = 0;
    while (std::getline(in, line)) {
      ++n;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (n == 1 && line.rfind("\xef\xbb\xbf", 0) == 0) line = line.substr(3);  // a UTF-8 byte-order mark
      const std::size_t a = line.find_first_not_of(" \t");
      if (a == std::string::npos) continue;
      const std::string t = line.substr(a);
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
    // A call whose lines other tasks' events interleave is submitted at its last line: its
    // invalidations come no earlier than the trace shows them all sent (later can only add
    // reports), and the events between happen before them.
    auto at = [](const Item & it) { return it.kind == Item::Batch ? it.batch.back().ev.line : it.ev.line; };
    std::stable_sort(items_.begin(), items_.end(), [&](const Item & a, const Item & b) { return at(a) < at(b); });
    open_batch_.clear();
  }

  /// Whether an event of remapping unit `unit` is read (--iommu), and the one unit otherwise.
  bool this_unit(const std::string & unit, const Event & e)
  {
    if (!opt_.iommu.empty()) return unit == opt_.iommu;
    if (iommu_.empty()) iommu_ = unit;
    if (unit != iommu_)
      fail(file_, e.line, "a second remapping unit (" + unit + " after " + iommu_ +
                              "): a scenario models one invalidation queue; pass --iommu " + iommu_ + " (or " + unit +
                              ") to read one unit's events with every iommu:* event");
    return true;
  }

  void event(const Event & e)
  {
    // Any other event of a task ends its qi_submit_sync call: nothing else is traced inside one.
    if (e.name != "qi_submit") open_batch_.erase(who(e));
    if (e.name == "qi_submit") return qi(e);
    if (e.name == "cache_tag_assign" || e.name == "cache_tag_unassign" || e.name == "cache_tag_flush_all" ||
        e.name == "cache_tag_flush_range" || e.name == "cache_tag_flush_range_np") {
      const bool range = e.name.rfind("cache_tag_flush_range", 0) == 0;
      Tag t = range ? parse_flush_range(file_, e) : parse_tag(file_, e);
      if (!this_unit(t.iommu, e)) return ignore("events of other remapping units", e);
      if (t.type.rfind("nesting_", 0) == 0)
        fail(file_, e.line, "a nested domain's cache tag: nested translation is imported from iommufd recordings "
                            "(spec/docs/traces.md), not from ftrace");
      Item it{e.name == "cache_tag_assign" ? Item::Assign : e.name == "cache_tag_unassign" ? Item::Unassign : Item::FlushTag,
              e, {}, t, 0, 0, 0, 0};
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
      if (it.size == 0) return ignore("unmaps of 0 bytes (they change nothing)", e);
      if (it.iova % 4096 || it.size % 4096 || (e.name == "map" && it.phys % 4096))
        fail(file_, e.line, e.name + ": address or size is not a multiple of 4 KiB");
      if (it.iova + it.size < it.iova || it.iova + it.size - 1 >= (u64{1} << 57))
        fail(file_, e.line, e.name + ": the range does not fit in 57 bits of IOVA");
      if (it.size > kMaxRange)
        fail(file_, e.line, e.name + ": " + hex(it.size) + " bytes in one event is more than nostale checks (" +
                                hex(kMaxRange) + "); cut the workload's buffers smaller");
      if (it.iova + it.size - 1 >= (u64{1} << 48)) iova_bits_ = 57;
      return items_.push_back(it);
    }
    if (e.name == "attach_device_to_domain") {
      const std::size_t k = e.args.find("device=");
      std::uint16_t sid;
      if (k == std::string::npos || !parse_bdf(e.args.substr(k + 7), sid))
        fail(file_, e.line, "attach_device_to_domain: expected 'IOMMU: device=DDDD:BB:DD.F'");
      Item it{Item::Attach, e, {}, {}, 0, 0, 0, sid};
      return items_.push_back(it);
    }
    // The rest carry no invalidation and no mapping (TRACE-4, TRACE-6, other tracers' events).
    ignore(e.name, e);
  }

  void qi(const Event & e)
  {
    std::vector<std::string> w = words(e.args);
    if (w.size() != 6 || w[1].back() != ':')
      fail(file_, e.line, "qi_submit: expected 'TYPE IOMMU: QW0 QW1 QW2 QW3', got '" + e.args + "'");
    if (!this_unit(w[1].substr(0, w[1].size() - 1), e)) return ignore("events of other remapping units", e);
    Qi q;
    q.ev = e;
    for (std::size_t i = 2; i < 6; ++i) {
      u64 v;
      if (!parse_u64(w[i], v)) fail(file_, e.line, "qi_submit: '" + w[i] + "' is not a 64-bit word");
      q.raw.push_back(v);
    }
    // qw2 and qw3 are zero in a 128-bit queue too: the 256-bit form reads the same (TRACE-1).
    std::vector<u64> raw = q.raw;
    if (raw[2] == 0 && raw[3] == 0) raw.resize(2);
    try {
      q.d = vtd::decode_raw(raw, "");
    } catch (const ScenarioError & x) {
      fail(file_, e.line, std::string("qi_submit: ") + x.what());
    }
    // The label is __print_symbolic(qw0 & 0xf) of the type (TRACE-1).
    if (w[0] != vtd::type_name(q.d.type()))
      fail(file_, e.line, "qi_submit: the label '" + w[0] + "' does not match the descriptor's type (" +
                              vtd::type_name(q.d.type()) + ")");
    if (auto * x = std::get_if<vtd::DevTlbInv>(&q.d.body); x && x->pfsid) pfsid_ = true;
    if (auto * x = std::get_if<vtd::PDevTlbInv>(&q.d.body); x && x->pfsid) pfsid_ = true;
    // qi_submit_sync traces a call's descriptors in one loop, under a spinlock, on one CPU.
    // Other tasks' events may come between them in the merged trace; they do not split it.
    auto open = open_batch_.find(who(e));
    if (open != open_batch_.end()) {
      Item & call = items_[open->second];
      const bool gap = opt_.batch_gap_us > 0 && (e.ts - call.batch.back().ev.ts) * 1e6 > opt_.batch_gap_us;
      if (!gap) {
        call.batch.push_back(q);
        return;
      }
    }
    open_batch_[who(e)] = items_.size();
    items_.push_back(Item{Item::Batch, e, {q}, {}, 0, 0, 0, 0});
  }

  // --- who is attached where --------------------------------------------------------------

  std::set<unsigned> dma_domains_;                 ///< dids the cache tags name
  std::map<Binding, std::size_t> first_assign_;    ///< binding -> item of its first assign
  std::map<Binding, std::size_t> first_seen_;      ///< binding -> item of its first evidence
  std::set<std::uint16_t> assigned_, devtlb_;      ///< devices with an iotlb assign / devtlb evidence
  std::map<unsigned, std::string> pgtt_;           ///< did -> "first" | "second"
  unsigned map_domain_ = 0;                        ///< the domain maps and unmaps are on

  void declare()
  {
    std::set<unsigned> flushed;
    for (std::size_t i = 0; i < items_.size(); ++i) {
      const Item & it = items_[i];
      if (it.kind == Item::Assign || it.kind == Item::Unassign || it.kind == Item::FlushTag) {
        const Binding x{it.tag.sid, it.tag.did, it.tag.pasid};
        dma_domains_.insert(x.did);
        first_seen_.try_emplace(x, i);
        if (it.kind == Item::Assign) first_assign_.try_emplace(x, i);
        if (it.kind == Item::Assign && it.tag.type == "iotlb") assigned_.insert(x.sid);
        if (it.tag.type == "devtlb") devtlb_.insert(x.sid);
      }
      if (it.kind == Item::Batch)
        for (const Qi & q : it.batch) {
          if (unsigned d = flushed_did(q.d)) {
            flushed.insert(d);
            pgtt_.try_emplace(d, std::holds_alternative<vtd::PIotlbInv>(q.d.body) ? "first" : "second");
          }
          if (auto * x = std::get_if<vtd::DevTlbInv>(&q.d.body)) devtlb_.insert(x->sid);
          if (auto * x = std::get_if<vtd::PDevTlbInv>(&q.d.body)) devtlb_.insert(x->sid);
        }
    }
    const bool maps = std::any_of(items_.begin(), items_.end(), [](const Item & it) {
      return it.kind == Item::Map || it.kind == Item::Unmap;
    });
    // iommu:map/unmap name no domain (TRACE-5): the one the cache tags name, or --domain.
    if (opt_.domain) {
      map_domain_ = *opt_.domain;
      dma_domains_.insert(map_domain_);
      b_.assume("iommu:map and iommu:unmap are on domain id " + std::to_string(map_domain_) + " (--domain)");
    } else if (maps && dma_domains_.size() == 1) {
      map_domain_ = *dma_domains_.begin();
      b_.assume("iommu:map and iommu:unmap name no domain: they are on domain id " + std::to_string(map_domain_) +
                ", the one the cache tags name");
    } else if (maps) {
      std::string ids;
      for (unsigned d : dma_domains_) ids += (ids.empty() ? "" : ", ") + std::to_string(d);
      const Item & first = *std::find_if(items_.begin(), items_.end(), [](const Item & it) {
        return it.kind == Item::Map || it.kind == Item::Unmap;
      });
      fail(file_, first.ev.line,
           first.ev.name + ": iommu:map/unmap name no domain, and " +
               (dma_domains_.empty() ? std::string("no cache_tag event names one (enable intel_iommu:cache_tag_*; "
                                                  "kernels before v6.10 have none)")
                                     : "the cache tags name several (domain ids " + ids + ")") +
               ": pass --domain DID to say which domain they are on");
    }
    for (unsigned d : dma_domains_) b_.domain(d);
    for (unsigned d : flushed) b_.domain(d);  // a flush of another domain id is still a valid descriptor
    for (unsigned d : dma_domains_)
      if (!pgtt_.count(d)) pgtt_[d] = "first";
    for (unsigned d : dma_domains_)
      b_.assume("domain id " + std::to_string(d) + " translates " + pgtt_[d] + "-stage: " +
                (flushed.count(d) ? std::string("its first IOTLB flush is ") +
                                        (pgtt_[d] == "first" ? "PASID-based (p_iotlb_inv)" : "DID-based (iotlb_inv)") +
                                        ", as the driver flushes a domain of that stage; a flush of the wrong kind "
                                        "for the domain's real stage is therefore not caught"
                                  : std::string("it is never flushed by an IOTLB descriptor, and first-stage is the "
                                                "Linux default where ECAP.FLTS is set")));
    if (pfsid_) b_.caps("dit", true);
  }

  // --- steps ------------------------------------------------------------------------------

  std::map<Binding, bool> attached_;
  u64 next_frame_ = 0x7e0000000000;         ///< frames the importer makes up: far from pt_pool
  std::map<std::size_t, std::size_t> call_start_;  ///< item of a call -> its first step
  std::map<std::size_t, std::vector<std::pair<std::string, std::size_t>>> check_after_;  ///< item -> checks after it

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
    devices();
    preamble();
    place_checks();
    for (std::size_t i = 0; i < items_.size(); ++i) {
      const Item & it = items_[i];
      switch (it.kind) {
        case Item::Batch:
          call_start_[i] = b_.size();
          for (const Qi & q : it.batch) {
            ojson raw = ojson::array();
            for (u64 w : q.raw) raw.push_back(hex(w));
            if (q.raw[2] == 0 && q.raw[3] == 0) raw.erase(raw.begin() + 2, raw.end());
            b_.step({{"op", "descriptor"}, {"raw", raw},
                     {"note", "trace line " + std::to_string(q.ev.line) + ": qi_submit " + vtd::type_name(q.d.type())}},
                    q.ev.line);
          }
          b_.step({{"op", "descriptor"},
                   {"desc", {{"type", "inv_wait"}, {"sw", true}, {"status_data", 1}, {"status_addr", "0x1000"}}},
                   {"note", "the wait qi_submit_sync appends to the call ending at line " +
                                std::to_string(it.batch.back().ev.line) + " and polls (not traced, TRACE-1)"}},
                  0);
          break;
        case Item::Map:
          b_.step({{"op", "map"}, {"domain", b_.domain(map_domain_)}, {"iova", hex(it.iova)}, {"size", hex(it.size)},
                   {"phys", hex(it.phys)}, {"perm", "rw"},
                   {"note", "trace line " + std::to_string(it.ev.line) + ": iommu:map"}},
                  it.ev.line);
          break;
        case Item::Unmap:
          b_.step({{"op", "unmap"}, {"domain", b_.domain(map_domain_)}, {"iova", hex(it.iova)}, {"size", hex(it.size)},
                   {"note", "trace line " + std::to_string(it.ev.line) + ": iommu:unmap"}},
                  it.ev.line);
          took_away_ = true;
          break;
        case Item::Assign: {
          const Binding x{it.tag.sid, it.tag.did, it.tag.pasid};
          if (attached_[x]) break;
          ojson s = attach(x);
          s["note"] = "trace line " + std::to_string(it.ev.line) + ": cache_tag_assign " + it.tag.type +
                      " (the PASID-table entry is written with it, dmar_domain_attach_device)";
          b_.step(s, it.ev.line);
          attached_[x] = true;
          break;
        }
        case Item::Unassign:
          unassign(i);
          break;
        case Item::FlushTag:
          ignore("cache_tag_flush_* (what the driver meant to flush; the qi_submit lines are what it sent)", it.ev);
          break;
        case Item::Attach:
          ignore("attach_device_to_domain (the cache tags name the domain)", it.ev);
          break;
      }
      // A check point carries the line of the event it follows (SARIF locations).
      for (const auto & [note, line] : check_after_[i]) b_.step({{"op", "check"}, {"note", note}}, line);
    }
    std::string ign;
    for (const auto & [what, lines] : ignored_) {
      ign += (ign.empty() ? "" : "; ") + what + " x" + std::to_string(lines.size()) + " (line" +
             (lines.size() > 1 ? "s " : " ") + std::to_string(lines.front());
      if (lines.size() > 1) ign += (lines.size() > 2 ? ", ..., " : ", ") + std::to_string(lines.back());
      ign += ")";
    }
    if (!ign.empty()) b_.assume("events read but not turned into steps: " + ign);
  }

  /// cache_tag_unassign is traced before --tag->users (cache_tag_unassign in cache.c), so
  /// `ref 1` is the last user of the iotlb tag: the binding ends. intel_pasid_tear_down_entry
  /// clears the entry, then invalidates the PASID cache, then the IOTLB and device TLB: when
  /// the calls just before the unassign (the same task's, with nothing else between) hold a
  /// pc_inv of the binding, the entry went before the first such call.
  void unassign(std::size_t i)
  {
    const Item & it = items_[i];
    const Binding x{it.tag.sid, it.tag.did, it.tag.pasid};
    if (it.tag.type != "iotlb" || it.tag.ref != 1 || !attached_[x]) return;
    // The teardown's calls: the task's calls just before the unassign, other tasks' events
    // between them skipped, any other event of the task (a cache-tag flush included) ending
    // them, and none more than kTeardownUs before it.
    std::optional<std::size_t> before;
    for (std::size_t k = i; k-- > 0;) {
      const Item & c = items_[k];
      if (c.ev.task != it.ev.task) continue;
      if (c.kind != Item::Batch || (it.ev.ts - c.ev.ts) * 1e6 > kTeardownUs) break;
      for (const Qi & q : c.batch)
        if (auto * p = std::get_if<vtd::PcInv>(&q.d.body); p && p->did == x.did && p->pasid == x.pasid)
          before = call_start_.at(k);
    }
    ojson s = {{"op", "detach"},
               {"device", b_.device(x.sid).name},
               {"pasid", x.pasid},
               {"note", "trace line " + std::to_string(it.ev.line) + ": cache_tag_unassign iotlb ref 1" +
                            (before ? " (the entry was cleared before the pc_inv that follows it, "
                                      "intel_pasid_tear_down_entry)"
                                    : "")}};
    if (before) {
      b_.insert(*before, s, it.ev.line);
      for (auto & [k, start] : call_start_)
        if (start >= *before && k != i) ++start;
    } else {
      b_.step(s, it.ev.line);
    }
    attached_[x] = false;
    took_away_ = true;
  }

  /// Which devices have a device TLB: a devtlb tag or descriptor says yes; an iotlb assign
  /// without a devtlb one says no (cache_tag_assign_domain assigns both together); nothing
  /// says: --ats-unknown (yes by default: it can only add reports).
  void devices()
  {
    std::set<std::uint16_t> all;
    for (const auto & [x, i] : first_seen_) all.insert(x.sid);
    for (const Item & it : items_)
      if (it.kind == Item::Attach) all.insert(it.sid);
    for (std::uint16_t s : devtlb_) all.insert(s);
    for (std::uint16_t s : all) {
      Device & d = b_.device(s);
      if (devtlb_.count(s)) d.ats = true;
      else if (assigned_.count(s)) d.ats = false;
      else {
        d.ats = opt_.ats_unknown;
        b_.assume("device " + d.name + ": the trace does not show whether it has ATS (no cache_tag_assign of it): " +
                  (opt_.ats_unknown ? "taken as with a device TLB (--ats-unknown no says otherwise)"
                                    : "taken as without a device TLB (--ats-unknown no)"));
      }
    }
  }

  void preamble()
  {
    // A binding the trace shows in use before any assign of it was attached before it began.
    for (const auto & [x, seen] : first_seen_) {
      auto a = first_assign_.find(x);
      if (a != first_assign_.end() && a->second <= seen) continue;
      ojson s = attach(x);
      s["note"] = "attached before the trace began (line " + std::to_string(items_[seen].ev.line) + " shows it)";
      b_.step(s, 0);
      attached_[x] = true;
      b_.assume("device " + b_.device(x.sid).name + " PASID " + std::to_string(x.pasid) + " was attached to domain id " +
                std::to_string(x.did) + " before the trace began (line " + std::to_string(items_[seen].ev.line) +
                " shows it before any cache_tag_assign of it)");
    }
    // A device the trace names without a cache tag (an attach event, a device-TLB flush).
    std::set<std::uint16_t> bound;
    for (const auto & [x, i] : first_seen_) bound.insert(x.sid);
    for (const auto & [sid, d] : b_.devices()) {
      if (bound.count(sid)) continue;
      if (!map_domain_)
        fail(file_, 1, "device " + d.name + " is named in the trace, but no cache tag says which domain it is on: "
                       "enable intel_iommu:cache_tag_*, or pass --domain DID");
      const Binding x{sid, map_domain_, 0};
      ojson s = attach(x);
      s["note"] = "attached before the trace began (assumed: no cache tag names its domain)";
      b_.step(s, 0);
      attached_[x] = true;
      b_.assume("device " + d.name + " is named in the trace but no cache tag places it: it is taken as attached "
                "at PASID 0 to domain id " + std::to_string(map_domain_) + " before the trace began");
    }
    // Nothing on the maps' domain: a device of unknown ATS there, or nothing could be stale.
    // (A device assigned only after the first map or unmap does not count: nothing was
    // attached while the unmap's entries could be cached.)
    std::size_t first_mu = items_.size();
    for (std::size_t i = 0; i < items_.size() && first_mu == items_.size(); ++i)
      if (items_[i].kind == Item::Map || items_[i].kind == Item::Unmap) first_mu = i;
    auto on_map_domain = [&](const auto & a) { return a.first.did == map_domain_; };
    auto assigned_early = [&](const auto & a) { return a.first.did == map_domain_ && a.second < first_mu; };
    if (map_domain_ && std::none_of(attached_.begin(), attached_.end(), on_map_domain) &&
        std::none_of(first_assign_.begin(), first_assign_.end(), assigned_early)) {
      std::uint16_t sid = 0xff00;
      while (b_.devices().count(sid)) ++sid;
      b_.device(sid).ats = opt_.ats_unknown;
      const Binding x{sid, map_domain_, 0};
      ojson s = attach(x);
      s["note"] = "a device the trace does not name, attached before it began";
      b_.step(s, 0);
      attached_[x] = true;
      b_.assume("domain id " + std::to_string(map_domain_) + " maps and unmaps but the trace names no device on it: "
                "device " + b_.device(sid).name + (opt_.ats_unknown ? " (with a device TLB)" : " (no device TLB)") +
                " is taken as attached at PASID 0 before the trace began");
    }
    // Ranges unmapped that no earlier traced map wrote were mapped before the trace began.
    Ranges written;
    for (const Item & it : items_) {
      if (it.kind == Item::Map) written.add(it.iova, it.iova + it.size);
      if (it.kind != Item::Unmap) continue;
      for (auto [lo, hi] : written.gaps(it.iova, it.iova + it.size)) {
        b_.step({{"op", "map"}, {"domain", b_.domain(map_domain_)}, {"iova", hex(lo)}, {"size", hex(hi - lo)},
                 {"phys", hex(next_frame_)}, {"perm", "rw"},
                 {"note", "mapped before the trace began (line " + std::to_string(it.ev.line) + " unmaps it)"}},
                0);
        b_.assume("iova " + hex(lo) + " size " + hex(hi - lo) + " on domain id " + std::to_string(map_domain_) +
                  " was mapped before the trace began (line " + std::to_string(it.ev.line) +
                  " unmaps it), read-write, to frames at " + hex(next_frame_) + " (any frame would do)");
        next_frame_ += hi - lo;
        written.add(lo, hi);
      }
    }
    // A domain detached with nothing mapped in the trace: a page it translated, or its
    // teardown's flushes would have nothing to miss.
    std::set<unsigned> torn;
    for (const Item & it : items_)
      if (it.kind == Item::Unassign && it.tag.type == "iotlb" && it.tag.ref == 1) torn.insert(it.tag.did);
    const bool maps = std::any_of(items_.begin(), items_.end(), [](const Item & it) { return it.kind == Item::Map; });
    for (unsigned d : torn) {
      if (d == map_domain_ && (maps || std::any_of(items_.begin(), items_.end(),
                                                   [](const Item & it) { return it.kind == Item::Unmap; })))
        continue;
      b_.step({{"op", "map"}, {"domain", b_.domain(d)}, {"iova", "0x10000000"}, {"size", "0x1000"},
               {"phys", hex(next_frame_)}, {"perm", "rw"},
               {"note", "a page the domain translated (assumed: the trace shows none, and it is detached)"}},
              0);
      b_.assume("domain id " + std::to_string(d) + " is detached but the trace maps nothing on it: a page at iova "
                "0x10000000 is taken as mapped (read-write, frame " + hex(next_frame_) + "), so that its teardown's "
                "flushes have entries to remove");
      next_frame_ += 4096;
    }
    b_.assume("page sizes: every map is 4 KiB pages (iommu:map does not say which page sizes the driver used)");
    b_.assume("permissions: every map is read-write (iommu:map does not print them)");
    b_.assume("completion: pending invalidations complete in any order before a wait (VT-d's relaxed reading, "
              "OPEN-1); pass --completion in-order to check under Linux v6.12's in-order reading");
    b_.assume("each qi_submit_sync call ends with the wait descriptor it appends, which the tracepoint does not "
              "print (TRACE-1). A call is a run of one task's qi_submit lines on one CPU with no other event of that "
              "task between them" +
              std::string(opt_.batch_gap_us > 0 ? " and no gap above " + std::to_string(opt_.batch_gap_us) +
                                                      " us (--batch-gap: a split adds a wait, which can hide an "
                                                      "ordering bug)"
                                                : "") +
              "; two calls traced back to back read as one, which drops a wait and can only add reports");
    b_.assume("the wait appended by qi_submit_sync carries no page-request drain (QI_OPT_WAIT_DRAIN is not traced)");
    b_.assume("page-table pages: unmaps free no table page (the trace does not show the gather freelist), so "
              "paging-structure caches are checked against unmapped leaves only");
    b_.assume("the clearing of a PASID-table entry is not traced: a detach is placed before its teardown's pc_inv "
              "(its task's calls within " + std::to_string(static_cast<int>(kTeardownUs)) + " us before the "
              "unassign), so a pc_inv sent before the entry is cleared is not caught");
    b_.assume("check points are the unmapping task's and cover every address: where two tasks unmap and flush "
              "at once, one task's check point may see the other's flush still pending (a report, not a miss)");
  }

  /// Strict invalidation: iommu_unmap traces the unmap in __iommu_unmap, then flushes in
  /// iommu_iotlb_sync, in the same task (TRACE-5). So an unmap's flush is its own task's calls
  /// that follow it, with the task's further unmaps of one gather (VFIO's iommu_unmap_fast)
  /// and cache-tag flush events between them; the check point is after the last of them, or
  /// after the last unmap when no call follows. Another task's flush never counts, nor does a
  /// later teardown's (a call with a pc_inv or cc_inv), and a cache-tag flush event followed
  /// by another unmap means the first unmaps' sync sent nothing.
  void place_checks()
  {
    for (std::size_t i = 0; i < items_.size(); ++i) {
      if (items_[i].kind != Item::Unmap) continue;
      const std::string & task = items_[i].ev.task;
      // Only the first unmap of a run places the check.
      std::optional<std::size_t> prev = task_item(i, task, -1);
      if (prev && items_[*prev].kind == Item::Unmap) continue;
      std::size_t last = i, last_unmap = i;
      bool call = false;
      for (std::optional<std::size_t> k = task_item(i, task, +1); k; k = task_item(*k, task, +1)) {
        const Item & it = items_[*k];
        if (it.kind == Item::Unmap && !call) {
          last = last_unmap = *k;
        } else if (it.kind == Item::Batch && !teardown(it)) {
          last = *k;
          call = true;
        } else if (it.kind == Item::FlushTag) {
          std::optional<std::size_t> next = task_item(*k, task, +1);
          if (!call && next && items_[*next].kind == Item::Unmap) {
            last = *k;
            break;
          }
        } else {
          break;
        }
      }
      const std::string lines = std::to_string(items_[i].ev.line) +
                                (last_unmap != i ? " to " + std::to_string(items_[last_unmap].ev.line) : std::string());
      const std::size_t at = call ? items_[last].batch.back().ev.line : items_[last].ev.line;
      check_after_[last].push_back(
          {"iommu_unmap of line" + std::string(last_unmap != i ? "s " : " ") + lines + " returns " +
               (call ? "after its task's flush (line " + std::to_string(at) + ")"
                     : std::string("with no flush call by its task")) +
               ": the range may be reused from here (strict mode)",
           at});
    }
  }

  /// The item of `task` after (dir +1) or before (-1) item `i`, skipping other tasks' (their
  /// events interleave in the merged trace) and, going back, cache-tag flush events.
  std::optional<std::size_t> task_item(std::size_t i, const std::string & task, int dir) const
  {
    for (std::size_t k = i; dir > 0 ? k + 1 < items_.size() : k > 0;) {
      k = dir > 0 ? k + 1 : k - 1;
      if (items_[k].ev.task != task || (dir < 0 && items_[k].kind == Item::FlushTag)) continue;
      return k;
    }
    return std::nullopt;
  }

  /// A call of intel_pasid_tear_down_entry or of a context teardown, not of an unmap's sync.
  static bool teardown(const Item & call)
  {
    return std::any_of(call.batch.begin(), call.batch.end(), [](const Qi & q) {
      return std::holds_alternative<vtd::PcInv>(q.d.body) || std::holds_alternative<vtd::CcInv>(q.d.body);
    });
  }
};

}  // namespace

ojson import_linux_ftrace(const std::string & file, const std::string & text, const ImportOptions & opt)
{
  return FtraceImport(file, opt).run(text);
}

}  // namespace nostale::importer
