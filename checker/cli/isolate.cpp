#include "checker/cli/isolate.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

namespace nostale::cli {

namespace {

volatile sig_atomic_t g_interrupted = 0;
int g_wake[2] = {-1, -1};  // self-pipe: the handler wakes the poll loop

void on_signal(int sig)
{
  g_interrupted = 1;
  if (g_wake[1] >= 0) {
    char c = 1;
    [[maybe_unused]] ssize_t n = ::write(g_wake[1], &c, 1);
  }
  ::signal(sig, SIG_DFL);  // a second Ctrl-C ends nostale the usual way
}

void write_line(int fd, const std::string & line)
{
  std::string s = line + "\n";
  std::size_t done = 0;
  while (done < s.size()) {
    ssize_t n = ::write(fd, s.data() + done, s.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) ::_exit(3);  // the parent is gone
    done += static_cast<std::size_t>(n);
  }
}

[[noreturn]] void child_main(int fd, const ChildWork & work)
{
  ::signal(SIGINT, SIG_IGN);  // the parent decides what a Ctrl-C means
  ::signal(SIGTERM, SIG_DFL);
  ChildChannel ch(fd);
  nlohmann::json result;
  try {
    result = work(ch);
  } catch (const std::exception & e) {
    result = {{"internal_error", e.what()}};
  } catch (...) {
    result = {{"internal_error", "unknown exception"}};
  }
  ch.finish(result);
}

}  // namespace

void ChildChannel::progress(std::size_t step) const { write_line(fd_, nlohmann::json{{"proved", step}}.dump()); }

void ChildChannel::finish(const nlohmann::json & result) const
{
  write_line(fd_, nlohmann::json{{"result", result}}.dump());
  ::_exit(0);  // the process image goes away in one step
}

void install_interrupt_handler()
{
  if (g_wake[0] < 0 && ::pipe2(g_wake, O_CLOEXEC | O_NONBLOCK) != 0) g_wake[0] = g_wake[1] = -1;
  struct sigaction sa{};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
}

bool interrupted() { return g_interrupted != 0; }

namespace {

using Clock = std::chrono::steady_clock;

/// A child the pool is waiting for.
struct Running {
  std::size_t index = 0;
  pid_t pid = -1;
  int fd = -1;
  Clock::time_point t0;
  double deadline_s = 0;
  std::string buf;
  ChildOutcome out;
  bool got_result = false;

  double elapsed() const { return std::chrono::duration<double>(Clock::now() - t0).count(); }
};

/// Forks the child of `job`; false (with out.detail) when that fails.
bool spawn(const ChildJob & job, Running & r)
{
  r.t0 = Clock::now();
  r.deadline_s = job.deadline_s;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    r.out.detail = std::string("cannot create a pipe: ") + std::strerror(errno);
    return false;
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    r.out.detail = std::string("cannot fork: ") + std::strerror(errno);
    return false;
  }
  if (pid == 0) {
    ::close(fds[0]);
    child_main(fds[1], job.work);
  }
  ::close(fds[1]);
  r.pid = pid;
  r.fd = fds[0];
  return true;
}

/// Reads what the child sent; true when the pipe reached its end.
bool drain_pipe(Running & r)
{
  char chunk[65536];
  ssize_t n = ::read(r.fd, chunk, sizeof chunk);
  if (n < 0 && errno == EINTR) return false;
  if (n <= 0) return true;
  r.buf.append(chunk, static_cast<std::size_t>(n));
  for (std::size_t nl; (nl = r.buf.find('\n')) != std::string::npos;) {
    nlohmann::json msg = nlohmann::json::parse(r.buf.substr(0, nl), nullptr, false);
    r.buf.erase(0, nl + 1);
    if (msg.is_object() && msg.contains("proved") && msg["proved"].is_number_unsigned())
      r.out.proved.push_back(msg["proved"].get<std::size_t>());
    else if (msg.is_object() && msg.contains("result")) {
      r.out.result = msg["result"];
      r.got_result = true;
    }
  }
  return false;
}

/// Reaps the child (killing it unless it sent its result) and classifies its end.
ChildOutcome reap(Running & r)
{
  ::close(r.fd);
  if (!r.got_result) ::kill(r.pid, SIGKILL);
  int status = 0;
  while (::waitpid(r.pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.out.seconds = r.elapsed();
  if (r.got_result) {
    r.out.kind = ChildOutcome::Done;
  } else if (r.out.kind != ChildOutcome::Timeout && r.out.kind != ChildOutcome::Interrupted) {
    r.out.kind = ChildOutcome::Crashed;
    r.out.detail = WIFSIGNALED(status) ? "the check process was killed by signal " +
                                             std::to_string(WTERMSIG(status)) + " (" + strsignal(WTERMSIG(status)) + ")"
                                       : "the check process ended without a result (exit " +
                                             std::to_string(WEXITSTATUS(status)) + ")";
  }
  return r.out;
}

}  // namespace

ChildOutcome run_isolated(const ChildWork & work, double deadline_s)
{
  ChildOutcome out;
  run_pool({ChildJob{work, deadline_s}}, 1, [&](std::size_t, ChildOutcome o) { out = std::move(o); });
  return out;
}

std::size_t run_pool(const std::vector<ChildJob> & jobs, unsigned parallel,
                     const std::function<void(std::size_t, ChildOutcome)> & done, const PoolTick & tick)
{
  parallel = std::max(1u, parallel);
  std::vector<Running> running;
  std::size_t next = 0;
  while (next < jobs.size() || !running.empty()) {
    while (!g_interrupted && next < jobs.size() && running.size() < parallel) {
      Running r;
      r.index = next;
      if (!spawn(jobs[next++], r)) {
        done(r.index, r.out);  // Crashed, with the reason
        continue;
      }
      running.push_back(std::move(r));
    }
    if (running.empty()) break;
    // Whichever deadline comes first bounds the wait; the checks below decide.
    int wait_ms = -1;
    for (Running & r : running) {
      if (g_interrupted) r.out.kind = ChildOutcome::Interrupted;
      else if (r.deadline_s > 0 && r.deadline_s - r.elapsed() <= 0) r.out.kind = ChildOutcome::Timeout;
      else if (r.deadline_s > 0) {
        int ms = static_cast<int>((r.deadline_s - r.elapsed()) * 1000) + 1;
        wait_ms = wait_ms < 0 ? ms : std::min(wait_ms, ms);
      }
    }
    if (tick) {
      wait_ms = wait_ms < 0 ? 500 : std::min(wait_ms, 500);
      std::vector<std::pair<std::size_t, std::size_t>> now;
      for (const Running & r : running) now.push_back({r.index, r.out.proved.size()});
      tick(now);
    }
    std::vector<pollfd> p;
    for (const Running & r : running) p.push_back({r.fd, POLLIN, 0});
    if (g_wake[0] >= 0) p.push_back({g_wake[0], POLLIN, 0});
    bool limit_hit = std::any_of(running.begin(), running.end(), [](const Running & r) {
      return r.out.kind == ChildOutcome::Timeout || r.out.kind == ChildOutcome::Interrupted;
    });
    int n = limit_hit ? 0 : ::poll(p.data(), p.size(), wait_ms);
    if (n < 0 && errno != EINTR) n = 0;
    std::vector<Running> still;
    for (std::size_t k = 0; k < running.size(); ++k) {
      Running & r = running[k];
      bool ended = r.out.kind == ChildOutcome::Timeout || r.out.kind == ChildOutcome::Interrupted;
      if (!ended && n > 0 && (p[k].revents & (POLLIN | POLLHUP | POLLERR))) ended = drain_pipe(r) || r.got_result;
      if (ended) done(r.index, reap(r));
      else still.push_back(std::move(r));
    }
    running = std::move(still);
  }
  return next;
}

}  // namespace nostale::cli
