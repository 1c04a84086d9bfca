#include "checker/cli/isolate.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

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

ChildOutcome run_isolated(const ChildWork & work, double deadline_s)
{
  using Clock = std::chrono::steady_clock;
  ChildOutcome out;
  auto t0 = Clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - t0).count(); };
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    out.detail = std::string("cannot create a pipe: ") + std::strerror(errno);
    return out;
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    out.detail = std::string("cannot fork: ") + std::strerror(errno);
    return out;
  }
  if (pid == 0) {
    ::close(fds[0]);
    child_main(fds[1], work);
  }
  ::close(fds[1]);
  std::string buf;
  bool got_result = false, eof = false;
  while (!eof && !got_result) {
    if (g_interrupted) {
      out.kind = ChildOutcome::Interrupted;
      break;
    }
    int wait_ms = -1;
    if (deadline_s > 0) {
      double left = deadline_s - elapsed();
      if (left <= 0) {
        out.kind = ChildOutcome::Timeout;
        break;
      }
      wait_ms = static_cast<int>(left * 1000) + 1;
    }
    pollfd p[2] = {{fds[0], POLLIN, 0}, {g_wake[0], POLLIN, 0}};
    int n = ::poll(p, g_wake[0] >= 0 ? 2 : 1, wait_ms);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;  // timeout: the deadline check above decides
    if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    char chunk[65536];
    ssize_t r = ::read(fds[0], chunk, sizeof chunk);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      eof = true;
      break;
    }
    buf.append(chunk, static_cast<std::size_t>(r));
    for (std::size_t nl; (nl = buf.find('\n')) != std::string::npos;) {
      nlohmann::json msg = nlohmann::json::parse(buf.substr(0, nl), nullptr, false);
      buf.erase(0, nl + 1);
      if (msg.is_object() && msg.contains("proved") && msg["proved"].is_number_unsigned())
        out.proved.push_back(msg["proved"].get<std::size_t>());
      else if (msg.is_object() && msg.contains("result")) {
        out.result = msg["result"];
        got_result = true;
      }
    }
  }
  ::close(fds[0]);
  if (!got_result) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  out.seconds = elapsed();
  if (got_result) {
    out.kind = ChildOutcome::Done;
  } else if (out.kind != ChildOutcome::Timeout && out.kind != ChildOutcome::Interrupted) {
    out.kind = ChildOutcome::Crashed;
    out.detail = WIFSIGNALED(status) ? "the check process was killed by signal " + std::to_string(WTERMSIG(status)) +
                                           " (" + strsignal(WTERMSIG(status)) + ")"
                                     : "the check process ended without a result (exit " +
                                           std::to_string(WEXITSTATUS(status)) + ")";
  }
  return out;
}

}  // namespace nostale::cli
