// Progress lines and bar (see progress.hpp).
#include "mpiprep/report/progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "report/text_util.hpp"

namespace mpiprep::report {
namespace {

constexpr auto kBarRedraw = std::chrono::milliseconds(200);

double rate(std::size_t done, double elapsed_s) {
  return elapsed_s > 0.0 ? static_cast<double>(done) / elapsed_s : 0.0;
}

std::string eta(std::size_t done, std::size_t total, double elapsed_s) {
  const double r = rate(done, elapsed_s);
  if (done == 0 || r <= 0.0) return "-";
  return format_eta(static_cast<double>(total > done ? total - done : 0) / r);
}

}  // namespace

std::optional<ProgressMode> parse_progress_mode(std::string_view s) {
  if (s == "auto") return ProgressMode::kAuto;
  if (s == "bar") return ProgressMode::kBar;
  if (s == "lines") return ProgressMode::kLines;
  if (s == "none") return ProgressMode::kNone;
  return std::nullopt;
}

std::string format_eta(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0.0) return "-";
  auto s = static_cast<std::int64_t>(std::llround(seconds));
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  if (s < 86400) return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
  return fmt::format("{}d{:02}h", s / 86400, (s % 86400) / 3600);
}

std::size_t ProgressCounts::running() const {
  const std::size_t resolved = done + not_started;
  return total > resolved ? total - resolved : 0;
}

namespace {

double percent(const ProgressCounts& c) {
  return c.total > 0 ? 100.0 * static_cast<double>(c.done) / static_cast<double>(c.total) : 100.0;
}

std::string count(std::size_t n) {
  return detail::Numbers().integer(static_cast<std::int64_t>(n));
}

}  // namespace

std::string progress_line(const ProgressCounts& c, double elapsed_s) {
  const detail::Numbers num;
  std::string s = fmt::format("progress: {}{}/{} files ({}%)", c.stopped() ? "stopping, " : "",
                              count(c.done), count(c.total), num.fixed(percent(c), 1));
  if (c.failed > 0) s += fmt::format(", {} failed", count(c.failed));
  if (c.stopped()) {
    s += fmt::format(", {} not started, {} running, {} files/s", count(c.not_started),
                     count(c.running()), num.fixed(rate(c.done, elapsed_s), 1));
    return s;
  }
  s += fmt::format(", {} files/s, ETA {}", num.fixed(rate(c.done, elapsed_s), 1),
                   eta(c.done, c.total, elapsed_s));
  return s;
}

std::string progress_bar(const ProgressCounts& c, double elapsed_s, int width) {
  const detail::Numbers num;
  width = std::max(1, width);
  const double frac = std::min(1.0, percent(c) / 100.0);
  const auto filled = static_cast<int>(std::floor(frac * width));
  std::string bar(static_cast<std::size_t>(filled), '#');
  bar.append(static_cast<std::size_t>(width - filled), '.');
  std::string s = fmt::format("[{}] {:>3}%  {}/{} files", bar,
                              static_cast<int>(std::floor(frac * 100.0)), count(c.done),
                              count(c.total));
  if (c.failed > 0) s += fmt::format("  {} failed", count(c.failed));
  s += fmt::format("  {} files/s  ", num.fixed(rate(c.done, elapsed_s), 1));
  s += c.stopped() ? fmt::format("stopped: {} not started", count(c.not_started))
                   : fmt::format("ETA {}", eta(c.done, c.total, elapsed_s));
  return s;
}

std::string progress_final_line(const ProgressCounts& c, double elapsed_s) {
  const detail::Numbers num;
  const std::string time_rate = fmt::format("{} s ({} files/s)", num.fixed(elapsed_s, 1),
                                            num.fixed(rate(c.done, elapsed_s), 1));
  if (c.stopped()) {
    return fmt::format("progress: stopped, {} of {} files done ({} failed) in {}, {} not started",
                       count(c.done), count(c.total), count(c.failed), time_rate,
                       count(c.not_started));
  }
  std::string s = fmt::format("progress: done, {} files in {}", count(c.done), time_rate);
  if (c.failed > 0) s += fmt::format(", {} failed", count(c.failed));
  return s;
}

Progress::Progress(ProgressMode mode, bool is_terminal, Sink sink, double line_interval_s,
                   Clock::time_point start)
    : mode_(mode == ProgressMode::kAuto ? (is_terminal ? ProgressMode::kBar : ProgressMode::kLines)
                                        : mode),
      sink_(std::move(sink)),
      interval_(std::chrono::duration_cast<Clock::duration>(
          std::chrono::duration<double>(std::max(1e-3, line_interval_s)))),
      start_(start),
      next_(mode_ == ProgressMode::kBar ? start : start + interval_) {}

Progress Progress::to_stderr(ProgressMode mode, double line_interval_s) {
  return Progress(mode, ::isatty(STDERR_FILENO) == 1,
                  [](std::string_view s) {
                    std::fwrite(s.data(), 1, s.size(), stderr);
                    std::fflush(stderr);
                  },
                  line_interval_s);
}

void Progress::update(const ProgressCounts& c, Clock::time_point now) {
  if (mode_ == ProgressMode::kNone || finished_ || now < next_) return;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  if (mode_ == ProgressMode::kLines) {
    sink_(progress_line(c, elapsed) + "\n");
    printed_ = true;
    // Keep the cadence even when an update came late.
    while (next_ <= now) next_ += interval_;
    return;
  }
  // \r and erase-to-end-of-line: the next draw replaces this one in place.
  sink_("\r" + progress_bar(c, elapsed) + "\x1b[K");
  printed_ = true;
  next_ = now + kBarRedraw;
}

void Progress::finish(const ProgressCounts& c, Clock::time_point now) {
  if (mode_ == ProgressMode::kNone || finished_) return;
  finished_ = true;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  if (mode_ == ProgressMode::kBar) {
    if (c.total == 0 && !printed_) return;
    sink_("\r" + progress_bar(c, elapsed) + "\x1b[K\n");
    return;
  }
  if (printed_ || c.stopped()) sink_(progress_final_line(c, elapsed) + "\n");
}

}  // namespace mpiprep::report
