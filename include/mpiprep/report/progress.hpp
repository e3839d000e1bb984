// Rank 0's progress display while files are extracted: a line every N seconds for batch logs
// ("progress: 1,234/54,312 files (2.3%), 412.7 files/s, ETA 2m11s") or a live single-line bar
// redrawn with \r when stderr is a terminal. Fed from the scheduler's dispatcher loop, so
// update() must cost next to nothing when nothing is due.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace mpiprep::report {

enum class ProgressMode { kAuto, kBar, kLines, kNone };

// "auto", "bar", "lines", "none".
[[nodiscard]] std::optional<ProgressMode> parse_progress_mode(std::string_view s);

// "45s", "2m11s", "1h02m", "3d04h"; "-" for a negative or non-finite value.
[[nodiscard]] std::string format_eta(double seconds);

// Where the extraction stands. After a graceful stop (SIGTERM/SIGUSR1) the files still
// waiting are dropped: they are `not_started`, never `done`, so the count does not claim work
// that was not done.
struct ProgressCounts {
  std::size_t total = 0;        // files to extract
  std::size_t done = 0;         // with a result, failed ones included
  std::size_t failed = 0;       // of `done`, those that failed
  std::size_t not_started = 0;  // dropped by a stop request (never extracted, not in `done`)

  [[nodiscard]] bool stopped() const { return not_started > 0; }
  // Handed out but not finished yet.
  [[nodiscard]] std::size_t running() const;
  bool operator==(const ProgressCounts&) const = default;
};

// "progress: 1,234/54,312 files (2.3%), 412.7 files/s, ETA 2m11s" (ETA "-" before the first
// file; files/s over the whole elapsed time); ", 3 failed" after the percentage when files
// failed. After a stop: "progress: stopping, 1,234/54,312 files (2.3%), 3 failed, 53,000 not
// started, 78 running, 412.7 files/s" (no ETA: the rest will not run).
[[nodiscard]] std::string progress_line(const ProgressCounts& c, double elapsed_s);

// "[#######.............]  35%  1,234/3,500 files  412.7 files/s  ETA 5s", the bar `width`
// characters between the brackets; "  3 failed" after the files when files failed, and
// "stopped: 2,266 not started" instead of the ETA after a stop.
[[nodiscard]] std::string progress_bar(const ProgressCounts& c, double elapsed_s, int width = 30);

// The closing line of line mode: "progress: done, 54,312 files in 131.6 s (412.7 files/s)"
// (", 3 failed" appended when files failed), or after a stop "progress: stopped, 1,234 of
// 54,312 files done (3 failed) in 3.0 s (411.3 files/s), 53,078 not started".
[[nodiscard]] std::string progress_final_line(const ProgressCounts& c, double elapsed_s);

class Progress {
 public:
  using Clock = std::chrono::steady_clock;
  using Sink = std::function<void(std::string_view)>;

  // kAuto becomes kBar when `is_terminal`, else kLines. Lines are printed every
  // `line_interval_s`; the bar is redrawn at most every 0.2 s.
  Progress(ProgressMode mode, bool is_terminal, Sink sink, double line_interval_s = 10.0,
           Clock::time_point start = Clock::now());
  // Writes to stderr; the terminal test is isatty(stderr).
  static Progress to_stderr(ProgressMode mode, double line_interval_s = 10.0);

  // Cheap unless something is due.
  void update(const ProgressCounts& c, Clock::time_point now = Clock::now());
  // The final state: the bar's last redraw and its newline; in line mode the closing line when
  // at least one progress line was printed or the run was stopped (a stopped run always says
  // how much was not started).
  void finish(const ProgressCounts& c, Clock::time_point now = Clock::now());

  [[nodiscard]] ProgressMode mode() const { return mode_; }

 private:
  ProgressMode mode_;
  Sink sink_;
  Clock::duration interval_;
  Clock::time_point start_;
  Clock::time_point next_;
  bool printed_ = false;
  bool finished_ = false;
};

}  // namespace mpiprep::report
