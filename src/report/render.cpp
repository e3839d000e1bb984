// Statistics over the gathered timings and their text (STYLE.md shape) and JSON renderings.
#include <algorithm>
#include <cmath>
#include <ctime>
#include <locale>
#include <numeric>

#include <fmt/format.h>

#include "mpiprep/report/report.hpp"

namespace mpiprep::report {
namespace {

using OrderedJson = nlohmann::ordered_json;

constexpr std::size_t kRuleWidth = 72;
constexpr double kMiB = 1024.0 * 1024.0;

// "1,234,567.8" regardless of the user's environment: a private locale, never the global one.
struct Thousands : std::numpunct<char> {
  char do_thousands_sep() const override { return ','; }
  std::string do_grouping() const override { return "\3"; }
};

class Numbers {
 public:
  Numbers() : loc_(std::locale::classic(), new Thousands) {}
  [[nodiscard]] std::string integer(std::int64_t v) const { return fmt::format(loc_, "{:L}", v); }
  [[nodiscard]] std::string fixed(double v, int decimals) const {
    return fmt::format(loc_, "{:.{}Lf}", v, decimals);
  }
  // Milliseconds: one decimal below 1,000, whole numbers above (STYLE.md: "151.4", "1,910").
  [[nodiscard]] std::string millis(double v) const { return fixed(v, v < 999.95 ? 1 : 0); }

 private:
  std::locale loc_;
};

std::string rule(std::string_view title) {
  std::string s = "@--- ";
  s += title;
  s += ' ';
  if (s.size() < kRuleWidth) s.append(kRuleWidth - s.size(), '-');
  return s;
}

// Column 0 left-aligned, the others right-aligned, two spaces apart, widths from the content.
std::string table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width;
  for (const auto& row : rows) {
    width.resize(std::max(width.size(), row.size()), 0);
    for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  std::string out;
  for (const auto& row : rows) {
    for (std::size_t c = 0; c < row.size(); ++c) {
      if (c == 0) {
        out += fmt::format("{:<{}}", row[c], width[c]);
      } else {
        out += fmt::format("  {:>{}}", row[c], width[c]);
      }
    }
    out += '\n';
  }
  return out;
}

std::string format_time(std::chrono::system_clock::time_point tp, bool utc, const char* fmt_str) {
  std::time_t t = std::chrono::system_clock::to_time_t(tp);
  std::tm tm{};
  if (utc) {
    gmtime_r(&t, &tm);
  } else {
    localtime_r(&t, &tm);
  }
  char buf[64];
  std::size_t n = std::strftime(buf, sizeof buf, fmt_str, &tm);
  return std::string(buf, n);
}

std::string start_stop(const RunInfo& info, const Numbers& num) {
  std::string start = format_time(info.start, info.utc, "%Y-%m-%dT%H:%M:%S");
  bool same_day = format_time(info.start, info.utc, "%Y-%m-%d") ==
                  format_time(info.stop, info.utc, "%Y-%m-%d");
  std::string stop = format_time(info.stop, info.utc, same_day ? "%H:%M:%S" : "%Y-%m-%dT%H:%M:%S");
  return fmt::format("{} / {}  ({} s)", start, stop, num.fixed(info.wall_seconds(), 1));
}

std::string plural(int n, std::string_view one, std::string_view many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

std::string opt(const std::optional<double>& v, const Numbers& num, int decimals) {
  return v ? num.fixed(*v, decimals) : std::string("-");
}

double extract_wall(const RunTimings& t) {
  double m = 0.0;
  for (const auto& r : t.ranks) m = std::max(m, r[static_cast<std::size_t>(Phase::kExtract)].seconds);
  return m;
}

// Report order: root, hdf5, netcdf3, parquet, then unknown (failures before sniffing).
int format_order(FileFormat f) {
  return f == FileFormat::kUnknown ? 1000 : static_cast<int>(f);
}

FormatStats stats_for(std::string name, std::vector<const FileTiming*> files, double wall) {
  FormatStats s;
  s.format = std::move(name);
  s.files = static_cast<std::int64_t>(files.size());
  if (files.empty()) return s;
  std::vector<double> secs;
  secs.reserve(files.size());
  std::uint64_t bytes = 0;
  for (const auto* f : files) {
    secs.push_back(f->seconds);
    bytes += f->bytes;
    if (f->error != ErrorKind::kNone) ++s.failed;
  }
  std::sort(secs.begin(), secs.end());
  s.mean_ms = 1000.0 * std::accumulate(secs.begin(), secs.end(), 0.0) /
              static_cast<double>(secs.size());
  // Nearest rank: the smallest value with at least 99% of the samples at or below it.
  auto rank = static_cast<std::size_t>(std::ceil(0.99 * static_cast<double>(secs.size())));
  s.p99_ms = 1000.0 * secs[std::max<std::size_t>(rank, 1) - 1];
  if (wall > 0.0) s.files_per_sec = static_cast<double>(s.files) / wall;
  s.mib_read = static_cast<double>(bytes) / kMiB;
  return s;
}

}  // namespace

double RunInfo::wall_seconds() const {
  return std::chrono::duration<double>(stop - start).count();
}

std::int64_t Counts::failed() const {
  std::int64_t n = 0;
  for (const auto& [kind, count] : failed_by_kind) n += count;
  return n;
}

std::map<std::string, std::int64_t> failures_by_kind(const RunTimings& t) {
  std::map<std::string, std::int64_t> out;
  for (const auto& f : t.files)
    if (f.error != ErrorKind::kNone) ++out[std::string(error_kind_name(f.error))];
  return out;
}

std::vector<PhaseStats> phase_stats(const RunTimings& t, double wall_seconds) {
  std::vector<PhaseStats> out;
  const std::size_t nranks = t.ranks.size();
  for (Phase phase : kAllPhases) {
    const auto i = static_cast<std::size_t>(phase);
    PhaseStats s;
    s.phase = phase;
    double sum = 0.0;
    double mn = 0.0;
    for (std::size_t r = 0; r < nranks; ++r) {
      const PhaseTime& p = t.ranks[r][i];
      if (p.entries > 0) ++s.ranks_entered;
      sum += p.seconds;
      s.max = r == 0 ? p.seconds : std::max(s.max, p.seconds);
      mn = r == 0 ? p.seconds : std::min(mn, p.seconds);
    }
    if (s.ranks_entered == 0) continue;
    const bool single = s.ranks_entered == 1 && nranks > 1;
    double shown = s.max;
    if (!single) {
      s.min = mn;
      s.avg = sum / static_cast<double>(nranks);
      shown = *s.avg;
      if (phase != Phase::kIdle) s.imbalance_pct = s.max > 0.0 ? 100.0 * (s.max - *s.avg) / s.max : 0.0;
    }
    s.time_pct = wall_seconds > 0.0 ? 100.0 * shown / wall_seconds : 0.0;
    out.push_back(s);
  }
  return out;
}

std::vector<FormatStats> extraction_stats(const RunTimings& t) {
  std::vector<FileFormat> formats;
  for (const auto& f : t.files)
    if (std::find(formats.begin(), formats.end(), f.format) == formats.end())
      formats.push_back(f.format);
  std::sort(formats.begin(), formats.end(),
            [](FileFormat a, FileFormat b) { return format_order(a) < format_order(b); });
  const double wall = extract_wall(t);
  std::vector<FormatStats> out;
  std::vector<const FileTiming*> all;
  for (const auto& f : t.files) all.push_back(&f);
  for (FileFormat format : formats) {
    std::vector<const FileTiming*> mine;
    for (const auto* f : all)
      if (f->format == format) mine.push_back(f);
    out.push_back(stats_for(std::string(format_name(format)), std::move(mine), wall));
  }
  out.push_back(stats_for("*", std::move(all), wall));
  return out;
}

namespace {

// The header lines on placement (threads chosen, ranks per host, warnings).
std::string render_placement_text(const RunInfo& info) {
  std::string out;
  if (!info.threads_reason.empty()) out += fmt::format("@ Threads      : {}\n", info.threads_reason);
  for (const auto& line : info.placement) out += fmt::format("@ Placement    : {}\n", line);
  for (const auto& w : info.placement_warnings) out += fmt::format("@ WARNING      : {}\n", w);
  return out;
}

OrderedJson render_placement_json(const RunInfo& info) {
  OrderedJson p = OrderedJson::object();
  p["threads_reason"] = info.threads_reason;
  p["hosts"] = info.placement;
  p["warnings"] = info.placement_warnings;
  p["ranks"] = info.placement_ranks;
  return p;
}

}  // namespace

std::string render_text(const RunInfo& info, const Counts& counts, const RunTimings& t) {
  const Numbers num;
  const double wall = info.wall_seconds();
  std::string out = "@ mpiprep timing report\n";
  out += fmt::format("@ Command      : {}\n", info.command);
  out += fmt::format("@ Start / Stop : {}\n", start_stop(info, num));
  out += fmt::format("@ Ranks        : {} on {}, {}/rank, bind={}\n", info.ranks,
                     plural(info.nodes, "node", "nodes"),
                     plural(info.threads_per_rank, "thread", "threads"), info.binding);
  out += render_placement_text(info);
  const double miss_pct =
      counts.files > 0 ? 100.0 * static_cast<double>(counts.misses) / static_cast<double>(counts.files)
                       : 0.0;
  out += fmt::format("@ Files        : {}   hits {}   misses {} ({}%)   failed {}\n",
                     num.integer(counts.files), num.integer(counts.hits),
                     num.integer(counts.misses), num.fixed(miss_pct, 1),
                     num.integer(counts.failed()));

  out += '\n';
  out += rule("Phases (s)");
  out += '\n';
  std::vector<std::vector<std::string>> rows = {
      {"Phase", "Min/rank", "Avg/rank", "Max/rank", "Imbal%", "Time%"}};
  for (const auto& s : phase_stats(t, wall)) {
    rows.push_back({std::string(phase_label(s.phase)), opt(s.min, num, 2), opt(s.avg, num, 2),
                    num.fixed(s.max, 2), opt(s.imbalance_pct, num, 1), num.fixed(s.time_pct, 1)});
  }
  out += table(rows);

  out += '\n';
  out += rule("Extraction");
  out += '\n';
  rows = {{"Format", "Files", "mean(ms)", "p99(ms)", "Files/s", "MiB read", "Failed"}};
  for (const auto& s : extraction_stats(t)) {
    rows.push_back({s.format, num.integer(s.files), num.millis(s.mean_ms), num.millis(s.p99_ms),
                    opt(s.files_per_sec, num, 1), num.fixed(s.mib_read, 1),
                    num.integer(s.failed)});
  }
  out += table(rows);
  return out;
}

nlohmann::ordered_json render_json(const RunInfo& info, const Counts& counts, const RunTimings& t) {
  const double wall = info.wall_seconds();
  auto unix_seconds = [](std::chrono::system_clock::time_point tp) {
    return std::chrono::duration<double>(tp.time_since_epoch()).count();
  };
  OrderedJson j = OrderedJson::object();
  j["command"] = info.command;
  j["start"] = format_time(info.start, true, "%Y-%m-%dT%H:%M:%SZ");
  j["stop"] = format_time(info.stop, true, "%Y-%m-%dT%H:%M:%SZ");
  j["start_unix"] = unix_seconds(info.start);
  j["stop_unix"] = unix_seconds(info.stop);
  j["wall_seconds"] = wall;
  j["ranks"] = info.ranks;
  j["nodes"] = info.nodes;
  j["threads_per_rank"] = info.threads_per_rank;
  j["binding"] = info.binding;
  j["placement"] = render_placement_json(info);

  OrderedJson c = OrderedJson::object();
  c["files"] = counts.files;
  c["hits"] = counts.hits;
  c["misses"] = counts.misses;
  c["failed"] = counts.failed();
  c["failed_by_kind"] = OrderedJson(counts.failed_by_kind);
  j["counts"] = std::move(c);

  auto opt_json = [](const std::optional<double>& v) { return v ? OrderedJson(*v) : OrderedJson(); };
  OrderedJson phases = OrderedJson::object();
  const auto stats = phase_stats(t, wall);
  for (Phase phase : kAllPhases) {
    const auto i = static_cast<std::size_t>(phase);
    OrderedJson p = OrderedJson::object();
    OrderedJson per_rank = OrderedJson::array();
    OrderedJson entries = OrderedJson::array();
    for (const auto& r : t.ranks) {
      per_rank.push_back(r[i].seconds);
      entries.push_back(r[i].entries);
    }
    p["per_rank"] = std::move(per_rank);
    p["entries_per_rank"] = std::move(entries);
    auto it = std::find_if(stats.begin(), stats.end(),
                           [&](const PhaseStats& s) { return s.phase == phase; });
    if (it != stats.end()) {
      p["min"] = opt_json(it->min);
      p["avg"] = opt_json(it->avg);
      p["max"] = it->max;
      p["imbalance_pct"] = opt_json(it->imbalance_pct);
      p["time_pct"] = it->time_pct;
    }
    phases[std::string(phase_name(phase))] = std::move(p);
  }
  j["phases"] = std::move(phases);

  OrderedJson extraction = OrderedJson::array();
  for (const auto& s : extraction_stats(t)) {
    OrderedJson e = OrderedJson::object();
    e["format"] = s.format;
    e["files"] = s.files;
    e["mean_ms"] = s.mean_ms;
    e["p99_ms"] = s.p99_ms;
    e["files_per_sec"] = opt_json(s.files_per_sec);
    e["mib_read"] = s.mib_read;
    e["failed"] = s.failed;
    extraction.push_back(std::move(e));
  }
  j["extraction"] = std::move(extraction);

  std::uint64_t total_bytes = 0;
  double total_seconds = 0.0;
  OrderedJson files = OrderedJson::array();
  for (const auto& f : t.files) {
    OrderedJson e = OrderedJson::object();
    e["path"] = f.path;
    e["format"] = std::string(format_name(f.format));
    e["seconds"] = f.seconds;
    e["bytes"] = f.bytes;
    e["rank"] = f.rank;
    e["error"] = f.error == ErrorKind::kNone ? OrderedJson()
                                             : OrderedJson(std::string(error_kind_name(f.error)));
    files.push_back(std::move(e));
    total_bytes += f.bytes;
    total_seconds += f.seconds;
  }
  OrderedJson totals = OrderedJson::object();
  totals["files_extracted"] = t.files.size();
  totals["bytes_read"] = total_bytes;
  totals["extract_seconds_sum"] = total_seconds;
  totals["extract_wall_seconds"] = extract_wall(t);
  j["totals"] = std::move(totals);
  j["files"] = std::move(files);
  return j;
}

}  // namespace mpiprep::report
