#include "checker/strict_json.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <set>
#include <vector>

#include "checker/scenario_loader.h"

namespace nostale {

namespace {

using json = nlohmann::json;

/// Builds the DOM from SAX events, refusing duplicate keys. The parser reports overflowing
/// numbers and trailing content to parse_error() with their offset.
class StrictSax {
 public:
  explicit StrictSax(json & root) : root_(root) {}

  std::string error;           ///< set when parsing stopped
  std::size_t error_pos = 0;   ///< byte offset, if `error_pointer` is empty
  std::string error_pointer;   ///< JSON pointer, for errors that have no offset

  bool null() { return add(json(nullptr)); }
  bool boolean(bool v) { return add(json(v)); }
  bool number_integer(json::number_integer_t v) { return add(json(v)); }
  bool number_unsigned(json::number_unsigned_t v) { return add(json(v)); }
  bool number_float(json::number_float_t v, const std::string &) { return add(json(v)); }
  bool string(std::string & v) { return add(json(std::move(v))); }
  bool binary(json::binary_t &) { return fail_at_pointer("binary values are not JSON"); }
  bool start_object(std::size_t) { return open(json::object()); }
  bool start_array(std::size_t) { return open(json::array()); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }

  bool key(std::string & k)
  {
    Frame & f = frames_.back();
    if (!f.keys.insert(k).second) {
      f.key = k;
      return fail_at_pointer("duplicate key '" + k + "' (JSON parsers keep one of them silently)");
    }
    f.key = k;
    return true;
  }

  bool parse_error(std::size_t pos, const std::string &, const nlohmann::detail::exception & ex)
  {
    error = ex.what();
    auto at = error.find("] ");  // drop "[json.exception.parse_error.101] "
    if (at != std::string::npos) error = error.substr(at + 2);
    error_pos = pos > 0 ? pos - 1 : 0;
    return false;
  }

 private:
  struct Frame {
    json * node;
    std::set<std::string> keys;
    std::string key;        ///< the current key (objects)
    std::size_t index = 0;  ///< the next index (arrays)
  };
  json & root_;
  std::vector<Frame> frames_;

  /// RFC 6901: '~' is "~0" and '/' is "~1" inside a pointer token.
  static std::string escape_token(const std::string & k)
  {
    std::string t;
    for (char c : k) t += c == '~' ? std::string("~0") : c == '/' ? std::string("~1") : std::string(1, c);
    return t;
  }

  std::string pointer() const
  {
    std::string p;
    for (const Frame & f : frames_)
      p += "/" + (f.node->is_object() ? escape_token(f.key) : std::to_string(f.index));
    return p;
  }

  bool fail_at_pointer(const std::string & msg)
  {
    error = msg;
    error_pointer = pointer();
    if (error_pointer.empty()) error_pointer = "/";
    return false;
  }

  /// Places `v` where the parser is, returns its address.
  json * place(json v)
  {
    if (frames_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    Frame & f = frames_.back();
    if (f.node->is_object()) return &((*f.node)[f.key] = std::move(v));
    f.node->push_back(std::move(v));
    ++f.index;
    return &f.node->back();
  }

  bool add(json v)
  {
    place(std::move(v));
    return true;
  }

  bool open(json v)
  {
    json * node = place(std::move(v));
    frames_.push_back({node, {}, {}, 0});
    return true;
  }

  bool close()
  {
    frames_.pop_back();
    return true;
  }
};

}  // namespace

std::string line_col(const std::string & text, std::size_t offset)
{
  std::size_t line = 1, col = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return std::to_string(line) + ":" + std::to_string(col);
}

json parse_strict_json(const std::string & text, const std::string & file)
{
  // nlohmann's lexer takes NUL for the end of input: the rest would be ignored unseen.
  std::size_t nul = text.find('\0');
  if (nul != std::string::npos)
    throw LoadError(file + ":" + line_col(text, nul) + ": error: NUL byte in the file (not JSON text)");
  // Depth is bounded before the parser sees it, with the line and column of the bracket.
  int depth = 0;
  bool in_str = false, esc = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char ch = text[i];
    if (in_str) {
      if (esc) esc = false;
      else if (ch == '\\') esc = true;
      else if (ch == '"') in_str = false;
      continue;
    }
    if (ch == '"') in_str = true;
    else if (ch == '{' || ch == '[') {
      if (++depth > kMaxJsonDepth)
        throw LoadError(file + ":" + line_col(text, i) + ": error: JSON nested deeper than " +
                        std::to_string(kMaxJsonDepth) + " levels");
    } else if (ch == '}' || ch == ']') {
      --depth;
    }
  }
  json root;
  StrictSax sax(root);
  bool ok = false;
  try {
    ok = json::sax_parse(text, &sax, json::input_format_t::json, /*strict=*/true);
  } catch (const json::exception & e) {
    throw LoadError(file + ": error: invalid JSON: " + e.what());
  }
  if (ok) return root;
  if (!sax.error_pointer.empty())
    throw LoadError(file + ": error at " + sax.error_pointer + ": " + sax.error);
  std::string msg = sax.error.empty() ? "parse error" : sax.error;
  throw LoadError(file + ":" + line_col(text, sax.error_pos) + ": error: invalid JSON: " + msg);
}

std::string read_regular_file(const std::string & file, std::size_t max_bytes)
{
  auto fail = [&](const std::string & why) { return LoadError(file + ": error: " + why); };
  // O_NONBLOCK: opening a FIFO with no writer must not hang; anything but a regular file is
  // refused after fstat, before a byte is read.
  int fd = ::open(file.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) throw fail(std::string("cannot read the file: ") + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st{};
  if (::fstat(fd, &st) != 0) throw fail(std::string("cannot read the file: ") + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw fail("is a folder, not a scenario file");
  if (!S_ISREG(st.st_mode)) throw fail("not a regular file (FIFOs, devices and sockets are not read)");
  if (static_cast<unsigned long long>(st.st_size) > max_bytes)
    throw fail("file is larger than " + std::to_string(max_bytes >> 20) + " MiB");
  int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  std::string text;
  // The size is checked again while reading: the file may grow under us.
  text.resize(static_cast<std::size_t>(st.st_size) + 1);
  std::size_t got = 0;
  for (;;) {
    if (got == text.size()) {
      if (text.size() > max_bytes) break;
      text.resize(std::min(text.size() * 2, max_bytes + 1));
    }
    ssize_t n = ::read(fd, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw fail(std::string("cannot read the file: ") + std::strerror(errno));
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got > max_bytes) throw fail("file is larger than " + std::to_string(max_bytes >> 20) + " MiB");
  text.resize(got);
  return text;
}

}  // namespace nostale
