// The kernel's value domain over Z3 terms (spec/semantics/domain.h): what lets the encoding run
// the same judgement and record semantics as the interpreter, as terms over the witness.
#pragma once

#include <z3++.h>

#include "spec/semantics/domain.h"

namespace nostale::smt {

struct Z3Domain {
  z3::context & c;
  using Bool = z3::expr;
  using Word = z3::expr;
  Bool boolean(bool b) const { return c.bool_val(b); }
  Word word(sem::u64 v, unsigned width) const { return c.bv_val(static_cast<uint64_t>(v), width); }
  static Word ite(const Bool & k, const Word & a, const Word & b) { return z3::ite(k, a, b); }
  static Bool ite_bool(const Bool & k, const Bool & a, const Bool & b) { return z3::ite(k, a, b); }
  static Bool ule(const Word & a, const Word & b) { return z3::ule(a, b); }
  static Bool uge(const Word & a, const Word & b) { return z3::uge(a, b); }
  static Word extract(const Word & a, unsigned hi, unsigned lo) { return a.extract(hi, lo); }
  Word like(const Word & w, sem::u64 v) const { return c.bv_val(static_cast<uint64_t>(v), w.get_sort().bv_size()); }
};

}  // namespace nostale::smt
