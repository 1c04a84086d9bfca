#include "checker/policies/prefer_cause.h"

#include <algorithm>

namespace nostale {

namespace {

// Where a translation's staleness starts: memory itself, then the caches in the order a walk
// reads them (context entry, PASID-table entry, paging structures, the leaf), then the copies
// ATS makes of leaves.
const std::optional<CacheKind> kCauseOrder[] = {std::nullopt,   CacheKind::ContextCache, CacheKind::PasidCache,
                                                CacheKind::Psc, CacheKind::Iotlb,        CacheKind::DevTlb};
// The order extract() reads targets in (Judgement::targets: memory, then Fills::all()): it
// reports the first one a model makes true.
const std::optional<CacheKind> kReadOrder[] = {std::nullopt,      CacheKind::Psc,        CacheKind::Iotlb,
                                               CacheKind::DevTlb, CacheKind::PasidCache, CacheKind::ContextCache};

}  // namespace

Answer prefer_cause(ScenarioRun & run, Answer sat, std::vector<z3::expr> & extra)
{
  smt::Encoding & enc = run.encoding(sat.check);
  auto of = [&](const std::optional<CacheKind> & k) { return enc.violation_of(sat.query.property, sat.query.severity, k); };
  // The kind the model shows (extract() reads the first true target), and whether any kind
  // before it in kCauseOrder can show the violation at all: mostly not, and one query says so.
  std::optional<CacheKind> shown;
  for (const std::optional<CacheKind> & k : kReadOrder)
    if (std::optional<z3::expr> c = of(k); c && sat.model->eval(*c, true).is_true()) {
      shown = k;
      break;
    }
  // Where no kind before `shown` can show it, the search starts at `shown`.
  const std::optional<CacheKind> * first = std::begin(kCauseOrder);
  {
    z3::expr_vector earlier(enc.witness().addr.ctx());
    for (const std::optional<CacheKind> & k : kCauseOrder) {
      if (k == shown) break;
      if (std::optional<z3::expr> c = of(k)) earlier.push_back(*c);
    }
    bool none_before = earlier.empty();
    if (!none_before) {
      std::vector<z3::expr> more = extra;
      more.push_back(z3::mk_or(earlier));
      Answer a = run.solve(sat.check, sat.query, more);
      if (a.kind == Answer::Unknown) return sat;
      none_before = a.kind == Answer::Unsat;
    }
    if (none_before) first = std::find(std::begin(kCauseOrder), std::end(kCauseOrder), shown);
  }
  // The answer returned holds its kind's constraints, so that shrinking keeps them.
  for (const std::optional<CacheKind> * it = first; it != std::end(kCauseOrder); ++it) {
    const std::optional<CacheKind> & kind = *it;
    std::optional<z3::expr> mine = of(kind);
    if (!mine) continue;
    // A target of `kind`, and none of a kind extract() would read first.
    std::vector<z3::expr> more = extra;
    more.push_back(*mine);
    for (const std::optional<CacheKind> & before : kReadOrder) {
      if (before == kind) break;
      if (std::optional<z3::expr> other = of(before)) more.push_back(!*other);
    }
    // The kind the model shows: the model itself satisfies `more` (its target of `kind` is
    // true and none read before it), so it is the answer.
    Answer a = kind == shown ? run.reuse(sat, more) : Answer{};
    if (a.kind != Answer::Sat) a = run.solve(sat.check, sat.query, more);
    if (a.kind == Answer::Sat) {
      extra = std::move(more);
      return a;
    }
    if (a.kind == Answer::Unknown) return sat;
  }
  return sat;
}

}  // namespace nostale
