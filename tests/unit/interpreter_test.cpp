// The reference interpreter: Memory (driver semantics), cache matching, what a hardware walk
// may fill, the properties judged at a check point, and the explicit engine on tiny scenarios.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "checker/scenario_loader.h"
#include "spec/interp/cache.h"
#include "spec/model/properties.h"
#include "spec/interp/explorer.h"
#include "spec/model/errors.h"
#include "spec/model/memory.h"
#include "spec/model/timeline.h"
#include "spec/profiles/api/profile.h"

using namespace nostale;

namespace {

constexpr u64 k4K = 0x1000, k2M = 0x200000, k1G = 0x40000000;

/// 48-bit geometry (4 levels of 9 bits), devices d0 (ATS) and d1, domains A (did 1), B (did 2).
Config config()
{
  Config c;
  c.devices = {{"d0", true}, {"d1", false}};
  c.domains = {{"A", 1}, {"B", 2}};
  return c;
}

u64 pool(const Config & c, u64 slot) { return (c.pt_pool >> c.geo.page_shift) + slot; }

int g_step = 0;
Step mk(Op op)
{
  Step s;
  s.op = op;
  s.path = "/steps/" + std::to_string(g_step++);
  return s;
}
Step map(int dom, u64 iova, u64 size, u64 phys, unsigned perm, u64 page_size = k4K)
{
  Step s = mk(Op::Map);
  s.domain = dom;
  s.iova = iova;
  s.size = size;
  s.phys = phys;
  s.perm = perm;
  s.page_size = page_size;
  return s;
}
Step unmap(int dom, u64 iova, u64 size, bool free_tables)
{
  Step s = mk(Op::Unmap);
  s.domain = dom;
  s.iova = iova;
  s.size = size;
  s.free_tables = free_tables;
  return s;
}
Step free_pgtables(int dom)
{
  Step s = mk(Op::FreePgtables);
  s.domain = dom;
  return s;
}
Step free_frame(u64 phys, u64 size)
{
  Step s = mk(Op::FreeFrame);
  s.phys = phys;
  s.size = size;
  return s;
}
Step attach(int dev, u64 pasid, int dom)
{
  Step s = mk(Op::ConfigWrite);
  s.cw.present = true;
  s.device = dev;
  s.pasid = pasid;
  s.domain = dom;
  return s;
}
Step detach(int dev, u64 pasid)
{
  Step s = mk(Op::ConfigWrite);  // present = false
  s.device = dev;
  s.pasid = pasid;
  return s;
}
Step dom_op(Op op, int dom, u64 did = 0)
{
  Step s = mk(op);
  s.domain = dom;
  s.did = did;
  return s;
}

WalkResult walk(const Config & c, const Memory & m, int dom, u64 addr, unsigned stop = 1)
{
  return m.walk_from(c.geo, m.domains().at(static_cast<std::size_t>(dom)).root, c.geo.levels, addr, stop);
}

/// The level-`level` table that the walk for addr reaches (via the pointer one level up).
u64 table_at(const Config & c, const Memory & m, int dom, u64 addr, unsigned level)
{
  WalkResult r = walk(c, m, dom, addr, level + 1);
  EXPECT_EQ(r.kind, WalkResult::Pointer) << "no level-" << level << " table for " << addr;
  return r.ptr;
}

std::size_t count_if(const std::set<Entry> & s, CacheKind k, bool wild)
{
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [&](const Entry & e) { return e.kind == k && e.wild == wild; }));
}

const Entry * find(const std::set<Entry> & s, CacheKind k, unsigned level)
{
  for (const Entry & e : s)
    if (e.kind == k && e.level == level) return &e;
  return nullptr;
}

// ---------------------------------------------------------------------------------------------
// Memory

TEST(Memory, RootsAndTablesAllocatedLowestFirst)
{
  Config c = config();
  Memory m(c);
  ASSERT_EQ(m.domains().size(), 2u);
  EXPECT_EQ(m.domains()[0].root, pool(c, 0));
  EXPECT_EQ(m.domains()[1].root, pool(c, 1));
  EXPECT_TRUE(m.is_table(pool(c, 0), 4));
  EXPECT_EQ(m.domains()[0].did, 1u);

  m.apply_step(c, map(0, k2M, 2 * k4K, 0x80000, kPermRW));
  // Levels 3, 2, 1 for A, in walk order, from the next free slots.
  EXPECT_EQ(table_at(c, m, 0, k2M, 3), pool(c, 2));
  EXPECT_EQ(table_at(c, m, 0, k2M, 2), pool(c, 3));
  EXPECT_EQ(table_at(c, m, 0, k2M, 1), pool(c, 4));
  EXPECT_TRUE(m.is_table(pool(c, 4), 1));
  EXPECT_FALSE(m.is_table(pool(c, 4), 2));
  EXPECT_EQ(m.tables().size(), 5u);
  for (u64 i = 0; i < 2; ++i) {
    WalkResult r = walk(c, m, 0, k2M + i * k4K + 0x123);
    ASSERT_EQ(r.kind, WalkResult::Leaf);
    EXPECT_EQ(r.level, 1u);
    EXPECT_EQ(r.frame, 0x80 + i);
    EXPECT_EQ(r.perm, kPermRW);
  }
  EXPECT_EQ(walk(c, m, 0, k2M + 2 * k4K).kind, WalkResult::None);
  EXPECT_EQ(walk(c, m, 1, k2M).kind, WalkResult::None);  // B is untouched

  // B's first map continues from the lowest free slot.
  m.apply_step(c, map(1, 0, k4K, 0x90000, kPermRead));
  EXPECT_EQ(table_at(c, m, 1, 0, 1), pool(c, 7));
  // A 2 MiB leaf needs no level-1 table.
  m.apply_step(c, map(0, 3 * k2M, k2M, 0x40000000, kPermRead, k2M));
  WalkResult big = walk(c, m, 0, 3 * k2M + 0x12345);
  ASSERT_EQ(big.kind, WalkResult::Leaf);
  EXPECT_EQ(big.level, 2u);
  EXPECT_EQ(big.frame, 0x40000u);
  EXPECT_EQ(m.tables().size(), 8u);
  EXPECT_FALSE(m.any_free());
}

TEST(Memory, UnmapWithoutFreeTablesKeepsTables)
{
  Config c = config();
  Memory m(c);
  m.apply_step(c, map(0, k2M, k4K, 0x80000, kPermRW));
  u64 l1 = table_at(c, m, 0, k2M, 1);
  m.apply_step(c, unmap(0, 0, k1G, false));
  EXPECT_TRUE(m.domains()[0].freelist.empty());
  EXPECT_EQ(table_at(c, m, 0, k2M, 1), l1);  // still linked
  WalkResult r = walk(c, m, 0, k2M);
  EXPECT_EQ(r.kind, WalkResult::None);
  EXPECT_EQ(r.level, 1u);
}

TEST(Memory, UnmapFreeTablesUnlinksOnlyFullyCoveredEmptyTables)
{
  Config c = config();
  Memory m(c);
  m.apply_step(c, map(0, k2M, 2 * k4K, 0x80000, kPermRW));
  m.apply_step(c, map(0, 2 * k2M, k4K, 0x90000, kPermRW));
  u64 l2 = table_at(c, m, 0, k2M, 2);
  u64 l1a = table_at(c, m, 0, k2M, 1);
  u64 l1b = table_at(c, m, 0, 2 * k2M, 1);

  // Part of a table's range: the table page becomes empty but is not fully covered.
  m.apply_step(c, unmap(0, k2M, 2 * k4K, true));
  EXPECT_TRUE(m.domains()[0].freelist.empty());
  EXPECT_EQ(table_at(c, m, 0, k2M, 1), l1a);

  // The whole 2 MiB range of the first level-1 table: it is unlinked (not freed).
  m.apply_step(c, unmap(0, k2M, k2M, true));
  ASSERT_EQ(m.domains()[0].freelist, std::vector<u64>{l1a});
  WalkResult r = walk(c, m, 0, k2M);
  EXPECT_EQ(r.kind, WalkResult::None);
  EXPECT_EQ(r.level, 2u);
  EXPECT_TRUE(m.is_table(l1a, 1));  // content stays until free_pgtables
  EXPECT_FALSE(m.is_free(l1a));
  // The level-2 table still holds the other pointer; the 1 GiB range is not covered anyway.
  EXPECT_EQ(table_at(c, m, 0, 2 * k2M, 2), l2);
  EXPECT_EQ(table_at(c, m, 0, 2 * k2M, 1), l1b);

  // A non-empty table whose range is covered only partly stays, even when the unmap covers
  // a smaller table below it completely.
  m.apply_step(c, map(0, 2 * k2M + k4K, k4K, 0x91000, kPermRW));
  m.apply_step(c, unmap(0, 2 * k2M, k4K, true));
  EXPECT_EQ(table_at(c, m, 0, 2 * k2M, 1), l1b);
  EXPECT_EQ(m.domains()[0].freelist.size(), 1u);

  // The whole first GiB: the level-1 table, then the level-2 table (children first).
  m.apply_step(c, unmap(0, 0, k1G, true));
  EXPECT_EQ(m.domains()[0].freelist, (std::vector<u64>{l1a, l1b, l2}));
  EXPECT_EQ(walk(c, m, 0, 2 * k2M).level, 3u);
}

TEST(Memory, FreePgtablesFreesAndWalksThroughThemAreWild)
{
  Config c = config();
  Memory m(c);
  m.apply_step(c, map(0, k2M, k4K, 0x80000, kPermRW));
  u64 l1 = table_at(c, m, 0, k2M, 1);
  m.apply_step(c, map(0, 2 * k2M, k4K, 0x90000, kPermRW));  // a higher slot stays in use
  EXPECT_EQ(table_at(c, m, 0, 2 * k2M, 1), l1 + 1);
  m.apply_step(c, unmap(0, k2M, k2M, true));
  Memory before = m;
  m.apply_step(c, free_pgtables(0));
  EXPECT_TRUE(m.domains()[0].freelist.empty());
  EXPECT_FALSE(m.is_table(l1, 1));
  EXPECT_TRUE(m.is_free(l1));
  EXPECT_TRUE(m.any_free());
  EXPECT_FALSE(m.is_free(l1 + 1));
  EXPECT_FALSE(m.is_free(l1 - 1));
  EXPECT_TRUE(m.is_table(l1 + 1, 1));
  // A walk that still holds the old pointer (a cached paging-structure entry) reads garbage.
  WalkResult w = m.walk_from(c.geo, l1, 1, k2M, 1);
  EXPECT_EQ(w.kind, WalkResult::Wild);
  EXPECT_EQ(w.level, 1u);
  EXPECT_EQ(w.bad_frame, l1);
  // Before the free the same walk found a valid (empty) table.
  EXPECT_EQ(before.walk_from(c.geo, l1, 1, k2M, 1).kind, WalkResult::None);
  // A table read as the wrong level is wild too.
  EXPECT_EQ(m.walk_from(c.geo, m.domains()[0].root, 3, k2M, 1).kind, WalkResult::Wild);

  // The freed slot is the lowest free one: the next table allocation reuses it.
  m.apply_step(c, map(0, 5 * k2M, k4K, 0xa0000, kPermRead));
  EXPECT_EQ(table_at(c, m, 0, 5 * k2M, 1), l1);
  EXPECT_FALSE(m.is_free(l1));
  EXPECT_FALSE(m.any_free());
  // A valid table again: a stale pointer to it now reads the new table's entries.
  WalkResult again = m.walk_from(c.geo, l1, 1, k2M, 1);  // same level-1 index as 5 * 2M
  EXPECT_EQ(again.kind, WalkResult::Leaf);
  EXPECT_EQ(again.frame, 0xa0u);
  EXPECT_EQ(m.walk_from(c.geo, l1, 1, k2M + 0x5000, 1).kind, WalkResult::None);
}

TEST(Memory, LargePageOverTablePointerUnlinksTheSubtree)
{
  Config c = config();
  Memory m(c);
  m.apply_step(c, map(0, k2M, k4K, 0x80000, kPermRW));
  u64 l1 = table_at(c, m, 0, k2M, 1);
  m.apply_step(c, map(0, k2M, k2M, 0x200000, kPermRead, k2M));
  EXPECT_EQ(m.domains()[0].freelist, std::vector<u64>{l1});
  EXPECT_TRUE(m.is_table(l1, 1));  // unlinked, not freed
  EXPECT_FALSE(m.is_free(l1));
  WalkResult r = walk(c, m, 0, k2M + 0x5000);
  ASSERT_EQ(r.kind, WalkResult::Leaf);
  EXPECT_EQ(r.level, 2u);
  EXPECT_EQ(r.frame, 0x200u);

  // A 1 GiB leaf over a level-2 table with a level-1 table below: the whole subtree.
  m.apply_step(c, map(0, k1G + k2M, k4K, 0x80000, kPermRW));
  u64 l2b = table_at(c, m, 0, k1G, 2);
  u64 l1b = table_at(c, m, 0, k1G + k2M, 1);
  m.apply_step(c, map(0, k1G, k1G, 0x80000000, kPermRW, k1G));
  EXPECT_EQ(m.domains()[0].freelist, (std::vector<u64>{l1, l2b, l1b}));
  m.apply_step(c, free_pgtables(0));
  for (u64 t : {l1, l2b, l1b}) EXPECT_TRUE(m.is_free(t)) << t;
  EXPECT_EQ(walk(c, m, 0, k1G + 0x1000).kind, WalkResult::Leaf);

  // A small page under a large leaf is an error (naming the step).
  Step s = map(0, k2M + k4K, k4K, 0x1000, kPermRW);
  try {
    m.apply_step(c, s);
    FAIL();
  } catch (const ScenarioError & e) {
    EXPECT_EQ(e.where(), s.path);
  }
}

TEST(Memory, AttachDetachAndDomainIds)
{
  Config c = config();
  Memory m(c);
  EXPECT_EQ(m.attached(0, 0), -1);
  m.apply_step(c, attach(0, 0, 0));
  m.apply_step(c, attach(0, 3, 1));
  m.apply_step(c, attach(1, 3, 1));
  EXPECT_EQ(m.attached(0, 0), 0);
  EXPECT_EQ(m.attached(0, 3), 1);
  EXPECT_EQ(m.attached(1, 3), 1);
  EXPECT_EQ(m.attached(1, 0), -1);
  EXPECT_EQ(m.attachments().size(), 3u);
  m.apply_step(c, attach(0, 0, 1));  // rewrite the entry
  EXPECT_EQ(m.attached(0, 0), 1);
  m.apply_step(c, detach(0, 3));
  EXPECT_EQ(m.attached(0, 3), -1);
  EXPECT_EQ(m.attached(1, 3), 1);
  m.apply_step(c, detach(0, 3));  // idempotent
  EXPECT_EQ(m.attachments().size(), 2u);

  // free_did of an attached domain is a driver bug, judged at its check point: the present
  // entries keep the id they were written with (issue 9), also when the domain gets another.
  const u64 did1 = *m.domains()[1].did;
  m.apply_step(c, dom_op(Op::FreeDid, 1));
  EXPECT_FALSE(m.domains()[1].did.has_value());
  EXPECT_EQ(m.attached(1, 3), 1);
  EXPECT_EQ(m.attached_did(1, 3), did1);
  EXPECT_EQ(m.attached_did(0, 0), did1);
  EXPECT_THROW(m.apply_step(c, attach(0, 0, 1)), ScenarioError);  // no id to write
  EXPECT_THROW(m.apply_step(c, dom_op(Op::FreeDid, 1)), ScenarioError);  // already freed
  m.apply_step(c, dom_op(Op::AssignDid, 1, 9));
  EXPECT_EQ(m.domains()[1].did, 9u);
  EXPECT_EQ(m.attached_did(1, 3), did1);  // not rewritten: still the old id
  m.apply_step(c, attach(0, 0, 1));
  EXPECT_EQ(m.attached(0, 0), 1);
  EXPECT_EQ(m.attached_did(0, 0), 9u);
}

TEST(Memory, FreeFrameRangesMergeAndMapReclaims)
{
  Config c = config();
  Memory m(c);
  m.apply_step(c, free_frame(0x80000, 2 * k4K));
  m.apply_step(c, free_frame(0x82000, k4K));
  m.apply_step(c, free_frame(0x90000, k4K));
  ASSERT_EQ(m.freed().size(), 2u);
  EXPECT_EQ(m.freed()[0], (std::pair<u64, u64>{0x80, 0x83}));
  EXPECT_EQ(m.freed()[1], (std::pair<u64, u64>{0x90, 0x91}));
  EXPECT_TRUE(m.is_free(0x82));
  EXPECT_FALSE(m.is_free(0x83));
  // Mapping a frame means it was allocated again.
  m.apply_step(c, map(0, 0, k4K, 0x81000, kPermRead));
  EXPECT_FALSE(m.is_free(0x81));
  EXPECT_TRUE(m.is_free(0x80));
  EXPECT_TRUE(m.is_free(0x82));
}

// ---------------------------------------------------------------------------------------------
// matches()

Entry entry(CacheKind k, unsigned level, u64 addr, const Geometry & g, u64 did = 1, u64 pasid = 0, int dev = -1)
{
  Entry e;
  e.kind = k;
  e.level = level;
  e.vpn = k == CacheKind::PasidCache ? 0 : addr >> g.shift(level);
  e.did = did;
  e.pasid = pasid;
  e.dev = dev;
  return e;
}

InvPattern ranged(InvPattern p, u64 addr, u64 size)
{
  p.ranged = true;
  p.addr = addr;
  p.size = size;
  return p;
}

TEST(Matches, PasidCache)
{
  Geometry g;
  Entry e = entry(CacheKind::PasidCache, 0, 0, g, 1, 5, 0);
  InvPattern p;
  EXPECT_FALSE(matches(g, p, e));
  p.pasid_cache = true;
  EXPECT_TRUE(matches(g, p, e));
  p.pasid = 5;
  EXPECT_TRUE(matches(g, p, e));
  p.pasid = 6;
  EXPECT_FALSE(matches(g, p, e));
  p.pasid.reset();
  p.did = 1;
  EXPECT_TRUE(matches(g, p, e));
  p.did = 2;
  EXPECT_FALSE(matches(g, p, e));
  InvPattern tlb;
  tlb.iotlb = tlb.psc = tlb.devtlb = true;
  EXPECT_FALSE(matches(g, tlb, e));
}

TEST(Matches, IotlbAndPscRangesOverlapLargeEntries)
{
  Geometry g;
  InvPattern p;
  p.iotlb = p.psc = true;
  Entry leaf4k = entry(CacheKind::Iotlb, 1, k2M + k4K, g);
  Entry leaf2m = entry(CacheKind::Iotlb, 2, k2M, g);  // [2M, 4M)
  Entry psc3 = entry(CacheKind::Psc, 3, 0, g);        // [0, 1G)
  Entry psc2 = entry(CacheKind::Psc, 2, k2M, g);      // [2M, 4M)
  for (const Entry & e : {leaf4k, leaf2m, psc3, psc2}) EXPECT_TRUE(matches(g, p, e));

  // A 4 KiB range inside the large entries' ranges removes them.
  InvPattern small = ranged(p, 2 * k2M - k4K, k4K);
  EXPECT_FALSE(matches(g, small, leaf4k));
  EXPECT_TRUE(matches(g, small, leaf2m));
  EXPECT_TRUE(matches(g, small, psc3));
  EXPECT_TRUE(matches(g, small, psc2));
  // Exactly the 4 KiB leaf.
  InvPattern exact = ranged(p, k2M + k4K, k4K);
  EXPECT_TRUE(matches(g, exact, leaf4k));
  // Ranges ending at an entry's start or starting at its end do not overlap.
  InvPattern before = ranged(p, k2M - k4K, k4K);
  EXPECT_FALSE(matches(g, before, leaf2m));
  EXPECT_FALSE(matches(g, before, psc2));
  EXPECT_TRUE(matches(g, before, psc3));
  InvPattern after = ranged(p, 2 * k2M, k4K);
  EXPECT_FALSE(matches(g, after, leaf2m));
  EXPECT_FALSE(matches(g, after, psc2));
  // A range spanning several entries.
  InvPattern span = ranged(p, 0, k1G);
  for (const Entry & e : {leaf4k, leaf2m, psc3, psc2}) EXPECT_TRUE(matches(g, span, e));
  InvPattern beyond = ranged(p, k1G, k1G);
  for (const Entry & e : {leaf4k, leaf2m, psc3, psc2}) EXPECT_FALSE(matches(g, beyond, e));

  // LEAF (psc = false) keeps paging-structure entries.
  InvPattern leaf = ranged(p, k2M, k2M);
  leaf.psc = false;
  EXPECT_TRUE(matches(g, leaf, leaf4k));
  EXPECT_TRUE(matches(g, leaf, leaf2m));
  EXPECT_FALSE(matches(g, leaf, psc2));
  EXPECT_FALSE(matches(g, leaf, psc3));
  // psc alone keeps leaves.
  InvPattern psc_only;
  psc_only.psc = true;
  EXPECT_FALSE(matches(g, psc_only, leaf4k));
  EXPECT_TRUE(matches(g, psc_only, psc3));

  // Filters.
  InvPattern f = p;
  f.did = 2;
  EXPECT_FALSE(matches(g, f, leaf4k));
  EXPECT_FALSE(matches(g, f, psc3));
  f.did = 1;
  f.pasid = 3;
  EXPECT_FALSE(matches(g, f, leaf4k));
  f.pasid = 0;
  EXPECT_TRUE(matches(g, f, leaf4k));
  EXPECT_TRUE(matches(g, f, psc3));
  // The device filter is for device-TLB entries only.
  f.device = 1;
  EXPECT_TRUE(matches(g, f, leaf4k));
  // Other caches do not touch the IOTLB.
  InvPattern dev;
  dev.devtlb = dev.pasid_cache = true;
  EXPECT_FALSE(matches(g, dev, leaf4k));
  EXPECT_FALSE(matches(g, dev, psc3));
}

TEST(Matches, DeviceTlb)
{
  Geometry g;
  Entry e = entry(CacheKind::DevTlb, 2, k2M, g, 0, 4, 1);
  InvPattern p;
  p.iotlb = p.psc = p.pasid_cache = true;
  EXPECT_FALSE(matches(g, p, e));
  InvPattern d;
  d.devtlb = true;
  EXPECT_TRUE(matches(g, d, e));
  d.device = 1;
  EXPECT_TRUE(matches(g, d, e));
  d.device = 0;
  EXPECT_FALSE(matches(g, d, e));
  d.device = 1;
  d.pasid = 4;
  EXPECT_TRUE(matches(g, d, e));
  d.pasid = 0;
  EXPECT_FALSE(matches(g, d, e));
  d.pasid.reset();
  d.did = 7;  // device-TLB entries carry no domain id: ARCHID does not filter them
  EXPECT_TRUE(matches(g, d, e));
  EXPECT_TRUE(matches(g, ranged(d, 2 * k2M - k4K, k4K), e));
  EXPECT_FALSE(matches(g, ranged(d, 2 * k2M, k4K), e));
}

// ---------------------------------------------------------------------------------------------
// fillable_for()

TEST(Fillable, WalkFromMemoryFillsEveryLevel)
{
  Config c = config();
  Memory m(c);
  m.apply_step(c, attach(1, 0, 0));  // d1: no ATS
  m.apply_step(c, map(0, k2M, k4K, 0x80000, kPermRead));
  std::set<Entry> f = fillable_for(c, m, {}, 1, 0, k2M + 0x10);
  const Entry * pc = find(f, CacheKind::PasidCache, 0);
  ASSERT_NE(pc, nullptr);
  EXPECT_EQ(pc->dev, 1);
  EXPECT_EQ(pc->did, 1u);
  EXPECT_EQ(pc->root, m.domains()[0].root);
  for (unsigned l = 2; l <= 4; ++l) {
    const Entry * p = find(f, CacheKind::Psc, l);
    ASSERT_NE(p, nullptr) << l;
    EXPECT_EQ(p->did, 1u);
    EXPECT_EQ(p->vpn, k2M >> c.geo.shift(l));
    EXPECT_FALSE(p->wild);
  }
  EXPECT_EQ(find(f, CacheKind::Psc, 2)->ptr, table_at(c, m, 0, k2M, 1));
  const Entry * leaf = find(f, CacheKind::Iotlb, 1);
  ASSERT_NE(leaf, nullptr);
  EXPECT_EQ(leaf->frame, 0x80u);
  EXPECT_EQ(leaf->perm, kPermRead);
  EXPECT_EQ(leaf->vpn, k2M >> 12);
  EXPECT_EQ(count_if(f, CacheKind::DevTlb, false), 0u);  // not an ATS device
  EXPECT_EQ(f.size(), 5u);
  // Unattached (device, PASID) pairs fill nothing.
  EXPECT_TRUE(fillable_for(c, m, {}, 1, 1, k2M).empty());
  EXPECT_TRUE(fillable_for(c, m, {}, 0, 0, k2M).empty());
}

TEST(Fillable, AtsFillsTheDeviceTlbOnlyForAtsDevices)
{
  Config c = config();
  Memory m(c);
  m.apply_step(c, attach(0, 0, 0));
  m.apply_step(c, attach(1, 0, 0));
  m.apply_step(c, map(0, k2M, k4K, 0x80000, kPermRW));
  std::set<Entry> ats = fillable_for(c, m, {}, 0, 0, k2M);
  std::set<Entry> plain = fillable_for(c, m, {}, 1, 0, k2M);
  const Entry * dt = find(ats, CacheKind::DevTlb, 1);
  ASSERT_NE(dt, nullptr);
  EXPECT_EQ(dt->dev, 0);
  EXPECT_EQ(dt->did, 0u);
  EXPECT_EQ(dt->frame, 0x80u);
  EXPECT_EQ(dt->perm, kPermRW);
  EXPECT_EQ(find(plain, CacheKind::DevTlb, 1), nullptr);
  EXPECT_NE(find(plain, CacheKind::Iotlb, 1), nullptr);

  // ATS requests are answered from the IOTLB too: after an unmap, a cached (stale) IOTLB
  // entry still reaches the device TLB of the ATS device, never of the other one.
  Entry stale = *find(ats, CacheKind::Iotlb, 1);
  m.apply_step(c, unmap(0, k2M, k4K, false));
  std::set<Entry> cache = {stale};
  std::set<Entry> ats2 = fillable_for(c, m, cache, 0, 0, k2M);
  const Entry * dt2 = find(ats2, CacheKind::DevTlb, 1);
  ASSERT_NE(dt2, nullptr);
  EXPECT_EQ(dt2->frame, 0x80u);
  EXPECT_EQ(find(ats2, CacheKind::Iotlb, 1), nullptr);  // memory has no leaf to fill from
  EXPECT_EQ(find(fillable_for(c, m, cache, 1, 0, k2M), CacheKind::DevTlb, 1), nullptr);
  // An IOTLB entry of another domain id is not used.
  Entry other = stale;
  other.did = 2;
  EXPECT_EQ(find(fillable_for(c, m, {other}, 0, 0, k2M), CacheKind::DevTlb, 1), nullptr);
}

TEST(Fillable, CachedPointerToFreedTableYieldsWildEntries)
{
  Config c = config();
  Memory m(c);
  m.apply_step(c, attach(0, 0, 0));
  m.apply_step(c, map(0, k2M, k4K, 0x80000, kPermRW));
  std::set<Entry> f = fillable_for(c, m, {}, 0, 0, k2M);
  const Entry * psc2 = find(f, CacheKind::Psc, 2);
  ASSERT_NE(psc2, nullptr);
  std::set<Entry> cache = {*psc2};

  m.apply_step(c, unmap(0, k2M, k2M, true));
  // Unlinked but not freed: the cached pointer still leads to a valid (empty) table.
  std::set<Entry> unlinked = fillable_for(c, m, cache, 0, 0, k2M);
  EXPECT_EQ(count_if(unlinked, CacheKind::Iotlb, true), 0u);
  EXPECT_EQ(find(unlinked, CacheKind::Iotlb, 1), nullptr);

  m.apply_step(c, free_pgtables(0));
  std::set<Entry> wild = fillable_for(c, m, cache, 0, 0, k2M);
  const Entry * w = find(wild, CacheKind::Iotlb, 1);
  ASSERT_NE(w, nullptr);
  EXPECT_TRUE(w->wild);
  EXPECT_EQ(w->did, 1u);
  EXPECT_EQ(w->vpn, k2M >> 12);
  // The ATS device may get the arbitrary translation too.
  const Entry * dw = find(wild, CacheKind::DevTlb, 1);
  ASSERT_NE(dw, nullptr);
  EXPECT_TRUE(dw->wild);
  // Without the cached pointer, memory alone fills nothing wild.
  std::set<Entry> mem_only = fillable_for(c, m, {}, 0, 0, k2M);
  EXPECT_EQ(count_if(mem_only, CacheKind::Iotlb, true), 0u);
  EXPECT_EQ(count_if(mem_only, CacheKind::Psc, true), 0u);
  // The cached pointer only applies to addresses under it.
  EXPECT_EQ(count_if(fillable_for(c, m, cache, 0, 0, 2 * k2M), CacheKind::Iotlb, true), 0u);

  // A cached level-3 pointer to a freed level-2 table: wild pointers below and wild leaves at
  // levels 1 and 2.
  Memory m2(c);
  m2.apply_step(c, attach(0, 0, 0));
  m2.apply_step(c, map(0, k2M, k4K, 0x80000, kPermRW));
  std::set<Entry> f2 = fillable_for(c, m2, {}, 0, 0, k2M);
  std::set<Entry> cache2 = {*find(f2, CacheKind::Psc, 3)};
  m2.apply_step(c, unmap(0, 0, k1G, true));
  m2.apply_step(c, free_pgtables(0));
  std::set<Entry> w2 = fillable_for(c, m2, cache2, 0, 0, k2M);
  EXPECT_EQ(count_if(w2, CacheKind::Psc, true), 1u);  // level 2
  EXPECT_EQ(count_if(w2, CacheKind::Iotlb, true), 2u);  // levels 1 and 2
  ASSERT_NE(find(w2, CacheKind::Psc, 2), nullptr);
  EXPECT_TRUE(find(w2, CacheKind::Psc, 2)->wild);
}

TEST(Fillable, CachedPasidEntryLetsADetachedDeviceWalk)
{
  Config c = config();
  Memory m(c);
  m.apply_step(c, attach(1, 0, 0));
  m.apply_step(c, map(0, k2M, k4K, 0x80000, kPermRW));
  Entry pc = *find(fillable_for(c, m, {}, 1, 0, k2M), CacheKind::PasidCache, 0);
  m.apply_step(c, detach(1, 0));
  EXPECT_TRUE(fillable_for(c, m, {}, 1, 0, k2M).empty());
  std::set<Entry> f = fillable_for(c, m, {pc}, 1, 0, k2M);
  const Entry * leaf = find(f, CacheKind::Iotlb, 1);
  ASSERT_NE(leaf, nullptr);
  EXPECT_EQ(leaf->frame, 0x80u);
  EXPECT_EQ(leaf->did, 1u);
  EXPECT_EQ(find(f, CacheKind::PasidCache, 0), nullptr);  // memory has no entry to cache
  // Only for that device and PASID.
  EXPECT_TRUE(fillable_for(c, m, {pc}, 0, 0, k2M).empty());
  EXPECT_TRUE(fillable_for(c, m, {pc}, 1, 1, k2M).empty());
}

// ---------------------------------------------------------------------------------------------
// evaluate()

CheckPoint check_at(std::size_t step, unsigned access = kPermRW)
{
  CheckPoint cp;
  cp.step = step;
  cp.access = access;
  return cp;
}

/// Memory with d1 attached (PASID 0) to A and 4 KiB at 2M mapped rw -> 0x80000; and the
/// IOTLB entry a walk fills for it.
struct Mapped {
  Config c = config();
  Memory m{c};
  Entry tlb;
  Mapped(unsigned perm = kPermRW)
  {
    m.apply_step(c, attach(1, 0, 0));
    m.apply_step(c, map(0, k2M, k4K, 0x80000, perm));
    tlb = *find(fillable_for(c, m, {}, 1, 0, k2M), CacheKind::Iotlb, 1);
  }
};

TEST(Evaluate, FreshEntryIsFine)
{
  Mapped s;
  EXPECT_TRUE(evaluate(s.c, s.m, {s.tlb}, check_at(2), 1, 0, k2M).empty());
  EXPECT_TRUE(evaluate(s.c, s.m, fillable_for(s.c, s.m, {}, 1, 0, k2M), check_at(2), 1, 0, k2M).empty());
}

TEST(Evaluate, PermissionDowngradeIsUnsafe)
{
  Mapped s(kPermRW);
  s.m.apply_step(s.c, map(0, k2M, k4K, 0x80000, kPermRead));  // rewrite: rw -> r
  std::vector<Violation> v = evaluate(s.c, s.m, {s.tlb}, check_at(3), 1, 0, k2M);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].property, "no-stale");
  EXPECT_EQ(v[0].severity, "unsafe");
  EXPECT_EQ(v[0].entry, s.tlb);
  // A read-only access is not affected by the stale write permission.
  EXPECT_TRUE(evaluate(s.c, s.m, {s.tlb}, check_at(3, kPermRead), 1, 0, k2M).empty());
  // Another address, another PASID, another device: the entry is not hit.
  EXPECT_TRUE(evaluate(s.c, s.m, {s.tlb}, check_at(3), 1, 0, k2M + k4K).empty());
  EXPECT_TRUE(evaluate(s.c, s.m, {s.tlb}, check_at(3), 1, 1, k2M).empty());
  EXPECT_TRUE(evaluate(s.c, s.m, {s.tlb}, check_at(3), 0, 0, k2M).empty());
}

TEST(Evaluate, PermissionUpgradeIsRestrictive)
{
  Mapped s(kPermRead);
  s.m.apply_step(s.c, map(0, k2M, k4K, 0x80000, kPermRW));  // r -> rw
  std::vector<Violation> v = evaluate(s.c, s.m, {s.tlb}, check_at(3), 1, 0, k2M);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].property, "no-stale");
  EXPECT_EQ(v[0].severity, "restrictive");
  // Judged for reads only, nothing is lost.
  EXPECT_TRUE(evaluate(s.c, s.m, {s.tlb}, check_at(3, kPermRead), 1, 0, k2M).empty());
  // A write-only DMA is denied by the stale entry.
  std::vector<Violation> w = evaluate(s.c, s.m, {s.tlb}, check_at(3, kPermWrite), 1, 0, k2M);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].severity, "restrictive");
}

TEST(Evaluate, OtherOutputFrameAndUnmapAreUnsafe)
{
  Mapped s;
  s.m.apply_step(s.c, map(0, k2M, k4K, 0x90000, kPermRW));  // remap to another frame
  std::vector<Violation> v = evaluate(s.c, s.m, {s.tlb}, check_at(3), 1, 0, k2M);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].severity, "unsafe");
  Mapped u;
  u.m.apply_step(u.c, unmap(0, k2M, k4K, false));
  std::vector<Violation> w = evaluate(u.c, u.m, {u.tlb}, check_at(3), 1, 0, k2M);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].severity, "unsafe");
}

TEST(Evaluate, NoDmaAfterFree)
{
  Mapped s;
  s.m.apply_step(s.c, unmap(0, k2M, k4K, false));
  s.m.apply_step(s.c, free_frame(0x80000, k4K));
  CheckPoint cp = check_at(4);
  cp.op = Op::FreeFrame;
  std::vector<Violation> v = evaluate(s.c, s.m, {s.tlb}, cp, 1, 0, k2M);
  ASSERT_GE(v.size(), 1u);
  EXPECT_EQ(v[0].property, "no-dma-after-free");
  EXPECT_FALSE(v[0].from_memory);
  EXPECT_EQ(v[0].entry, s.tlb);
  EXPECT_EQ(v.back().property, "no-stale");  // also stale, reported after
  // Without the entry nothing reaches the frame.
  EXPECT_TRUE(evaluate(s.c, s.m, {}, cp, 1, 0, k2M).empty());

  // Freeing a frame that memory still maps: memory itself reaches it.
  Mapped f;
  f.m.apply_step(f.c, free_frame(0x80000, k4K));
  std::vector<Violation> w = evaluate(f.c, f.m, {}, cp, 1, 0, k2M);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].property, "no-dma-after-free");
  EXPECT_TRUE(w[0].from_memory);
  // ... but not for an access the mapping does not permit.
  Mapped r(kPermRead);
  r.m.apply_step(r.c, free_frame(0x80000, k4K));
  EXPECT_TRUE(evaluate(r.c, r.m, {}, check_at(4, kPermWrite), 1, 0, k2M).empty());
  EXPECT_EQ(evaluate(r.c, r.m, {}, check_at(4, kPermRead), 1, 0, k2M).size(), 1u);
}

TEST(Evaluate, WildEntryReachesAnyFreedFrame)
{
  Mapped s;
  Entry w = s.tlb;
  w.wild = true;
  w.frame = 0;
  w.perm = 0;
  // Nothing freed: a wild entry is stale (unsafe) but reaches no freed frame.
  std::vector<Violation> v = evaluate(s.c, s.m, {w}, check_at(2), 1, 0, k2M);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].property, "no-stale");
  EXPECT_EQ(v[0].severity, "unsafe");
  s.m.apply_step(s.c, free_frame(0x12345000, k4K));
  std::vector<Violation> f = evaluate(s.c, s.m, {w}, check_at(3), 1, 0, k2M);
  ASSERT_GE(f.size(), 1u);
  EXPECT_EQ(f[0].property, "no-dma-after-free");
}

TEST(Evaluate, NoReuseWhileCachedAtFreePasid)
{
  Config c = config();
  Memory m(c);
  m.apply_step(c, attach(0, 5, 0));
  m.apply_step(c, map(0, k2M, k4K, 0x80000, kPermRW));
  std::set<Entry> cache = fillable_for(c, m, {}, 0, 5, k2M);
  ASSERT_GE(cache.size(), 6u);  // PASID cache, 3 PSC, IOTLB, device TLB
  m.apply_step(c, detach(0, 5));
  CheckPoint cp = check_at(3);
  cp.op = Op::FreePasid;
  cp.freed_pasid = 5;
  std::vector<Violation> reuse = evaluate_reuse(cache, cp);
  EXPECT_EQ(reuse.size(), cache.size());  // every entry tagged with PASID 5
  for (const Violation & v : reuse) EXPECT_EQ(v.property, "no-reuse-while-cached");
  // evaluate reports it for any witness, even an unrelated one, before no-stale.
  std::vector<Violation> v = evaluate(c, m, cache, cp, 1, 0, 0);
  ASSERT_FALSE(v.empty());
  EXPECT_EQ(v[0].property, "no-reuse-while-cached");
  std::vector<Violation> v5 = evaluate(c, m, cache, cp, 0, 5, k2M);
  ASSERT_FALSE(v5.empty());
  EXPECT_EQ(v5[0].property, "no-reuse-while-cached");
  // Another PASID freed: nothing.
  cp.freed_pasid = 6;
  EXPECT_TRUE(evaluate_reuse(cache, cp).empty());
  // A freed domain id hits every entry with that id except device-TLB entries (no id).
  CheckPoint cd = check_at(3);
  cd.freed_did = 1;
  std::vector<Violation> d = evaluate_reuse(cache, cd);
  EXPECT_EQ(d.size(), cache.size() - count_if(cache, CacheKind::DevTlb, false));
  EXPECT_FALSE(d.empty());
  cd.freed_did = 2;
  EXPECT_TRUE(evaluate_reuse(cache, cd).empty());
  // Device-TLB entries hold 0 in their did field: freeing domain id 0 does not hit them.
  ASSERT_EQ(count_if(cache, CacheKind::DevTlb, false), 1u);
  cd.freed_did = 0;
  EXPECT_TRUE(evaluate_reuse(cache, cd).empty());
}

// Pass-through (VT-d PGTT=100b): an identity entry, trusted with every frame it maps now.
TEST(Evaluate, PassThroughIsIdentityAndTrustedOnlyWhileCurrent)
{
  Config c = config();
  Memory m(c);
  Step a = attach(0, 0, 0);
  a.cw.type = kPgttPassThrough;
  m.apply_step(c, a);
  std::set<Entry> filled = fillable_for(c, m, {}, 0, 0, 0x80000);
  const Entry * tlb = find(filled, CacheKind::Iotlb, 1);
  ASSERT_NE(tlb, nullptr);
  EXPECT_EQ(tlb->frame, 0x80u);  // identity
  EXPECT_EQ(tlb->perm, kPermRW);
  EXPECT_EQ(count_if(filled, CacheKind::Psc, false), 0u);  // no table walk
  m.apply_step(c, free_frame(0x80000, k4K));
  CheckPoint cp = check_at(1);
  cp.op = Op::FreeFrame;
  EXPECT_TRUE(evaluate(c, m, filled, cp, 0, 0, 0x80000).empty());  // trusted: no violation
  // Once the entry is first stage (domain A maps nothing), the identity entry is stale and
  // reaches the freed frame.
  Step fs = attach(0, 0, 0);
  fs.cw.type = kPgttFirst;
  m.apply_step(c, fs);
  std::vector<Violation> v = evaluate(c, m, filled, cp, 0, 0, 0x80000);
  ASSERT_FALSE(v.empty());
  EXPECT_EQ(v.front().property, "no-dma-after-free");
  EXPECT_EQ(v.front().entry.pgtt, kPgttPassThrough);
}

// Scalable-mode context entries: the PASID table is reached only through one, in memory or
// cached; a cleared one still cached is stale.
TEST(Evaluate, ClearedContextEntryGatesWalksUnlessCached)
{
  Config c = config();
  c.hw = find_profile("vtd")->hardware(c);  // scalable mode: context entries above PASID tables
  Memory m(c);
  m.apply_step(c, attach(1, 0, 0));
  m.apply_step(c, map(0, k2M, k4K, 0x80000, kPermRW));
  std::set<Entry> before = fillable_for(c, m, {}, 1, 0, k2M);
  const Entry * cc = find(before, CacheKind::ContextCache, 0);
  ASSERT_NE(cc, nullptr);
  Step clear = mk(Op::ConfigWrite);
  clear.cw.depth = 1;  // the context entry
  clear.device = 1;
  clear.cw.present = false;
  m.apply_step(c, clear);
  EXPECT_TRUE(fillable_for(c, m, {}, 1, 0, k2M).empty());  // no context entry: no walk
  std::set<Entry> through = fillable_for(c, m, {*cc}, 1, 0, k2M);
  EXPECT_NE(find(through, CacheKind::Iotlb, 1), nullptr);  // the cached one still leads there
  std::vector<Violation> v = evaluate(c, m, {*cc}, check_at(3), 1, 0, k2M);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v.front().severity, "unsafe");
  EXPECT_EQ(v.front().entry.kind, CacheKind::ContextCache);
  // Through it, lookups reach the PASID table in memory: a freed page it maps is reached.
  m.apply_step(c, free_frame(0x80000, k4K));
  CheckPoint cp = check_at(4);
  cp.op = Op::FreeFrame;
  v = evaluate(c, m, {*cc}, cp, 1, 0, k2M);
  ASSERT_FALSE(v.empty());
  EXPECT_EQ(v.front().property, "no-dma-after-free");
  EXPECT_EQ(v.front().entry.kind, CacheKind::ContextCache);
}

// Nested walks cache the second-stage pointers they read, by guest-physical address.
TEST(Fillable, NestedWalkCachesSecondStagePointersByGuestPhysicalAddress)
{
  Config c = config();
  Memory m(c);
  m.apply_step(c, map(1, 0x400000, k4K, 0x80000, kPermRW));  // parent B: GPA 4M -> host
  m.apply_step(c, map(0, k2M, k4K, 0x400000, kPermRW));      // guest A: IOVA 2M -> GPA 4M
  Step a = attach(1, 0, 0);
  a.cw.type = kPgttNested;
  a.cw.parent = 1;
  m.apply_step(c, a);
  std::set<Entry> filled = fillable_for(c, m, {}, 1, 0, 0x400000);  // walked as a GPA
  std::vector<Entry> gpa;
  for (const Entry & e : filled)
    if (e.gpa) gpa.push_back(e);
  ASSERT_EQ(gpa.size(), 3u);  // levels 4, 3, 2 of the parent's table
  for (const Entry & e : gpa) {
    EXPECT_EQ(e.did, 1u);  // the nested DID, not the parent's
    EXPECT_EQ(e.vpn, u64{0x400000} >> c.geo.shift(e.level));
  }
  EXPECT_EQ(nested_gpa(c, m, 1, 0, k2M), std::optional<u64>(0x400000));
  // A leaf-only flush of the nested DID keeps them; a ranged one does not name them.
  InvPattern leaf;
  leaf.iotlb = true;
  leaf.did = 1;
  InvPattern ranged = leaf;
  ranged.psc = true;
  ranged.ranged = true;
  ranged.addr = 0x400000;
  ranged.size = k4K;
  InvPattern dsi = leaf;
  dsi.psc = true;
  EXPECT_FALSE(matches(c.geo, leaf, gpa.front()));
  EXPECT_FALSE(matches(c.geo, ranged, gpa.front()));
  EXPECT_TRUE(matches(c.geo, dsi, gpa.front()));
}

TEST(Evaluate, PropertyOrder)
{
  // The report order DESIGN.md gives: a freed frame reached first, then reuse, then staleness.
  std::vector<std::string> ids;
  for (const PropertyInfo & p : kProperties) ids.push_back(p.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"no-dma-after-free", "no-reuse-while-cached", "no-stale", "no-missed-dirty"}));
  EXPECT_EQ(kQueryCount, 5u);
  EXPECT_STREQ(kQueries[2].property, "no-stale");
  EXPECT_STREQ(kQueries[2].severity, "unsafe");
  EXPECT_STREQ(kQueries[3].severity, "restrictive");
  EXPECT_EQ(query_bit("no-stale", "restrictive"), 3u);
  EXPECT_EQ(query_bit("no-stale", ""), kQueryCount);
}

// ---------------------------------------------------------------------------------------------
// explore() on tiny scenarios

std::string tiny(const std::string & steps)
{
  return R"({ "name": "tiny", "profile": "generic",
  "config": { "geometry": {"page_shift": 12, "level_bits": 1, "levels": 3}, "pasid_bits": 1,
              "devices": [ {"name": "d0"} ], "domains": [ {"name": "A", "did": 1} ] },
  "steps": [ )" + steps + R"( ],
  "expect": { "verdict": "safe" } })";
}

const char * kPrefix = R"(
  {"op": "attach", "device": "d0", "domain": "A"},
  {"op": "map", "domain": "A", "iova": "0x1000", "size": "0x1000", "phys": "0x80000", "perm": "rw"},
  {"op": "unmap", "domain": "A", "iova": "0x1000", "size": "0x1000"},
  {"op": "invalidate", "domain": "A", "cache": ["IOTLB"], "granularity": "DOMAIN"},)";

TEST(Explore, SafeTinyScenario)
{
  Scenario sc = parse_scenario(tiny(std::string(kPrefix) + R"(
    {"op": "sync"},
    {"op": "free_frame", "phys": "0x80000"})"), "safe.json");
  Timeline tl = build_timeline(sc);
  ExplicitResult r = explore(sc, tl);
  EXPECT_TRUE(r.complete);
  EXPECT_FALSE(r.check.has_value()) << r.property << " at check " << *r.check;
  EXPECT_GE(r.schedules, 1u);
}

TEST(Explore, ViolationAtAKnownStep)
{
  // The frame is freed (step 4) before the invalidation is waited for (step 5).
  Scenario sc = parse_scenario(tiny(std::string(kPrefix) + R"(
    {"op": "free_frame", "phys": "0x80000"},
    {"op": "sync"})"), "bug.json");
  Timeline tl = build_timeline(sc);
  ExplicitResult r = explore(sc, tl);
  EXPECT_TRUE(r.complete);
  ASSERT_TRUE(r.check.has_value());
  EXPECT_EQ(tl.checks[*r.check].step, 4u);
  EXPECT_EQ(r.property, "no-dma-after-free");
  // Two schedules: the invalidation completes before the free_frame or before the sync.
  EXPECT_EQ(r.schedules, 2u);
}

TEST(Explore, StaleAfterDowngradeAndSeverityFilter)
{
  const char * head = R"(
  {"op": "attach", "device": "d0", "domain": "A"},
  {"op": "map", "domain": "A", "iova": "0x2000", "size": "0x1000", "phys": "0x80000", "perm": ")";
  const char * mid = R"("},
  {"op": "check"},
  {"op": "map", "domain": "A", "iova": "0x2000", "size": "0x1000", "phys": "0x80000", "perm": ")";
  const char * tail = R"("},
  {"op": "check"})";
  auto scenario = [&](const char * from, const char * to) {
    return parse_scenario(tiny(std::string(head) + from + mid + to + tail), "perm.json");
  };
  Scenario down = scenario("rw", "r");
  Timeline tl = build_timeline(down);
  ExplicitResult r = explore(down, tl);
  ASSERT_TRUE(r.check.has_value());
  EXPECT_EQ(tl.checks[*r.check].step, 4u);
  EXPECT_EQ(r.property, "no-stale");
  EXPECT_EQ(r.severity, "unsafe");
  EXPECT_TRUE(explore(down, tl, true).check.has_value());

  Scenario up = scenario("r", "rw");
  Timeline tu = build_timeline(up);
  ExplicitResult u = explore(up, tu);
  ASSERT_TRUE(u.check.has_value());
  EXPECT_EQ(tu.checks[*u.check].step, 4u);
  EXPECT_EQ(u.severity, "restrictive");
  ExplicitResult uu = explore(up, tu, true);
  EXPECT_TRUE(uu.complete);
  EXPECT_FALSE(uu.check.has_value());
}

TEST(Explore, TooLargeGeometryIsIncomplete)
{
  Scenario sc = parse_scenario(R"({ "name": "wide", "profile": "generic",
    "config": { "devices": [ {"name": "d0"} ], "domains": [ {"name": "A", "did": 1} ] },
    "steps": [ {"op": "attach", "device": "d0", "domain": "A"} ],
    "expect": { "verdict": "safe" } })", "wide.json");
  Timeline tl = build_timeline(sc);
  ExplicitResult r = explore(sc, tl);
  EXPECT_FALSE(r.complete);
  EXPECT_FALSE(r.check.has_value());
}

}  // namespace
