// The queries a check point is judged by, once for every engine and test: a property and, for
// no-stale, its severity. Their order is the order a check point reports violations in (the
// first one listed is the verdict) and the bit order of the explorer's verdict matrix.
#pragma once

#include <cstddef>
#include <iterator>
#include <string>

namespace nostale {

struct Query {
  const char * property;
  const char * severity;  ///< "" except for no-stale
};

inline constexpr Query kQueries[] = {{"no-dma-after-free", ""},
                                     {"no-reuse-while-cached", ""},
                                     {"no-stale", "unsafe"},
                                     {"no-stale", "restrictive"},
                                     {"no-missed-dirty", ""}};
inline constexpr unsigned kQueryCount = static_cast<unsigned>(std::size(kQueries));

/// The index of (property, severity) in kQueries; kQueryCount if it is none of them.
inline unsigned query_bit(const std::string & property, const std::string & severity)
{
  for (unsigned q = 0; q < kQueryCount; ++q)
    if (property == kQueries[q].property && severity == kQueries[q].severity) return q;
  return kQueryCount;
}

}  // namespace nostale
