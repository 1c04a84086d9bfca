// A configuration record as the walker reads it, once for both engines: its physical fields
// (where the description's word layout puts them), the semantic entry they mean, and the torn
// mix a walker may read while a non-atomic rewrite is under way (VTD-COH-3).
#pragma once

#include <vector>

#include "spec/hw/description.h"
#include "spec/semantics/domain.h"

namespace nostale::sem {

/// Translation types (the VT-d PGTT values; SMMUv3 STE.Config and AMD DTE modes map onto them).
enum RecordType : unsigned { kTypeNone = 0, kTypeFirst = 1, kTypeSecond = 2, kTypeNested = 3, kTypePassThrough = 4 };
constexpr unsigned kTypeWidth = 3;

/// The entry as the semantics uses it: present, its domain id, its translation type, the table
/// a walk starts at (first-stage root for first-stage and nested entries) and, nested, the
/// nesting parent's second-stage root; dirty tracking.
template <class D>
struct Entry {
  typename D::Bool ok;
  typename D::Word did, root, type, s2;
  typename D::Bool dirty;
  typename D::Bool sre;  ///< supervisor requests allowed (VT-d SRE, VTD-PRIV-2)
};

/// The same entry as hardware stores it: the second-stage pointer field (the parent's when
/// nested) and the first-stage pointer field are separate, and a type uses only its own.
template <class D>
struct Record {
  typename D::Bool present;
  typename D::Word type, ss_ptr, fs_ptr, did;
  typename D::Bool dirty, sre;
};

template <class D>
typename D::Bool has_type(const D & d, const typename D::Word & type, RecordType t)
{
  return type == d.word(t, kTypeWidth);
}

template <class D>
Record<D> store(const D & d, const Entry<D> & e, unsigned ptr_width)
{
  typename D::Word zero = d.word(0, ptr_width);
  typename D::Word ss = d.ite(has_type(d, e.type, kTypeNested), e.s2,
                              d.ite(has_type(d, e.type, kTypeFirst), zero, e.root));
  typename D::Word fs = d.ite(has_type(d, e.type, kTypeFirst) || has_type(d, e.type, kTypeNested), e.root, zero);
  return Record<D>{e.ok, e.type, ss, fs, e.did, e.dirty, e.sre};
}

template <class D>
Entry<D> load(const D & d, const Record<D> & r, unsigned ptr_width)
{
  typename D::Word root = d.ite(has_type(d, r.type, kTypeFirst) || has_type(d, r.type, kTypeNested), r.fs_ptr, r.ss_ptr);
  typename D::Word s2 = d.ite(has_type(d, r.type, kTypeNested), r.ss_ptr, d.word(0, ptr_width));
  return Entry<D>{r.present, r.did, root, r.type, s2, r.dirty, r.sre};
}

/// What a walker may read of a record rewritten from `old` to `now` while it reads: each word
/// old or new (`take_new[w]`), as the structure's layout groups the fields.
template <class D>
Record<D> torn_mix(const D & d, const hw::Structure & s, const Record<D> & old, const Record<D> & now,
                   const std::vector<typename D::Bool> & take_new)
{
  auto pick_word = [&](hw::RecordField f, const typename D::Word & o, const typename D::Word & n) {
    unsigned w = s.word_of(f);
    return w < take_new.size() ? d.ite(take_new[w], n, o) : o;
  };
  auto pick_bool = [&](hw::RecordField f, const typename D::Bool & o, const typename D::Bool & n) {
    unsigned w = s.word_of(f);
    return w < take_new.size() ? d.ite_bool(take_new[w], n, o) : o;
  };
  return Record<D>{pick_bool(hw::RecordField::Present, old.present, now.present),
                   pick_word(hw::RecordField::Type, old.type, now.type),
                   pick_word(hw::RecordField::SecondStagePtr, old.ss_ptr, now.ss_ptr),
                   pick_word(hw::RecordField::FirstStagePtr, old.fs_ptr, now.fs_ptr),
                   pick_word(hw::RecordField::Domain, old.did, now.did),
                   pick_bool(hw::RecordField::Dirty, old.dirty, now.dirty),
                   pick_bool(hw::RecordField::Sre, old.sre, now.sre)};
}

}  // namespace nostale::sem
