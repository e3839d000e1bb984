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

// "progress: 1,234/54,312 files (2.3%), 412.7 files/s, ETA 2m11s" (ETA "-" before the first
// file; files/s over the whole elapsed time).
[[nodiscard]] std::string progress_line(std::size_t done, std::size_t total, double elapsed_s);

// "[#######.............]  35%  1,234/3,500 files  412.7 files/s  ETA 5s", the bar `width`
// characters between the brackets.
[[nodiscard]] std::string progress_bar(std::size_t done, std::size_t total, double elapsed_s,
                                       int width = 30);

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
  void update(std::size_t done, std::size_t total, Clock::time_point now = Clock::now());
  // The final state: the bar's last redraw and its newline; in line mode a closing line when
  // at least one progress line was printed.
  void finish(std::size_t done, std::size_t total, Clock::time_point now = Clock::now());

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
