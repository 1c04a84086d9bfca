// Writing the files a user names (--out, --smt2) without destroying anything else: never
// through a symbolic link, never over a FIFO, device or folder, never over an input file,
// and --out either whole or not at all. Failures are OutputError (exit 2, with the path).
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace nostale {

class OutputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Why `out` must not be written as a report for `inputs`, or "" if it may be: it is a
/// symbolic link, not a regular file, one of the input files, or its folder is missing.
std::string refuse_out_target(const std::string & out, const std::vector<std::string> & inputs);

/// Writes `text` to `path` atomically: a temporary file created exclusively (O_EXCL) beside
/// it, then renamed over it. The target is re-checked just before the rename.
void write_atomically(const std::string & path, const std::string & text);

/// Creates or truncates the regular file `path` (O_NOFOLLOW: never through a symbolic link;
/// O_NONBLOCK + fstat: never into a FIFO or device) and writes `text`.
void write_regular_file(const std::string & path, const std::string & text);

}  // namespace nostale
