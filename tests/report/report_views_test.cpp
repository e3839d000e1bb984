// Load balance, makespan against its lower bound, slowest files, the JSON round trip behind
// `mpiprep report`, run comparison and history, progress formatting, and the SVG figures.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <regex>
#include <unistd.h>
#include <sstream>

#include "mpiprep/report/progress.hpp"
#include "mpiprep/report/report.hpp"
#include "report/text_lines.hpp"
#include "mpiprep/report/svg.hpp"

namespace mpiprep::report {
namespace {

using testing::fields;
using testing::find_line;
using testing::lines;

std::size_t count(const std::string& hay, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + 1)) ++n;
  return n;
}

FileTiming file(std::string path, FileFormat f, int rank, double start, double end,
                ErrorKind e = ErrorKind::kNone, std::uint64_t bytes = 1024) {
  return FileTiming{std::move(path), f, end - start, bytes, rank, e, start, end};
}

// 3 ranks, 1 thread each. Rank 0: files of 1, 2, 3 s back to back; rank 1: nothing;
// rank 2: one 4 s file from 0.5 s. Total work 10 s, longest 4 s, makespan 0..6 = 6 s.
RunTimings small_run() {
  RunTimings t;
  t.ranks.assign(3, PhaseTimes{});
  for (std::size_t r = 0; r < 3; ++r)
    t.ranks[r][static_cast<std::size_t>(Phase::kExtract)] = PhaseTime{r == 1 ? 0.0 : 6.0, 1};
  t.files = {file("/d/a.root", FileFormat::kRoot, 0, 0.0, 1.0),
             file("/d/b.root", FileFormat::kRoot, 0, 1.0, 3.0),
             file("/d/c&<x>.h5", FileFormat::kHdf5, 0, 3.0, 6.0, ErrorKind::kTruncated),
             file("/d/d.root", FileFormat::kRoot, 2, 0.5, 4.5)};
  return t;
}

RunInfo small_info() {
  RunInfo info;
  info.command = "mpiprep scan --report out fileset.json";
  info.start = std::chrono::system_clock::time_point(std::chrono::seconds(1772619123));
  info.stop = info.start + std::chrono::milliseconds(9500);
  info.ranks = 3;
  info.nodes = 2;
  info.threads_per_rank = 1;
  info.binding = "core";
  info.utc = true;
  info.hosts = {{"node01", 2}, {"node02", 1}};
  info.threads_reason = "1 = --threads";
  info.placement = {"node01: 2 ranks on 2 of 8 cores"};
  info.placement_warnings = {"rank 2 on node02 is not bound"};
  info.job_id = "4711";
  info.scheduler = "slurm";
  info.cache_path = "/lus/proj/.mpiprep-cache.h5";
  info.cache_committed = true;
  return info;
}

Counts small_counts() {
  Counts c;
  c.files = 10;
  c.hits = 6;
  c.misses = 4;
  c.failed_by_kind = {{"truncated", 1}};
  return c;
}

TEST(Stats, SpreadCovAndImbalance) {
  Spread s = spread({1.0, 2.0, 3.0, 4.0});
  EXPECT_DOUBLE_EQ(s.min, 1.0);
  EXPECT_DOUBLE_EQ(s.max, 4.0);
  EXPECT_DOUBLE_EQ(s.avg, 2.5);
  EXPECT_NEAR(s.cov, std::sqrt(1.25) / 2.5, 1e-12);  // population standard deviation
  EXPECT_DOUBLE_EQ(s.imbalance_pct, 37.5);
  Spread zero = spread({0.0, 0.0});
  EXPECT_EQ(zero.cov, 0.0);
  EXPECT_EQ(zero.imbalance_pct, 0.0);
  EXPECT_EQ(spread({}).max, 0.0);
  EXPECT_EQ(spread({5.0, 5.0, 5.0}).cov, 0.0);
}

TEST(Stats, LoadBalanceCountsIdleRanks) {
  LoadBalance lb = load_balance(small_run());
  EXPECT_EQ(lb.files_per_rank, (std::vector<std::int64_t>{3, 0, 1}));
  EXPECT_EQ(lb.busy_per_rank, (std::vector<double>{6.0, 0.0, 4.0}));
  EXPECT_DOUBLE_EQ(lb.files.min, 0.0);
  EXPECT_DOUBLE_EQ(lb.files.max, 3.0);
  EXPECT_DOUBLE_EQ(lb.files.avg, 4.0 / 3.0);
  EXPECT_DOUBLE_EQ(lb.busy.avg, 10.0 / 3.0);
  const double sd = std::sqrt(((6 - 10.0 / 3) * (6 - 10.0 / 3) + (10.0 / 3) * (10.0 / 3) +
                               (4 - 10.0 / 3) * (4 - 10.0 / 3)) / 3.0);
  EXPECT_NEAR(lb.busy.cov, sd / (10.0 / 3.0), 1e-12);
  EXPECT_NEAR(lb.busy.imbalance_pct, 100.0 * (6 - 10.0 / 3) / 6, 1e-12);

  // A file from a rank beyond t.ranks widens the table instead of being dropped.
  RunTimings t = small_run();
  t.files.push_back(file("/d/e.root", FileFormat::kRoot, 4, 0.0, 1.0));
  EXPECT_EQ(load_balance(t).files_per_rank, (std::vector<std::int64_t>{3, 0, 1, 0, 1}));
}

TEST(Stats, MakespanAgainstLowerBound) {
  Makespan m = makespan(small_run(), 2);
  EXPECT_TRUE(m.from_timeline);
  EXPECT_DOUBLE_EQ(m.makespan_s, 6.0);
  EXPECT_DOUBLE_EQ(m.total_work_s, 10.0);
  EXPECT_DOUBLE_EQ(m.longest_s, 4.0);
  EXPECT_DOUBLE_EQ(m.lower_bound_s, 5.0);  // work / slots dominates
  EXPECT_DOUBLE_EQ(*m.ratio, 1.2);
  m = makespan(small_run(), 4);
  EXPECT_DOUBLE_EQ(m.lower_bound_s, 4.0);  // the longest file dominates
  EXPECT_DOUBLE_EQ(*m.ratio, 1.5);
  EXPECT_EQ(makespan(small_run(), 0).slots, 1);

  // Without per-file times (an old report), the slowest rank's extract time stands in.
  RunTimings t = small_run();
  t.files[1].start = -1.0;
  m = makespan(t, 3);
  EXPECT_FALSE(m.from_timeline);
  EXPECT_DOUBLE_EQ(m.makespan_s, 6.0);
  RunTimings empty;
  EXPECT_FALSE(makespan(empty, 3).ratio.has_value());
}

// Issue 4's bound is per rank, max(work / ranks, longest file); with several threads per rank
// the per-slot bound max(work / (ranks x threads), longest file) is computed beside it.
TEST(Stats, MakespanBoundPerRankAndPerSlot) {
  // 2 ranks x 4 threads: per rank max(10/2, 4) = 5 (ratio 6/5), per slot max(10/8, 4) = 4.
  Makespan m = makespan(small_run(), 2, 4);
  EXPECT_EQ(m.ranks, 2);
  EXPECT_EQ(m.threads_per_rank, 4);
  EXPECT_EQ(m.slots, 8);
  EXPECT_DOUBLE_EQ(m.lower_bound_s, 5.0);
  EXPECT_DOUBLE_EQ(*m.ratio, 1.2);
  EXPECT_DOUBLE_EQ(m.slot_lower_bound_s, 4.0);
  EXPECT_DOUBLE_EQ(*m.slot_ratio, 1.5);
  // 1 rank x 16 threads: per rank the whole 10 s of work, per slot the 4 s file.
  m = makespan(small_run(), 1, 16);
  EXPECT_DOUBLE_EQ(m.lower_bound_s, 10.0);
  EXPECT_DOUBLE_EQ(*m.ratio, 0.6);  // overlapping files beat the per-rank formula
  EXPECT_DOUBLE_EQ(m.slot_lower_bound_s, 4.0);
  // One thread per rank: the two are the same number.
  m = makespan(small_run(), 4);
  EXPECT_EQ(m.slots, 4);
  EXPECT_DOUBLE_EQ(m.slot_lower_bound_s, m.lower_bound_s);
}

TEST(Render, ThreadsShowBothBoundsLabelled) {
  RunInfo info = small_info();
  info.ranks = 2;
  info.threads_per_rank = 4;
  const auto ls = lines(render_text(info, small_counts(), small_run()));
  EXPECT_EQ(ls[find_line(ls, "Lower bound (s)")],
            "Lower bound (s)  5.000  max(work 10.000 s / 2 ranks, longest file 4.000 s): one "
            "file at a time per rank");
  EXPECT_EQ(fields(ls[find_line(ls, "Ratio")]), (std::vector<std::string>{"Ratio", "1.20"}));
  EXPECT_EQ(ls[find_line(ls, "Slot bound (s)")],
            "Slot bound (s)   4.000  max(work 10.000 s / 8 slots = 2 ranks x 4 threads, longest "
            "file 4.000 s)");
  EXPECT_EQ(fields(ls[find_line(ls, "Slot ratio")]),
            (std::vector<std::string>{"Slot", "ratio", "1.50"}));
  const auto j = render_json(info, small_counts(), small_run());
  const auto& ms = j["makespan"];
  EXPECT_EQ(ms["lower_bound"], "max(total work / ranks, longest file)");
  EXPECT_DOUBLE_EQ(ms["lower_bound_seconds"].get<double>(), 5.0);
  EXPECT_DOUBLE_EQ(ms["ratio"].get<double>(), 1.2);
  EXPECT_EQ(ms["ranks"], 2);
  EXPECT_EQ(ms["threads_per_rank"], 4);
  EXPECT_EQ(ms["slots"], 8);
  EXPECT_DOUBLE_EQ(ms["slot_lower_bound_seconds"].get<double>(), 4.0);
  EXPECT_DOUBLE_EQ(ms["slot_ratio"].get<double>(), 1.5);
  // One thread per rank: no slot rows in the text (the bounds coincide).
  const auto one = lines(render_text(small_info(), small_counts(), small_run()));
  EXPECT_EQ(one[find_line(one, "Lower bound (s)")],
            "Lower bound (s)  4.000  max(work 10.000 s / 3 ranks, longest file 4.000 s)");
  for (const auto& l : one) EXPECT_EQ(l.find("Slot"), std::string::npos) << l;
}

// A run stopped by a signal: the header separates the files that never started from the
// finished and the failed ones, and report.json carries the same numbers.
TEST(Render, StoppedRunSaysWhatDidNotStart) {
  RunInfo info = small_info();
  info.stop_signal = 10;  // SIGUSR1 on Linux
  Counts c = small_counts();
  c.not_started = 3;
  const auto ls = lines(render_text(info, c, small_run()));
  EXPECT_EQ(ls[8], "@ Files        : 10   hits 6   misses 4 (40.0%)   failed 1   not started 3");
  EXPECT_EQ(ls[9], "@ Stopped      : by signal 10 (SIGUSR1): 1 of 4 files to extract finished, 3 "
                   "not started (not cached, no outputs written); run the same command again to "
                   "finish");
  const auto j = render_json(info, c, small_run());
  EXPECT_EQ(j["counts"]["not_started"], 3);
  EXPECT_EQ(j["counts"]["failed"], 1);
  EXPECT_EQ(j["interrupted"]["stopped"], true);
  EXPECT_EQ(j["interrupted"]["signal"], 10);
  EXPECT_EQ(j["interrupted"]["files_not_started"], 3);
  auto back = parse_json(nlohmann::json::parse(j.dump()));
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  back->info.utc = true;
  EXPECT_EQ(render_text(back->info, back->counts, back->timings), render_text(info, c, small_run()));
  // Not stopped: neither the count nor the line.
  const auto plain = render_text(small_info(), small_counts(), small_run());
  EXPECT_EQ(plain.find("not started"), std::string::npos);
  EXPECT_EQ(plain.find("@ Stopped"), std::string::npos);
  EXPECT_EQ(render_json(small_info(), small_counts(), small_run())["interrupted"]["stopped"], false);
}

TEST(Stats, SlowestFilesOrder) {
  RunTimings t;
  for (int i = 0; i < 15; ++i) {
    // Durations 0,1,...,6,7,7,7,... : ties broken by path.
    const double d = std::min(i, 7);
    t.files.push_back(file("/f" + std::to_string(100 - i), FileFormat::kRoot, 0, 0.0, d));
  }
  auto slow = slowest_files(t);
  ASSERT_EQ(slow.size(), 10u);
  // The 8 files of 7 s (i = 7..14: /f93 ... /f86) come first, by path.
  EXPECT_EQ(slow[0].path, "/f86");
  EXPECT_EQ(slow[7].path, "/f93");
  EXPECT_EQ(slow[8].path, "/f94");  // 6 s
  EXPECT_EQ(slow[9].path, "/f95");  // 5 s
  for (std::size_t i = 1; i < slow.size(); ++i) EXPECT_GE(slow[i - 1].seconds, slow[i].seconds);
  EXPECT_EQ(slowest_files(t, 100).size(), 15u);
  EXPECT_TRUE(slowest_files(RunTimings{}).empty());
}

TEST(Render, HeaderAndNewSections) {
  const std::string text = render_text(small_info(), small_counts(), small_run());
  auto ls = lines(text);
  EXPECT_EQ(ls[3], "@ Ranks        : 3 on 2 nodes, 1 thread/rank, bind=core");
  EXPECT_EQ(ls[4], "@ Threads      : 1 = --threads");
  EXPECT_EQ(ls[5], "@ Placement    : node01: 2 ranks on 2 of 8 cores");
  EXPECT_EQ(ls[6], "@ WARNING      : rank 2 on node02 is not bound");
  EXPECT_EQ(ls[7], "@ Job          : 4711 (slurm)");
  EXPECT_EQ(ls[8], "@ Files        : 10   hits 6   misses 4 (40.0%)   failed 1");
  EXPECT_EQ(ls[9], "@ Cache        : /lus/proj/.mpiprep-cache.h5   hit rate 60.0%   new generation committed");
  // Without placement lines, ranks per host come from the host list.
  RunInfo bare = small_info();
  bare.threads_reason.clear();
  bare.placement.clear();
  bare.placement_warnings.clear();
  EXPECT_EQ(lines(render_text(bare, small_counts(), small_run()))[4],
            "@ Hosts        : node01 (2), node02 (1)");

  const std::size_t lb = find_line(ls, "@--- Load balance");
  EXPECT_EQ(fields(ls[lb + 1]),
            (std::vector<std::string>{"Per", "rank", "Min/rank", "Avg/rank", "Max/rank", "COV", "Imbal%"}));
  // files 3, 0, 1: min 0, avg 1.3, max 3, COV sd/mean = 1.2472/1.3333 = 0.935, imbalance 55.6.
  EXPECT_EQ(fields(ls[lb + 2]), (std::vector<std::string>{"files", "0", "1.3", "3", "0.935", "55.6"}));
  EXPECT_EQ(fields(ls[lb + 3]),
            (std::vector<std::string>{"busy", "(s)", "0.00", "3.33", "6.00", "0.748", "44.4"}));
  // 3 slots: lower bound max(10/3, 4) = 4, makespan 6, ratio 1.50.
  EXPECT_EQ(fields(ls[find_line(ls, "Makespan (s)")])[2], "6.000");
  EXPECT_EQ(fields(ls[find_line(ls, "Lower bound (s)")])[3], "4.000");
  EXPECT_EQ(fields(ls[find_line(ls, "Ratio")]), (std::vector<std::string>{"Ratio", "1.50"}));

  const std::size_t sl = find_line(ls, "@--- 4 slowest files");
  EXPECT_EQ(fields(ls[sl + 1]), (std::vector<std::string>{"#", "Time(ms)", "Start(s)", "Rank",
                                                         "Format", "Status", "KiB", "read", "Path"}));
  EXPECT_EQ(fields(ls[sl + 2]), (std::vector<std::string>{"1", "4,000", "0.500", "2", "root", "ok",
                                                         "1.0", "/d/d.root"}));
  EXPECT_EQ(fields(ls[sl + 3]), (std::vector<std::string>{"2", "3,000", "3.000", "0", "hdf5",
                                                         "truncated", "1.0", "/d/c&<x>.h5"}));
  EXPECT_EQ(fields(ls[sl + 5])[7], "/d/a.root");
  EXPECT_EQ(ls.size(), sl + 6);
  for (const auto& l : ls) EXPECT_TRUE(l.empty() || l.back() != ' ') << "trailing space: " << l;
}

TEST(Json, RoundTripRendersTheSameText) {
  const RunInfo info = small_info();
  const auto j = render_json(info, small_counts(), small_run());
  EXPECT_EQ(j["schema"], "mpiprep-report/1");
  EXPECT_EQ(j["job_id"], "4711");
  EXPECT_EQ(j["hosts"][1]["host"], "node02");
  EXPECT_EQ(j["load_balance"]["files_per_rank"], nlohmann::ordered_json::parse("[3,0,1]"));
  EXPECT_DOUBLE_EQ(j["makespan"]["ratio"].get<double>(), 1.5);
  EXPECT_EQ(j["slowest_files"][0]["path"], "/d/d.root");
  const auto& f2 = j["files"][2];
  EXPECT_EQ(f2["path"], "/d/c&<x>.h5");
  EXPECT_EQ(f2["format"], "hdf5");
  EXPECT_EQ(f2["rank"], 0);
  EXPECT_DOUBLE_EQ(f2["start"].get<double>(), 3.0);
  EXPECT_DOUBLE_EQ(f2["end"].get<double>(), 6.0);
  EXPECT_EQ(f2["status"], "truncated");
  EXPECT_EQ(f2["bytes_read"], 1024);

  auto back = parse_json(nlohmann::json::parse(j.dump()));
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  back->info.utc = true;
  EXPECT_EQ(back->timings.files, small_run().files);
  EXPECT_EQ(back->info.hosts, info.hosts);
  EXPECT_EQ(back->info.placement, info.placement);
  EXPECT_EQ(back->info.placement_warnings, info.placement_warnings);
  EXPECT_EQ(render_text(back->info, back->counts, back->timings),
            render_text(info, small_counts(), small_run()));
}

TEST(Json, ParseRejectsWhatIsNotAReport) {
  using J = nlohmann::json;
  const J good = J::parse(render_json(small_info(), small_counts(), small_run()).dump());
  EXPECT_FALSE(parse_json(J::array()).ok());
  EXPECT_FALSE(parse_json(J::parse(R"({"a": 1})")).ok());
  auto with = [&](const std::function<void(J&)>& change) {
    J j = good;
    change(j);
    return parse_json(j);
  };
  auto r = with([](J& j) { j["schema"] = "something/2"; });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kCorrupt);
  EXPECT_NE(r.error().message.find("something/2"), std::string::npos);
  EXPECT_FALSE(with([](J& j) { j["ranks"] = 0; }).ok());
  EXPECT_FALSE(with([](J& j) { j["ranks"] = "three"; }).ok());
  EXPECT_FALSE(with([](J& j) { j["files"][0]["rank"] = 3; }).ok());
  EXPECT_FALSE(with([](J& j) { j["files"] = J::object(); }).ok());
  EXPECT_FALSE(with([](J& j) { j["phases"]["survey"]["per_rank"] = J::parse("[1,2,3,4]"); }).ok());
  EXPECT_FALSE(with([](J& j) { j["command"] = 5; }).ok());
  // An old report without per-file times still loads, with the times unknown.
  auto old = with([](J& j) {
    for (auto& f : j["files"]) {
      f.erase("start");
      f.erase("end");
    }
  });
  ASSERT_TRUE(old.ok());
  EXPECT_LT(old->timings.files[0].start, 0.0);

  EXPECT_EQ(load_json_file("/nonexistent/report.json").error().kind, ErrorKind::kMissing);
  // Unique per process: several worktrees' suites may run at once on one machine.
  const std::string garbage =
      ::testing::TempDir() + "/mpiprep-report-garbage-" + std::to_string(::getpid()) + ".json";
  std::ofstream(garbage) << "{not json";
  auto g = load_json_file(garbage);
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.error().kind, ErrorKind::kCorrupt);
  EXPECT_NE(g.error().message.find(garbage), std::string::npos);
  std::remove(garbage.c_str());
}

TEST(Compare, SideBySideAndHistorySortedByStart) {
  LoadedReport cold{"cold.json", small_info(), small_counts(), small_run()};
  LoadedReport warm = cold;
  warm.source = "warm.json";
  warm.info.start = cold.info.start - std::chrono::hours(24);  // an older run, listed second
  warm.info.stop = warm.info.start + std::chrono::seconds(2);
  warm.info.job_id = "4700";
  warm.info.ranks = 4;
  warm.counts.hits = 10;
  warm.counts.misses = 0;
  warm.timings = RunTimings{};
  warm.timings.ranks.assign(4, PhaseTimes{});

  auto ls = lines(render_comparison({cold, warm}));
  EXPECT_EQ(ls[0], "@ mpiprep run comparison (2 runs)");
  EXPECT_EQ(ls[1], "@ Run 1       : cold.json");
  const std::size_t h = find_line(ls, "Run ");
  EXPECT_EQ(fields(ls[h]), (std::vector<std::string>{"Run", "1", "2"}));
  EXPECT_EQ(fields(ls[find_line(ls, "Ranks")]), (std::vector<std::string>{"Ranks", "3", "4"}));
  EXPECT_EQ(fields(ls[find_line(ls, "Hits")]), (std::vector<std::string>{"Hits", "6", "10"}));
  EXPECT_EQ(fields(ls[find_line(ls, "Misses")]), (std::vector<std::string>{"Misses", "4", "0"}));
  EXPECT_EQ(fields(ls[find_line(ls, "Ratio")]), (std::vector<std::string>{"Ratio", "1.50", "-"}));
  // Files/s: all input files over the wall time: 10 / 9.5 and 10 / 2.
  EXPECT_EQ(fields(ls[find_line(ls, "Files/s")]), (std::vector<std::string>{"Files/s", "1.1", "5.0"}));
  EXPECT_EQ(fields(ls[find_line(ls, "extract max (s)")]),
            (std::vector<std::string>{"extract", "max", "(s)", "6.00", "-"}));
  // One thread per rank, nothing stopped: no slot or not-started rows.
  for (const auto& l : ls) {
    EXPECT_EQ(l.find("Slot"), std::string::npos) << l;
    EXPECT_EQ(l.find("Not started"), std::string::npos) << l;
  }
  // A stopped run with 4 threads per rank beside it: both rows appear, for every run.
  LoadedReport stopped = cold;
  stopped.info.ranks = 2;
  stopped.info.threads_per_rank = 4;
  stopped.counts.not_started = 3;
  ls = lines(render_comparison({cold, stopped}));
  EXPECT_EQ(fields(ls[find_line(ls, "Not started")]),
            (std::vector<std::string>{"Not", "started", "0", "3"}));
  // Per rank: max(10/3, 4) = 4 and max(10/2, 4) = 5; per slot: 4 and max(10/8, 4) = 4.
  EXPECT_EQ(fields(ls[find_line(ls, "Lower bound (s)")]),
            (std::vector<std::string>{"Lower", "bound", "(s)", "4.000", "5.000"}));
  EXPECT_EQ(fields(ls[find_line(ls, "Slot bound (s)")]),
            (std::vector<std::string>{"Slot", "bound", "(s)", "4.000", "4.000"}));
  EXPECT_EQ(fields(ls[find_line(ls, "Slot ratio")]),
            (std::vector<std::string>{"Slot", "ratio", "1.50", "1.50"}));

  auto hs = lines(render_history({cold, warm}));
  EXPECT_EQ(hs[0], "@ mpiprep run history (2 runs, oldest first)");
  EXPECT_EQ(fields(hs[2]), (std::vector<std::string>{"Date", "(UTC)", "Job", "Ranks", "Files", "Hits",
                                                    "Misses", "Hit%", "Makespan(s)", "Files/s"}));
  EXPECT_EQ(fields(hs[3]), (std::vector<std::string>{"2026-03-03", "10:12:03Z", "4700", "4", "10",
                                                    "10", "0", "100.0", "0.000", "5.0"}));
  EXPECT_EQ(fields(hs[4]), (std::vector<std::string>{"2026-03-04", "10:12:03Z", "4711", "3", "10",
                                                    "6", "4", "60.0", "6.000", "1.1"}));
}

TEST(Progress, Formatting) {
  EXPECT_EQ(format_eta(0), "0s");
  EXPECT_EQ(format_eta(59.4), "59s");
  EXPECT_EQ(format_eta(131), "2m11s");
  EXPECT_EQ(format_eta(3720), "1h02m");
  EXPECT_EQ(format_eta(90000), "1d01h");
  EXPECT_EQ(format_eta(-1), "-");
  EXPECT_EQ(format_eta(std::nan("")), "-");
  // 1,234 files in 3 s: 411.3 files/s; 53,078 left: 129 s.
  EXPECT_EQ(progress_line({54312, 1234, 0, 0}, 3.0),
            "progress: 1,234/54,312 files (2.3%), 411.3 files/s, ETA 2m09s");
  EXPECT_EQ(progress_line({10, 0, 0, 0}, 0.0), "progress: 0/10 files (0.0%), 0.0 files/s, ETA -");
  EXPECT_EQ(progress_bar({10, 5, 0, 0}, 1.0, 10), "[#####.....]  50%  5/10 files  5.0 files/s  ETA 1s");
  EXPECT_EQ(progress_bar({10, 10, 0, 0}, 2.0, 4), "[####] 100%  10/10 files  5.0 files/s  ETA 0s");
  EXPECT_EQ(parse_progress_mode("lines"), ProgressMode::kLines);
  EXPECT_FALSE(parse_progress_mode("sometimes").has_value());
}

TEST(Progress, LinesEveryIntervalAndBarRedrawsInPlace) {
  using Clock = Progress::Clock;
  using std::chrono::milliseconds;
  const Clock::time_point t0{};
  std::vector<std::string> out;
  auto sink = [&out](std::string_view s) { out.emplace_back(s); };

  Progress lines_mode(ProgressMode::kAuto, /*is_terminal=*/false, sink, 10.0, t0);
  EXPECT_EQ(lines_mode.mode(), ProgressMode::kLines);
  lines_mode.update({100, 1, 0, 0}, t0 + milliseconds(5000));
  EXPECT_TRUE(out.empty());
  lines_mode.update({100, 10, 0, 0}, t0 + milliseconds(10000));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], "progress: 10/100 files (10.0%), 1.0 files/s, ETA 1m30s\n");
  lines_mode.update({100, 12, 0, 0}, t0 + milliseconds(12000));
  EXPECT_EQ(out.size(), 1u);
  lines_mode.update({100, 50, 0, 0}, t0 + milliseconds(25000));
  EXPECT_EQ(out.size(), 2u);
  lines_mode.update({100, 60, 0, 0}, t0 + milliseconds(29000));  // next due at 30 s, not 35 s
  EXPECT_EQ(out.size(), 2u);
  lines_mode.update({100, 70, 0, 0}, t0 + milliseconds(30000));
  EXPECT_EQ(out.size(), 3u);
  lines_mode.finish({100, 100, 0, 0}, t0 + milliseconds(40000));
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[3], "progress: done, 100 files in 40.0 s (2.5 files/s)\n");
  lines_mode.update({100, 100, 0, 0}, t0 + milliseconds(90000));
  EXPECT_EQ(out.size(), 4u);  // nothing after finish

  out.clear();
  Progress quiet(ProgressMode::kLines, false, sink, 10.0, t0);
  quiet.finish({3, 3, 0, 0}, t0 + milliseconds(500));  // a short run prints nothing at all
  EXPECT_TRUE(out.empty());

  Progress bar(ProgressMode::kAuto, /*is_terminal=*/true, sink, 10.0, t0);
  EXPECT_EQ(bar.mode(), ProgressMode::kBar);
  bar.update({10, 0, 0, 0}, t0);
  bar.update({10, 1, 0, 0}, t0 + milliseconds(100));  // within 0.2 s of the last draw
  bar.update({10, 2, 0, 0}, t0 + milliseconds(300));
  bar.finish({10, 10, 0, 0}, t0 + milliseconds(1000));
  ASSERT_EQ(out.size(), 3u);
  for (const auto& s : out) EXPECT_EQ(s.rfind("\r[", 0), 0u) << s;
  EXPECT_NE(out[1].find(" 2/10 files"), std::string::npos);
  EXPECT_EQ(out[2].back(), '\n');
  EXPECT_EQ(std::count(out[2].begin(), out[2].end(), '\n'), 1);
  EXPECT_EQ(std::count(out[0].begin(), out[0].end(), '\n'), 0);

  out.clear();
  Progress none(ProgressMode::kNone, true, sink, 10.0, t0);
  none.update({10, 5, 0, 0}, t0 + milliseconds(60000));
  none.finish({10, 10, 0, 0}, t0 + milliseconds(60000));
  EXPECT_TRUE(out.empty());
}

// After a graceful stop the files that never started are neither done nor failed: the line,
// the bar and the closing line count them apart (they used to count as done).
TEST(Progress, StoppedRunCountsDoneFailedAndNotStartedApart) {
  // 54,312 to extract; 1,234 finished (3 failed), a stop dropped 53,000, 78 still running.
  const ProgressCounts stopping{54312, 1234, 3, 53000};
  EXPECT_TRUE(stopping.stopped());
  EXPECT_EQ(stopping.running(), 78u);
  EXPECT_EQ(progress_line(stopping, 3.0),
            "progress: stopping, 1,234/54,312 files (2.3%), 3 failed, 53,000 not started, "
            "78 running, 411.3 files/s");
  EXPECT_EQ(progress_line({54312, 1234, 3, 0}, 3.0),
            "progress: 1,234/54,312 files (2.3%), 3 failed, 411.3 files/s, ETA 2m09s");
  EXPECT_EQ(progress_bar({10, 3, 1, 7}, 1.0, 10),
            "[###.......]  30%  3/10 files  1 failed  3.0 files/s  stopped: 7 not started");
  EXPECT_EQ(progress_final_line({54312, 1312, 3, 53000}, 4.0),
            "progress: stopped, 1,312 of 54,312 files done (3 failed) in 4.0 s (328.0 files/s), "
            "53,000 not started");
  EXPECT_EQ(progress_final_line({100, 100, 2, 0}, 40.0),
            "progress: done, 100 files in 40.0 s (2.5 files/s), 2 failed");

  using Clock = Progress::Clock;
  using std::chrono::milliseconds;
  const Clock::time_point t0{};
  std::vector<std::string> out;
  auto sink = [&out](std::string_view s) { out.emplace_back(s); };
  // A stopped run gets its closing line even when it was too short for a progress line.
  Progress lines_mode(ProgressMode::kLines, false, sink, 10.0, t0);
  lines_mode.update({2000, 40, 0, 0}, t0 + milliseconds(2000));
  EXPECT_TRUE(out.empty());
  lines_mode.finish({2000, 52, 1, 1948}, t0 + milliseconds(2600));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], "progress: stopped, 52 of 2,000 files done (1 failed) in 2.6 s (20.0 files/s), "
                    "1,948 not started\n");
}

TEST(Svg, XmlEscape) {
  EXPECT_EQ(xml_escape("a&b<c>\"'"), "a&amp;b&lt;c&gt;&quot;&apos;");
  EXPECT_EQ(xml_escape("/data/caf\xC3\xA9.root"), "/data/caf\xC3\xA9.root");  // UTF-8 kept
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(xml_escape("x\x01y"), "x" + fffd + "y");      // forbidden in XML 1.0
  EXPECT_EQ(xml_escape("x\xFFy"), "x" + fffd + "y");      // not UTF-8
  EXPECT_EQ(xml_escape("x\xC3"), "x" + fffd);             // truncated sequence
  EXPECT_EQ(xml_escape("\xC0\xAF"), fffd + fffd);         // overlong '/'
  EXPECT_EQ(xml_escape("\xED\xA0\x80"), fffd + fffd + fffd);  // a surrogate
  EXPECT_EQ(xml_escape("\xF0\x9F\x98\x80"), "\xF0\x9F\x98\x80");
}

TEST(Svg, TimelineBarsMatchTheFiles) {
  RunTimings t = small_run();
  t.files.push_back(FileTiming{"/d/no-times.root", FileFormat::kRoot, 0.1, 0, 1, ErrorKind::kNone});
  const std::string svg = render_timeline_svg(small_info(), t);
  EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
  EXPECT_EQ(svg.find("<script"), std::string::npos);
  EXPECT_EQ(count(svg, "<rect class=\"bar\""), 3u);
  EXPECT_EQ(count(svg, "<rect class=\"bar failed\""), 1u);
  EXPECT_EQ(count(svg, "class=\"fail-mark\""), 1u);
  for (int r = 0; r < 3; ++r) EXPECT_NE(svg.find("id=\"rank-" + std::to_string(r) + "\""), std::string::npos);
  EXPECT_NE(svg.find("/d/c&amp;&lt;x&gt;.h5"), std::string::npos);
  EXPECT_EQ(svg.find("c&<x>"), std::string::npos);
  EXPECT_EQ(svg.find("no-times"), std::string::npos);  // no start/end: not placed

  // x is proportional to the start, width to the duration: one scale for every bar.
  std::regex bar("<rect class=\"bar[^\"]*\" x=\"([0-9.]+)\" y=\"[0-9.]+\" width=\"([0-9.]+)\"");
  std::vector<std::pair<double, double>> xw;
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), bar); it != std::sregex_iterator(); ++it)
    xw.emplace_back(std::stod((*it)[1]), std::stod((*it)[2]));
  ASSERT_EQ(xw.size(), 4u);
  // Order of the bars: rank 0 by start (a, b, c), then rank 2 (d).
  const double starts[] = {0.0, 1.0, 3.0, 0.5};
  const double durations[] = {1.0, 2.0, 3.0, 4.0};
  const double x0 = xw[0].first;
  const double scale = xw[0].second / durations[0];
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_NEAR(xw[i].first, x0 + starts[i] * scale, 0.01) << i;
    EXPECT_NEAR(xw[i].second, durations[i] * scale, 0.01) << i;
  }
  // The last file ends at the right edge of the plot: 6 s over 1200 - 80 - 30 px.
  EXPECT_NEAR(scale, (1200.0 - 80.0 - 30.0) / 6.0, 1e-3);
}

TEST(Svg, TimelineAxisStartsNearTheFirstFile) {
  RunTimings t;
  t.ranks.assign(1, PhaseTimes{});
  t.files = {file("/a", FileFormat::kRoot, 0, 10.0, 11.0), file("/b", FileFormat::kRoot, 0, 11.0, 12.0)};
  const std::string svg = render_timeline_svg(RunInfo{}, t);
  std::regex bar("<rect class=\"bar\" x=\"([0-9.]+)\" y=\"[0-9.]+\" width=\"([0-9.]+)\"");
  std::vector<std::pair<double, double>> xw;
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), bar); it != std::sregex_iterator(); ++it)
    xw.emplace_back(std::stod((*it)[1]), std::stod((*it)[2]));
  ASSERT_EQ(xw.size(), 2u);
  EXPECT_NEAR(xw[0].first, 80.0, 0.01);                  // the axis begins at 10 s
  EXPECT_NEAR(xw[1].first + xw[1].second, 1170.0, 0.01);  // and ends at 12 s
  EXPECT_NEAR(xw[0].second, xw[1].second, 0.01);
  EXPECT_NE(svg.find(">10</text>"), std::string::npos);
  EXPECT_NE(svg.find(">12</text>"), std::string::npos);
  EXPECT_EQ(svg.find(">0</text>"), std::string::npos);
}

TEST(Svg, HistogramCountsEveryFile) {
  RunTimings t;
  // 1 ms .. 10 s, log-spaced, three formats.
  for (int i = 0; i < 300; ++i) {
    const double s = std::pow(10.0, -3.0 + 4.0 * i / 300.0);
    t.files.push_back(file("/h/" + std::to_string(i), i % 3 == 0 ? FileFormat::kHdf5 : FileFormat::kRoot,
                           0, 0.0, s));
  }
  t.files.push_back(file("/h/zero", FileFormat::kUnknown, 0, 0.0, 0.0));  // shown at 1 µs
  const std::string svg = render_histogram_svg(RunInfo{}, t);
  std::regex hbar("<rect class=\"hbar\"[^>]*><title>([0-9]+) ([a-z0-9]+) files in");
  std::int64_t total = 0;
  std::map<std::string, std::int64_t> per_format;
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), hbar); it != std::sregex_iterator(); ++it) {
    total += std::stoll((*it)[1]);
    per_format[(*it)[2]] += std::stoll((*it)[1]);
  }
  EXPECT_EQ(total, 301);
  EXPECT_EQ(per_format["hdf5"], 100);
  EXPECT_EQ(per_format["root"], 200);
  EXPECT_EQ(per_format["unknown"], 1);
  // Decade ticks from 1 µs to 10 s.
  EXPECT_NE(svg.find(">1 \xC2\xB5s</text>"), std::string::npos);
  EXPECT_NE(svg.find(">10 s</text>"), std::string::npos);
  EXPECT_NE(svg.find(">1 ms</text>"), std::string::npos);

  // Whole-number count ticks only.
  RunTimings few;
  few.files = {file("/x", FileFormat::kRoot, 0, 0.0, 0.001)};
  const std::string one = render_histogram_svg(RunInfo{}, few);
  EXPECT_EQ(one.find(">0.5</text>"), std::string::npos);
  EXPECT_NE(one.find(">1</text>"), std::string::npos);

  const std::string empty = render_histogram_svg(RunInfo{}, RunTimings{});
  EXPECT_NE(empty.find("no files extracted"), std::string::npos);
  EXPECT_EQ(count(empty, "class=\"hbar\""), 0u);
}

}  // namespace
}  // namespace mpiprep::report
