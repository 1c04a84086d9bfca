// Matching an invalidation pattern (spec/semantics/pattern.h) against a cache entry, once for
// both engines (MOD-1, GAPI-3, ATS-3): the interpreter with plain values, the encoding with terms
// over the witness. The engines say which cache an entry is in and what it carries; whether a
// completed invalidation removes it is decided here. The terms are built in the order the
// encoding has always built them, so its queries do not change.
#pragma once

#include <optional>

#include "spec/semantics/domain.h"
#include "spec/semantics/geometry.h"
#include "spec/semantics/pattern.h"

namespace nostale::sem {

/// What a cache entry carries, as the matcher reads it.
template <class D>
struct Tagged {
  typename D::Word did;    ///< packed domain tag (width `did_w`)
  typename D::Word pasid;  ///< PASID tag (width `pasid_w`)
  /// The entry carries no PASID (second-stage entries, VTD-CACHE-3): a PASID filter never
  /// names it. nullopt: it certainly carries one.
  std::optional<typename D::Bool> untagged;
  typename D::Word type;   ///< translation type of the record it was filled through
  typename D::Word level;  ///< the level it sits at (width kLevelWidth)
  typename D::Word addr;   ///< an address it translates (width `addr_w`)
  /// Indexed by guest-physical address (second stage of a nested walk): no input-address
  /// range names it.
  bool gpa = false;
};

constexpr unsigned kLevelWidth = 3;

/// The domain tag and PASID filters, conjoined in this order (MOD-1). The domain tag filter
/// compares the bits of `did_mask` only (one field of a packed tag, DESIGN.md §1).
template <class D>
typename D::Bool id_filters(const D & d, const InvPattern & p, const typename D::Word & did, unsigned did_w,
                            const typename D::Word & pasid, unsigned pasid_w)
{
  typename D::Bool r = d.boolean(true);
  if (p.pasid) r = r && pasid == d.word(*p.pasid, pasid_w);
  if (p.did) {
    const u64 all = did_w >= 64 ? ~u64{0} : (u64{1} << did_w) - 1;
    const u64 m = p.did_mask & all;
    if (m == all)
      r = r && did == d.word(*p.did, did_w);
    else
      r = r && (did & d.word(m, did_w)) == d.word(*p.did & m, did_w);
  }
  return r;
}

/// The entry of level `level` holding `addr` overlaps the pattern's range [addr, addr + size):
/// its aligned region's index lies in [A >> s, (E - 1) >> s] (compare the bits above s). With a
/// level hint, only entries of that level count (ARM-TTL-1: others may survive).
template <class D>
typename D::Bool overlap(const D & d, const InvPattern & p, const Geometry & g, const typename D::Word & level,
                         const typename D::Word & addr, unsigned addr_w)
{
  if (!p.ranged) return d.boolean(true);
  typename D::Bool r = d.boolean(false);
  for (unsigned l = 1; l <= g.levels; ++l) {
    const unsigned sh = g.shift(l);
    if (sh >= addr_w) continue;
    if (p.level && *p.level != l) continue;
    typename D::Word idx = d.extract(addr, addr_w - 1, sh);
    typename D::Bool in = d.uge(idx, d.word(p.addr >> sh, addr_w - sh)) &&
                          d.ule(idx, d.word((p.addr + p.size - 1) >> sh, addr_w - sh));
    r = d.ite_bool(level == d.word(l, kLevelWidth), in, r);
  }
  return r;
}

/// The translation type `type` is one of `mask` (bit 1 << type).
template <class D>
typename D::Bool type_in(const D & d, const typename D::Word & type, unsigned mask, unsigned type_w)
{
  typename D::Bool r = d.boolean(false);
  for (unsigned x = 0; x < 5; ++x)
    if ((mask >> x) & 1) r = r || type == d.word(x, type_w);
  return r;
}

/// Where a stage-typed entry is matched: its type regardless of address (VT-d PSI drops every
/// first-stage entry of its domain id, VTD-GRAN-1), or its type within the range. A range of
/// input addresses names no guest-physical address.
template <class D>
typename D::Bool where(const D & d, const InvPattern & p, const Geometry & g, const Tagged<D> & e, unsigned addr_w,
                       unsigned type_w)
{
  typename D::Bool in_range = e.gpa ? d.boolean(!p.ranged) : overlap(d, p, g, e.level, e.addr, addr_w);
  return type_in(d, e.type, p.pgtt_anyaddr, type_w) || (type_in(d, e.type, p.pgtt_mask, type_w) && in_range);
}

/// IOTLB and paging-structure entries (MOD-1, MOD-3: a leaf-only pattern names no pointer).
template <class D>
typename D::Bool match_tlb(const D & d, const InvPattern & p, bool pointer, const Geometry & g, const Tagged<D> & e,
                           unsigned did_w, unsigned pasid_w, unsigned addr_w, unsigned type_w)
{
  if (!(pointer ? p.psc : p.iotlb)) return d.boolean(false);
  typename D::Bool r = id_filters(d, p, e.did, did_w, e.pasid, pasid_w);
  if (p.pasid && e.untagged) r = r && !*e.untagged;
  return r && where(d, p, g, e, addr_w, type_w);
}

/// Device-TLB entries: tagged by device and PASID, matched by range (ATS-3).
template <class D>
typename D::Bool match_devtlb(const D & d, const InvPattern & p, const Geometry & g, const typename D::Word & dev,
                              unsigned dev_w, const typename D::Word & pasid, unsigned pasid_w,
                              const typename D::Word & level, const typename D::Word & addr, unsigned addr_w)
{
  if (!p.devtlb) return d.boolean(false);
  typename D::Bool r = overlap(d, p, g, level, addr, addr_w);
  if (p.pasid) r = r && pasid == d.word(*p.pasid, pasid_w);
  if (p.device) r = r && dev == d.word(static_cast<u64>(*p.device), dev_w);
  return r;
}

/// Cached translating records (PASID cache; VT-d legacy context cache): by domain tag, PASID
/// and device (VTD-GRAN-4). A not-present record (`negative`) of hardware that tags it with
/// the domain tag memory's record holds at submission is named by that one (VTD-SEQ-4).
template <class D>
typename D::Bool match_record(const D & d, const InvPattern & p, const typename D::Word & did, unsigned did_w,
                              const typename D::Word & dev, unsigned dev_w, const typename D::Word & pasid,
                              unsigned pasid_w, const typename D::Bool * negative = nullptr)
{
  if (!p.pasid_cache) return d.boolean(false);
  typename D::Word tag = did;
  if (negative && p.records_now) {
    typename D::Word now = d.word(0, did_w);
    for (const RecordTag & rt : *p.records_now)
      now = d.ite(dev == d.word(static_cast<u64>(rt.device), dev_w) && pasid == d.word(rt.pasid, pasid_w),
                  d.word(rt.did, did_w), now);
    tag = d.ite(*negative, now, did);
  }
  typename D::Bool r = id_filters(d, p, tag, did_w, pasid, pasid_w);
  if (p.pc_device) r = r && dev == d.word(static_cast<u64>(*p.pc_device), dev_w);
  return r;
}

/// Cached records of the structure above (VT-d scalable-mode context cache): by device.
template <class D>
typename D::Bool match_upper(const D & d, const InvPattern & p, const typename D::Word & dev, unsigned dev_w)
{
  if (!p.context_cache) return d.boolean(false);
  return p.pc_device ? dev == d.word(static_cast<u64>(*p.pc_device), dev_w) : d.boolean(true);
}

}  // namespace nostale::sem
