#include "mpiprep/core/log.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>

namespace mpiprep::log {
namespace {
// Logger settings are process-wide by nature (one stderr per process); set once by main.
std::atomic<int> g_rank{0};
std::atomic<int> g_min_level{static_cast<int>(Level::kInfo)};
const auto g_start = std::chrono::steady_clock::now();

const char* level_name(Level l) {
  switch (l) {
    case Level::kDebug: return "DEBUG";
    case Level::kInfo: return "INFO";
    case Level::kWarn: return "WARN";
    case Level::kError: return "ERROR";
  }
  return "?";
}
}  // namespace

void configure(int rank, bool verbose, bool debug) {
  g_rank = rank;
  Level min = Level::kInfo;
  if (debug) min = Level::kDebug;
  else if (rank != 0 && !verbose) min = Level::kWarn;
  g_min_level = static_cast<int>(min);
}

bool enabled(Level level) noexcept { return static_cast<int>(level) >= g_min_level.load(); }

void write(Level level, std::string_view module, std::string_view message) {
  if (!enabled(level)) return;
  double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - g_start).count();
  char head[64];
  int n = std::snprintf(head, sizeof head, "[%8.3f][r%03d] %-5s ", t, g_rank.load(), level_name(level));
  std::string line(head, static_cast<std::size_t>(n > 0 ? n : 0));
  line.append(module);
  line += ": ";
  line.append(message);
  line += '\n';
  // One write(2) per line so lines of concurrent threads and ranks do not interleave.
  ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
}

}  // namespace mpiprep::log
