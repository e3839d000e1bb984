// The per-run timing report: each rank times its phases (RAII, steady clock) and records one
// line per extracted file, with its start and end on a run clock common to all ranks; rank 0
// gathers them and renders the mpiP-style text report of STYLE.md ("Timing report shape"), a
// JSON document with every per-rank and per-file figure, and (svg.hpp) the figures.
// `mpiprep report` reads the JSON back (parse_json) to re-render it and to compare runs.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "mpiprep/comm/communicator.hpp"
#include "mpiprep/core/meta.hpp"
#include "mpiprep/core/result.hpp"

namespace mpiprep::report {

enum class Phase : std::uint8_t { kSurvey = 0, kLoadCache, kExtract, kIdle, kCommit, kOutput };
inline constexpr std::size_t kPhaseCount = 6;
inline constexpr std::array<Phase, kPhaseCount> kAllPhases = {
    Phase::kSurvey, Phase::kLoadCache, Phase::kExtract, Phase::kIdle, Phase::kCommit,
    Phase::kOutput};

// "survey", "load-cache", "extract", "idle", "commit", "output" (JSON keys).
[[nodiscard]] std::string_view phase_name(Phase p) noexcept;
// Row label in the text table ("survey (stat)" for survey, else the name).
[[nodiscard]] std::string_view phase_label(Phase p) noexcept;

// Time spent in one phase on one rank; `entries` = how many timed scopes were recorded, so a
// phase a rank never entered (0) is told apart from one that took no measurable time.
struct PhaseTime {
  double seconds = 0.0;
  std::uint32_t entries = 0;
  bool operator==(const PhaseTime&) const = default;
};
using PhaseTimes = std::array<PhaseTime, kPhaseCount>;

// One extracted (or failed) file.
struct FileTiming {
  std::string path;
  FileFormat format = FileFormat::kUnknown;
  double seconds = 0.0;
  std::uint64_t bytes = 0;
  int rank = -1;
  ErrorKind error = ErrorKind::kNone;  // kNone = extracted fine
  // Seconds since the run's common start (Recorder::set_origin); negative = not recorded.
  double start = -1.0;
  double end = -1.0;
  bool operator==(const FileTiming&) const = default;
};

class Recorder;

// Adds the steady-clock time between construction and stop() (or destruction) to a phase.
class ScopedTimer {
 public:
  ScopedTimer(Recorder& recorder, Phase phase);
  ~ScopedTimer();
  ScopedTimer(ScopedTimer&& other) noexcept;
  ScopedTimer(const ScopedTimer&) = delete;
  ScopedTimer& operator=(const ScopedTimer&) = delete;
  ScopedTimer& operator=(ScopedTimer&&) = delete;
  // Records now and returns the seconds recorded; later calls (and the destructor) do nothing.
  double stop();

 private:
  Recorder* recorder_;
  Phase phase_;
  std::chrono::steady_clock::time_point start_;
};

// One rank's timings. Thread-safe: extraction threads record files concurrently.
class Recorder {
 public:
  using Clock = std::chrono::steady_clock;

  [[nodiscard]] ScopedTimer time(Phase phase) { return ScopedTimer(*this, phase); }
  void add(Phase phase, double seconds);
  void record_file(FileTiming timing);
  // From an extractor's result: path, format, extract_seconds, bytes_read, rank, error_kind.
  void record_file(const FileMeta& meta);
  // The same with the file's start and end on this rank's steady clock, stored as seconds
  // since the origin.
  void record_file(const FileMeta& meta, Clock::time_point start, Clock::time_point end);

  // The run's common start on this rank's steady clock. Every rank takes it right after
  // leaving one barrier, so run times of different ranks agree to within the barrier's exit
  // skew (microseconds within a node) without synchronised clocks. Default: construction.
  void set_origin(Clock::time_point t0);
  [[nodiscard]] double since_origin(Clock::time_point t) const;

  [[nodiscard]] PhaseTimes phases() const;
  [[nodiscard]] std::vector<FileTiming> files() const;

 private:
  mutable std::mutex mu_;
  Clock::time_point origin_ = Clock::now();
  PhaseTimes phases_{};
  std::vector<FileTiming> files_;
};

// Every rank's timings, on the root after gather().
struct RunTimings {
  std::vector<PhaseTimes> ranks;  // index = rank
  std::vector<FileTiming> files;  // rank 0's first, then rank 1's, ... each in record order
};

// Collective. Gathers every rank's Recorder on `root`, which gets the whole RunTimings; other
// ranks get an empty one. A file recorded with rank -1 is attributed to the rank that sent it.
[[nodiscard]] RunTimings gather(comm::Communicator& comm, const Recorder& local, int root = 0);

// Wire format of one rank's timings (exposed for tests). decode validates every length.
[[nodiscard]] comm::Bytes encode(const PhaseTimes& phases, const std::vector<FileTiming>& files);
[[nodiscard]] Result<std::pair<PhaseTimes, std::vector<FileTiming>>> decode(
    std::span<const std::byte> bytes);

// Inputs the report cannot measure itself: the CLI passes them in.
struct RunInfo {
  std::string command;
  std::chrono::system_clock::time_point start;
  std::chrono::system_clock::time_point stop;
  int ranks = 1;
  int nodes = 1;
  int threads_per_rank = 1;
  std::string binding = "none";
  bool utc = false;  // print times in UTC instead of local time
  // Where the ranks ran (the CLI fills these from topo::summarize): why this many threads, one
  // line per host, warnings (unbound ranks, oversubscribed cores) and every rank's placement.
  std::string threads_reason;
  std::vector<std::string> placement;
  std::vector<std::string> placement_warnings;
  nlohmann::ordered_json placement_ranks = nlohmann::ordered_json::array();

  // Ranks per host in order of the lowest rank on each host (empty: not known); shown as
  // "@ Hosts" only when there are no placement lines.
  std::vector<std::pair<std::string, int>> hosts;
  std::string job_id;     // $SLURM_JOB_ID or $JOB_ID (Grid Engine) at scan time; "" outside a job
  std::string scheduler;  // "slurm", "sge" or ""
  std::string cache_path;  // "" = --no-cache
  bool cache_committed = false;
  // The signal of a graceful stop (SIGTERM, SIGUSR1, ...); 0 = the run was not stopped, or
  // stopped without a signal (Counts::not_started says whether it was).
  int stop_signal = 0;

  [[nodiscard]] double wall_seconds() const;
};

struct Counts {
  std::int64_t files = 0;   // input files after expansion
  std::int64_t hits = 0;    // served from the cache
  std::int64_t misses = 0;  // to extract this run (not_started of them were not)
  // Misses a graceful stop kept from starting: neither extracted nor failed, not cached.
  std::int64_t not_started = 0;
  std::map<std::string, std::int64_t> failed_by_kind;  // error_kind_name -> files

  [[nodiscard]] std::int64_t failed() const;
};

// Failures by kind among the recorded files (a helper for filling Counts).
[[nodiscard]] std::map<std::string, std::int64_t> failures_by_kind(const RunTimings& t);

// One row of the Phases table. A phase entered by exactly one rank of several (rank 0's
// commit, load-cache, output) has no meaningful min/avg/imbalance: those are nullopt and
// Time% uses the max. Imbalance is also nullopt for idle (imbalanced idle is the symptom).
struct PhaseStats {
  Phase phase = Phase::kSurvey;
  int ranks_entered = 0;
  std::optional<double> min, avg;
  double max = 0.0;
  std::optional<double> imbalance_pct;  // 100 * (max - avg) / max
  double time_pct = 0.0;                // 100 * avg (or max) / wall
};
// Phases entered by at least one rank, in kAllPhases order.
[[nodiscard]] std::vector<PhaseStats> phase_stats(const RunTimings& t, double wall_seconds);

// One row of the Extraction table; the last row of extraction_stats() is the "*" total.
struct FormatStats {
  std::string format;  // format_name(), or "*"
  std::int64_t files = 0;
  double mean_ms = 0.0;
  double p99_ms = 0.0;                  // nearest-rank 99th percentile
  std::optional<double> files_per_sec;  // files / max-over-ranks extract time; none if 0
  double mib_read = 0.0;
  std::int64_t failed = 0;
};
[[nodiscard]] std::vector<FormatStats> extraction_stats(const RunTimings& t);

// Min/avg/max over ranks of one per-rank quantity, its coefficient of variation
// (population standard deviation / mean; 0 when the mean is 0) and imbalance 100·(max−avg)/max.
struct Spread {
  double min = 0.0, avg = 0.0, max = 0.0;
  double cov = 0.0;
  double imbalance_pct = 0.0;
};
[[nodiscard]] Spread spread(const std::vector<double>& values);

// Files and busy seconds (sum of the extraction times of its files: thread-seconds) per rank.
struct LoadBalance {
  std::vector<std::int64_t> files_per_rank;
  std::vector<double> busy_per_rank;
  Spread files;
  Spread busy;
};
// Ranks that extracted nothing count (with 0); ranks = t.ranks.size() (at least the highest
// rank seen in t.files + 1).
[[nodiscard]] LoadBalance load_balance(const RunTimings& t);

// The extraction makespan against its lower bound. Issue 4 defines the bound per rank:
// max(total work / ranks, longest file): no schedule that runs one file at a time per rank can
// finish faster than spreading the work perfectly, nor faster than its longest file. With
// several files in flight per rank (threads_per_rank > 1) files overlap, so the makespan can
// beat that bound; the true bound is then per slot, max(total work / (ranks × threads),
// longest file), which the report shows beside it.
struct Makespan {
  double makespan_s = 0.0;   // last file end − first file start; else the slowest rank's extract
  bool from_timeline = false;  // makespan from per-file start/end (false: from phase times)
  double total_work_s = 0.0;
  double longest_s = 0.0;
  int ranks = 1;
  int threads_per_rank = 1;
  double lower_bound_s = 0.0;   // per rank: max(total work / ranks, longest file)
  std::optional<double> ratio;  // makespan / lower bound; none when the bound is 0
  int slots = 1;                // ranks × threads_per_rank
  double slot_lower_bound_s = 0.0;   // max(total work / slots, longest file)
  std::optional<double> slot_ratio;  // makespan / slot bound; none when it is 0
};
[[nodiscard]] Makespan makespan(const RunTimings& t, int ranks, int threads_per_rank = 1);

// The n slowest files, slowest first (ties by path).
[[nodiscard]] std::vector<FileTiming> slowest_files(const RunTimings& t, std::size_t n = 10);

// Rank 0. The text report (STYLE.md shape); numbers with thousands separators.
[[nodiscard]] std::string render_text(const RunInfo& info, const Counts& counts,
                                      const RunTimings& t);
// Identifies report.json documents (render_json, parse_json).
inline constexpr std::string_view kReportSchema = "mpiprep-report/1";

// Rank 0. The same figures as JSON, plus per-rank phase times and every file's timing.
[[nodiscard]] nlohmann::ordered_json render_json(const RunInfo& info, const Counts& counts,
                                                 const RunTimings& t);

// A report read back from its JSON (render_json's output, `schema` "mpiprep-report/1").
struct LoadedReport {
  std::string source;  // file it came from
  RunInfo info;
  Counts counts;
  RunTimings timings;
};
// Checks types and values; per-file entries without start/end keep them unknown.
[[nodiscard]] Result<LoadedReport> parse_json(const nlohmann::json& j);
// Reads and parses one report.json (kMissing, kPermission, kCorrupt errors name the path).
[[nodiscard]] Result<LoadedReport> load_json_file(const std::string& path);

// Run throughput for comparisons: all input files (hits too) per wall second.
[[nodiscard]] std::optional<double> files_per_second(const LoadedReport& r);

// Side-by-side comparison: one column per run, in the order given.
[[nodiscard]] std::string render_comparison(const std::vector<LoadedReport>& runs);
// One line per run, sorted by start time: date, job id, ranks, files, hits, misses, makespan,
// files/s.
[[nodiscard]] std::string render_history(const std::vector<LoadedReport>& runs);

}  // namespace mpiprep::report
