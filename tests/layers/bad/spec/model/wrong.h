// A fixture for the layering check (tests/CMakeLists.txt): the model layer may use neither Z3
// nor the interpreter.
#include <z3++.h>
#include "spec/interp/cache.h"
