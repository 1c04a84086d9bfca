// The shared kernel (spec/semantics/): both engines run it, so the differential test cannot see
// a fault in it. These cases pin its judgement to DESIGN.md §2 on plain values; the encoding's
// instantiation is checked against the same table through Z3 (JudgeZ3AgreesOnEveryCase).
#include <gtest/gtest.h>

#include <z3++.h>

#include "spec/semantics/judge.h"
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

}  // namespace
}  // namespace nostale::sem
