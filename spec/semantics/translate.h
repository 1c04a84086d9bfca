// Translating through a configuration record, once for both engines: what a record of each
// translation type gives for an address, beyond the walk itself (which each engine does over
// its own memory form). The interpreter calls these with plain values, the encoding with terms.
#pragma once

#include "spec/semantics/judge.h"
#include "spec/semantics/record.h"

namespace nostale::sem {

/// VTD-CACHE-3 (PGTT=100b, pass-through): no table at all; the output frame is the input
/// address's (`frame`: addr >> page_shift, masked to the address width), read and write.
template <class D>
Tr<D> pass_through(const D & d, const typename D::Word & frame)
{
  return {d.word(kTrLeaf, kTrKindWidth), frame, d.word(3, kPermWidth)};
}

/// VTD-CACHE-3 (nested): the combined translation of a first-stage result `s1` through the
/// second stage's result `s2` for its output address (`s2.out` already the host frame of the
/// accessed page, `out_w` bits wide). `leaf1`: s1 is a leaf whose guest-physical output the
/// second stage translates. Anything, when either stage read through a frame that holds no
/// table; a leaf with the permissions both stages grant, when both grant some; nothing
/// otherwise. The IOTLB caches the result as one entry (both engines: as 4 KiB).
template <class D>
Tr<D> nest(const D & d, const Tr<D> & s1, const typename D::Bool & leaf1, const Tr<D> & s2, unsigned out_w)
{
  const typename D::Word perm = s2.perm & s1.perm;
  const typename D::Bool ok = leaf1 && is_kind(d, s2.kind, kTrLeaf) && perm != d.word(0, kPermWidth);
  const typename D::Bool wild = is_kind(d, s1.kind, kTrWild) || (leaf1 && is_kind(d, s2.kind, kTrWild));
  const typename D::Word zero_out = d.word(0, out_w);
  return {d.ite(wild, d.word(kTrWild, kTrKindWidth),
                d.ite(ok, d.word(kTrLeaf, kTrKindWidth), d.word(kTrNone, kTrKindWidth))),
          d.ite(wild, zero_out, d.ite(ok, s2.out, zero_out)),
          d.ite(wild, d.word(0, kPermWidth), d.ite(ok, perm, d.word(0, kPermWidth)))};
}

}  // namespace nostale::sem
