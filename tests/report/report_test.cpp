#include <gtest/gtest.h>

#include <sstream>
#include <thread>

#include "mpiprep/report/report.hpp"
#include "report/text_lines.hpp"

namespace mpiprep::report {
namespace {

using namespace std::chrono_literals;

using testing::fields;
using testing::find_line;
using testing::lines;

PhaseTimes phases(std::initializer_list<std::pair<Phase, double>> values) {
  PhaseTimes p{};
  for (auto [phase, s] : values) p[static_cast<std::size_t>(phase)] = PhaseTime{s, 1};
  return p;
}

TEST(ScopedTimer, RecordsSteadyClockTimeOnce) {
  Recorder rec;
  {
    auto t = rec.time(Phase::kSurvey);
    std::this_thread::sleep_for(20ms);
  }
  auto moved_from = rec.time(Phase::kExtract);
  ScopedTimer moved(std::move(moved_from));
  std::this_thread::sleep_for(10ms);
  double s = moved.stop();
  EXPECT_GE(s, 0.010);
  EXPECT_EQ(moved.stop(), 0.0);  // second stop records nothing
  rec.add(Phase::kExtract, 1.5);

  auto p = rec.phases();
  EXPECT_GE(p[0].seconds, 0.020);
  EXPECT_LT(p[0].seconds, 5.0);
  EXPECT_EQ(p[0].entries, 1u);
  EXPECT_EQ(p[static_cast<std::size_t>(Phase::kExtract)].entries, 2u);
  EXPECT_NEAR(p[static_cast<std::size_t>(Phase::kExtract)].seconds, 1.5 + s, 1e-12);
  EXPECT_EQ(p[static_cast<std::size_t>(Phase::kCommit)].entries, 0u);
}

TEST(Recorder, RecordsFromManyThreads) {
  Recorder rec;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&rec, t] {
      for (int i = 0; i < 250; ++i) {
        rec.record_file(FileTiming{"/f" + std::to_string(t * 1000 + i), FileFormat::kRoot, 0.001,
                                   10, 0, ErrorKind::kNone});
        rec.add(Phase::kIdle, 0.5);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(rec.files().size(), 1000u);
  EXPECT_EQ(rec.phases()[static_cast<std::size_t>(Phase::kIdle)].entries, 1000u);
  EXPECT_DOUBLE_EQ(rec.phases()[static_cast<std::size_t>(Phase::kIdle)].seconds, 500.0);

  FileMeta meta;
  meta.path = "/x.h5";
  meta.format = FileFormat::kHdf5;
  meta.extract_seconds = 0.25;
  meta.bytes_read = 4096;
  meta.rank = 3;
  meta.error_kind = ErrorKind::kTruncated;
  Recorder one;
  one.record_file(meta);
  EXPECT_EQ(one.files().at(0),
            (FileTiming{"/x.h5", FileFormat::kHdf5, 0.25, 4096, 3, ErrorKind::kTruncated}));
}

TEST(WireFormat, RoundTripAndRejectsDamage) {
  PhaseTimes p = phases({{Phase::kSurvey, 1.25}, {Phase::kCommit, 3.5}});
  std::vector<FileTiming> files = {
      {"/a.root", FileFormat::kRoot, 0.5, 123456789012ull, 2, ErrorKind::kNone, 1.25, 1.75},
      {"", FileFormat::kUnknown, 0.0, 0, -1, ErrorKind::kMissing},
      {std::string(3000, 'p'), FileFormat::kHdf5, 1e-6, 1, 0, ErrorKind::kCorrupt}};
  auto bytes = encode(p, files);
  auto back = decode(bytes);
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(back->first, p);
  EXPECT_EQ(back->second, files);

  // Every truncation is detected, never read past the end.
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    auto cut = decode(std::span<const std::byte>(bytes.data(), n));
    ASSERT_FALSE(cut.ok()) << n;
    EXPECT_EQ(cut.error().kind, ErrorKind::kCorrupt);
  }
  // A file count far beyond the payload is refused before allocating.
  auto huge = encode(p, {});
  std::uint64_t count = ~std::uint64_t{0} / 2;
  std::memcpy(huge.data() + huge.size() - sizeof count, &count, sizeof count);
  EXPECT_FALSE(decode(huge).ok());
  auto extra = bytes;
  extra.push_back(std::byte{0});
  EXPECT_FALSE(decode(extra).ok());
}

TEST(Gather, FourThreadRanks) {
  constexpr int kRanks = 4;
  RunTimings on_root;
  std::vector<std::size_t> sizes_elsewhere(kRanks, 99);
  comm::run_in_threads(kRanks, [&](comm::Communicator& comm) {
    const int r = comm.rank();
    Recorder rec;
    rec.add(Phase::kSurvey, 1.0 + r);
    rec.add(Phase::kExtract, 10.0 * (r + 1));
    if (r == 0) rec.add(Phase::kCommit, 4.0);
    for (int i = 0; i <= r; ++i) {
      rec.record_file(FileTiming{"/r" + std::to_string(r) + "/f" + std::to_string(i),
                                 i % 2 == 0 ? FileFormat::kRoot : FileFormat::kHdf5,
                                 0.001 * (r + 1), static_cast<std::uint64_t>(100 * r + i),
                                 i == 0 ? -1 : r, ErrorKind::kNone});
    }
    RunTimings t = gather(comm, rec, 0);
    if (r == 0) {
      on_root = std::move(t);
    } else {
      sizes_elsewhere[static_cast<std::size_t>(r)] = t.ranks.size() + t.files.size();
    }
  });
  for (int r = 1; r < kRanks; ++r) EXPECT_EQ(sizes_elsewhere[static_cast<std::size_t>(r)], 0u);
  ASSERT_EQ(on_root.ranks.size(), 4u);
  for (std::size_t r = 0; r < 4; ++r) {
    const double rd = static_cast<double>(r);
    EXPECT_DOUBLE_EQ(on_root.ranks[r][static_cast<std::size_t>(Phase::kSurvey)].seconds, 1.0 + rd);
    EXPECT_DOUBLE_EQ(on_root.ranks[r][static_cast<std::size_t>(Phase::kExtract)].seconds,
                     10.0 * (rd + 1));
    EXPECT_EQ(on_root.ranks[r][static_cast<std::size_t>(Phase::kCommit)].entries, r == 0 ? 1u : 0u);
  }
  ASSERT_EQ(on_root.files.size(), 1u + 2u + 3u + 4u);
  EXPECT_EQ(on_root.files[0].path, "/r0/f0");
  EXPECT_EQ(on_root.files[3].path, "/r2/f0");
  EXPECT_EQ(on_root.files[3].rank, 2);  // recorded as -1, attributed to the sender
  EXPECT_EQ(on_root.files[9].path, "/r3/f3");
  EXPECT_EQ(on_root.files[9].bytes, 303u);

  // Aggregation over the gathered data: survey 1,2,3,4 -> avg 2.5, imbalance 100*(4-2.5)/4.
  auto stats = phase_stats(on_root, 50.0);
  ASSERT_EQ(stats.size(), 3u);  // survey, extract, commit
  EXPECT_EQ(stats[0].phase, Phase::kSurvey);
  EXPECT_DOUBLE_EQ(*stats[0].min, 1.0);
  EXPECT_DOUBLE_EQ(*stats[0].avg, 2.5);
  EXPECT_DOUBLE_EQ(stats[0].max, 4.0);
  EXPECT_DOUBLE_EQ(*stats[0].imbalance_pct, 37.5);
  EXPECT_DOUBLE_EQ(stats[0].time_pct, 5.0);
  EXPECT_EQ(stats[2].phase, Phase::kCommit);
  EXPECT_EQ(stats[2].ranks_entered, 1);
  EXPECT_FALSE(stats[2].avg.has_value());
  EXPECT_DOUBLE_EQ(stats[2].time_pct, 8.0);  // max / wall for a one-rank phase
}

// A fixed run: 4 ranks, 2,000 ROOT files taking 1..2000 ms, 1,200 HDF5 files of 0.5 ms, a few
// failures; every expected figure below is derived by hand from these inputs.
RunTimings fixed_run() {
  RunTimings t;
  t.ranks = {
      phases({{Phase::kSurvey, 10.0}, {Phase::kLoadCache, 0.5}, {Phase::kExtract, 100.0},
              {Phase::kIdle, 2.0}, {Phase::kCommit, 4.125}, {Phase::kOutput, 0.25}}),
      phases({{Phase::kSurvey, 12.0}, {Phase::kExtract, 110.0}, {Phase::kIdle, 4.0}}),
      phases({{Phase::kSurvey, 14.0}, {Phase::kExtract, 120.0}, {Phase::kIdle, 6.0}}),
      phases({{Phase::kSurvey, 16.0}, {Phase::kExtract, 125.0}, {Phase::kIdle, 8.0}}),
  };
  for (int i = 1; i <= 2000; ++i) {
    t.files.push_back(FileTiming{"/d/" + std::to_string(i) + ".root", FileFormat::kRoot,
                                 i / 1000.0, 1 << 20, i % 4,
                                 i <= 3 ? ErrorKind::kTruncated : ErrorKind::kNone});
  }
  for (int i = 0; i < 1200; ++i) {
    t.files.push_back(FileTiming{"/d/" + std::to_string(i) + ".h5", FileFormat::kHdf5, 0.0005,
                                 512 * 1024, i % 4, ErrorKind::kNone});
  }
  t.files.push_back(FileTiming{"/d/gone", FileFormat::kUnknown, 0.0001, 0, 1, ErrorKind::kMissing});
  return t;
}

RunInfo fixed_info() {
  RunInfo info;
  info.command = "mpiprep scan --cache /lus/proj/.mpiprep-cache.h5 fileset.json";
  // 2026-03-04T10:12:03Z plus 158.2 s.
  info.start = std::chrono::system_clock::time_point(std::chrono::seconds(1772619123));
  info.stop = info.start + std::chrono::milliseconds(158200);
  info.ranks = 4;
  info.nodes = 1;
  info.threads_per_rank = 2;
  info.binding = "core";
  info.utc = true;
  return info;
}

Counts fixed_counts() {
  Counts c;
  c.files = 1204332;
  c.hits = 1201131;
  c.misses = 3201;
  c.failed_by_kind = {{"truncated", 3}, {"missing", 1}};
  return c;
}

TEST(Stats, ExtractionTableFigures) {
  auto rows = extraction_stats(fixed_run());
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0].format, "root");
  EXPECT_EQ(rows[1].format, "hdf5");
  EXPECT_EQ(rows[2].format, "unknown");
  EXPECT_EQ(rows[3].format, "*");
  EXPECT_EQ(rows[0].files, 2000);
  EXPECT_NEAR(rows[0].mean_ms, 1000.5, 1e-9);  // mean of 1..2000 ms
  EXPECT_NEAR(rows[0].p99_ms, 1980.0, 1e-9);   // nearest rank: ceil(0.99 * 2000) = 1980th
  EXPECT_NEAR(*rows[0].files_per_sec, 2000.0 / 125.0, 1e-9);  // slowest rank's extract time
  EXPECT_NEAR(rows[0].mib_read, 2000.0, 1e-9);
  EXPECT_EQ(rows[0].failed, 3);
  EXPECT_NEAR(rows[1].mean_ms, 0.5, 1e-9);
  EXPECT_NEAR(rows[1].mib_read, 600.0, 1e-9);
  EXPECT_EQ(rows[3].files, 3201);
  EXPECT_EQ(rows[3].failed, 4);
  EXPECT_NEAR(rows[3].mib_read, 2600.0, 1e-9);
  EXPECT_NEAR(rows[3].mean_ms, (2001000.0 + 600.0 + 0.1) / 3201.0, 1e-9);
  // 3201 * 0.99 = 3168.99 -> 3169th smallest: the 1200 HDF5 + 1 unknown are smaller, so the
  // 1968th ROOT file, 1968 ms.
  EXPECT_NEAR(rows[3].p99_ms, 1968.0, 1e-9);
  EXPECT_EQ(failures_by_kind(fixed_run()),
            (std::map<std::string, std::int64_t>{{"missing", 1}, {"truncated", 3}}));
}

TEST(Render, TextShape) {
  const std::string text = render_text(fixed_info(), fixed_counts(), fixed_run());
  auto ls = lines(text);
  ASSERT_GE(ls.size(), 20u) << text;
  EXPECT_EQ(ls[0], "@ mpiprep timing report");
  EXPECT_EQ(ls[1], "@ Command      : mpiprep scan --cache /lus/proj/.mpiprep-cache.h5 fileset.json");
  EXPECT_EQ(ls[2], "@ Start / Stop : 2026-03-04T10:12:03 / 10:14:41  (158.2 s)");
  EXPECT_EQ(ls[3], "@ Ranks        : 4 on 1 node, 2 threads/rank, bind=core");
  EXPECT_EQ(ls[4], "@ Files        : 1,204,332   hits 1,201,131   misses 3,201 (0.3%)   failed 4");
  EXPECT_EQ(ls[5], "");
  EXPECT_EQ(ls[6].rfind("@--- Phases (s) ---", 0), 0u);
  EXPECT_EQ(ls[6].size(), 72u);

  // Phases: header then one row per phase, numbers right-aligned under their headers.
  const std::size_t h = find_line(ls, "Phase ");
  EXPECT_EQ(h, 7u);
  EXPECT_EQ(fields(ls[h]),
            (std::vector<std::string>{"Phase", "Min/rank", "Avg/rank", "Max/rank", "Imbal%", "Time%"}));
  auto right_edges = [](const std::string& line) {
    std::vector<std::size_t> edges;
    for (std::size_t i = 0; i < line.size(); ++i)
      if (line[i] != ' ' && (i + 1 == line.size() || line[i + 1] == ' ')) edges.push_back(i);
    return edges;
  };
  const auto header_edges = right_edges(ls[h]);
  const std::size_t survey = find_line(ls, "survey (stat)");
  // survey: 10,12,14,16 -> avg 13, imbalance 100*(16-13)/16 = 18.75, Time% 13/158.2.
  auto sf = fields(ls[survey]);
  ASSERT_EQ(sf.size(), 7u);  // the label is two words
  EXPECT_EQ(sf[2], "10.00");
  EXPECT_EQ(sf[3], "13.00");
  EXPECT_EQ(sf[4], "16.00");
  EXPECT_EQ(sf[5], "18.8");
  EXPECT_EQ(sf[6], "8.2");
  auto se = right_edges(ls[survey]);
  EXPECT_EQ(std::vector<std::size_t>(se.end() - 5, se.end()),
            std::vector<std::size_t>(header_edges.end() - 5, header_edges.end()));

  // extract: 100,110,120,125 -> avg 113.75, imbalance 100*(125-113.75)/125 = 9.0, 71.9%.
  EXPECT_EQ(fields(ls[find_line(ls, "extract ")]),
            (std::vector<std::string>{"extract", "100.00", "113.75", "125.00", "9.0", "71.9"}));
  // idle: imbalance not shown; 5/158.2 = 3.2%.
  EXPECT_EQ(fields(ls[find_line(ls, "idle ")]),
            (std::vector<std::string>{"idle", "2.00", "5.00", "8.00", "-", "3.2"}));
  // commit on rank 0 only: dashes, Time% from the max, 4.125/158.2 = 2.6%.
  const std::size_t commit = find_line(ls, "commit ");
  EXPECT_EQ(fields(ls[commit]), (std::vector<std::string>{"commit", "-", "-", "4.12", "-", "2.6"}));
  EXPECT_EQ(right_edges(ls[commit]).back(), header_edges.back());
  EXPECT_EQ(fields(ls[find_line(ls, "load-cache ")])[3], "0.50");
  EXPECT_EQ(fields(ls[find_line(ls, "output ")])[3], "0.25");
  // Phase order: survey, load-cache, extract, idle, commit, output.
  EXPECT_LT(survey, find_line(ls, "load-cache "));
  EXPECT_LT(find_line(ls, "load-cache "), find_line(ls, "extract "));
  EXPECT_LT(find_line(ls, "idle "), commit);
  EXPECT_LT(commit, find_line(ls, "output "));

  // Extraction table.
  const std::size_t rule2 = find_line(ls, "@--- Extraction ");
  EXPECT_EQ(ls[rule2 - 1], "");
  EXPECT_EQ(ls[rule2].size(), 72u);
  const std::size_t eh = rule2 + 1;
  EXPECT_EQ(fields(ls[eh]), (std::vector<std::string>{"Format", "Files", "mean(ms)", "p99(ms)",
                                                      "Files/s", "MiB", "read", "Failed"}));
  auto eh_edges = right_edges(ls[eh]);
  // "MiB read" is one column: drop the edge after "MiB".
  std::erase(eh_edges, ls[eh].find("MiB read") + 2);
  // root: 2000 files, mean 1,000.5 -> "1,000" (no decimals from 1,000 ms), p99 1,980,
  // 2000/125 = 16.0 files/s, 2,000.0 MiB, 3 failed.
  EXPECT_EQ(fields(ls[eh + 1]),
            (std::vector<std::string>{"root", "2,000", "1,000", "1,980", "16.0", "2,000.0", "3"}));
  EXPECT_EQ(fields(ls[eh + 2]),
            (std::vector<std::string>{"hdf5", "1,200", "0.5", "0.5", "9.6", "600.0", "0"}));
  EXPECT_EQ(fields(ls[eh + 3]),
            (std::vector<std::string>{"unknown", "1", "0.1", "0.1", "0.0", "0.0", "1"}));
  // The aggregate row: 3,201 files, mean 2001600.1/3201 = 625.3 ms, p99 1,968, 25.6 files/s.
  EXPECT_EQ(fields(ls[eh + 4]),
            (std::vector<std::string>{"*", "3,201", "625.3", "1,968", "25.6", "2,600.0", "4"}));
  for (std::size_t r = eh + 1; r <= eh + 4; ++r) {
    auto edges = right_edges(ls[r]);
    EXPECT_EQ(std::vector<std::size_t>(edges.end() - 6, edges.end()),
              std::vector<std::size_t>(eh_edges.end() - 6, eh_edges.end()))
        << ls[r];
  }
  EXPECT_EQ(ls[eh + 5], "");
  for (const auto& l : ls) EXPECT_TRUE(l.empty() || l.back() != ' ') << "trailing space: " << l;
}

TEST(Render, StopOnAnotherDayAndSingleRank) {
  RunInfo info = fixed_info();
  info.stop = info.start + std::chrono::hours(20);
  info.ranks = 1;
  info.nodes = 1;
  info.threads_per_rank = 1;
  RunTimings t;
  t.ranks = {phases({{Phase::kCommit, 2.0}, {Phase::kExtract, 0.0}})};
  Counts c;
  auto ls = lines(render_text(info, c, t));
  EXPECT_EQ(ls[2], "@ Start / Stop : 2026-03-04T10:12:03 / 2026-03-05T06:12:03  (72,000.0 s)");
  EXPECT_EQ(ls[3], "@ Ranks        : 1 on 1 node, 1 thread/rank, bind=core");
  EXPECT_EQ(ls[4], "@ Files        : 0   hits 0   misses 0 (0.0%)   failed 0");
  // With one rank, commit has real min/avg/imbalance.
  EXPECT_EQ(fields(ls[find_line(ls, "commit ")]),
            (std::vector<std::string>{"commit", "2.00", "2.00", "2.00", "0.0", "0.0"}));
  // No files: only the aggregate row, no rate (the extract phase took no time).
  const std::size_t eh = find_line(ls, "Format ");
  EXPECT_EQ(fields(ls[eh + 1]), (std::vector<std::string>{"*", "0", "0.0", "0.0", "-", "0.0", "0"}));
}

TEST(Render, JsonCarriesEverything) {
  auto run = fixed_run();
  auto j = nlohmann::json::parse(render_json(fixed_info(), fixed_counts(), run).dump());
  EXPECT_EQ(j["command"], fixed_info().command);
  EXPECT_EQ(j["start"], "2026-03-04T10:12:03Z");
  EXPECT_NEAR(j["wall_seconds"].get<double>(), 158.2, 1e-9);
  EXPECT_EQ(j["ranks"], 4);
  EXPECT_EQ(j["binding"], "core");
  EXPECT_EQ(j["counts"]["failed"], 4);
  EXPECT_EQ(j["counts"]["failed_by_kind"]["truncated"], 3);
  EXPECT_EQ(j["phases"]["extract"]["per_rank"], nlohmann::json::parse("[100.0,110.0,120.0,125.0]"));
  EXPECT_DOUBLE_EQ(j["phases"]["extract"]["imbalance_pct"].get<double>(), 9.0);
  EXPECT_TRUE(j["phases"]["commit"]["avg"].is_null());
  EXPECT_EQ(j["phases"]["commit"]["entries_per_rank"], nlohmann::json::parse("[1,0,0,0]"));
  EXPECT_TRUE(j["phases"]["idle"]["imbalance_pct"].is_null());
  ASSERT_EQ(j["extraction"].size(), 4u);
  EXPECT_EQ(j["extraction"][3]["format"], "*");
  EXPECT_EQ(j["extraction"][3]["files"], 3201);
  ASSERT_EQ(j["files"].size(), run.files.size());
  EXPECT_EQ(j["files"][0]["path"], "/d/1.root");
  EXPECT_EQ(j["files"][0]["error"], "truncated");
  EXPECT_TRUE(j["files"][5]["error"].is_null());
  EXPECT_EQ(j["files"][5]["rank"], 2);
  EXPECT_EQ(j["files"][5]["bytes_read"], 1 << 20);
  EXPECT_EQ(j["files"][5]["status"], "ok");
  EXPECT_TRUE(j["files"][5]["start"].is_null());  // recorded without times
  EXPECT_EQ(j["totals"]["bytes_read"], 2000ull * (1 << 20) + 1200ull * 512 * 1024);
  EXPECT_EQ(j["totals"]["files_extracted"], 3201);
}

}  // namespace
}  // namespace mpiprep::report
