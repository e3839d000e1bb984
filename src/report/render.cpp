// Statistics over the gathered timings and their text (STYLE.md shape) and JSON renderings.
#include <algorithm>
#include <csignal>
#include <cstring>
#include <cmath>
#include <ctime>
#include <locale>
#include <numeric>

#include <fmt/format.h>

#include "mpiprep/report/report.hpp"
#include "report/text_util.hpp"

namespace mpiprep::report {
namespace {

using OrderedJson = nlohmann::ordered_json;
using namespace detail;  // NOLINT: Numbers, table, rule, format_time

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

Spread spread(const std::vector<double>& values) {
  Spread s;
  if (values.empty()) return s;
  s.min = *std::min_element(values.begin(), values.end());
  s.max = *std::max_element(values.begin(), values.end());
  const double n = static_cast<double>(values.size());
  s.avg = std::accumulate(values.begin(), values.end(), 0.0) / n;
  double var = 0.0;
  for (double v : values) var += (v - s.avg) * (v - s.avg);
  var /= n;
  s.cov = s.avg > 0.0 ? std::sqrt(var) / s.avg : 0.0;
  s.imbalance_pct = s.max > 0.0 ? 100.0 * (s.max - s.avg) / s.max : 0.0;
  return s;
}

LoadBalance load_balance(const RunTimings& t) {
  std::size_t nranks = t.ranks.size();
  for (const auto& f : t.files)
    if (f.rank >= 0) nranks = std::max(nranks, static_cast<std::size_t>(f.rank) + 1);
  LoadBalance lb;
  lb.files_per_rank.assign(nranks, 0);
  lb.busy_per_rank.assign(nranks, 0.0);
  for (const auto& f : t.files) {
    if (f.rank < 0) continue;
    ++lb.files_per_rank[static_cast<std::size_t>(f.rank)];
    lb.busy_per_rank[static_cast<std::size_t>(f.rank)] += f.seconds;
  }
  std::vector<double> files(lb.files_per_rank.begin(), lb.files_per_rank.end());
  lb.files = spread(files);
  lb.busy = spread(lb.busy_per_rank);
  return lb;
}

Makespan makespan(const RunTimings& t, int ranks, int threads_per_rank) {
  Makespan m;
  m.ranks = std::max(1, ranks);
  m.threads_per_rank = std::max(1, threads_per_rank);
  m.slots = m.ranks * m.threads_per_rank;
  double first = 0.0;
  double last = 0.0;
  bool timed = !t.files.empty();
  for (std::size_t i = 0; i < t.files.size(); ++i) {
    const auto& f = t.files[i];
    m.total_work_s += f.seconds;
    m.longest_s = std::max(m.longest_s, f.seconds);
    if (f.start < 0.0 || f.end < 0.0) {
      timed = false;
      continue;
    }
    first = i == 0 ? f.start : std::min(first, f.start);
    last = i == 0 ? f.end : std::max(last, f.end);
  }
  m.from_timeline = timed;
  m.makespan_s = timed ? std::max(0.0, last - first) : extract_wall(t);
  m.lower_bound_s = std::max(m.total_work_s / m.ranks, m.longest_s);
  m.slot_lower_bound_s = std::max(m.total_work_s / m.slots, m.longest_s);
  if (m.lower_bound_s > 0.0) m.ratio = m.makespan_s / m.lower_bound_s;
  if (m.slot_lower_bound_s > 0.0) m.slot_ratio = m.makespan_s / m.slot_lower_bound_s;
  return m;
}

std::vector<FileTiming> slowest_files(const RunTimings& t, std::size_t n) {
  std::vector<const FileTiming*> all;
  all.reserve(t.files.size());
  for (const auto& f : t.files) all.push_back(&f);
  const std::size_t k = std::min(n, all.size());
  auto slower = [](const FileTiming* a, const FileTiming* b) {
    if (a->seconds != b->seconds) return a->seconds > b->seconds;
    return a->path < b->path;
  };
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(k), all.end(), slower);
  std::vector<FileTiming> out;
  out.reserve(k);
  for (std::size_t i = 0; i < k; ++i) out.push_back(*all[i]);
  return out;
}

namespace {


std::string hosts_line(const RunInfo& info) {
  constexpr std::size_t kShown = 8;
  std::string s;
  for (std::size_t i = 0; i < info.hosts.size() && i < kShown; ++i) {
    if (i > 0) s += ", ";
    s += fmt::format("{} ({})", info.hosts[i].first, info.hosts[i].second);
  }
  if (info.hosts.size() > kShown) s += fmt::format(", ... {} more", info.hosts.size() - kShown);
  return s;
}

// "signal 10 (SIGUSR1)".
std::string signal_label(int sig) {
  const char* abbrev = ::sigabbrev_np(sig);
  return abbrev != nullptr ? fmt::format("signal {} (SIG{})", sig, abbrev)
                           : fmt::format("signal {}", sig);
}

std::string status_of(const FileTiming& f) {
  return f.error == ErrorKind::kNone ? std::string("ok") : std::string(error_kind_name(f.error));
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
  // Ranks per host, unless the placement lines above already say it.
  if (info.placement.empty() && !info.hosts.empty())
    out += fmt::format("@ Hosts        : {}\n", hosts_line(info));
  if (!info.job_id.empty())
    out += fmt::format("@ Job          : {}{}\n", info.job_id,
                       info.scheduler.empty() ? "" : " (" + info.scheduler + ")");
  const double miss_pct =
      counts.files > 0 ? 100.0 * static_cast<double>(counts.misses) / static_cast<double>(counts.files)
                       : 0.0;
  out += fmt::format("@ Files        : {}   hits {}   misses {} ({}%)   failed {}{}\n",
                     num.integer(counts.files), num.integer(counts.hits),
                     num.integer(counts.misses), num.fixed(miss_pct, 1),
                     num.integer(counts.failed()),
                     counts.not_started > 0
                         ? fmt::format("   not started {}", num.integer(counts.not_started))
                         : std::string());
  if (counts.not_started > 0) {
    out += fmt::format("@ Stopped      : {}{} of {} files to extract finished, {} not started "
                       "(not cached, no outputs written); run the same command again to finish\n",
                       info.stop_signal > 0 ? "by " + signal_label(info.stop_signal) + ": " : "",
                       num.integer(std::max<std::int64_t>(0, counts.misses - counts.not_started)),
                       num.integer(counts.misses), num.integer(counts.not_started));
  }
  if (!info.cache_path.empty()) {
    const std::int64_t looked_up = counts.hits + counts.misses;
    const double hit_pct = looked_up > 0 ? 100.0 * static_cast<double>(counts.hits) /
                                               static_cast<double>(looked_up)
                                         : 0.0;
    out += fmt::format("@ Cache        : {}   hit rate {}%   {}\n", info.cache_path,
                       num.fixed(hit_pct, 1),
                       info.cache_committed ? "new generation committed" : "unchanged");
  }

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

  out += '\n';
  out += rule("Load balance (extraction)");
  out += '\n';
  if (t.files.empty()) {
    out += "no files extracted\n";
  } else {
    const LoadBalance lb = load_balance(t);
    rows = {{"Per rank", "Min/rank", "Avg/rank", "Max/rank", "COV", "Imbal%"}};
    rows.push_back({"files", num.integer(static_cast<std::int64_t>(lb.files.min)),
                    num.fixed(lb.files.avg, 1),
                    num.integer(static_cast<std::int64_t>(lb.files.max)),
                    num.fixed(lb.files.cov, 3), num.fixed(lb.files.imbalance_pct, 1)});
    rows.push_back({"busy (s)", num.fixed(lb.busy.min, 2), num.fixed(lb.busy.avg, 2),
                    num.fixed(lb.busy.max, 2), num.fixed(lb.busy.cov, 3),
                    num.fixed(lb.busy.imbalance_pct, 1)});
    out += table(rows);
    const Makespan m = makespan(t, info.ranks, info.threads_per_rank);
    out += '\n';
    rows = {{"Makespan (s)", num.fixed(m.makespan_s, 3),
             m.from_timeline ? "first file start to last file end" : "slowest rank's extract time"},
            {"Lower bound (s)", num.fixed(m.lower_bound_s, 3),
             fmt::format("max(work {} s / {}, longest file {} s){}", num.fixed(m.total_work_s, 3),
                         plural(m.ranks, "rank", "ranks"), num.fixed(m.longest_s, 3),
                         m.slots > m.ranks ? ": one file at a time per rank" : "")},
            {"Ratio", m.ratio ? num.fixed(*m.ratio, 2) : std::string("-"), ""}};
    if (m.slots > m.ranks) {
      // Several files in flight per rank: they overlap, so only the per-slot bound is one.
      rows.push_back({"Slot bound (s)", num.fixed(m.slot_lower_bound_s, 3),
                      fmt::format("max(work {} s / {} slots = {} x {} threads, longest file {} s)",
                                  num.fixed(m.total_work_s, 3), m.slots,
                                  plural(m.ranks, "rank", "ranks"), m.threads_per_rank,
                                  num.fixed(m.longest_s, 3))});
      rows.push_back({"Slot ratio", m.slot_ratio ? num.fixed(*m.slot_ratio, 2) : std::string("-"),
                      ""});
    }
    out += table(rows, {2});

    out += '\n';
    const auto slow = slowest_files(t, 10);
    out += rule(fmt::format("{} slowest files", slow.size()));
    out += '\n';
    rows = {{"#", "Time(ms)", "Start(s)", "Rank", "Format", "Status", "KiB read", "Path"}};
    for (std::size_t i = 0; i < slow.size(); ++i) {
      const auto& f = slow[i];
      rows.push_back({std::to_string(i + 1), num.millis(1000.0 * f.seconds),
                      f.start >= 0.0 ? num.fixed(f.start, 3) : std::string("-"),
                      std::to_string(f.rank), std::string(format_name(f.format)), status_of(f),
                      num.fixed(static_cast<double>(f.bytes) / 1024.0, 1), f.path});
    }
    out += table(rows, {4, 5, 7});
  }
  return out;
}

namespace {

OrderedJson spread_json(const Spread& s) {
  OrderedJson j = OrderedJson::object();
  j["min"] = s.min;
  j["avg"] = s.avg;
  j["max"] = s.max;
  j["cov"] = s.cov;
  j["imbalance_pct"] = s.imbalance_pct;
  return j;
}

OrderedJson file_json(const FileTiming& f) {
  OrderedJson e = OrderedJson::object();
  e["path"] = f.path;
  e["format"] = std::string(format_name(f.format));
  e["rank"] = f.rank;
  e["start"] = f.start >= 0.0 ? OrderedJson(f.start) : OrderedJson();
  e["end"] = f.end >= 0.0 ? OrderedJson(f.end) : OrderedJson();
  e["seconds"] = f.seconds;
  e["status"] = status_of(f);
  e["error"] = f.error == ErrorKind::kNone ? OrderedJson()
                                           : OrderedJson(std::string(error_kind_name(f.error)));
  e["bytes_read"] = f.bytes;
  return e;
}

}  // namespace

nlohmann::ordered_json render_json(const RunInfo& info, const Counts& counts, const RunTimings& t) {
  const double wall = info.wall_seconds();
  auto unix_seconds = [](std::chrono::system_clock::time_point tp) {
    return std::chrono::duration<double>(tp.time_since_epoch()).count();
  };
  OrderedJson j = OrderedJson::object();
  j["schema"] = std::string(kReportSchema);
  j["command"] = info.command;
  j["start"] = format_time(info.start, true, "%Y-%m-%dT%H:%M:%SZ");
  j["stop"] = format_time(info.stop, true, "%Y-%m-%dT%H:%M:%SZ");
  j["start_unix"] = unix_seconds(info.start);
  j["stop_unix"] = unix_seconds(info.stop);
  j["wall_seconds"] = wall;
  j["job_id"] = info.job_id.empty() ? OrderedJson() : OrderedJson(info.job_id);
  j["scheduler"] = info.scheduler.empty() ? OrderedJson() : OrderedJson(info.scheduler);
  j["ranks"] = info.ranks;
  j["nodes"] = info.nodes;
  j["threads_per_rank"] = info.threads_per_rank;
  j["binding"] = info.binding;
  j["placement"] = render_placement_json(info);
  OrderedJson hosts = OrderedJson::array();
  for (const auto& [host, n] : info.hosts) hosts.push_back({{"host", host}, {"ranks", n}});
  j["hosts"] = std::move(hosts);

  OrderedJson c = OrderedJson::object();
  c["files"] = counts.files;
  c["hits"] = counts.hits;
  c["misses"] = counts.misses;
  c["failed"] = counts.failed();
  c["failed_by_kind"] = OrderedJson(counts.failed_by_kind);
  c["not_started"] = counts.not_started;
  j["counts"] = std::move(c);
  OrderedJson stopped = OrderedJson::object();
  stopped["stopped"] = counts.not_started > 0;
  stopped["signal"] = info.stop_signal;
  stopped["files_not_started"] = counts.not_started;
  j["interrupted"] = std::move(stopped);
  OrderedJson cache = OrderedJson::object();
  cache["path"] = info.cache_path.empty() ? OrderedJson() : OrderedJson(info.cache_path);
  cache["committed"] = info.cache_committed;
  j["cache"] = std::move(cache);

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

  const LoadBalance lb = load_balance(t);
  OrderedJson balance = OrderedJson::object();
  balance["files_per_rank"] = lb.files_per_rank;
  balance["busy_seconds_per_rank"] = lb.busy_per_rank;
  balance["files"] = spread_json(lb.files);
  balance["busy_seconds"] = spread_json(lb.busy);
  j["load_balance"] = std::move(balance);

  const Makespan m = makespan(t, info.ranks, info.threads_per_rank);
  OrderedJson ms = OrderedJson::object();
  ms["makespan_seconds"] = m.makespan_s;
  ms["from_timeline"] = m.from_timeline;
  ms["total_work_seconds"] = m.total_work_s;
  ms["longest_file_seconds"] = m.longest_s;
  ms["ranks"] = m.ranks;
  ms["lower_bound"] = "max(total work / ranks, longest file)";
  ms["lower_bound_seconds"] = m.lower_bound_s;
  ms["ratio"] = opt_json(m.ratio);
  ms["threads_per_rank"] = m.threads_per_rank;
  ms["slots"] = m.slots;
  ms["slot_lower_bound"] = "max(total work / (ranks x threads per rank), longest file)";
  ms["slot_lower_bound_seconds"] = m.slot_lower_bound_s;
  ms["slot_ratio"] = opt_json(m.slot_ratio);
  j["makespan"] = std::move(ms);

  OrderedJson slow = OrderedJson::array();
  for (const auto& f : slowest_files(t, 10)) slow.push_back(file_json(f));
  j["slowest_files"] = std::move(slow);

  std::uint64_t total_bytes = 0;
  double total_seconds = 0.0;
  OrderedJson files = OrderedJson::array();
  for (const auto& f : t.files) {
    files.push_back(file_json(f));
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
