// Judging a translation against memory, once for both engines (DESIGN.md §2, no-stale and
// no-dma-after-free). A translation is what a lookup that hits a cached entry can use, or what
// memory grants: its kind (none, leaf, or wild: read through a frame that holds no table, so
// anything), its output frame and its permissions. `access` is the accesses the check point
// judges (read, write or both; with first-stage privilege, per request class: user read and
// write in bits 0-1, supervisor in bits 2-3, Perm in spec/model/scenario.h). Every judgement
// below is an "some judged access" over the mask, so judging all classes at once is the same
// as judging each class and taking the first violated (VTD-PRIV-1).
#pragma once

#include "spec/semantics/domain.h"

namespace nostale::sem {

/// Translation kinds, as the encoding's 2-bit walk-result field holds them.
enum TrKind : unsigned { kTrNone = 0, kTrLeaf = 1, kTrPtr = 2, kTrWild = 3 };
constexpr unsigned kTrKindWidth = 2;
/// The widest permission: read/write per request class (Perm). The encoding makes permissions
/// 2 bits wide without first-stage privilege (the queries stay as they were) and 4 with it; the
/// kernel takes the width from the permission itself (D::like).
constexpr unsigned kPermWidth = 4;

template <class D>
struct Tr {
  typename D::Word kind, out, perm;
};

template <class D>
typename D::Bool is_kind(const D & d, const typename D::Word & kind, TrKind k)
{
  return kind == d.word(k, kTrKindWidth);
}

/// Some judged access is allowed by `perm`.
template <class D>
typename D::Bool allows(const D & d, const typename D::Word & perm, unsigned access)
{
  return (perm & d.like(perm, access)) != d.like(perm, 0);
}

/// MOD-1, unsafe: the cached translation `b` grants more than memory's `m`: anything at all
/// (wild), or a judged access to another frame, or a permission memory does not grant.
template <class D>
typename D::Bool unsafe(const D & d, const Tr<D> & b, const Tr<D> & m, unsigned access)
{
  typename D::Word M = d.like(b.perm, access);
  return is_kind(d, b.kind, kTrWild) ||
         (is_kind(d, b.kind, kTrLeaf) && allows(d, b.perm, access) &&
          (m.kind != d.word(kTrLeaf, kTrKindWidth) || b.out != m.out || (b.perm & M & ~m.perm) != d.like(M, 0)));
}

/// MOD-1, restrictive: not unsafe, but memory grants a judged access that `b` does not (the
/// device faults on a valid mapping; with page requests it may loop on the fault).
template <class D>
typename D::Bool restrictive(const D & d, const Tr<D> & b, const Tr<D> & m, unsigned access)
{
  typename D::Word M = d.like(b.perm, access);
  return !unsafe(d, b, m, access) && is_kind(d, m.kind, kTrLeaf) && allows(d, m.perm, access) &&
         (b.kind != d.word(kTrLeaf, kTrKindWidth) || (m.perm & M & ~b.perm) != d.like(M, 0));
}

/// MOD-4: `t` reaches a freed frame with a judged access. A wild translation reaches any frame,
/// so it reaches a freed one as soon as one exists. `out_free`: t.out is a freed frame.
template <class D>
typename D::Bool reaches_free(const D & d, const Tr<D> & t, unsigned access, const typename D::Bool & out_free,
                              bool any_free)
{
  return (is_kind(d, t.kind, kTrWild) && d.boolean(any_free)) ||
         (is_kind(d, t.kind, kTrLeaf) && allows(d, t.perm, access) && out_free);
}

/// VTD-ID-2 (identity domains): a device whose entry in memory is pass-through is trusted with
/// all memory; a translation that agrees with its identity mapping `m` (or grants nothing) is
/// no violation. `pass_through`: the witness's entry in memory is present and pass-through.
template <class D>
typename D::Bool trusted(const D & d, const typename D::Bool & pass_through, const Tr<D> & t, const Tr<D> & m)
{
  return pass_through && (is_kind(d, t.kind, kTrNone) || (is_kind(d, t.kind, kTrLeaf) && t.out == m.out));
}

}  // namespace nostale::sem
