// A QEMU trace-event log of its intel_iommu model (`-trace 'vtd_*'`, the log backend; TRACE-Q1,
// Q2 of spec/docs/rules.md) as a vtd scenario. QEMU sees the guest's invalidation queue as the
// hardware would, wait descriptors included, but not the guest's page-table writes: a
// translation QEMU cached (vtd_iotlb_page_update) shows what was mapped, and the first
// page-selective IOTLB invalidation that covers it afterwards is taken as its unmap (the guest
// invalidates because it changed the entry). spec/docs/traces.md has the whole reading.
#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "checker/import/importers.h"
#include "spec/model/errors.h"
#include "spec/profiles/vtd/descriptor.h"

namespace nostale::importer {

namespace {

/// QEMU's type strings of vtd_inv_desc (vtd_process_inv_desc) and the Linux labels of the same
/// descriptor types (TRACE-1), which descriptor.h names them by.
const std::map<std::string, std::string> kQemuTypes = {
    {"context-cache", "cc_inv"}, {"iotlb", "iotlb_inv"},        {"device", "dev_tlb_inv"},
    {"iec", "iec_inv"},          {"wait", "inv_wait"},           {"p-iotlb", "p_iotlb_inv"},
    {"pasid-cache", "pc_inv"},   {"device-piotlb", "p_dev_tlb_inv"},
};

std::vector<std::string> split(const std::string & s)
{
  std::istringstream in(s);
  std::vector<std::string> w;
  for (std::string t; in >> t;) w.push_back(t);
  return w;
}

/// The value after `key` in the word list ("sid 0x300 iova 0x1000 ..."); fails the line if absent.
u64 after(const std::string & file, std::size_t n, const std::vector<std::string> & w, const std::string & key)
{
  for (std::size_t i = 0; i + 1 < w.size(); ++i)
    if (w[i] == key) {
      u64 v;
      if (!parse_u64(w[i + 1], v)) fail(file, n, "'" + w[i + 1] + "' after '" + key + "' is not a number");
      return v;
    }
  fail(file, n, "no '" + key + "' in the event's arguments");
}

struct Mapped {
  unsigned did;
  u64 page;
  auto operator<=>(const Mapped &) const = default;
};

}  // namespace

ojson import_qemu_vtd(const std::string & file, const std::string & text, const ImportOptions & opt)
{
  VtdBuilder b;
  std::istringstream in(text);
  std::string line;
  std::size_t n = 0;
  std::map<Mapped, u64> mapped;           ///< (did, page) -> frame, as QEMU translated it
  std::set<std::pair<std::uint16_t, unsigned>> bound;  ///< (sid, did) attached
  std::map<std::string, std::vector<std::size_t>> read_only;  ///< events read, no step
  std::map<std::string, std::vector<std::size_t>> other;      ///< events of other models
  std::set<unsigned> first_stage;  ///< dids a p-iotlb descriptor names
  std::set<std::uint16_t> named_by_devtlb;
  bool pending_check = false, unmapped_any = false;
  bool waited = false;  ///< a wait descriptor since the last inferred change
  // The guest's invalidation sequence for a change has ended (and the page may be reused) by
  // the next translation QEMU makes, the next change after a wait, or the end of the trace.
  auto close = [&](const std::string & where) {
    if (!pending_check) return;
    b.step({{"op", "check"}, {"note", "the guest's invalidations of the pages it changed are done " + where +
                                          " (assumed: the guest may reuse them from here)"}},
           0);
    pending_check = false;
  };
  std::size_t descs = 0;
  unsigned iova_bits = 48;
  // Pass over the text once to learn which domains are first-stage (p-iotlb names them).
  {
    std::istringstream pre(text);
    for (std::string l; std::getline(pre, l);)
      if (std::size_t k = l.find("vtd_inv_desc "); k != std::string::npos && l.find("type p-iotlb") != std::string::npos) {
        std::vector<std::string> w = split(l.substr(k));
        u64 lo;
        if (w.size() >= 9 && parse_u64(w[8], lo)) first_stage.insert(static_cast<unsigned>((lo >> 16) & 0xffff));
      }
  }
  while (std::getline(in, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::size_t a = line.find_first_not_of(" \t");
    if (a == std::string::npos) continue;
    if (line[a] == '#') {
      expect_comment(file, n, line.substr(a), b);
      continue;
    }
    // "[PID@SECONDS.USEC:]EVENT ARGS" (QEMU's log backend; the prefix with -msg timestamp=on).
    std::string body = line.substr(a);
    if (std::size_t at = body.find('@'); at != std::string::npos && body.find(':') != std::string::npos &&
                                         at < body.find(':') && body.find(' ') > body.find(':'))
      body = body.substr(body.find(':') + 1);
    std::vector<std::string> w = split(body);
    if (w.empty() || w[0].find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos)
      fail(file, n, "not a QEMU trace event line (expected '[PID@SECONDS:]EVENT ARGS')");
    const std::string & ev = w[0];
    if (ev == "vtd_inv_desc") {
      // "invalidate desc type T high 0x... low 0x..." (TRACE-Q1): high is qw1, low qw0.
      if (w.size() != 9 || w[1] != "invalidate" || w[2] != "desc" || w[3] != "type" || w[5] != "high" || w[7] != "low")
        fail(file, n, "vtd_inv_desc: expected 'invalidate desc type T high 0xQW1 low 0xQW0'");
      auto t = kQemuTypes.find(w[4]);
      if (t == kQemuTypes.end()) fail(file, n, "vtd_inv_desc: unknown descriptor type '" + w[4] + "'");
      u64 hi, lo;
      if (!parse_u64(w[6], hi) || !parse_u64(w[8], lo)) fail(file, n, "vtd_inv_desc: the words are not 64-bit numbers");
      vtd::Descriptor d;
      try {
        d = vtd::decode_raw({lo, hi}, "");
      } catch (const ScenarioError & x) {
        fail(file, n, std::string("vtd_inv_desc: ") + x.what());
      }
      if (t->second != vtd::type_name(d.type()))
        fail(file, n, "vtd_inv_desc: type '" + w[4] + "' does not match the descriptor's type (" +
                          vtd::type_name(d.type()) + ")");
      ++descs;
      // An IOTLB invalidation that covers a page QEMU translated: the guest changed that page.
      // Page-selective ones cover their aligned block, domain- or PASID-selective ones the
      // domain's pages, global ones every page.
      std::function<bool(const Mapped &)> covers;
      if (auto * x = std::get_if<vtd::IotlbInv>(&d.body)) {
        const u64 span = u64{4096} << x->am, base = x->addr & ~(span - 1);
        const unsigned did = x->did;
        if (x->g == vtd::IotlbGran::Psi) covers = [=](const Mapped & m) { return m.did == did && m.page - base < span; };
        else if (x->g == vtd::IotlbGran::Dsi) covers = [=](const Mapped & m) { return m.did == did; };
        else covers = [](const Mapped &) { return true; };
      }
      if (auto * x = std::get_if<vtd::PIotlbInv>(&d.body)) {
        const u64 span = u64{4096} << x->am, base = x->addr & ~(span - 1);
        const unsigned did = x->did;
        if (x->g == vtd::PIotlbGran::Psi) covers = [=](const Mapped & m) { return m.did == did && m.page - base < span; };
        else covers = [=](const Mapped & m) { return m.did == did; };
      }
      const bool changes = covers && std::any_of(mapped.begin(), mapped.end(), [&](const auto & m) { return covers(m.first); });
      // A new change after a wait: the guest's previous invalidation sequence had ended.
      if (changes && waited) close("before the guest changes the next page, at line " + std::to_string(n));
      if (changes)
        for (auto it = mapped.begin(); it != mapped.end();) {
          if (!covers(it->first)) {
            ++it;
            continue;
          }
          b.step({{"op", "unmap"},
                  {"domain", b.domain(it->first.did)},
                  {"iova", hex(it->first.page)},
                  {"size", "0x1000"},
                  {"note", "the guest changed this entry before invalidating it at line " + std::to_string(n) +
                               " (assumed: QEMU does not see page-table writes)"}},
                 0);
          it = mapped.erase(it);
          pending_check = unmapped_any = true;
          waited = false;
        }
      b.step({{"op", "descriptor"},
              {"raw", {hex(lo), hex(hi)}},
              {"note", "trace line " + std::to_string(n) + ": vtd_inv_desc type " + w[4]}},
             n);
      if (auto * x = std::get_if<vtd::DevTlbInv>(&d.body)) b.device(x->sid).ats = true, named_by_devtlb.insert(x->sid);
      if (auto * x = std::get_if<vtd::PDevTlbInv>(&d.body)) b.device(x->sid).ats = true, named_by_devtlb.insert(x->sid);
      if (std::holds_alternative<vtd::InvWait>(d.body)) waited = true;
      continue;
    }
    if (ev == "vtd_iotlb_page_update" || ev == "vtd_iotlb_page_hit") {
      // "IOTLB page update sid 0x.. iova 0x.. slpte 0x.. domain 0x.." (TRACE-Q1).
      close("before the translation of line " + std::to_string(n));
      const u64 sid = after(file, n, w, "sid"), iova = after(file, n, w, "iova"), pte = after(file, n, w, "slpte"),
                did = after(file, n, w, "domain");
      if (sid > 0xffff || did > 0xffff) fail(file, n, ev + ": sid or domain is wider than 16 bits");
      const u64 page = iova & ~u64{0xfff}, frame = pte & 0x000ffffffffff000ull;
      if (page >= (u64{1} << 48)) iova_bits = 57;
      b.device(static_cast<std::uint16_t>(sid));
      const std::string dom = b.domain(static_cast<unsigned>(did));
      if (bound.insert({static_cast<std::uint16_t>(sid), static_cast<unsigned>(did)}).second)
        b.step({{"op", "attach"},
                {"device", b.device(static_cast<std::uint16_t>(sid)).name},
                {"pasid", 0},
                {"domain", dom},
                {"pgtt", first_stage.count(static_cast<unsigned>(did)) ? "first" : "second"},
                {"note", "trace line " + std::to_string(n) + ": the device translates through domain " +
                             hex(did) + " (attached before its first translation, assumed)"}},
               n);
      Mapped m{static_cast<unsigned>(did), page};
      if (!mapped.count(m)) {
        b.step({{"op", "map"},
                {"domain", dom},
                {"iova", hex(page)},
                {"size", "0x1000"},
                {"phys", hex(frame)},
                {"perm", "rw"},
                {"note", "trace line " + std::to_string(n) + ": QEMU translated it, so the guest had mapped it"}},
               n);
        mapped[m] = frame;
      }
      continue;
    }
    if (ev.rfind("vtd_", 0) == 0) read_only[ev].push_back(n);
    else other[ev].push_back(n);
  }
  close("at the end of the trace");
  if (descs == 0) fail(file, n ? n : 1, "no vtd_inv_desc event: enable them with -trace 'vtd_inv_desc*'");
  // Nothing changed that a device used: no stale translation could be found, so no verdict.
  if (!unmapped_any)
    fail(file, n ? n : 1, "no IOTLB invalidation covers a page QEMU translated, so nothing shows "
                          "what the guest changed and nothing could be stale: enable -trace 'vtd_iotlb_page_update' "
                          "and record a run that unmaps what a device used");
  // ATS: a device-TLB descriptor says yes; nothing in a QEMU trace says no.
  for (const auto & [sid, d] : b.devices())
    if (!d.ats && !named_by_devtlb.count(sid)) {
      b.device(sid).ats = opt.ats_unknown;
      b.assume("device " + d.name + ": the trace does not show whether it has ATS (no device-TLB descriptor names "
               "it): " + (opt.ats_unknown ? "taken as with a device TLB (--ats-unknown no says otherwise)"
                                          : "taken as without a device TLB (--ats-unknown no)"));
    }
  b.assume("the guest's page-table writes are not in a QEMU trace: a page QEMU translated "
           "(vtd_iotlb_page_update / _hit) was mapped read-write, 4 KiB, to the frame its PTE names, and the "
           "first IOTLB invalidation that covers it afterwards (page-, domain- or PASID-selective, or global) is "
           "its unmap, placed just before it");
  b.assume("the guest may reuse a changed page once its invalidation sequence has ended: a check point comes "
           "before the next translation QEMU makes, before the next change that follows a wait, and at the end of "
           "the trace");
  b.assume("devices translate at PASID 0 through the domain QEMU names, modelled as scalable-mode PASID-table "
           "entries (QEMU's default legacy-mode context entries translate alike, and iotlb_inv and dev_tlb_inv act "
           "on both alike); a domain a p-iotlb descriptor names is first-stage, others second-stage");
  b.assume("completion: any order before a wait (VT-d's relaxed reading), where QEMU runs descriptors in order");
  auto list = [](const std::map<std::string, std::vector<std::size_t>> & m) {
    std::string s;
    for (const auto & [name, lines] : m)
      s += (s.empty() ? "" : ", ") + name + " x" + std::to_string(lines.size()) + " (first at line " +
           std::to_string(lines.front()) + ")";
    return s;
  };
  if (!read_only.empty())
    b.assume("vtd_* events read but not turned into steps (each vtd_inv_desc_* detail repeats its vtd_inv_desc; "
             "the others are QEMU's own state): " + list(read_only));
  if (!other.empty()) b.assume("events of other QEMU models, not read: " + list(other));
  b.caveat("TRACE-C1: QEMU's model is more eager than hardware (a domain-selective context invalidation is "
           "global; it caches no paging-structure entries), so the guest passing on QEMU does not show its "
           "fine-grained invalidations suffice; this check applies VT-d's rules to the descriptors instead");
  b.caveat("TRACE-C2: QEMU runs queued descriptors synchronously and in order, so the run could not expose an "
           "ordering bug; this check lets invalidations complete in any order before a wait");
  return b.finish("QEMU intel_iommu trace (vtd_* events)",
                  "The invalidation queue QEMU's intel_iommu model consumed in " + file +
                      ", with the translations it cached; what the trace does not show is listed under "
                      "imported/assumptions.",
                  file, "qemu-vtd", iova_bits);
}

}  // namespace nostale::importer
