// Each scenario is checked in a child process, so that limits hold for the whole process:
// --timeout bounds wall time including Z3's teardown (the child leaves with _exit, and is
// killed at the deadline), Ctrl-C stops the whole run at once, and a crash inside one check
// is reported for that scenario while the batch goes on.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace nostale::cli {

struct ChildOutcome {
  enum Kind { Done, Timeout, Interrupted, Crashed } kind = Crashed;
  nlohmann::json result;            ///< Done: the object the child sent
  std::vector<std::size_t> proved;  ///< steps of the check points the child proved, in order
  std::string detail;               ///< Crashed: how the child ended
  double seconds = 0;               ///< wall time, the child's teardown included
};

/// The child's side of the pipe.
class ChildChannel {
 public:
  explicit ChildChannel(int fd) : fd_(fd) {}
  /// Reports the check point at `step` proved.
  void progress(std::size_t step) const;
  /// Sends the result and ends the child at once: no destructors, no Z3 teardown.
  [[noreturn]] void finish(const nlohmann::json & result) const;

 private:
  int fd_;
};

/// What runs in the child: it reports through `ch` and either calls ch.finish() or returns
/// the result to send back.
using ChildWork = std::function<nlohmann::json(const ChildChannel & ch)>;

/// Runs `work` in a child process. `deadline_s` > 0 kills it that many seconds after it
/// started; a Ctrl-C (see install_interrupt_handler) kills it at once.
ChildOutcome run_isolated(const ChildWork & work, double deadline_s);

/// One check for run_pool: its work and its own deadline (0: none).
struct ChildJob {
  ChildWork work;
  double deadline_s = 0;
};

/// Runs the jobs in child processes, at most `jobs` at once, each with its own deadline
/// counted from its own start: `--jobs N`. `done(i, outcome)` is called in the parent, in
/// completion order, as each one ends. After a Ctrl-C the running children are killed
/// (Interrupted) and no further job starts; returns how many jobs were started.
/// `tick`, if set, is called at least every half second while jobs run, with the index of
/// each running job and how many check points it has proved (a progress display).
using PoolTick = std::function<void(const std::vector<std::pair<std::size_t, std::size_t>> & running)>;
std::size_t run_pool(const std::vector<ChildJob> & jobs, unsigned parallel,
                     const std::function<void(std::size_t, ChildOutcome)> & done, const PoolTick & tick = {});

/// The first SIGINT (or SIGTERM) sets interrupted() and ends the running child; the next one
/// has the default effect.
void install_interrupt_handler();
bool interrupted();

}  // namespace nostale::cli
