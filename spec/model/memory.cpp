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
    case Op::ShareTable: return "share_table";
    case Op::Ats: return "ats";
    case Op::SetRoot: return "set_root";
  }
  return "?";
}

Memory::Memory(const Config & cfg) : has_dir_(cfg.context_cache())
{
  for (std::size_t d = 0; d < cfg.devices.size(); ++d) {
    if (!cfg.devices[d].context) ctx_absent_.insert(static_cast<int>(d));
    if (cfg.devices[d].pasid_table) ctx_table_[static_cast<int>(d)] = cfg.devices[d].pasid_table;
  }
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

u64 Memory::attached_did(int device, u64 pasid) const
{
  auto it = attach_.find({device, pasid});
  return it == attach_.end() ? 0 : it->second.did;
}

bool Memory::attached_ssade(int device, u64 pasid) const
{
  auto it = attach_.find({device, pasid});
  return it != attach_.end() && it->second.ssade;
}

bool Memory::attached_sre(int device, u64 pasid) const
{
  auto it = attach_.find({device, pasid});
  return it != attach_.end() && it->second.sre;
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

const Attachment * Memory::attachment_in(int device, unsigned table, u64 pasid) const
{
  if (table == context_table(device)) {
    auto it = attach_.find({device, pasid});
    return it == attach_.end() ? nullptr : &it->second;
  }
  auto t = parked_.find({device, table});
  if (t == parked_.end()) return nullptr;
  auto it = t->second.attach.find(pasid);
  return it == t->second.attach.end() ? nullptr : &it->second;
}

u64 Memory::root_of(const Attachment & a) const
{
  return a.pgtt == kPgttPassThrough ? 0 : domains_.at(static_cast<std::size_t>(a.domain)).root;
}

u64 Memory::parent_root_of(const Attachment & a) const
{
  return a.parent < 0 ? 0 : domains_.at(static_cast<std::size_t>(a.parent)).root;
}

void Memory::point_to(int device, unsigned table)
{
  const unsigned old = context_table(device);
  if (old == table) return;
  ParkedTable & out = parked_[{device, old}];
  for (auto it = attach_.lower_bound({device, 0}); it != attach_.end() && it->first.first == device;) {
    out.attach.emplace(it->first.second, it->second);
    it = attach_.erase(it);
  }
  for (auto it = pasid_dir_.lower_bound({device, 0}); it != pasid_dir_.end() && it->first == device;) {
    out.dir.insert(it->second);
    it = pasid_dir_.erase(it);
  }
  if (out.attach.empty() && out.dir.empty()) parked_.erase({device, old});
  auto in = parked_.find({device, table});
  if (in != parked_.end()) {
    for (const auto & [pasid, a] : in->second.attach) attach_.emplace(std::make_pair(device, pasid), a);
    for (u64 dir : in->second.dir) pasid_dir_.insert({device, dir});
    parked_.erase(in);
  }
  if (table) ctx_table_[device] = table;
  else ctx_table_.erase(device);
}

void Memory::select_root(const Config & cfg, unsigned r)
{
  if (r == root_) return;
  for (std::size_t i = 0; i < cfg.devices.size(); ++i) {
    const int d = static_cast<int>(i);
    parked_roots_[{root_, d}] = ContextEntry{context_present(d), context_table(d)};
    auto it = parked_roots_.find({r, d});
    const ContextEntry in = it == parked_roots_.end() ? ContextEntry{} : it->second;
    if (it != parked_roots_.end()) parked_roots_.erase(it);
    if (in.present) ctx_absent_.erase(d);
    else ctx_absent_.insert(d);
    point_to(d, in.table);
  }
  root_ = r;
}

Memory Memory::walker_view(const Memory & now) const
{
  Memory v = *this;
  for (auto it = v.tables_.begin(); it != v.tables_.end();)
    it = now.is_table(it->first, it->second.level) ? std::next(it) : v.tables_.erase(it);
  v.freed_ = now.freed_;
  // A PASID-table entry whose directory entry the walker does not see is not reached.
  if (has_dir_)
    for (auto it = v.attach_.begin(); it != v.attach_.end();)
      it = pasid_dir_.count({it->first.first, it->first.second >> kPasidTableShift}) ? std::next(it) : v.attach_.erase(it);
  if (has_dir_)
    for (auto & [key, t] : v.parked_)
      for (auto it = t.attach.begin(); it != t.attach.end();)
        it = t.dir.count(it->first >> kPasidTableShift) ? std::next(it) : t.attach.erase(it);
  v.ats_off_ = now.ats_off_;  // a device's own state, not a table write a walker may miss
  return v;
}

void Memory::flush_from(const Config & cfg, const Memory & now, const Step & s)
{
  switch (s.flush.kind) {
    case Flush::Kind::All:
      *this = now;
      return;
    case Flush::Kind::Tables: {
      const DomainState & d = now.domains_.at(static_cast<std::size_t>(s.domain));
      flush_tables(cfg.geo, now, d.root, cfg.geo.levels, 0, s.iova, s.iova + s.size, s.flush.level);
      return;
    }
    case Flush::Kind::Directory: {
      // Into the table the step wrote: the one memory's context entry points to now, which
      // the walker may still see parked (VTD-CTX-1).
      const unsigned table = now.context_table(s.device);
      const u64 dir = s.pasid >> kPasidTableShift;
      const bool present = now.pasid_dir_.count({s.device, dir}) > 0;
      if (table != context_table(s.device)) {
        ParkedTable & t = parked_[{s.device, table}];
        if (present) t.dir.insert(dir);
        else t.dir.erase(dir);
        return;
      }
      if (present) pasid_dir_.insert({s.device, dir});
      else pasid_dir_.erase({s.device, dir});
      return;
    }
    case Flush::Kind::Record: {
      if (s.flush.depth == 1) {
        if (now.ctx_absent_.count(s.device)) ctx_absent_.insert(s.device);
        else ctx_absent_.erase(s.device);
        point_to(s.device, now.context_table(s.device));
        return;
      }
      const unsigned table = now.context_table(s.device);
      auto it = now.attach_.find({s.device, s.pasid});
      if (table != context_table(s.device)) {
        ParkedTable & t = parked_[{s.device, table}];
        if (it == now.attach_.end()) t.attach.erase(s.pasid);
        else t.attach[s.pasid] = it->second;
        return;
      }
      const std::pair<int, u64> key{s.device, s.pasid};
      if (it == now.attach_.end()) {
        attach_.erase(key);
        return;
      }
      attach_[key] = it->second;  // with the domain id it holds (Attachment::did)
      return;
    }
  }
}

/// The lines of `table` (level `level`, mapping from `base`) holding entries over [lo, hi), then
/// those of the tables they point to in `now` (the addresses the CPU computes from its tables).
void Memory::flush_tables(const Geometry & geo, const Memory & now, u64 table, unsigned level, u64 base, u64 lo,
                          u64 hi, unsigned only)
{
  auto it = now.tables_.find(table);
  if (it == now.tables_.end() || it->second.level != level) return;
  const u64 span = geo.size(level), entries = u64{1} << geo.level_bits;
  const u64 from = std::max(lo, base), to = std::min(hi, base + span * entries);
  if (from >= to) return;
  const unsigned first = static_cast<unsigned>((from - base) / span), last = static_cast<unsigned>((to - 1 - base) / span);
  if (only == 0 || only == level)
    for (unsigned line = first / kPtesPerLine; line <= last / kPtesPerLine; ++line) flush_line(now, table, line);
  for (auto e = it->second.entries.lower_bound(first); e != it->second.entries.end() && e->first <= last; ++e)
    if (e->second.kind == Pte::Table)
      flush_tables(geo, now, e->second.frame, level_below(level, e->second.next), base + e->first * span, lo, hi, only);
}

void Memory::flush_line(const Memory & now, u64 table, unsigned line)
{
  const TablePage & src = now.tables_.at(table);
  TablePage & dst = tables_[table];
  if (dst.level != src.level) dst = TablePage{src.level, {}};  // new to the walker: the zeroed page
  const unsigned lo = line * kPtesPerLine, hi = lo + kPtesPerLine;
  dst.entries.erase(dst.entries.lower_bound(lo), dst.entries.lower_bound(hi));
  for (auto e = src.entries.lower_bound(lo); e != src.entries.end() && e->first < hi; ++e) dst.entries.insert(*e);
}

bool Memory::walker_sees(const Memory & now) const
{
  if (tables_ != now.tables_ || attach_ != now.attach_ || ctx_absent_ != now.ctx_absent_ ||
      pasid_dir_ != now.pasid_dir_ || ctx_table_ != now.ctx_table_ || parked_ != now.parked_ ||
      root_ != now.root_ || parked_roots_ != now.parked_roots_)
    return false;
  for (std::size_t d = 0; d < domains_.size(); ++d)
    if (domains_[d].did != now.domains_[d].did) return false;
  return true;
}

// A field added to Memory must be compared in walker_sees or same_walks unless no walk reads
// it, or a quiet cut (CUT-2) could keep entries a walk no longer gives.
static_assert(sizeof(Memory) == 496, "Memory changed: compare the new field in same_walks (CUT-2), then update this size");

bool Memory::same_walks(const Memory & o) const
{
  if (!walker_sees(o) || ats_off_ != o.ats_off_ || has_dir_ != o.has_dir_) return false;
  for (std::size_t d = 0; d < domains_.size(); ++d)
    if (domains_[d].root != o.domains_[d].root) return false;
  return true;
}

bool Memory::upper_entries_kept(const Memory & later, unsigned l) const
{
  for (const auto & [frame, page] : tables_) {
    if (page.level < l) continue;
    auto it = later.tables_.find(frame);
    if (it == later.tables_.end() || it->second.level != page.level) return false;
    for (const auto & [idx, pte] : page.entries) {
      auto e = it->second.entries.find(idx);
      if (e == it->second.entries.end() || e->second != pte) return false;
    }
  }
  return true;
}

bool Memory::upper_pointers_land(unsigned l) const
{
  for (const auto & [frame, page] : tables_) {
    if (page.level <= l) continue;
    for (const auto & [idx, pte] : page.entries)
      if (pte.kind == Pte::Table && (pte.next != 0 || !is_table(pte.frame, page.level - 1))) return false;
  }
  return true;
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

std::set<u64> Memory::shared_tables() const
{
  std::map<u64, unsigned> links;
  for (const auto & [frame, page] : tables_)
    for (const auto & [idx, pte] : page.entries)
      if (pte.kind == Pte::Table) ++links[pte.frame];
  std::set<u64> out;
  for (const auto & [frame, n] : links)
    if (n > 1) out.insert(frame);
  return out;
}

std::vector<u64> Memory::walk_path(const Geometry & geo, u64 root, u64 addr) const
{
  std::vector<u64> path;
  u64 table = root;
  for (unsigned level = geo.levels; level >= 1;) {
    path.push_back(table);
    auto it = tables_.find(table);
    if (it == tables_.end() || it->second.level != level) break;
    auto e = it->second.entries.find(geo.index(level, addr));
    if (e == it->second.entries.end() || e->second.kind != Pte::Table) break;
    table = e->second.frame;
    level = level_below(level, e->second.next);
  }
  return path;
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
  bool user = !s.supervisor;  // U/S of the whole walk: the leaf's and every pointer's above
  for (unsigned level = g.levels; level > leaf_level;) {
    unsigned below = level - 1;
    while (skipped(below)) --below;  // the loader keeps leaf levels of maps unskipped
    // A table page freed while this domain still links it (a shared page another domain freed,
    // PT-SHARE-2): the driver writes into freed memory, which walks already read as arbitrary.
    if (!tables_.count(table)) return;
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
      e2.user = !s.supervisor;
      table = t;
    } else {
      table = e.frame;
      below = level_below(level, e.next);
      user = user && e.user;
    }
    level = below;
  }
  if (!tables_.count(table)) return;  // freed while linked, as above
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
  // VTD-PRIV-1: per request class. Supervisor data accesses ignore U/S (WPE=1: R/W applies).
  leaf.perm = !cfg.privilege ? s.perm : (user ? s.perm : 0) | s.perm << 2;
}

void Memory::share_table(const Config & cfg, const Step & s)
{
  // PT-SHARE-1: the pointer of level `s.level + 1` for s.iova in domain s.domain is written to
  // point to the level-`s.level` table page that domain s.from uses for that address, as
  // pgd_alloc copies the kernel's pgd entries into every new mm. Both tables then read the same
  // page: a change in it changes both address spaces.
  const Geometry & g = cfg.geo;
  const unsigned top = s.level + 1;
  const DomainState & src = domains_.at(static_cast<std::size_t>(s.from));
  WalkResult r = walk_from(g, src.root, g.levels, s.iova, top);
  if (r.kind != WalkResult::Pointer || r.level != top || r.next != 0)
    throw ScenarioError(s.path + "/from", "domain " + cfg.domains.at(static_cast<std::size_t>(s.from)).name +
                                              " has no level-" + std::to_string(s.level) +
                                              " table page for this address (map something there first)");
  const u64 page = r.ptr;
  DomainState & dom = domains_.at(static_cast<std::size_t>(s.domain));
  u64 table = dom.root;
  for (unsigned level = g.levels; level > top; --level) {
    if (!tables_.count(table)) return;  // a freed page this domain still links (PT-SHARE-2)
    Pte & e = tables_.at(table).entries[g.index(level, s.iova)];
    if (e.kind == Pte::Leaf)
      throw ScenarioError(s.path, "share_table overlaps a larger page already mapped at this address; unmap it first");
    if (e.kind == Pte::None) {
      u64 t = alloc_table(cfg, level - 1);
      Pte & e2 = tables_.at(table).entries[g.index(level, s.iova)];  // alloc may rehash: re-find
      e2.kind = Pte::Table;
      e2.frame = t;
      table = t;
    } else {
      table = e.frame;
    }
  }
  if (!tables_.count(table)) return;
  Pte & e = tables_.at(table).entries[g.index(top, s.iova)];
  if (e.kind == Pte::Leaf)
    throw ScenarioError(s.path, "share_table overlaps a large page already mapped at this address; unmap it first");
  if (e.kind == Pte::Table && e.frame != page) {
    // The domain's own table there is replaced: unlinked, not freed, like a leaf written over
    // a table pointer.
    std::vector<u64> sub;
    unlink_subtree(e.frame, sub);
    for (u64 t : sub) dom.freelist.push_back(t);
  }
  e = Pte{Pte::Table, page, 0, 0};
}

bool Memory::unmap_range(const Config & cfg, const Step & s, u64 table, unsigned level, u64 base,
                         u64 lo, u64 hi, std::vector<u64> & unlinked)
{
  const Geometry & g = cfg.geo;
  if (!tables_.count(table)) return false;  // freed while still linked (PT-SHARE-2): nothing to clear
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
  if (w.depth > 0 && w.root >= 0 && static_cast<unsigned>(w.root) != root_) {
    // A context entry of a root table the pointer does not select (VTD-ROOT-1): no walk reads it.
    ContextEntry & e = parked_roots_[{static_cast<unsigned>(w.root), s.device}];
    e.present = w.present;
    if (w.present && w.table >= 0) e.table = static_cast<unsigned>(w.table);
    return;
  }
  if (w.depth > 0) {  // the structure above the records (VT-d scalable-mode context entry)
    if (w.present)
      ctx_absent_.erase(s.device);
    else
      ctx_absent_.insert(s.device);
    if (w.present && w.table >= 0) point_to(s.device, static_cast<unsigned>(w.table));
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
  attach_[{s.device, s.pasid}] =
      Attachment{s.domain, w.type, w.parent, w.dirty, *domains_.at(static_cast<std::size_t>(s.domain)).did, w.sre};
  if (has_dir_) pasid_dir_.insert({s.device, s.pasid >> kPasidTableShift});  // intel_pasid_get_entry
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
      // Freed while still attached: the PASID-table entries keep the id (Attachment::did), so
      // walks go on filling entries tagged with it; the check point of this step reports them
      // (no-reuse-while-cached, VTD-ID-6 / OPEN-5).
      dom.did.reset();
      break;
    }
    case Op::AssignDid: domains_.at(static_cast<std::size_t>(s.domain)).did = s.did; break;
    case Op::ShareTable: share_table(cfg, s); break;
    case Op::SetRoot: select_root(cfg, s.root); break;
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
