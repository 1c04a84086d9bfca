// The shared kernel (spec/semantics/): both engines run it, so the differential test cannot see
// a fault in it. These cases pin its judgement to DESIGN.md §2 on plain values; the encoding's
// instantiation is checked against the same table through Z3 (JudgeZ3AgreesOnEveryCase).
#include <gtest/gtest.h>

#include <z3++.h>

#include "spec/semantics/judge.h"
#include "spec/semantics/match.h"
#include "spec/smt/z3_domain.h"

namespace nostale::sem {
namespace {

using T = Tr<Concrete>;
constexpr unsigned R = 1, W = 2, RW = 3;

T none() { return {kTrNone, 0, 0}; }
T leaf(u64 out, unsigned perm) { return {kTrLeaf, out, perm}; }
T wild() { return {kTrWild, 0, 0}; }

struct Case {
  T cached, mem;
  unsigned access;
  bool unsafe, restrictive;
};

const Case kCases[] = {
    {leaf(5, RW), leaf(5, RW), RW, false, false},  // agrees
    {leaf(5, RW), leaf(6, RW), RW, true, false},   // another page
    {leaf(5, RW), leaf(5, R), RW, true, false},    // more permission than memory
    {leaf(5, RW), leaf(5, R), R, false, false},    // ... but only reads are judged
    {leaf(5, R), leaf(5, RW), RW, false, true},    // less permission: the device faults
    {leaf(5, R), leaf(5, RW), R, false, false},    // ... not on reads
    {leaf(5, RW), none(), RW, true, false},        // memory unmapped it
    {none(), leaf(5, RW), RW, false, true},        // cached not-present, memory maps it
    {none(), none(), RW, false, false},
    {wild(), leaf(5, RW), RW, true, false},        // read through a freed table page: anything
    {wild(), none(), R, true, false},
    {leaf(5, W), leaf(5, W), R, false, false},     // no judged access either way
    {leaf(5, W), leaf(6, W), R, false, false},
};

TEST(Judge, UnsafeAndRestrictiveFollowTheDesign)
{
  Concrete d;
  for (const Case & c : kCases) {
    EXPECT_EQ(unsafe(d, c.cached, c.mem, c.access), c.unsafe) << c.cached.kind << " " << c.cached.out;
    EXPECT_EQ(restrictive(d, c.cached, c.mem, c.access), c.restrictive) << c.cached.kind << " " << c.cached.out;
    EXPECT_FALSE(unsafe(d, c.cached, c.mem, c.access) && restrictive(d, c.cached, c.mem, c.access));
  }
}

TEST(Judge, ReachesFree)
{
  Concrete d;
  EXPECT_TRUE(reaches_free(d, leaf(5, R), RW, true, true));
  EXPECT_FALSE(reaches_free(d, leaf(5, W), R, true, true));   // no judged access
  EXPECT_FALSE(reaches_free(d, leaf(5, RW), RW, false, true));  // its frame is not free
  EXPECT_TRUE(reaches_free(d, wild(), R, false, true));        // anything, once a frame is free
  EXPECT_FALSE(reaches_free(d, wild(), R, false, false));
  EXPECT_FALSE(reaches_free(d, none(), RW, true, true));
}

TEST(Judge, PassThroughIsTrustedOnlyWhereItAgrees)
{
  Concrete d;
  EXPECT_TRUE(trusted(d, true, leaf(7, RW), leaf(7, RW)));
  EXPECT_TRUE(trusted(d, true, none(), leaf(7, RW)));
  EXPECT_FALSE(trusted(d, true, leaf(8, RW), leaf(7, RW)));
  EXPECT_FALSE(trusted(d, true, wild(), leaf(7, RW)));
  EXPECT_FALSE(trusted(d, false, leaf(7, RW), leaf(7, RW)));
}

/// The Z3 instantiation (what the encoding builds) gives the same answers on every case.
TEST(Judge, Z3AgreesOnEveryCase)
{
  z3::context c;
  const smt::Z3Domain d{c};
  auto lift = [&](const T & t) { return Tr<smt::Z3Domain>{d.word(t.kind, kTrKindWidth), d.word(t.out, 52), d.word(t.perm, kPermWidth)}; };
  for (const Case & k : kCases) {
    z3::expr u = unsafe(d, lift(k.cached), lift(k.mem), k.access).simplify();
    z3::expr r = restrictive(d, lift(k.cached), lift(k.mem), k.access).simplify();
    EXPECT_EQ(u.is_true(), k.unsafe);
    EXPECT_EQ(r.is_true(), k.restrictive);
  }
}

// Pattern matching (match.h): a domain-tag filter compares the bits of its mask only (ASID low
// byte, VMID high byte here); a level hint names the level of the entries a range removes.
struct MatchCase {
  const char * what;
  InvPattern p;
  u64 did;
  unsigned level;
  u64 addr;
  bool removed;
};

InvPattern tlb(std::optional<u64> did, u64 mask = ~u64{0})
{
  InvPattern p;
  p.iotlb = p.psc = true;
  p.did = did;
  p.did_mask = mask;
  return p;
}

InvPattern ranged(InvPattern p, u64 addr, u64 size, std::optional<unsigned> level = std::nullopt)
{
  p.ranged = true;
  p.addr = addr;
  p.size = size;
  p.level = level;
  return p;
}

const Geometry kGrid{12, 9, 4};
const MatchCase kMatches[] = {
    {"whole tag equal", tlb(0x0101), 0x0101, 1, 0x1000, true},
    {"whole tag: other ASID", tlb(0x0101), 0x0102, 1, 0x1000, false},
    {"VMID filter spares no ASID", tlb(0x0100, 0xff00), 0x0107, 1, 0x1000, true},
    {"VMID filter: other VMID", tlb(0x0100, 0xff00), 0x0207, 1, 0x1000, false},
    {"ASID filter across VMIDs", tlb(0x0003, 0x00ff), 0x0503, 1, 0x1000, true},
    {"no filter", tlb(std::nullopt), 0x0503, 1, 0x1000, true},
    {"range covers the 4K entry", ranged(tlb(std::nullopt), 0x1000, 0x1000), 0, 1, 0x1000, true},
    {"range ends before it", ranged(tlb(std::nullopt), 0x0, 0x1000), 0, 1, 0x1000, false},
    {"range touches a 2M entry", ranged(tlb(std::nullopt), 0x201000, 0x1000), 0, 2, 0x200000, true},
    {"hint names its level", ranged(tlb(std::nullopt), 0x200000, 0x200000, 2), 0, 2, 0x200000, true},
    {"hint names another level", ranged(tlb(std::nullopt), 0x200000, 0x200000, 1), 0, 2, 0x200000, false},
};

template <class D>
typename D::Bool match_one(const D & d, const MatchCase & k)
{
  Tagged<D> e{d.word(k.did, 16), d.word(0, 20), std::nullopt, d.word(0, 3), d.word(k.level, kLevelWidth),
              d.word(k.addr, 48), false};
  return match_tlb(d, k.p, false, kGrid, e, 16, 20, 48, 3);
}

TEST(Match, TagMasksAndLevelHints)
{
  for (const MatchCase & k : kMatches) EXPECT_EQ(match_one(Concrete{}, k), k.removed) << k.what;
}

TEST(Match, Z3AgreesOnEveryCase)
{
  z3::context c;
  const smt::Z3Domain d{c};
  for (const MatchCase & k : kMatches) EXPECT_EQ(match_one(d, k).simplify().is_true(), k.removed) << k.what;
}

}  // namespace
}  // namespace nostale::sem
