// The public face of one check point's encoding (see encoding.h): the parts are built by
// Encoding::Impl (encoding_impl.h); this file assembles the constraints, the violation of a
// property and the hardware actions from them. Model reading is in extract.cpp.
#include "spec/smt/encoding.h"

#include <set>

#include "spec/smt/encoding_impl.h"
#include "spec/model/errors.h"
#include "spec/model/properties.h"

namespace nostale::smt {

Encoding::Encoding(z3::context & ctx, const Scenario & sc, const Timeline & tl, std::size_t check, std::size_t lo,
                   const PasidSlice * slice)
    : impl_(std::make_unique<Impl>(ctx, sc, tl, check, lo, slice))
{
}

std::vector<PasidSlice> pasid_slices(const Scenario & sc)
{
  std::set<u64> named = named_pasids(sc);
  std::vector<PasidSlice> out;
  std::vector<u64> all(named.begin(), named.end());
  for (u64 p : all) out.push_back(PasidSlice{p, all});
  out.push_back(PasidSlice{std::nullopt, all});
  return out;
}

Encoding::~Encoding() = default;

z3::expr Encoding::constraints()
{
  z3::expr_vector v(impl_->t.c);
  for (unsigned i = 0; i < impl_->t.cons.size(); ++i) v.push_back(impl_->t.cons[i]);
  v.push_back(impl_->judge.witness());
  return z3::mk_and(v);
}

z3::expr Encoding::shared_constraints() { return z3::mk_and(impl_->t.cons); }

z3::expr Encoding::witness_constraint() { return impl_->judge.witness(); }

std::optional<z3::expr> Encoding::violation(const std::string & property, const std::string & severity)
{
  // Where the property applies at all comes from the registry (no-reuse-while-cached: where an
  // id is freed).
  const PropertyInfo * info = find_property(property);
  NOSTALE_CHECK(info, "unknown property " + property);
  if (!applies_at(*info, impl_->t.cp.freed_pasid || impl_->t.cp.freed_did)) return std::nullopt;
  z3::expr_vector v(impl_->t.c);
  for (auto & [I, cond] : impl_->judge.targets(property, severity)) v.push_back(cond);
  // No entry that could violate it: nothing to ask (and Z3 prints an empty disjunction as a
  // bare "or", which other solvers reject).
  if (v.empty()) return std::nullopt;
  return z3::mk_or(v);
}

std::optional<z3::expr> Encoding::violation_of(const std::string & property, const std::string & severity,
                                               std::optional<CacheKind> kind)
{
  if (!violation(property, severity)) return std::nullopt;  // does not apply here
  z3::expr_vector v(impl_->t.c);
  for (auto & [I, cond] : impl_->judge.targets(property, severity))
    if (I ? kind && I->kind == *kind : !kind) v.push_back(cond);
  if (v.empty()) return std::nullopt;
  return z3::mk_or(v);
}

Encoding::Witness Encoding::witness() { return Witness{impl_->t.wd, impl_->t.wp, impl_->t.wa}; }

z3::expr_vector Encoding::actions()
{
  Terms & t = impl_->t;
  Fills & f = impl_->fills;
  z3::expr_vector v(t.c);
  for (Instance * I : f.all()) {
    v.push_back(I->active);
    if (I->kind != CacheKind::PasidCache) v.push_back(I->active && I->pc_use);
    if (t.ctx_on) v.push_back(I->active && I->ctx_use);
  }
  for (auto & j : impl_->inv.invs)
    if (!j.forced) v.push_back(j.comp && z3::ule(j.c.g, t.bv(t.s, t.GW)));
  if (f.prq) v.push_back(f.prq->on);
  return v;
}

}  // namespace nostale::smt
