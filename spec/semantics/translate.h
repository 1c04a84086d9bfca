// Translating through a configuration record, once for both engines: what a record of each
// translation type gives for an address, beyond the walk itself (which each engine does over
// its own memory form). The interpreter calls these with plain values, the encoding with terms.
#pragma once

#include "spec/semantics/judge.h"
#include "spec/semantics/record.h"

namespace nostale::sem {

/// VTD-CACHE-3 (PGTT=100b, pass-through): no table at all; the output frame is the input
/// address's (`frame`: addr >> page_shift, masked to the address width), read and write (for
/// every request class, with first-stage privilege: `privilege`).
template <class D>
Tr<D> pass_through(const D & d, const typename D::Word & frame, bool privilege = false)
{
  return {d.word(kTrLeaf, kTrKindWidth), frame, privilege ? d.word(15, kPermWidth) : d.word(3, 2)};
}

/// VTD-PRIV-1/2, with first-stage privilege only: what a record of translation type `type` and
/// SRE `sre` lets each request class use of a walk's permission `perm`. A leaf's permission as
/// memory holds it is already per class: user read/write only where U/S=1 on every level of
/// the walk, supervisor read/write always (supervisor data accesses ignore U/S; WPE=1, as Linux
/// sets it with SRE: a supervisor write needs R/W=1). First-stage and nested records: a
/// supervisor request is blocked without SRE (§9.6). Second-stage and legacy tables have no U/S
/// (§3.7): every class gets the read/write the entry grants. Pass-through: everything already.
template <class D>
typename D::Word privileged(const D & d, const typename D::Word & perm, const typename D::Word & type,
                            const typename D::Bool & sre)
{
  const typename D::Bool first = has_type(d, type, kTypeFirst) || has_type(d, type, kTypeNested);
  // Second stage: the supervisor pair (always the entry's R/W) copied into the user pair.
  const typename D::Word zero = d.like(perm, 0);
  const typename D::Bool r = (perm & d.like(perm, 4)) != zero;
  const typename D::Bool w = (perm & d.like(perm, 8)) != zero;
  const typename D::Word any = d.ite(r, d.ite(w, d.like(perm, 15), d.like(perm, 5)),
                                     d.ite(w, d.like(perm, 10), zero));
  return d.ite(first, d.ite(sre, perm, perm & d.like(perm, 3)),
               d.ite(has_type(d, type, kTypePassThrough), perm, any));
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
  const typename D::Bool ok = leaf1 && is_kind(d, s2.kind, kTrLeaf) && perm != d.like(perm, 0);
  const typename D::Bool wild = is_kind(d, s1.kind, kTrWild) || (leaf1 && is_kind(d, s2.kind, kTrWild));
  const typename D::Word zero_out = d.word(0, out_w);
  return {d.ite(wild, d.word(kTrWild, kTrKindWidth),
                d.ite(ok, d.word(kTrLeaf, kTrKindWidth), d.word(kTrNone, kTrKindWidth))),
          d.ite(wild, zero_out, d.ite(ok, s2.out, zero_out)),
          d.ite(wild, d.like(perm, 0), d.ite(ok, perm, d.like(perm, 0)))};
}

}  // namespace nostale::sem
