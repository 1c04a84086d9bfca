// The harness of the end-to-end CLI tests: runs the real nostale binary (NOSTALE_BINARY)
// from the source dir with its output redirected to files in a fresh temp dir per test.
#pragma once

#include <gtest/gtest.h>

#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using nlohmann::json;


inline const std::string kSrc = NOSTALE_SOURCE_DIR;
inline const std::string kBin = NOSTALE_BINARY;
inline const std::string kGeneric = kSrc + "/scenarios/generic";

inline std::string slurp(const fs::path & p)
{
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void spit(const fs::path & p, const std::string & text)
{
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
  ASSERT_TRUE(out.good()) << p;
}

inline std::string quote(const std::string & s)
{
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

inline std::size_t count_lines(const std::string & s)
{
  std::size_t n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

inline std::vector<std::string> split_lines(const std::string & s)
{
  std::vector<std::string> v;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) v.push_back(l);
  return v;
}

struct Proc {
  bool exited = false;  ///< false: killed by a signal
  int code = -1;
  int signal = 0;
  std::string out, err;
  double seconds = 0;
};

inline std::ostream & operator<<(std::ostream & o, const Proc & r)
{
  return o << "[exited=" << r.exited << " code=" << r.code << " signal=" << r.signal << "]\n--- stdout ---\n"
           << r.out.substr(0, 4000) << "\n--- stderr ---\n" << r.err.substr(0, 4000);
}

/// Per-test temp dir (mkdtemp), removed afterwards.
class Cli : public ::testing::Test {
 public:
  fs::path dir;

  void SetUp() override
  {
    // tests/CMakeLists.txt does not make the test executables depend on the nostale target.
    ASSERT_TRUE(fs::exists(kBin)) << kBin << " is missing: build the nostale target first";
    std::string tmpl = (fs::temp_directory_path() / "nostale-cli-XXXXXX").string();
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    ASSERT_NE(mkdtemp(buf.data()), nullptr);
    dir = buf.data();
  }

  void TearDown() override
  {
    std::error_code ec;
    if (!dir.empty()) fs::remove_all(dir, ec);
  }

  /// Runs `nostale <args>` (args already shell-quoted as needed) from the source dir.
  Proc run(const std::string & args)
  {
    static int serial = 0;
    fs::path out = dir / ("stdout-" + std::to_string(serial) + ".txt");
    fs::path err = dir / ("stderr-" + std::to_string(serial++) + ".txt");
    // exec: the shell is replaced, so a crash shows as a signal rather than as 128 + n.
    std::string cmd = "cd " + quote(kSrc) + " && exec " + quote(kBin) + " " + args + " >" +
                      quote(out.string()) + " 2>" + quote(err.string()) + " </dev/null";
    auto t0 = std::chrono::steady_clock::now();
    int st = std::system(cmd.c_str());
    Proc r;
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (st != -1 && WIFEXITED(st)) {
      r.exited = true;
      r.code = WEXITSTATUS(st);
    } else if (st != -1 && WIFSIGNALED(st)) {
      r.signal = WTERMSIG(st);
    }
    r.out = slurp(out);
    r.err = slurp(err);
    std::error_code ec;
    fs::remove(out, ec);
    fs::remove(err, ec);
    return r;
  }

  /// A scenario file in the temp dir.
  std::string write(const std::string & name, const std::string & text)
  {
    fs::path p = dir / name;
    fs::create_directories(p.parent_path());
    spit(p, text);
    return p.string();
  }
};

/// Replaces report timings (which differ from run to run) by a fixed token.
inline std::string without_timings(const std::string & text)
{
  static const std::regex secs(R"([0-9]+\.[0-9]+ s\b)");
  return std::regex_replace(text, secs, "T s");
}

inline json without_seconds(json j)
{
  for (json & e : j) e["stats"].erase("seconds"), e["stats"].erase("solver_seconds");
  return j;
}


