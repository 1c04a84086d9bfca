// The properties a check point is judged by, once for every engine, the loader, the schema test
// and the docs (DESIGN.md §2). Their order is the order a check point reports violations in (the
// first one violated is the verdict) and the bit order of the explorer's verdict matrix. Adding a
// property: one row here, its judgement in the interpreter and the encoding (spec/docs/
// adding-a-profile.md), and the schema's enum (tests/unit/properties_test.cpp checks it).
#pragma once

#include <cstddef>
#include <iterator>
#include <string>
#include <string_view>

namespace nostale {

/// Where a property can be violated at all; elsewhere its queries are not asked.
enum class Applies {
  Always,    ///< at every check point
  AtIdFree,  ///< only where a PASID or a domain id is freed (free_pasid, free_did)
};

struct PropertyInfo {
  const char * id;
  /// The severities it is reported with, most severe first; {""} when it has none.
  const char * severities[2];
  unsigned severity_count;
  Applies applies;
  const char * summary;  ///< one line: what the property asks (DESIGN.md §2)
};

inline constexpr PropertyInfo kProperties[] = {
    {"no-dma-after-free", {""}, 1, Applies::Always,
     "no device can reach a frame after it was freed or handed to another owner"},
    {"no-reuse-while-cached", {""}, 1, Applies::AtIdFree,
     "no PASID or domain id is freed while an entry tagged with it can still be used, or before its "
     "page requests drain"},
    {"no-stale", {"unsafe", "restrictive"}, 2, Applies::Always,
     "every translation a cache holds or the hardware can build from cached entries agrees with memory"},
    {"no-missed-dirty", {""}, 1, Applies::Always,
     "with dirty tracking on, no write goes through an entry filled while it was off"},
};
inline constexpr unsigned kPropertyCount = static_cast<unsigned>(std::size(kProperties));

/// One solver question: a property and, for no-stale, its severity.
struct Query {
  const char * property;
  const char * severity;  ///< "" except for no-stale
};

namespace detail {
constexpr unsigned query_count()
{
  unsigned n = 0;
  for (const PropertyInfo & p : kProperties) n += p.severity_count;
  return n;
}
}  // namespace detail

inline constexpr unsigned kQueryCount = detail::query_count();

namespace detail {
struct Queries {
  Query q[kQueryCount];
};
constexpr Queries make_queries()
{
  Queries r{};
  unsigned n = 0;
  for (const PropertyInfo & p : kProperties)
    for (unsigned s = 0; s < p.severity_count; ++s) r.q[n++] = Query{p.id, p.severities[s]};
  return r;
}
inline constexpr Queries kQueryTable = make_queries();
}  // namespace detail

/// Every (property, severity) in report order.
inline constexpr const Query (&kQueries)[kQueryCount] = detail::kQueryTable.q;

/// The index of (property, severity) in kQueries; kQueryCount if it is none of them.
inline unsigned query_bit(std::string_view property, std::string_view severity)
{
  for (unsigned q = 0; q < kQueryCount; ++q)
    if (property == kQueries[q].property && severity == kQueries[q].severity) return q;
  return kQueryCount;
}

/// The property named `id`, or nullptr.
inline const PropertyInfo * find_property(std::string_view id)
{
  for (const PropertyInfo & p : kProperties)
    if (id == p.id) return &p;
  return nullptr;
}

/// Can property `p` be violated at a check point that frees an id (`frees_id`) or not?
inline bool applies_at(const PropertyInfo & p, bool frees_id)
{
  return p.applies == Applies::Always || frees_id;
}

/// The position of property `id` in report order (kPropertyCount if unknown).
inline unsigned property_rank(std::string_view id)
{
  for (unsigned i = 0; i < kPropertyCount; ++i)
    if (id == kProperties[i].id) return i;
  return kPropertyCount;
}

}  // namespace nostale
