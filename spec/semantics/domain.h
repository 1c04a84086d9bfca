// The value domain the semantics is written over (issue 8: "written once"). The kernel in
// spec/semantics/ is templates over a domain D; the reference interpreter instantiates them with
// Concrete (plain values), the SMT encoding with its Z3 domain (spec/smt/z3_domain.h), so both
// engines run the same judgement and only their search differs.
//
// A domain provides:
//   using Bool, Word;                       truth values and bit-vectors of a declared width
//   Bool boolean(bool); Word word(u64, unsigned width);
//   Word ite(Bool, Word, Word); Bool ite_bool(Bool, Bool, Bool);
//   Bool ule(Word, Word), uge(Word, Word) (unsigned); Word extract(Word, hi, lo) (bits hi..lo);
//   Word like(Word w, u64 v): v as wide as w (permissions are 2 or 4 bits, Config::privilege);
// and the operators ==, !=, &, ~ on Word and &&, ||, ! on Bool.
#pragma once

#include <cstdint>

namespace nostale::sem {

using u64 = std::uint64_t;

/// Plain values: what the interpreter computes with. Widths are ignored (every value of the
/// semantics fits in 64 bits and masks keep it there).
struct Concrete {
  using Bool = bool;
  using Word = u64;
  static Bool boolean(bool b) { return b; }
  static Word word(u64 v, unsigned) { return v; }
  static Word ite(Bool c, Word a, Word b) { return c ? a : b; }
  static Bool ite_bool(Bool c, Bool a, Bool b) { return c ? a : b; }
  static Bool ule(Word a, Word b) { return a <= b; }
  static Bool uge(Word a, Word b) { return a >= b; }
  static Word like(Word, u64 v) { return v; }
  static Word extract(Word a, unsigned hi, unsigned lo)
  {
    unsigned n = hi - lo + 1;
    return n >= 64 ? a >> lo : (a >> lo) & ((u64{1} << n) - 1);
  }
};

}  // namespace nostale::sem
