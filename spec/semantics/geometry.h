// Page-table geometry, the grid addresses are compared on: plain data that the model, both
// engines and the kernel's pattern matching (match.h) share.
#pragma once

#include <cstdint>

namespace nostale {

using u64 = std::uint64_t;

/// Page-table geometry: `levels` levels of `level_bits` index bits over pages of 2^page_shift
/// bytes. Level 1 holds 4 KiB leaves, level 2 2 MiB, level 3 1 GiB (x86 / VT-d second stage,
/// Arm 4K granule); levels above 3 hold only pointers (rule MOD-3 names the per-level caches).
struct Geometry {
  unsigned page_shift = 12;
  unsigned level_bits = 9;
  unsigned levels = 4;

  unsigned iova_bits() const { return page_shift + level_bits * levels; }
  /// log2 of the region one entry at `level` maps.
  unsigned shift(unsigned level) const { return page_shift + level_bits * (level - 1); }
  u64 size(unsigned level) const { return u64{1} << shift(level); }
  /// Leaves exist at levels 1..3 only (4K / 2M / 1G with 9-bit levels).
  bool leaf_level(unsigned level) const { return level >= 1 && level <= 3 && level <= levels; }
  unsigned max_leaf_level() const { return levels < 3 ? levels : 3; }
  unsigned index(unsigned level, u64 addr) const {
    return static_cast<unsigned>((addr >> shift(level)) & ((u64{1} << level_bits) - 1));
  }
  u64 addr_mask() const { return iova_bits() >= 64 ? ~u64{0} : (u64{1} << iova_bits()) - 1; }
};

}  // namespace nostale
