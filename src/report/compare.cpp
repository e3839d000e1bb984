// Reading report.json back, and the multi-run views of `mpiprep report`: a side-by-side
// comparison (one column per run) and a history table sorted by start time.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "mpiprep/report/report.hpp"
#include "report/text_util.hpp"

namespace mpiprep::report {
namespace {

using Json = nlohmann::json;
using namespace detail;  // NOLINT: Numbers, table, format_time

constexpr int kMaxRanks = 1 << 22;

Error bad(const std::string& what) { return make_error(ErrorKind::kCorrupt, what); }

std::string str_or(const Json& j, const char* key, std::string fallback = {}) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_string()) throw std::runtime_error(std::string("\"") + key + "\" is not a string");
  return it->get<std::string>();
}

template <typename T>
T num_or(const Json& j, const char* key, T fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_number()) throw std::runtime_error(std::string("\"") + key + "\" is not a number");
  return it->get<T>();
}

std::chrono::system_clock::time_point from_unix(double s) {
  return std::chrono::system_clock::time_point(std::chrono::duration_cast<
                                               std::chrono::system_clock::duration>(
      std::chrono::duration<double>(s)));
}

LoadedReport parse_or_throw(const Json& j) {
  if (!j.is_object()) throw std::runtime_error("not a JSON object");
  const std::string schema = str_or(j, "schema", std::string(kReportSchema));
  if (schema != kReportSchema)
    throw std::runtime_error("schema \"" + schema + "\" is not " + std::string(kReportSchema));
  if (!j.contains("phases") || !j.contains("counts"))
    throw std::runtime_error("no \"phases\" or \"counts\": not an mpiprep report");

  LoadedReport r;
  RunInfo& info = r.info;
  info.command = str_or(j, "command");
  info.start = from_unix(num_or<double>(j, "start_unix", 0.0));
  const double wall = num_or<double>(j, "wall_seconds", 0.0);
  info.stop = info.start + std::chrono::duration_cast<std::chrono::system_clock::duration>(
                               std::chrono::duration<double>(std::max(0.0, wall)));
  info.ranks = num_or<int>(j, "ranks", 1);
  if (info.ranks < 1 || info.ranks > kMaxRanks)
    throw std::runtime_error("\"ranks\" out of range: " + std::to_string(info.ranks));
  info.nodes = num_or<int>(j, "nodes", 1);
  info.threads_per_rank = num_or<int>(j, "threads_per_rank", 1);
  info.binding = str_or(j, "binding", "none");
  info.job_id = str_or(j, "job_id");
  info.scheduler = str_or(j, "scheduler");
  if (auto it = j.find("hosts"); it != j.end() && it->is_array())
    for (const auto& h : *it) info.hosts.emplace_back(str_or(h, "host"), num_or<int>(h, "ranks", 0));
  if (auto it = j.find("placement"); it != j.end() && it->is_object()) {
    info.threads_reason = str_or(*it, "threads_reason");
    for (const char* key : {"hosts", "warnings"}) {
      auto lines = it->find(key);
      if (lines == it->end() || lines->is_null()) continue;
      if (!lines->is_array()) throw std::runtime_error(std::string("placement.") + key + " is not an array");
      auto& into = std::string_view(key) == "hosts" ? info.placement : info.placement_warnings;
      for (const auto& l : *lines) into.push_back(l.get<std::string>());
    }
    if (auto ranks = it->find("ranks"); ranks != it->end() && ranks->is_array())
      info.placement_ranks = *ranks;
  }
  if (auto it = j.find("cache"); it != j.end() && it->is_object()) {
    info.cache_path = str_or(*it, "path");
    if (auto c = it->find("committed"); c != it->end() && c->is_boolean())
      info.cache_committed = c->get<bool>();
  }

  const Json& c = j.at("counts");
  r.counts.files = num_or<std::int64_t>(c, "files", 0);
  r.counts.hits = num_or<std::int64_t>(c, "hits", 0);
  r.counts.misses = num_or<std::int64_t>(c, "misses", 0);
  r.counts.not_started = num_or<std::int64_t>(c, "not_started", 0);
  if (auto it = j.find("interrupted"); it != j.end() && it->is_object())
    info.stop_signal = num_or<int>(*it, "signal", 0);
  if (auto it = c.find("failed_by_kind"); it != c.end() && it->is_object())
    for (const auto& [kind, n] : it->items()) r.counts.failed_by_kind[kind] = n.get<std::int64_t>();

  RunTimings& t = r.timings;
  t.ranks.assign(static_cast<std::size_t>(info.ranks), PhaseTimes{});
  const Json& phases = j.at("phases");
  for (Phase phase : kAllPhases) {
    auto it = phases.find(std::string(phase_name(phase)));
    if (it == phases.end()) continue;
    const auto i = static_cast<std::size_t>(phase);
    const Json& secs = it->at("per_rank");
    const Json entries = it->value("entries_per_rank", Json::array());
    if (!secs.is_array() || secs.size() > t.ranks.size())
      throw std::runtime_error("phase " + std::string(phase_name(phase)) +
                               ": per_rank is not an array of at most \"ranks\" values");
    for (std::size_t k = 0; k < secs.size(); ++k) {
      t.ranks[k][i].seconds = secs[k].get<double>();
      t.ranks[k][i].entries =
          k < entries.size() ? entries[k].get<std::uint32_t>() : (secs[k].get<double>() > 0 ? 1 : 0);
    }
  }
  if (auto it = j.find("files"); it != j.end()) {
    if (!it->is_array()) throw std::runtime_error("\"files\" is not an array");
    t.files.reserve(it->size());
    for (const auto& f : *it) {
      FileTiming ft;
      ft.path = str_or(f, "path");
      ft.format = format_from_name(str_or(f, "format", "unknown"));
      ft.seconds = num_or<double>(f, "seconds", 0.0);
      ft.bytes = num_or<std::uint64_t>(f, "bytes_read", num_or<std::uint64_t>(f, "bytes", 0));
      ft.rank = num_or<int>(f, "rank", -1);
      if (ft.rank < -1 || ft.rank >= info.ranks)
        throw std::runtime_error("file " + ft.path + ": rank " + std::to_string(ft.rank) +
                                 " out of range");
      const std::string err = str_or(f, "error");
      if (!err.empty()) {
        ft.error = error_kind_from_name(err);
        if (ft.error == ErrorKind::kNone) ft.error = ErrorKind::kInternal;
      }
      ft.start = num_or<double>(f, "start", -1.0);
      ft.end = num_or<double>(f, "end", -1.0);
      t.files.push_back(std::move(ft));
    }
  }
  return r;
}

std::string utc_time(std::chrono::system_clock::time_point tp) {
  return format_time(tp, true, "%Y-%m-%d %H:%M:%SZ");
}

std::string dash_or(const std::optional<double>& v, const Numbers& num, int decimals) {
  return v ? num.fixed(*v, decimals) : std::string("-");
}

Makespan makespan_of(const LoadedReport& r) {
  return makespan(r.timings, r.info.ranks, r.info.threads_per_rank);
}

}  // namespace

Result<LoadedReport> parse_json(const nlohmann::json& j) {
  try {
    return parse_or_throw(j);
  } catch (const std::exception& e) {
    return bad(std::string("not a valid mpiprep report: ") + e.what());
  }
}

Result<LoadedReport> load_json_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    return make_error(err == EACCES ? ErrorKind::kPermission : ErrorKind::kMissing,
                      fmt::format("{}: cannot open: {}", path, std::strerror(err)));
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  Json j = Json::parse(buf.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return bad(path + ": not valid JSON");
  auto r = parse_json(j);
  if (!r) return bad(path + ": " + r.error().message);
  r->source = path;
  return r;
}

std::optional<double> files_per_second(const LoadedReport& r) {
  const double wall = r.info.wall_seconds();
  if (wall <= 0.0) return std::nullopt;
  return static_cast<double>(r.counts.files) / wall;
}

std::string render_comparison(const std::vector<LoadedReport>& runs) {
  const Numbers num;
  std::vector<std::vector<std::string>> rows;
  auto row = [&](std::string label, auto&& cell) {
    std::vector<std::string> r{std::move(label)};
    for (const auto& run : runs) r.push_back(cell(run));
    rows.push_back(std::move(r));
  };
  std::vector<std::string> head{"Run"};
  for (std::size_t i = 0; i < runs.size(); ++i) head.push_back(std::to_string(i + 1));
  rows.push_back(std::move(head));
  row("Start (UTC)", [&](const LoadedReport& r) { return utc_time(r.info.start); });
  row("Job", [&](const LoadedReport& r) { return r.info.job_id.empty() ? "-" : r.info.job_id; });
  row("Ranks", [&](const LoadedReport& r) { return num.integer(r.info.ranks); });
  row("Threads/rank", [&](const LoadedReport& r) { return num.integer(r.info.threads_per_rank); });
  row("Files", [&](const LoadedReport& r) { return num.integer(r.counts.files); });
  row("Hits", [&](const LoadedReport& r) { return num.integer(r.counts.hits); });
  row("Misses", [&](const LoadedReport& r) { return num.integer(r.counts.misses); });
  row("Failed", [&](const LoadedReport& r) { return num.integer(r.counts.failed()); });
  if (std::any_of(runs.begin(), runs.end(),
                  [](const LoadedReport& r) { return r.counts.not_started > 0; }))
    row("Not started", [&](const LoadedReport& r) { return num.integer(r.counts.not_started); });
  row("Wall (s)", [&](const LoadedReport& r) { return num.fixed(r.info.wall_seconds(), 2); });
  row("Makespan (s)", [&](const LoadedReport& r) {
    return num.fixed(makespan_of(r).makespan_s, 3);
  });
  row("Lower bound (s)", [&](const LoadedReport& r) {
    return num.fixed(makespan_of(r).lower_bound_s, 3);
  });
  row("Ratio", [&](const LoadedReport& r) { return dash_or(makespan_of(r).ratio, num, 2); });
  if (std::any_of(runs.begin(), runs.end(),
                  [](const LoadedReport& r) { return r.info.threads_per_rank > 1; })) {
    row("Slot bound (s)", [&](const LoadedReport& r) {
      return num.fixed(makespan_of(r).slot_lower_bound_s, 3);
    });
    row("Slot ratio", [&](const LoadedReport& r) { return dash_or(makespan_of(r).slot_ratio, num, 2); });
  }
  row("Files/s", [&](const LoadedReport& r) { return dash_or(files_per_second(r), num, 1); });
  row("Busy COV", [&](const LoadedReport& r) {
    return r.timings.files.empty() ? std::string("-") : num.fixed(load_balance(r.timings).busy.cov, 3);
  });
  for (Phase phase : kAllPhases) {
    const auto i = static_cast<std::size_t>(phase);
    bool any = false;
    for (const auto& r : runs)
      for (const auto& p : r.timings.ranks) any = any || p[i].entries > 0;
    if (!any) continue;
    row(fmt::format("{} max (s)", phase_name(phase)), [&](const LoadedReport& r) {
      double m = 0.0;
      bool entered = false;
      for (const auto& p : r.timings.ranks) {
        m = std::max(m, p[i].seconds);
        entered = entered || p[i].entries > 0;
      }
      return entered ? num.fixed(m, 2) : std::string("-");
    });
  }
  std::string out = fmt::format("@ mpiprep run comparison ({} runs)\n", runs.size());
  for (std::size_t i = 0; i < runs.size(); ++i)
    out += fmt::format("@ Run {:<8}: {}\n", i + 1, runs[i].source.empty() ? "-" : runs[i].source);
  out += '\n';
  out += table(rows);
  return out;
}

std::string render_history(const std::vector<LoadedReport>& runs) {
  const Numbers num;
  std::vector<const LoadedReport*> order;
  for (const auto& r : runs) order.push_back(&r);
  std::stable_sort(order.begin(), order.end(), [](const LoadedReport* a, const LoadedReport* b) {
    return a->info.start < b->info.start;
  });
  std::vector<std::vector<std::string>> rows = {
      {"Date (UTC)", "Job", "Ranks", "Files", "Hits", "Misses", "Hit%", "Makespan(s)", "Files/s"}};
  for (const auto* r : order) {
    const std::int64_t looked_up = r->counts.hits + r->counts.misses;
    rows.push_back({utc_time(r->info.start), r->info.job_id.empty() ? "-" : r->info.job_id,
                    num.integer(r->info.ranks), num.integer(r->counts.files),
                    num.integer(r->counts.hits), num.integer(r->counts.misses),
                    looked_up > 0 ? num.fixed(100.0 * static_cast<double>(r->counts.hits) /
                                                  static_cast<double>(looked_up),
                                              1)
                                  : std::string("-"),
                    num.fixed(makespan_of(*r).makespan_s, 3),
                    dash_or(files_per_second(*r), num, 1)});
  }
  std::string out = fmt::format("@ mpiprep run history ({} runs, oldest first)\n\n", runs.size());
  out += table(rows, {1});
  return out;
}

}  // namespace mpiprep::report
