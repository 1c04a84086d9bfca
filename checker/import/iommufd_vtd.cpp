// A recording of the user-space invalidations of one nested VT-d domain (iommufd
// IOMMU_HWPT_INVALIDATE with struct iommu_hwpt_vtd_s1_invalidate), each with the descriptors the
// kernel submitted for it (intel_nested_cache_invalidate_user -> cache_tag_flush_range: one
// qi_submit_sync call per request), as a vtd scenario. The guest's first-stage writes and
// requests and the kernel's translation of them are checked in one run. The JSON format is in
// spec/docs/traces.md.
#include <map>
#include <set>

#include "checker/import/importers.h"
#include "checker/scenario_loader.h"
#include "checker/strict_json.h"
#include "spec/model/errors.h"
#include "spec/profiles/api/json_fields.h"
#include "spec/profiles/vtd/descriptor.h"

namespace nostale::importer {

namespace {

using namespace json_fields;

constexpr u64 kAll = ~u64{0};            ///< npages U64_MAX with addr 0: every address (uapi)
constexpr unsigned kFlagLeaf = 1u << 0;  ///< IOMMU_VTD_INV_FLAGS_LEAF

std::string ptr(const std::string & base, std::size_t i) { return base + "/" + std::to_string(i); }

class IommufdImport {
 public:
  IommufdImport(const std::string & file) : file_(file) {}

  ojson run(const json & j)
  {
    only_keys(j, "", {"nostale_trace", "description", "expect", "parent", "nested", "devices", "events"});
    if (get_string(j["nostale_trace"], "/nostale_trace") != "iommufd-vtd")
      throw ScenarioError("/nostale_trace", "this importer reads \"iommufd-vtd\" recordings");
    if (j.contains("expect")) b_.expect(ojson::parse(j["expect"].dump()));
    const json & parent = need(j, "", "parent");
    only_keys(parent, "/parent", {"did", "maps"});
    parent_ = did(need(parent, "/parent", "did"), "/parent/did");
    const json & nested = need(j, "", "nested");
    only_keys(nested, "/nested", {"did"});
    nested_ = did(need(nested, "/nested", "did"), "/nested/did");
    if (parent_ == nested_) throw ScenarioError("/nested/did", "the nested domain and its parent have one domain id");
    b_.domain(parent_);
    b_.domain(nested_);
    if (parent.contains("maps")) {
      const json & maps = parent["maps"];
      if (!maps.is_array()) throw ScenarioError("/parent/maps", "expected an array of {iova, size, phys}");
      for (std::size_t i = 0; i < maps.size(); ++i) {
        const std::string p = ptr("/parent/maps", i);
        only_keys(maps[i], p, {"iova", "size", "phys"});
        map_step(parent_, get_u64(need(maps[i], p, "iova"), p + "/iova"), get_u64(need(maps[i], p, "size"), p + "/size"),
                 get_u64(need(maps[i], p, "phys"), p + "/phys"), p, "the VMM's second stage (nesting parent)");
      }
    }
    attach_devices(need(j, "", "devices"));
    const json & ev = need(j, "", "events");
    if (!ev.is_array()) throw ScenarioError("/events", "expected an array of events");
    for (std::size_t i = 0; i < ev.size(); ++i) event(ev[i], ptr("/events", i));
    if (!ioctls_) throw ScenarioError("/events", "no IOMMU_HWPT_INVALIDATE is recorded: there is nothing to check");
    // Nothing taken out of the first stage: nothing could be stale, so no verdict.
    if (!unmapped_)
      throw ScenarioError("/events", "no first-stage page is unmapped (no guest unmap, and no request names a page "
                                     "to infer one from): there is nothing to check");
    assumptions();
    return b_.finish("iommufd IOMMU_HWPT_INVALIDATE requests of a nested VT-d domain",
                     j.contains("description") ? get_string(j["description"], "/description")
                                               : "IOMMU_HWPT_INVALIDATE requests of a nested VT-d domain and the "
                                                 "descriptors the kernel submitted for each",
                     file_, "iommufd-vtd", 48);
  }

 private:
  const std::string file_;
  VtdBuilder b_;
  unsigned parent_ = 0, nested_ = 0;
  struct Bound {
    std::uint16_t sid;
    u64 pasid;
    bool ats;
  };
  std::vector<Bound> devs_;
  Ranges s1_written_;            ///< first-stage IOVAs a guest map (or a premap) wrote
  Ranges parent_maps_;           ///< guest-physical addresses the parent maps
  Ranges s1_now_;                ///< first-stage IOVAs mapped now
  Ranges changed_;               ///< first-stage IOVAs the guest unmapped since the last ioctl
  bool guest_events_ = false;
  u64 next_gpa_ = 0x40000000;    ///< guest-physical pages the importer makes up
  u64 next_frame_ = 0x7e0000000000;
  std::size_t inferred_ = 0, rejected_ = 0, ioctls_ = 0;
  bool unmapped_ = false;

  unsigned did(const json & v, const std::string & p)
  {
    u64 d = get_u64(v, p);
    if (d == 0 || d > 0xffff) throw ScenarioError(p, "a domain id is 1..65535");
    return static_cast<unsigned>(d);
  }

  /// One event's range: at most kMaxRange bytes, below 2^48.
  static void check_range(u64 iova, u64 size, const std::string & p)
  {
    if (size > kMaxRange || iova + size < iova || iova + size > (u64{1} << 48))
      throw ScenarioError(p + "/size", "the range is larger than nostale checks in one event (" + hex(kMaxRange) +
                                           ") or runs past 2^48");
  }

  void map_step(unsigned d, u64 iova, u64 size, u64 phys, const std::string & p, const std::string & note)
  {
    if (size == 0 || iova % 4096 || size % 4096 || phys % 4096)
      throw ScenarioError(p, "iova, size and phys are non-zero multiples of 4 KiB");
    check_range(iova, size, p);
    if (d == parent_) parent_maps_.add(iova, iova + size);
    if (d == nested_)
      // A guest-physical page the parent does not map: the VMM mapped it before (any frame).
      for (auto [lo, hi] : parent_maps_.gaps(phys, phys + size)) {
        map_step(parent_, lo, hi - lo, next_frame_, p, "the parent maps the guest-physical pages (assumed)");
        b_.assume(p + ": guest-physical " + hex(lo) + " size " + hex(hi - lo) + " is not under /parent/maps: the "
                  "parent is taken to map it, to frames at " + hex(next_frame_));
        next_frame_ += hi - lo;
      }
    b_.step({{"op", "map"}, {"domain", b_.domain(d)}, {"iova", hex(iova)}, {"size", hex(size)}, {"phys", hex(phys)},
             {"perm", "rw"}, {"note", p + ": " + note}},
            0);
  }

  void attach_devices(const json & d)
  {
    if (!d.is_array() || d.empty()) throw ScenarioError("/devices", "expected a non-empty array of {sid, pasid, ats}");
    for (std::size_t i = 0; i < d.size(); ++i) {
      const std::string p = ptr("/devices", i);
      only_keys(d[i], p, {"sid", "pasid", "ats"});
      u64 sid = get_u64(need(d[i], p, "sid"), p + "/sid");
      if (sid > 0xffff) throw ScenarioError(p + "/sid", "a requester id is 16 bits");
      u64 pasid = get_u64(d[i], p, "pasid", 0);
      if (pasid >= (u64{1} << 20)) throw ScenarioError(p + "/pasid", "a PASID is 20 bits");
      Bound x{static_cast<std::uint16_t>(sid), pasid, get_bool(d[i], p, "ats", false)};
      b_.device(x.sid).ats = b_.device(x.sid).ats || x.ats;
      devs_.push_back(x);
      b_.step({{"op", "attach"}, {"device", b_.device(x.sid).name}, {"pasid", pasid}, {"domain", b_.domain(nested_)},
               {"pgtt", "nested"}, {"parent", b_.domain(parent_)},
               {"note", p + ": intel_nested_attach_dev (cache tags of the nested domain: IOTLB, and DEVTLB with ATS)"}},
              0);
    }
  }

  void event(const json & e, const std::string & p)
  {
    if (!e.is_object()) throw ScenarioError(p, "expected an object");
    if (e.contains("guest")) return guest(e, p);
    if (e.contains("ioctl")) return ioctl(e, p);
    throw ScenarioError(p, "an event has \"guest\" (a first-stage write) or \"ioctl\" (IOMMU_HWPT_INVALIDATE)");
  }

  void guest(const json & e, const std::string & p)
  {
    guest_events_ = true;
    const std::string what = get_string(e["guest"], p + "/guest");
    if (what == "map") {
      only_keys(e, p, {"guest", "iova", "size", "phys"});
      u64 iova = get_u64(need(e, p, "iova"), p + "/iova"), size = get_u64(need(e, p, "size"), p + "/size");
      map_step(nested_, iova, size, get_u64(need(e, p, "phys"), p + "/phys"), p,
               "the guest writes its first-stage table (IOVA -> guest-physical)");
      s1_written_.add(iova, iova + size);
      s1_now_.add(iova, iova + size);
    } else if (what == "unmap") {
      only_keys(e, p, {"guest", "iova", "size"});
      u64 iova = get_u64(need(e, p, "iova"), p + "/iova"), size = get_u64(need(e, p, "size"), p + "/size");
      if (size == 0 || iova % 4096 || size % 4096) throw ScenarioError(p, "iova and size are non-zero multiples of 4 KiB");
      check_range(iova, size, p);
      // Pages the guest unmaps that no recorded map wrote were mapped before the recording.
      for (auto [lo, hi] : s1_written_.gaps(iova, iova + size)) {
        map_step(nested_, lo, hi - lo, next_gpa_, p, "mapped before the recording began (assumed: it unmaps it)");
        b_.assume(p + ": first-stage " + hex(lo) + " size " + hex(hi - lo) + " was mapped before the recording "
                  "began (this event unmaps it), to guest-physical " + hex(next_gpa_));
        next_gpa_ += hi - lo;
        s1_written_.add(lo, hi);
      }
      b_.step({{"op", "unmap"}, {"domain", b_.domain(nested_)}, {"iova", hex(iova)}, {"size", hex(size)},
               {"note", p + ": the guest clears its first-stage PTEs"}},
              0);
      unmapped_ = true;
      s1_now_.remove(iova, iova + size);
      changed_.add(iova, iova + size);
    } else {
      throw ScenarioError(p + "/guest", "a guest event is \"map\" or \"unmap\"");
    }
  }

  void ioctl(const json & e, const std::string & p)
  {
    only_keys(e, p, {"ioctl", "data_type", "requests"});
    if (get_string(e["ioctl"], p + "/ioctl") != "IOMMU_HWPT_INVALIDATE")
      throw ScenarioError(p + "/ioctl", "the ioctl recorded is IOMMU_HWPT_INVALIDATE");
    if (e.contains("data_type") &&
        get_string(e["data_type"], p + "/data_type") != "IOMMU_HWPT_INVALIDATE_DATA_VTD_S1")
      throw ScenarioError(p + "/data_type", "a VT-d nested domain takes IOMMU_HWPT_INVALIDATE_DATA_VTD_S1");
    ++ioctls_;
    const json & reqs = need(e, p, "requests");
    if (!reqs.is_array()) throw ScenarioError(p + "/requests", "expected an array of iommu_hwpt_vtd_s1_invalidate");
    for (std::size_t i = 0; i < reqs.size(); ++i) request(reqs[i], ptr(p + "/requests", i));
    b_.step({{"op", "check"}, {"note", p + ": IOMMU_HWPT_INVALIDATE returns to the VMM: the guest may reuse its pages"}}, 0);
    changed_ = Ranges();
  }

  void request(const json & r, const std::string & p)
  {
    only_keys(r, p, {"addr", "npages", "flags", "kernel"});
    const u64 addr = get_u64(need(r, p, "addr"), p + "/addr");
    const u64 npages = get_u64(need(r, p, "npages"), p + "/npages");
    const unsigned flags = get_flags(r.contains("flags") ? r["flags"] : json::array(), p + "/flags", {"IOMMU_VTD_INV_FLAGS_LEAF"});
    const json & kernel = need(r, p, "kernel");
    if (!kernel.is_array()) throw ScenarioError(p + "/kernel", "expected the descriptors the kernel submitted");
    const bool all = npages == kAll;
    // intel_nested_cache_invalidate_user: -EINVAL for an unaligned addr, or U64_MAX pages not from 0.
    const bool rejected = addr % 4096 || (all && addr != 0);
    std::string what = all ? "every address" : hex(addr) + " +" + std::to_string(npages) + " pages";
    if (!all && npages && (npages > (u64{1} << 36) || addr + npages * 4096 > (u64{1} << 48)))
      throw ScenarioError(p + "/npages", "the range runs past 2^48");
    // The guest asks because it changed something: a request the kernel rejects stays stale.
    infer_change(addr & ~u64{0xfff}, npages, all, p);
    if (rejected) {
      if (!kernel.empty())
        throw ScenarioError(p + "/kernel", "the kernel rejects this request (-EINVAL) and submits nothing for it");
      ++rejected_;
      b_.step({{"op", "check"},
               {"note", p + ": request " + what + " is rejected with -EINVAL (unaligned addr, or all pages not from "
                        "0): nothing is invalidated"}},
              0);
      return;
    }
    // One qi_submit_sync call (v6.12+: the request's whole batch), or a list of calls (earlier
    // kernels flushed each cache tag with its own call).
    const bool calls = !kernel.empty() && kernel[0].is_array();
    if (kernel.empty()) return;  // the kernel submitted nothing for it
    for (std::size_t c = 0; c < (calls ? kernel.size() : 1); ++c) {
      const std::string cp = calls ? ptr(p + "/kernel", c) : p + "/kernel";
      const json & call = calls ? kernel[c] : kernel;
      if (!call.is_array() || call.empty())
        throw ScenarioError(cp, "expected the descriptors of one qi_submit_sync call (a non-empty array)");
      submit(call, cp, what, flags);
    }
  }

  /// One qi_submit_sync call: its descriptors, then the wait it appends (TRACE-1).
  void submit(const json & kernel, const std::string & p, const std::string & what, unsigned flags)
  {
    for (std::size_t k = 0; k < kernel.size(); ++k) {
      const std::string kp = ptr(p, k);
      vtd::Descriptor d;
      ojson step;
      if (kernel[k].is_object() && kernel[k].contains("raw")) {
        only_keys(kernel[k], kp, {"raw"});
        std::vector<u64> words;
        const json & raw = kernel[k]["raw"];
        if (!raw.is_array()) throw ScenarioError(kp + "/raw", "expected 2 or 4 64-bit words");
        for (std::size_t w = 0; w < raw.size(); ++w) words.push_back(get_u64(raw[w], ptr(kp + "/raw", w)));
        if (words.size() == 4 && words[2] == 0 && words[3] == 0) words.resize(2);
        d = vtd::decode_raw(words, kp + "/raw");
        ojson rw = ojson::array();
        for (u64 w : words) rw.push_back(hex(w));
        step = {{"op", "descriptor"}, {"raw", rw}};
      } else {
        d = vtd::decode_json(kernel[k], kp);
        step = {{"op", "descriptor"}, {"desc", ojson::parse(kernel[k].dump())}};
      }
      step["note"] = kp + ": the kernel's " + vtd::describe(d) + " for the guest's request " + what +
                     ((flags & kFlagLeaf) ? " (LEAF)" : "");
      b_.step(step, 0);
    }
    b_.step({{"op", "descriptor"},
             {"desc", {{"type", "inv_wait"}, {"sw", true}, {"status_data", 1}, {"status_addr", "0x1000"}}},
             {"note", p + ": the wait qi_submit_sync appends to the call (not traced, TRACE-1)"}},
            0);
  }

  /// The guest invalidates because it changed something: each page a request names that no
  /// recorded guest unmap changed since the last ioctl was mapped (from the start, if nothing
  /// mapped it) and is changed just before the request. It only adds reports: a correct
  /// kernel's descriptors cover every page of the request.
  void infer_change(u64 addr, u64 npages, bool all, const std::string & p)
  {
    if (npages == 0 && !all) {
      b_.assume(p + ": a request of 0 pages names nothing: no first-stage change is inferred from it");
      return;
    }
    // Every page of a request of up to 512 pages; of a larger one (or of every address: from
    // 0), its first and last pages, which a wrong range most often misses.
    std::vector<u64> pages;
    const u64 last = all ? (u64{1} << 48) - 4096 : addr + (std::min<u64>(npages, u64{1} << 36) - 1) * 4096;
    if (!all && npages <= 512)
      for (u64 a = addr; a <= last; a += 4096) pages.push_back(a);
    else {
      pages = {all ? 0 : addr, last};
      b_.assume(p + ": a request of " + (all ? std::string("every address") : std::to_string(npages) + " pages") +
                ": its first and last pages are inferred as changed, not every page");
    }
    for (u64 a : pages) {
      if (changed_.covers(a)) continue;  // the recording shows the change
      if (!s1_now_.covers(a)) {
        // Mapped before: the guest page, and its guest-physical page in the parent.
        map_step(parent_, next_gpa_, 4096, next_frame_, p, "inferred: the parent maps the guest page");
        map_step(nested_, a, 4096, next_gpa_, p, "inferred: the guest had mapped this page");
        next_gpa_ += 4096;
        next_frame_ += 4096;
      }
      b_.step({{"op", "unmap"}, {"domain", b_.domain(nested_)}, {"iova", hex(a)}, {"size", "0x1000"},
               {"note", p + ": inferred: the guest changed this PTE before asking for it to be invalidated"}},
              0);
      s1_now_.remove(a, a + 4096);
      ++inferred_;
      unmapped_ = true;
    }
  }

  void assumptions()
  {
    b_.assume("the nesting parent's mappings are those under /parent/maps (and those inferred below); the "
              "guest's first-stage writes are the \"guest\" events" +
              std::string(guest_events_ ? "" : " (none recorded)") +
              "; a page a request names that no recorded guest unmap changed since the last ioctl is taken to be "
              "mapped and changed just before the request");
    if (inferred_) b_.assume(std::to_string(inferred_) + " first-stage page changes were inferred from requests");
    if (rejected_) b_.assume(std::to_string(rejected_) + " requests are ones the kernel rejects (-EINVAL)");
    b_.assume("each request's kernel descriptors are one qi_submit_sync call (or the list of calls given), each "
              "ending with the wait it appends (TRACE-1)");
    b_.assume("completion: any order before a wait (VT-d's relaxed reading, OPEN-1); pass --completion in-order "
              "for Linux v6.12's in-order reading");
    b_.assume("a check point follows each IOMMU_HWPT_INVALIDATE: the guest may reuse its pages once it returns");
  }
};

}  // namespace

ojson import_iommufd_vtd(const std::string & file, const std::string & text)
{
  json j = parse_strict_json(text, file);
  try {
    return IommufdImport(file).run(j);
  } catch (const ScenarioError & e) {
    throw LoadError(file + ": error at " + e.where() + ": " + e.what());
  }
}

}  // namespace nostale::importer
