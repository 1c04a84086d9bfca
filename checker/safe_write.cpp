#include "checker/safe_write.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace nostale {

namespace fs = std::filesystem;

namespace {

OutputError fail(const std::string & path, const std::string & why)
{
  return OutputError(path + ": error: cannot write: " + why);
}

std::string errno_text() { return std::strerror(errno); }

/// Writes all of `text` to `fd`.
bool write_all(int fd, const std::string & text)
{
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

/// "" if `path` is absent or a regular file, else why it may not be replaced.
std::string not_replaceable(const std::string & path)
{
  struct stat st{};
  if (::lstat(path.c_str(), &st) != 0) return errno == ENOENT ? "" : errno_text();
  if (S_ISLNK(st.st_mode)) return "it is a symbolic link (nostale does not write through links)";
  if (!S_ISREG(st.st_mode)) return "it is not a regular file";
  return "";
}

}  // namespace

std::string refuse_out_target(const std::string & out, const std::vector<std::string> & inputs)
{
  std::string why = not_replaceable(out);
  if (!why.empty()) return out + ": error: cannot write: " + why;
  std::error_code ec;
  fs::path dir = fs::path(out).parent_path();
  if (!dir.empty() && !fs::is_directory(dir, ec)) return out + ": error: cannot write: no such folder";
  if (fs::exists(out, ec))
    for (const std::string & in : inputs)
      if (fs::equivalent(out, in, ec))
        return out + ": error: cannot write: it is the input file " + in + " (nostale never replaces its input)";
  return "";
}

void write_atomically(const std::string & path, const std::string & text)
{
  fs::path p(path);
  std::string dir = p.parent_path().empty() ? "." : p.parent_path().string();
  std::string tmpl = dir + "/." + p.filename().string() + ".nostale-XXXXXX";
  int fd = ::mkostemp(tmpl.data(), O_CLOEXEC);  // O_CREAT | O_EXCL: never an existing file or link
  if (fd < 0) throw fail(path, "cannot create a temporary file in " + dir + ": " + errno_text());
  auto cleanup = [&] { ::unlink(tmpl.c_str()); };
  // mkstemp makes the file 0600; a report is as readable as any file the user creates.
  mode_t mask = ::umask(0);
  ::umask(mask);
  struct stat st{};
  mode_t mode = ::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) ? (st.st_mode & 07777) : (0666 & ~mask);
  bool ok = ::fchmod(fd, mode) == 0 && write_all(fd, text) && ::fsync(fd) == 0;
  int err = errno;
  ok = (::close(fd) == 0) && ok;
  if (!ok) {
    cleanup();
    errno = err;
    throw fail(path, errno_text());
  }
  std::string why = not_replaceable(path);  // it may have changed while the run went on
  if (!why.empty()) {
    cleanup();
    throw fail(path, why);
  }
  if (::rename(tmpl.c_str(), path.c_str()) != 0) {  // rename replaces a link itself, never its target
    err = errno;
    cleanup();
    errno = err;
    throw fail(path, errno_text());
  }
}

void write_regular_file(const std::string & path, const std::string & text)
{
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0666);
  if (fd < 0) {
    if (errno == ELOOP) throw fail(path, "it is a symbolic link (nostale does not write through links)");
    throw fail(path, errno_text());
  }
  struct stat st{};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw fail(path, "it is not a regular file");
  }
  bool ok = write_all(fd, text);
  int err = errno;
  ok = (::close(fd) == 0) && ok;
  if (!ok) {
    errno = err;
    throw fail(path, errno_text());
  }
}

}  // namespace nostale
