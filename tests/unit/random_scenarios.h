// Random small scenarios for the differential tests (tests/unit/differential_test.cpp): the
// broad generator of every modelled feature, and the summary printed when the engines disagree.
#pragma once

#include <algorithm>
#include <random>
#include <sstream>
#include <string>

#include "spec/model/scenario.h"
#include "spec/profiles/api/profile.h"

namespace nostale::difftest {

struct Gen {
  std::mt19937_64 rng;
  explicit Gen(u64 seed) : rng(seed) {}
  u64 pick(u64 n) { return std::uniform_int_distribution<u64>(0, n - 1)(rng); }
  bool coin(unsigned percent = 50) { return pick(100) < percent; }
};

/// What both generators start from (in this order of draws, which the seeds depend on): a
/// 3-level geometry of 1 or 2 index bits, 1 or 2 PASID bits, 2-bit domain ids, and in-order
/// completion with probability `inorder_percent`.
inline Scenario small_config(Gen & g, const char * name, unsigned inorder_percent)
{
  Scenario sc;
  sc.file = "random";
  sc.name = name;
  sc.profile = "generic";
  sc.config.hw = find_profile("generic")->hardware(sc.config);
  Config & c = sc.config;
  c.geo = Geometry{12, static_cast<unsigned>(1 + g.pick(2)), 3};
  c.pasid_bits = static_cast<unsigned>(1 + g.pick(2));
  c.did_bits = 2;
  c.completion = g.coin(inorder_percent) ? Completion::InOrder : Completion::AnyOrder;
  return sc;
}

/// What the generator may draw for a hardware description: only what the description declares
/// (issue 8: a profile gets differential coverage by existing). All off: the base corpus of
/// maps, unmaps, attaches and flushes that every profile has.
struct Draws {
  bool on = false;
  unsigned types = 1;        ///< record types (bit t: ConfigWrite::type t)
  bool torn = false;         ///< records of several words, rewritten live (VTD-COH-3)
  bool dirty = false;        ///< dirty tracking (no-missed-dirty)
  bool page_requests = false;  ///< PRI devices, waits that drain their requests
  bool clflush = false;      ///< a walker that does not snoop
  bool fences = false;
  bool negative = false;     ///< negative records, cached under domain tag 0
  std::vector<u64> did_masks;  ///< one mask per domain tag field, when there are several
  bool level_hint = false;
  /// First-stage privilege (VTD-PRIV-1/2): supervisor maps, SRE, supervisor requests. Drawn
  /// only by with_privilege (the privilege corpus), so that the other corpora keep their draws.
  bool privilege = false;
  /// A structure above the records that points to one of several tables of them (VT-d
  /// scalable-mode context entries and PASID tables, VTD-CTX-1): drawn by the PasidTables
  /// corpus only (tests/unit/differential_test.cpp), so that the other corpora keep their draws.
  bool record_tables = false;
};

inline Draws draws_of(const hw::Description & d)
{
  Draws w;
  w.on = true;
  w.types = d.record_types;
  const hw::Structure * st = d.leaf_structure();
  w.torn = st && st->words.size() > 1;
  w.dirty = d.features.dirty_tracking;
  w.page_requests = d.features.page_requests;
  w.clflush = d.features.non_coherent_walker;
  w.fences = d.features.fences;
  const hw::Cache * rec = d.record_cache(0);
  w.negative = rec && rec->negative;
  if (d.domain_tags.size() > 1)
    for (const std::string & n : d.domain_tags) {
      const hw::TagField * f = d.tag(n);
      const int off = d.domain_tag_offset(n);
      if (f && off >= 0) w.did_masks.push_back(((u64{1} << f->width) - 1) << off);
    }
  w.level_hint = d.features.level_hint;
  w.privilege = d.features.privilege;
  w.record_tables = d.record_cache(1) != nullptr;
  return w;
}

/// First-stage privilege drawn over a scenario whose description declares it (VTD-PRIV-1/2):
/// each map supervisor (U/S=0) or user, each whole present record with SRE or without, each dma
/// a supervisor or a user request, and a supervisor dma after some check points. false: the
/// description has no privilege (the scenario is left as it was).
inline bool with_privilege(Gen & g, Scenario & sc)
{
  if (!draws_of(sc.config.hw).privilege) return false;
  sc.config.privilege = true;
  std::vector<Step> out;
  for (Step s : sc.steps) {
    if (s.op == Op::Map) s.supervisor = g.coin(50);
    if (s.op == Op::ConfigWrite && s.cw.depth == 0 && s.cw.fields == ConfigWrite::Fields::Whole && s.cw.present) {
      // Mostly first-stage entries: the only ones whose U/S and SRE matter.
      if (s.cw.type != kPgttNested && g.coin(60)) s.cw.type = kPgttFirst;
      s.cw.sre = g.coin(50);
    }
    if (s.op == Op::Dma) s.supervisor = g.coin(50);
    out.push_back(s);
    if (s.op == Op::Check && g.coin(50)) {
      // The same check point for one supervisor access: judged for that class only.
      Step d;
      d.op = Op::Dma;
      d.device = static_cast<int>(g.pick(sc.config.devices.size()));
      d.pasid = g.pick(u64{1} << sc.config.pasid_bits);
      d.iova = g.pick(u64{1} << (sc.config.geo.levels * sc.config.geo.level_bits)) << sc.config.geo.page_shift;
      d.perm = g.coin() ? kPermRead : kPermWrite;
      d.supervisor = true;
      out.push_back(d);
    }
  }
  sc.steps = out;
  for (std::size_t i = 0; i < sc.steps.size(); ++i) sc.steps[i].path = "/steps/" + std::to_string(i);
  return true;
}

/// One of the set bits of `mask`.
inline unsigned pick_bit(Gen & g, unsigned mask)
{
  std::vector<unsigned> bits;
  for (unsigned b = 0; b < 32; ++b)
    if ((mask >> b) & 1) bits.push_back(b);
  return bits.empty() ? 0 : bits[g.pick(bits.size())];
}

/// `profile`: draw a hardware configuration among the profile's variants (Profile::variants)
/// and every feature its description declares (translation types and stage-selective patterns,
/// fences, a non-coherent walker with clflush, negative caching, a structure above the
/// records, several domain tags, level hints); nullptr: the generic base corpus. `nested`:
/// mostly nested entries, leaf-only flushes and freed table pages, where the second-stage
/// entries of nested walks are what stays stale (variants with nested records only).
/// `skipping`: the page-table format may skip levels (AMD-PT-1) even if the profile's does not.
/// Domains draw which level their tables skip wherever the format allows it.
/// `sharing`: two domains, one linking a table page of the other (PT-SHARE-1, share_table), and
/// more such links among the random steps.
inline Scenario random_scenario(Gen & g, std::size_t nsteps, const Profile * profile = nullptr, bool nested = false,
                                bool skipping = false, bool sharing = false)
{
  Scenario sc = small_config(g, "random", 30);
  Config & c = sc.config;
  Draws dr;
  if (profile) {
    std::vector<hw::Description> vs = profile->variants(c);
    if (nested)
      vs.erase(std::remove_if(vs.begin(), vs.end(), [](const hw::Description & d) { return !((d.record_types >> kPgttNested) & 1); }),
               vs.end());
    c.hw = vs.at(g.pick(vs.size()));
    sc.profile = c.hw.profile;
    dr = draws_of(c.hw);
    if (const unsigned w = c.hw.domain_tag_width()) c.did_bits = w;
  }
  if (skipping) c.hw.format.level_skipping = true;
  std::size_t ndev = 1 + g.pick(2), ndom = nested || sharing ? 2 : 1 + g.pick(2);
  for (std::size_t i = 0; i < ndev; ++i) {
    bool ats = g.coin(60);
    c.devices.push_back({"d" + std::to_string(i), ats, dr.page_requests && ats && g.coin(50), std::nullopt});
  }
  const u64 ids = u64{1} << c.did_bits;
  for (std::size_t i = 0; i < ndom; ++i) c.domains.push_back({"D" + std::to_string(i), (1 + i) % ids});
  // Drawn only where the format skips levels, so that the other corpora keep their draws.
  if (c.hw.format.level_skipping)
    for (Domain & d : c.domains)
      if (g.coin(70)) d.skip_levels = {2};  // the only level a 3-level table can skip
  c.pt_pool = 0x100000;
  // Context entries not set up yet; more often where a not-present one may be cached (CM=1).
  for (Device & d : c.devices) d.context = !(c.context_cache() && g.coin(c.negative_context() ? 50 : 25));
  u64 pages = u64{1} << (c.geo.levels * c.geo.level_bits);
  u64 npasid = u64{1} << c.pasid_bits;
  const Geometry & geo = c.geo;
  std::vector<Step> maps;  // earlier maps, to rewrite their PTEs (permission changes)
  if (nested) {
    // A nesting parent (D0) whose second stage maps one whole level-1 table of guest-physical
    // pages, a first stage (D1) mapping a page into it, the nested entry, then the parent
    // unmaps the region and unlinks the table page. Random steps follow.
    u64 region = geo.size(2), gpa = g.pick(pages * geo.size(1) / region) * region;
    Step m2;
    m2.op = Op::Map;
    m2.domain = 0;
    m2.iova = gpa;
    m2.size = region;
    m2.page_size = geo.size(1);
    m2.phys = 0x40 * geo.size(1);
    m2.perm = kPermRW;
    Step m1 = m2;
    m1.domain = 1;
    m1.iova = g.pick(pages) * geo.size(1);
    m1.size = geo.size(1);
    m1.phys = gpa + g.pick(region / geo.size(1)) * geo.size(1);
    Step at;
    at.op = Op::ConfigWrite;  // attach
    at.cw.present = true;
    at.domain = 1;
    at.device = static_cast<int>(g.pick(ndev));
    at.pasid = g.pick(npasid);
    at.cw.type = kPgttNested;
    at.cw.parent = 0;
    Step un = m2;
    un.op = Op::Unmap;
    un.free_tables = true;
    for (Step s : {m2, m1, at, un}) {
      s.path = "/steps/" + std::to_string(sc.steps.size());
      sc.steps.push_back(s);
    }
  }
  // A link to a table page of the other domain above an earlier map (so that it exists).
  auto share = [&](const Step & m) {
    Step s;
    s.op = Op::ShareTable;
    s.from = m.domain;
    s.domain = 1 - m.domain;
    s.iova = m.iova;
    s.level = 1 + static_cast<unsigned>(g.pick(geo.levels - 1));
    s.iova &= ~(geo.size(s.level + 1) - 1);
    s.path = "/steps/" + std::to_string(sc.steps.size());
    return s;
  };
  if (sharing) {
    Step m;
    m.op = Op::Map;
    m.domain = 0;
    m.page_size = geo.size(1);
    m.iova = g.pick(pages) * geo.size(1);
    m.size = geo.size(1);
    m.phys = (0x40 + g.pick(6) * 2) * geo.size(1);
    m.perm = kPermRW;
    m.path = "/steps/" + std::to_string(sc.steps.size());
    sc.steps.push_back(m);
    maps.push_back(m);
    sc.steps.push_back(share(m));
  }
  for (std::size_t i = 0; i < nsteps; ++i) {
    bool free_after = false;
    if (sharing && !maps.empty() && g.coin(10)) {
      sc.steps.push_back(share(maps[g.pick(maps.size())]));
      continue;
    }
    Step s;
    s.path = "/steps/" + std::to_string(sc.steps.size());
    s.domain = static_cast<int>(g.pick(ndom));
    s.device = static_cast<int>(g.pick(ndev));
    s.pasid = g.pick(npasid);
    // Most scenarios start by attaching: without an attachment nothing is ever cached.
    unsigned kind = i < 2 && g.coin(70) ? 30 : static_cast<unsigned>(g.pick(100));
    if (kind < 18 && !maps.empty() && g.coin(35)) {
      Step m = maps[g.pick(maps.size())];
      m.path = s.path;
      m.perm = 1 + static_cast<unsigned>(g.pick(3));
      s = m;
    } else if (kind < 18) {
      s.op = Op::Map;
      unsigned lvl = 1 + static_cast<unsigned>(g.pick(g.coin(75) ? 1 : 2));
      const std::vector<unsigned> & skip = c.domains[static_cast<std::size_t>(s.domain)].skip_levels;
      if (std::find(skip.begin(), skip.end(), lvl) != skip.end()) lvl = 1;  // no table holds such leaves
      s.page_size = geo.size(lvl);
      u64 n = 1 + g.pick(4);  // runs of consecutive leaves are encoded as one term
      u64 slots = pages * geo.size(1) / s.page_size;
      u64 first = g.pick(slots);
      if (first + n > slots) n = slots - first;
      s.iova = first * s.page_size;
      s.size = n * s.page_size;
      // Mostly where the table has a slot: the skipped level's index bits zero (AMD-PT-1).
      if (!skip.empty() && g.coin(75)) s.iova &= ~((geo.size(3) - 1) & ~(geo.size(2) - 1));
      s.phys = (0x40 + g.pick(6) * 2) * s.page_size;
      // Guest-physical outputs a nested second stage can translate (inside the IOVA width).
      if (dr.on && g.coin(nested ? 80 : 40)) s.phys = g.pick(pages * geo.size(1) / s.page_size) * s.page_size;
      s.perm = 1 + static_cast<unsigned>(g.pick(3));
      maps.push_back(s);
    } else if (kind < 30) {
      s.op = Op::Unmap;
      u64 first = g.pick(pages), n = 1 + g.pick(pages - first);
      unsigned lvl = g.coin(70) ? 1 : 2;
      u64 sz = geo.size(lvl) / geo.size(1);
      first = first / sz * sz;
      n = ((n + sz - 1) / sz) * sz;
      if (first + n > pages) n = pages - first;
      s.iova = first * geo.size(1);
      s.size = n * geo.size(1);
      s.free_tables = g.coin(50);
      // A table reached by skipping is unlinked only with the whole range of the pointer above.
      if (!c.domains[static_cast<std::size_t>(s.domain)].skip_levels.empty() && g.coin(40)) {
        s.iova = s.iova / geo.size(3) * geo.size(3);
        s.size = geo.size(3);
        s.free_tables = true;
        free_after = g.coin(60);  // and the unlinked table freed right away
      }
    } else if (kind < 38) {
      s.op = Op::ConfigWrite;  // attach
      s.cw.present = true;
      if (dr.on) s.cw.type = pick_bit(g, dr.types);  // of none, first, second, nested, pass-through
      if (nested && g.coin(70)) s.cw.type = kPgttNested;
      if (s.cw.type == kPgttNested) s.cw.parent = static_cast<int>(g.pick(ndom));  // its second stage
      if (dr.torn) s.cw.torn = g.coin(15);
      if (dr.dirty) s.cw.dirty = g.coin(40);
      if (dr.dirty && g.coin(25)) s.cw.fields = ConfigWrite::Fields::Dirty;  // toggle SSADE of a live entry
    } else if (kind < 42) {
      s.op = Op::ConfigWrite;  // detach
      if (dr.torn) s.cw.torn = g.coin(25);
    } else if (kind < 62) {
      s.op = Op::Invalidate;
      InvPattern & p = s.inv;
      unsigned which = static_cast<unsigned>(g.pick(4));
      p.iotlb = which == 0 || g.coin(30);
      p.devtlb = which == 1 || g.coin(25);
      p.pasid_cache = which == 2 || g.coin(15);
      p.psc = p.iotlb && g.coin(nested ? 35 : 70);
      if (which == 3) p.iotlb = p.psc = true;
      if (g.coin(40)) p.did = (1 + g.pick(ndom)) % ids;
      if (p.did && !dr.did_masks.empty() && g.coin(50)) p.did_mask = dr.did_masks[g.pick(dr.did_masks.size())];
      if (g.coin(40)) p.pasid = g.pick(npasid);
      if (p.devtlb && g.coin(60)) p.device = static_cast<int>(g.pick(ndev));
      if (dr.on && p.pasid_cache && g.coin(40)) p.pc_device = static_cast<int>(g.pick(ndev));
      if (dr.negative && g.coin(15)) p.did = 0;  // where negative configuration entries live
      if (g.coin(60)) {
        p.ranged = true;
        u64 first = g.pick(pages), n = 1 + g.pick(pages - first);
        p.addr = first * geo.size(1);
        p.size = n * geo.size(1);
        if (dr.level_hint && g.coin(40)) p.level = 1 + static_cast<unsigned>(g.pick(geo.levels));
      }
      if (c.context_cache() && g.coin(30)) {
        p.context_cache = true;
        if (g.coin(50)) p.pc_device = static_cast<int>(g.pick(ndev));
      }
      if (dr.on && (dr.types & (dr.types - 1)) && g.coin(50)) {  // several types: stage-selective
        p.pgtt_mask = static_cast<unsigned>(g.pick(32));
        p.pgtt_anyaddr = g.coin(40) ? static_cast<unsigned>(g.pick(32)) : 0;
      }
    } else if (kind < 70) {
      s.op = Op::Sync;
      s.drain = dr.page_requests && g.coin(40);  // VT-d wait with PD=1
    } else if (kind < 74 && c.context_cache() && g.coin(45)) {
      s.op = Op::ConfigWrite;  // clear or set the device's context entry
      s.cw.depth = 1;
      s.cw.present = g.coin(40);
    } else if (kind < 74) {
      const bool fence = dr.fences && (!dr.clflush || g.coin(50));
      s.op = (dr.fences || dr.clflush) && g.coin(50) ? (fence ? Op::Fence : Op::Clflush) : Op::Check;
      // clflush_cache_range of some lines only (VTD-COH-5): page-table entries of a range (at
      // every level or one), a PASID-table entry, a context entry, or a PASID-directory entry.
      // Drawn from a generator of its own, seeded from a copy of g's engine, so that the draws
      // of every other step (and scenario) of the corpus stay what they were.
      std::mt19937_64 peek = g.rng;
      Gen h(peek());
      if (s.op == Op::Clflush && h.coin(75)) {
        const unsigned what = static_cast<unsigned>(h.pick(c.context_cache() ? 4 : 2));
        if (what == 0) {
          s.flush.kind = Flush::Kind::Tables;
          u64 first = h.pick(pages), n = 1 + h.pick(pages - first);
          s.iova = first * geo.size(1);
          s.size = n * geo.size(1);
          if (h.coin(50)) s.flush.level = 1 + static_cast<unsigned>(h.pick(geo.levels));
        } else if (what == 3) {
          s.flush.kind = Flush::Kind::Directory;  // scalable mode: the PASID-directory entry
        } else {
          s.flush.kind = Flush::Kind::Record;
          s.flush.depth = what == 2;
        }
      }
    } else if (kind < 80) {
      s.op = Op::FreeFrame;
      s.phys = (0x40 + g.pick(6) * 4) * geo.size(1);
      s.size = geo.size(1) * (1 + g.pick(4));
    } else if (kind < 85) {
      s.op = Op::FreePgtables;
    } else if (kind < 89) {
      s.op = Op::Check;
    } else if (kind < 92) {
      s.op = Op::FreePasid;
    } else if (kind < 95) {
      s.op = Op::Dma;
      s.iova = g.pick(pages) * geo.size(1);
      s.perm = g.coin() ? kPermRead : kPermWrite;
    } else if (kind < 97) {
      s.op = Op::FreeDid;
    } else {
      s.op = Op::AssignDid;
      s.did = g.pick(4);
    }
    sc.steps.push_back(s);
    if (free_after) {
      Step f = s;
      f.op = Op::FreePgtables;
      f.path = "/steps/" + std::to_string(sc.steps.size());
      sc.steps.push_back(f);
    }
  }
  sc.expect.verdict = "safe";
  return sc;
}

/// Driver-like flows whose verdict hinges on the features that decide it: two domains with
/// different domain ids live at once; 4K runs and level-2 leaves (the small geometry's 2M
/// pages); after each unmap an IOTLB flush with the right, the wrong or no domain id and PASID
/// filter, leaf-only or not, its range exact, global, or one page off a boundary (one page
/// short, one page past, starting mid-page, ending just before, starting just after); device-
/// TLB flushes before or after it; one sync for the batch, one per flush, or none. Most flows
/// are correct, so a violation usually has one cause, and an engine that loses or invents one
/// changes the verdict instead of hiding behind another violation.
inline Scenario focused_scenario(Gen & g)
{
  Scenario sc = small_config(g, "random-focused", 40);
  Config & c = sc.config;
  c.pt_pool = 0x100000;
  const Geometry & geo = c.geo;
  const u64 pg = geo.size(1), large = geo.size(2), top = geo.size(geo.levels + 1);
  const u64 pages = top / pg, npasid = u64{1} << c.pasid_bits;
  std::size_t ndev = g.coin(60) ? 2 : 1;
  for (std::size_t i = 0; i < ndev; ++i) c.devices.push_back({"d" + std::to_string(i), g.coin(55), false, std::nullopt});
  c.domains = {{"D0", u64{1}}, {"D1", u64{2}}};

  int cur = 0;  // the domain of the current episode (free_pgtables frees its freelist)
  auto add = [&](Step s) {
    s.path = "/steps/" + std::to_string(sc.steps.size());
    if (s.domain < 0) s.domain = cur;
    if (s.device < 0) s.device = 0;
    sc.steps.push_back(s);
  };
  // Attachments: D0, and usually D1 at once on another (device, PASID).
  struct Att {
    int dev;
    u64 pasid;
  };
  std::vector<Att> att;
  att.push_back({static_cast<int>(g.pick(ndev)), g.pick(npasid)});
  if (g.coin(75)) {
    Att b{static_cast<int>(g.pick(ndev)), g.pick(npasid)};
    if (b.dev == att[0].dev && b.pasid == att[0].pasid) b.pasid = (b.pasid + 1) % npasid;
    att.push_back(b);
  }
  for (std::size_t d = 0; d < att.size(); ++d) {
    Step s;
    s.op = Op::ConfigWrite;  // attach
    s.cw.present = true;
    s.domain = static_cast<int>(d);
    s.device = att[d].dev;
    s.pasid = att[d].pasid;
    add(s);
  }

  // Live 4K pages per domain: a map never overwrites a live one (that would be a permission
  // change, another bug than the one an episode draws).
  std::vector<std::vector<bool>> live(2, std::vector<bool>(pages, false));
  std::size_t episodes = 1 + g.pick(2);
  for (std::size_t ep = 0; ep < episodes; ++ep) {
    const int dom = cur = static_cast<int>(g.pick(att.size()));
    const u64 did = 1 + static_cast<u64>(dom), other_did = 2 - static_cast<u64>(dom);
    std::vector<bool> & lv = live[static_cast<std::size_t>(dom)];
    // At most one mistake per episode, so that a violation has one cause.
    enum { kWrongDid, kWrongPasid, kRangeOff, kLeafOnlyFreed, kNoDevTlb, kDevTlbFirst, kNoSync, kMistakes };
    int mistake = g.coin(45) ? static_cast<int>(g.pick(kMistakes + 1)) : -1;
    if (mistake == kMistakes) mistake = kRangeOff;  // twice as likely: half its variants are harmless
    Step m;
    m.op = Op::Map;
    m.domain = dom;
    m.perm = g.coin(70) ? kPermRW : 1 + static_cast<unsigned>(g.pick(2));
    bool placed = false;
    for (int attempt = 0; attempt < 4 && !placed; ++attempt) {
      if (mistake == kLeafOnlyFreed || g.coin(15)) {  // 4K leaves filling one level-1 table
        m.page_size = pg;
        m.iova = g.pick(top / large) * large;
        m.size = large;
        m.phys = 0x200000 * (1 + ep) + g.pick(4) * large;
      } else if (g.coin(55)) {  // one or two level-2 leaves
        u64 slots = top / large, first = g.pick(slots), n = first + 1 < slots && g.coin(25) ? 2 : 1;
        m.page_size = large;
        m.iova = first * large;
        m.size = n * large;
        m.phys = 0x200000 * (1 + ep) + g.pick(4) * large;  // frames of its own per episode
      } else {  // a run of 4K leaves
        u64 first = g.pick(pages), n = 1 + g.pick(std::min<u64>(4, pages - first));
        m.page_size = pg;
        m.iova = first * pg;
        m.size = n * pg;
        m.phys = 0x200000 * (1 + ep) + g.pick(16) * pg;
      }
      placed = true;
      for (u64 i = m.iova / pg; i < (m.iova + m.size) / pg; ++i) placed &= !lv[i];
    }
    if (!placed) continue;
    for (u64 i = m.iova / pg; i < (m.iova + m.size) / pg; ++i) lv[i] = true;
    add(m);
    if (g.coin(15)) {
      Step d;
      d.op = g.coin(50) ? Op::Check : Op::Dma;
      d.device = att[static_cast<std::size_t>(dom)].dev;
      d.pasid = att[static_cast<std::size_t>(dom)].pasid;
      d.iova = m.iova + g.pick(m.size / pg) * pg;
      d.perm = g.coin() ? kPermRead : kPermWrite;
      add(d);
    }
    if (g.coin(12)) continue;  // mapped only

    Step u;
    u.op = Op::Unmap;
    u.domain = dom;
    u.iova = m.iova;
    u.size = m.size;
    if (m.page_size == pg && m.size > pg && mistake != kLeafOnlyFreed && g.coin(30))
      u.size -= pg * (1 + g.pick(m.size / pg - 1));
    u.free_tables = mistake == kLeafOnlyFreed || g.coin(40);
    add(u);
    for (u64 i = u.iova / pg; i < (u.iova + u.size) / pg; ++i) lv[i] = false;

    // The IOTLB flush owed for [S, E): domain id and PASID filters right or absent, the range
    // exact or global; leaf-only only when no table page was freed.
    const u64 S = u.iova, E = u.iova + u.size;
    const u64 own_pasid = att[static_cast<std::size_t>(dom)].pasid;
    InvPattern f;
    f.iotlb = true;
    f.psc = mistake == kLeafOnlyFreed ? false : u.free_tables || !g.coin(40);
    if (mistake == kWrongDid) f.did = other_did;
    else if (g.coin(75)) f.did = did;
    if (mistake == kWrongPasid) f.pasid = (own_pasid + 1) % npasid;
    else if (g.coin(35)) f.pasid = own_pasid;
    if (mistake == kRangeOff || g.coin(85)) {
      u64 lo = S, hi = E;
      if (mistake == kRangeOff) {
        switch (g.pick(6)) {
          case 0: if (hi - lo > pg) hi -= pg; break;          // one page short
          case 1: if (hi < top) hi += pg; break;              // one page past
          case 2: if (hi - lo > pg) lo += pg; break;          // starts one page in
          case 3: if (lo > 0) { hi = lo; lo -= pg; } break;   // ends just before
          case 4: if (hi < top) { lo = hi; hi += pg; } break; // starts just after
          default: if (lo > 0) { lo -= pg; hi = lo + 2 * pg; } break;  // straddles the start
        }
      }
      f.ranged = true;
      f.addr = lo;
      f.size = hi - lo;
    }
    // Device-TLB flushes of the ATS devices bound to the domain, after the IOTLB flush.
    std::vector<InvPattern> flushes{f};
    for (int dv = 0; dv < static_cast<int>(ndev); ++dv) {
      bool bound = false;
      for (const Att & a : att) bound |= a.dev == dv;
      if (!c.devices[static_cast<std::size_t>(dv)].ats || !bound) continue;
      if (mistake == kNoDevTlb) continue;
      InvPattern t;
      t.devtlb = true;
      if (g.coin(70)) t.device = dv;
      if (g.coin(30)) t.pasid = own_pasid;
      t.ranged = f.ranged || g.coin(50);
      t.addr = f.ranged ? f.addr : S;
      t.size = f.ranged ? f.size : E - S;
      if (mistake == kDevTlbFirst) flushes.insert(flushes.begin(), t);
      else flushes.push_back(t);
    }
    const bool batch = mistake == kDevTlbFirst || g.coin(60);  // one sync for all, or one each
    for (const InvPattern & p : flushes) {
      Step s;
      s.op = Op::Invalidate;
      s.inv = p;
      add(s);
      if (!batch && mistake != kNoSync) {
        Step y;
        y.op = Op::Sync;
        add(y);
      }
    }
    if (batch && mistake != kNoSync) {
      Step y;
      y.op = Op::Sync;
      add(y);
    }
    if (u.free_tables && (mistake == kLeafOnlyFreed || g.coin(70))) {
      Step s;
      s.op = Op::FreePgtables;
      add(s);
    }
    if (g.coin(40)) {
      Step s;
      s.op = Op::FreeFrame;
      s.phys = m.phys;  // the frames unmapped
      s.size = u.size;
      add(s);
    } else if (g.coin(60)) {
      Step s;
      s.op = Op::Check;
      add(s);
    }
  }
  if (g.coin(20)) {
    // Teardown of one attachment: PASID-cache and PASID-selective IOTLB flushes, then the PASID
    // is freed (with the right, the wrong or no domain id / PASID filter).
    const int dom = cur = static_cast<int>(g.pick(att.size()));
    const Att a = att[static_cast<std::size_t>(dom)];
    Step d;
    d.op = Op::ConfigWrite;  // detach
    d.device = a.dev;
    d.pasid = a.pasid;
    add(d);
    Step s;
    s.op = Op::Invalidate;
    s.inv.pasid_cache = true;
    s.inv.iotlb = s.inv.psc = g.coin(80);
    s.inv.devtlb = c.devices[static_cast<std::size_t>(a.dev)].ats && g.coin(70);
    if (g.coin(70)) s.inv.did = g.coin(80) ? 1 + static_cast<u64>(dom) : 2 - static_cast<u64>(dom);
    if (g.coin(70)) s.inv.pasid = g.coin(80) ? a.pasid : (a.pasid + 1) % npasid;
    add(s);
    Step y;
    y.op = Op::Sync;
    add(y);
    Step fp;
    fp.op = Op::FreePasid;
    fp.pasid = a.pasid;
    fp.device = a.dev;
    add(fp);
  }
  sc.expect.verdict = "safe";
  return sc;
}

inline std::string summary(const Scenario & sc)
{
  std::ostringstream o;
  o << "levels=" << sc.config.geo.levels << " level_bits=" << sc.config.geo.level_bits
    << " pasid_bits=" << sc.config.pasid_bits << " devices=" << sc.config.devices.size()
    << (sc.config.completion == Completion::InOrder ? " in-order" : " any-order")
    << (sc.config.coherent() ? "" : " non-coherent") << (sc.config.negative_caching() ? " CM=1" : "") << (sc.config.negative_config() ? " neg-config" : "") << (sc.config.context_cache() ? " context-cache" : "") << (sc.config.negative_context() ? " neg-context" : "") << "\n";
  for (std::size_t i = 0; i < sc.steps.size(); ++i) {
    const Step & s = sc.steps[i];
    o << "  " << i << " " << op_name(s.op) << " depth=" << s.cw.depth << (s.cw.fields == ConfigWrite::Fields::Dirty ? " dirty-only" : "") << " present=" << s.cw.present << " pgtt=" << s.cw.type << " parent=" << s.cw.parent << " ssade=" << s.cw.dirty << " dom=" << s.domain << " dev=" << s.device << (s.op == Op::Ats ? (s.enable ? " ats-on" : " ats-off") : "") << (s.cw.table >= 0 ? " table=" + std::to_string(s.cw.table) : "")
      << " pasid=" << s.pasid << " iova=0x" << std::hex << s.iova << " size=0x" << s.size
      << " phys=0x" << s.phys << std::dec << " perm=" << s.perm << " ft=" << s.free_tables << (s.cw.torn ? " TORN" : "");
    if (s.op == Op::Invalidate) {
      const InvPattern & p = s.inv;
      o << " [pc=" << p.pasid_cache << " cc=" << p.context_cache << " tlb=" << p.iotlb << " psc=" << p.psc << " dev=" << p.devtlb
        << " did=" << (p.did ? std::to_string(*p.did) : "*") << " pasid="
        << (p.pasid ? std::to_string(*p.pasid) : "*") << " device="
        << (p.device ? std::to_string(*p.device) : "*") << " pc_device="
        << (p.pc_device ? std::to_string(*p.pc_device) : "*");
      if (p.ranged) o << std::hex << " range=0x" << p.addr << "+0x" << p.size << std::dec;
      o << " pgtt_mask=" << p.pgtt_mask << " anyaddr=" << p.pgtt_anyaddr;
      o << "]";
    }
    o << "\n";
  }
  return o.str();
}

}  // namespace nostale::difftest
