// Policy: the shortest trace. A sat answer's model is replaced by one with fewer hardware
// actions (at most k-1 of them, asked of the same solver) until none has fewer. The time
// budget may stop it early: the trace is then a true one, perhaps not the shortest.
#pragma once

#include "checker/solve.h"

namespace nostale {

inline constexpr const char * kNotShortest = "this trace may not be the shortest: the time limit stopped shrinking it";

struct Shrunk {
  Answer answer;           ///< Sat, with the model of fewest actions found
  bool cut_short = false;  ///< the time budget stopped shrinking (kNotShortest applies)
};

Shrunk shrink(ScenarioRun & run, Answer sat);

}  // namespace nostale
