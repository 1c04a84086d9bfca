#include "spec/model/memory.h"

#include <algorithm>

#include "spec/model/errors.h"

namespace nostale {

const char * op_name(Op op)
{
  switch (op) {
    case Op::Map: return "map";
    case Op::Unmap: return "unmap";
    case Op::FreePgtables: return "free_pgtables";
    case Op::FreeFrame: return "free_frame";
    case Op::ConfigWrite: return "config_write";
    case Op::FreePasid: return "free_pasid";
    case Op::FreeDid: return "free_did";
    case Op::AssignDid: return "assign_did";
    case Op::Invalidate: return "invalidate";
    case Op::Sync: return "sync";
    case Op::Dma: return "dma";
    case Op::Check: return "check";
    case Op::Fence: return "fence";
    case Op::Clflush: return "clflush";
    case Op::Ats: return "ats";
  }
  return "?";
}

Memory::Memory(const Config & cfg)
{
  for (std::size_t d = 0; d < cfg.devices.size(); ++d)
    if (!cfg.devices[d].context) ctx_absent_.insert(static_cast<int>(d));
  for (const Domain & d : cfg.domains) {
    DomainState st;
    st.did = d.did;
    st.root = alloc_table(cfg, cfg.geo.levels);
    domains_.push_back(st);
  }
}

u64 Memory::alloc_table(const Config & cfg, unsigned level)
{
  // Lowest free slot first, so freed table pages are reused as a real allocator would.
  u64 slot = 0;
  while (pool_used_.count(slot)) ++slot;
  pool_used_.insert(slot);
  u64 frame = (cfg.pt_pool >> cfg.geo.page_shift) + slot;
  mark_used(frame, frame + 1);
  tables_[frame] = TablePage{level, {}};
  return frame;
}

int Memory::attached(int device, u64 pasid) const
{
  auto it = attach_.find({device, pasid});
  return it == attach_.end() ? -1 : it->second.domain;
}

unsigned Memory::attached_pgtt(int device, u64 pasid) const
{
  auto it = attach_.find({device, pasid});
  return it == attach_.end() ? kPgttNone : it->second.pgtt;
}

bool Memory::attached_ssade(int device, u64 pasid) const
{
  auto it = attach_.find({device, pasid});
  return it != attach_.end() && it->second.ssade;
}

u64 Memory::attached_root(int device, u64 pasid) const
{
  auto it = attach_.find({device, pasid});
  if (it == attach_.end() || it->second.pgtt == kPgttPassThrough) return 0;
  return domains_.at(static_cast<std::size_t>(it->second.domain)).root;
}

u64 Memory::attached_parent_root(int device, u64 pasid) const
{
  auto it = attach_.find({device, pasid});
  if (it == attach_.end() || it->second.parent < 0) return 0;
  return domains_.at(static_cast<std::size_t>(it->second.parent)).root;
}

Memory Memory::walker_view(const Memory & now) const
{
  Memory v = *this;
  for (auto it = v.tables_.begin(); it != v.tables_.end();)
    it = now.is_table(it->first, it->second.level) ? std::next(it) : v.tables_.erase(it);
  v.freed_ = now.freed_;
  v.ats_off_ = now.ats_off_;  // a device's own state, not a table write a walker may miss
  return v;
}

bool Memory::is_free(u64 frame) const
{
  for (const auto & [lo, hi] : freed_)
    if (frame >= lo && frame < hi) return true;
  return false;
}

bool Memory::is_table(u64 frame, unsigned level) const
{
  auto it = tables_.find(frame);
  return it != tables_.end() && it->second.level == level;
}

void Memory::mark_free(u64 lo, u64 hi)
{
  freed_.push_back({lo, hi});
  std::sort(freed_.begin(), freed_.end());
  std::vector<std::pair<u64, u64>> merged;
  for (auto r : freed_) {
    if (!merged.empty() && r.first <= merged.back().second)
      merged.back().second = std::max(merged.back().second, r.second);
    else
      merged.push_back(r);
  }
  freed_ = merged;
}

void Memory::mark_used(u64 lo, u64 hi)
{
  std::vector<std::pair<u64, u64>> out;
  for (auto [a, b] : freed_) {
    if (b <= lo || a >= hi) { out.push_back({a, b}); continue; }
    if (a < lo) out.push_back({a, lo});
    if (b > hi) out.push_back({hi, b});
  }
  freed_ = out;
}

WalkResult Memory::walk_from(const Geometry & geo, u64 table, unsigned level, u64 addr,
                             unsigned stop) const
{
  for (;;) {
    auto it = tables_.find(table);
    if (it == tables_.end() || it->second.level != level) {
      // A freed frame, or a frame that holds something else: its content is arbitrary.
      WalkResult r;
      r.kind = WalkResult::Wild;
      r.level = level;
      r.bad_frame = table;
      return r;
    }
    auto e = it->second.entries.find(geo.index(level, addr));
    if (e == it->second.entries.end()) return WalkResult{WalkResult::None, level, 0, 0, 0, 0};
    if (e->second.kind == Pte::Leaf)
      return WalkResult{WalkResult::Leaf, level, e->second.frame, e->second.perm, 0, 0};
    if (level == stop) return WalkResult{WalkResult::Pointer, level, 0, 0, e->second.frame, 0, e->second.next};
    const unsigned below = level_below(level, e->second.next);
    if (!skipped_bits_zero(geo, level, below, addr)) return WalkResult{WalkResult::None, level, 0, 0, 0, 0};
    table = e->second.frame;
    level = below;
  }
}

void Memory::unlink_subtree(u64 table, std::vector<u64> & out)
{
  out.push_back(table);
  auto it = tables_.find(table);
  if (it == tables_.end()) return;
  for (const auto & [idx, pte] : it->second.entries)
    if (pte.kind == Pte::Table) unlink_subtree(pte.frame, out);
}

void Memory::map_page(const Config & cfg, const Step & s, u64 addr, unsigned leaf_level, u64 frame)
{
  const Geometry & g = cfg.geo;
  DomainState & dom = domains_.at(static_cast<std::size_t>(s.domain));
  const std::vector<unsigned> & skip = cfg.domains.at(static_cast<std::size_t>(s.domain)).skip_levels;
  auto skipped = [&](unsigned l) { return std::find(skip.begin(), skip.end(), l) != skip.end(); };
  // AMD-PT-1: the table has no slot for an address whose skipped index bits are not zero; the
  // walk of such an address ends with no translation, so the page is left unmapped.
  for (unsigned l : skip)
    if (g.index(l, addr) != 0) return;
  u64 table = dom.root;
  for (unsigned level = g.levels; level > leaf_level;) {
    unsigned below = level - 1;
    while (skipped(below)) --below;  // the loader keeps leaf levels of maps unskipped
    Pte & e = tables_.at(table).entries[g.index(level, addr)];
    if (e.kind == Pte::Leaf)
      throw ScenarioError(s.path, "map overlaps a larger page already mapped at this address; "
                                  "unmap it first");
    if (e.kind == Pte::None) {
      u64 t = alloc_table(cfg, below);
      Pte & e2 = tables_.at(table).entries[g.index(level, addr)];  // alloc may rehash: re-find
      e2.kind = Pte::Table;
      e2.frame = t;
      e2.next = below == level - 1 ? 0 : below;
      table = t;
    } else {
      table = e.frame;
      below = level_below(level, e.next);
    }
    level = below;
  }
  Pte & leaf = tables_.at(table).entries[g.index(leaf_level, addr)];
  if (leaf.kind == Pte::Table) {
    // A leaf written over a table pointer: the old tables are unlinked, not freed (their
    // content stays until free_pgtables), exactly like an unmap with free_tables.
    std::vector<u64> sub;
    unlink_subtree(leaf.frame, sub);
    for (u64 t : sub) dom.freelist.push_back(t);
  }
  leaf.kind = Pte::Leaf;
  leaf.frame = frame;
  leaf.perm = s.perm;
}

bool Memory::unmap_range(const Config & cfg, const Step & s, u64 table, unsigned level, u64 base,
                         u64 lo, u64 hi, std::vector<u64> & unlinked)
{
  const Geometry & g = cfg.geo;
  TablePage & page = tables_.at(table);
  std::vector<unsigned> drop;
  for (auto & [idx, pte] : page.entries) {
    u64 eb = base + (u64{idx} << g.shift(level));
    u64 ee = eb + g.size(level);
    if (ee <= lo || eb >= hi) continue;
    bool inside = eb >= lo && ee <= hi;
    if (pte.kind == Pte::Leaf) {
      if (!inside)
        throw ScenarioError(s.path, "unmap covers only part of a large page; unmap the whole page");
      drop.push_back(idx);
    } else if (pte.kind == Pte::Table) {
      // A table reached by skipping levels covers only the addresses whose skipped index
      // bits are zero, from eb on: the only ones a map can have written (AMD-PT-1).
      bool empty = unmap_range(cfg, s, pte.frame, level_below(level, pte.next), eb, lo, hi, unlinked);
      // dma_pte_free_level: only table pages whose whole range was unmapped are freed.
      if (s.free_tables && empty && inside) {
        unlinked.push_back(pte.frame);
        drop.push_back(idx);
      }
    }
  }
  for (unsigned idx : drop) page.entries.erase(idx);
  return page.entries.empty();
}

void Memory::write_record(const Step & s)
{
  const ConfigWrite & w = s.cw;
  if (w.depth > 0) {  // the structure above the records (VT-d scalable-mode context entry)
    if (w.present)
      ctx_absent_.erase(s.device);
    else
      ctx_absent_.insert(s.device);
    return;
  }
  if (w.fields == ConfigWrite::Fields::Dirty) {
    auto it = attach_.find({s.device, s.pasid});
    if (it == attach_.end())
      throw ScenarioError(s.path + "/device", "dirty tracking changes a present PASID-table entry; attach first");
    it->second.ssade = w.dirty;
    return;
  }
  if (!w.present) {
    attach_.erase({s.device, s.pasid});
    return;
  }
  if (!domains_.at(static_cast<std::size_t>(s.domain)).did)
    throw ScenarioError(s.path + "/domain", "the domain has no domain id (free_did was "
                                            "called, or none was assigned); assign_did first");
  attach_[{s.device, s.pasid}] = Attachment{s.domain, w.type, w.parent, w.dirty};
}

void Memory::apply_step(const Config & cfg, const Step & s)
{
  const Geometry & g = cfg.geo;
  switch (s.op) {
    case Op::Map: {
      unsigned lvl = 0;
      for (unsigned l = 1; l <= g.max_leaf_level(); ++l)
        if (g.size(l) == s.page_size) lvl = l;
      if (lvl == 0) throw ScenarioError(s.path + "/page_size", "not a page size of this geometry");
      const std::vector<unsigned> & skip = cfg.domains.at(static_cast<std::size_t>(s.domain)).skip_levels;
      if (std::find(skip.begin(), skip.end(), lvl) != skip.end())
        throw ScenarioError(s.path + "/page_size", "the domain skips the table level of this page size (skip_levels)");
      u64 pages = s.size / s.page_size;
      for (u64 i = 0; i < pages; ++i)
        map_page(cfg, s, s.iova + i * s.page_size, lvl, (s.phys + i * s.page_size) >> g.page_shift);
      u64 f0 = s.phys >> g.page_shift;
      mark_used(f0, f0 + (s.size >> g.page_shift));
      break;
    }
    case Op::Unmap: {
      DomainState & dom = domains_.at(static_cast<std::size_t>(s.domain));
      std::vector<u64> unlinked;
      unmap_range(cfg, s, dom.root, g.levels, 0, s.iova, s.iova + s.size, unlinked);
      for (u64 t : unlinked) dom.freelist.push_back(t);
      break;
    }
    case Op::FreePgtables: {
      DomainState & dom = domains_.at(static_cast<std::size_t>(s.domain));
      for (u64 t : dom.freelist) {
        tables_.erase(t);
        pool_used_.erase(t - (cfg.pt_pool >> g.page_shift));
        mark_free(t, t + 1);
      }
      dom.freelist.clear();
      break;
    }
    case Op::FreeFrame: {
      u64 f0 = s.phys >> g.page_shift;
      mark_free(f0, f0 + (s.size >> g.page_shift));
      break;
    }
    case Op::ConfigWrite: write_record(s); break;
    case Op::FreeDid: {
      DomainState & dom = domains_.at(static_cast<std::size_t>(s.domain));
      if (!dom.did) throw ScenarioError(s.path + "/domain", "the domain has no domain id to free");
      for (const auto & [key, a] : attach_)
        if (a.domain == s.domain)
          throw ScenarioError(s.path + "/domain", "domain id freed while the domain is still "
                                                  "attached; detach first");
      dom.did.reset();
      break;
    }
    case Op::AssignDid: domains_.at(static_cast<std::size_t>(s.domain)).did = s.did; break;
    case Op::Ats:
      if (s.enable) ats_off_.erase(s.device);
      else ats_off_.insert(s.device);
      break;
    case Op::FreePasid:
    case Op::Invalidate:
    case Op::Sync:
    case Op::Dma:
    case Op::Check:
    case Op::Fence:
    case Op::Clflush:
      break;
  }
}

}  // namespace nostale
