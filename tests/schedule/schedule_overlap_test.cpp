// Many files in flight: real ROOT extractions (the native reader, through the io layer with
// emulated open latency) run concurrently on a rank's threads, so a latency-bound filesystem
// is waited on in parallel.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>

#include "mpiprep/comm/communicator.hpp"
#include "mpiprep/extract/extractor.hpp"
#include "mpiprep/io/latency.hpp"
#include "mpiprep/schedule/schedule.hpp"

namespace mpiprep::schedule {
namespace {

using Clock = std::chrono::steady_clock;

struct Interval {
  double start, end;
};

TEST(ManyFilesInFlight, RootExtractionsOverlapAcrossThreads) {
  std::vector<WorkItem> items;
  for (const auto& e : std::filesystem::directory_iterator(MPIPREP_TEST_DATA_DIR)) {
    if (e.path().extension() != ".root" || e.path().filename().string().find("HZZ") ==
                                               std::string::npos)
      continue;
    items.push_back(WorkItem{e.path().string(), static_cast<std::int64_t>(e.file_size()), 0,
                             FileFormat::kRoot});
  }
  ASSERT_GE(items.size(), 4u);
  // 8 extractions of the HZZ files, each with an emulated 100 ms open.
  while (items.size() < 8) items.push_back(items[items.size() % 4]);
  items.resize(8);
  static io::PosixFileSystem posix;  // outlives any thread (none is abandoned here)
  static io::LatencyFileSystem fs(posix, *io::parse_latency_spec("open:100ms"));

  const auto t0 = Clock::now();
  auto intervals = std::make_shared<std::vector<Interval>>();
  auto mu = std::make_shared<std::mutex>();
  ExtractFn fn = [intervals, mu, t0](const WorkItem& w) {
    auto since = [t0] { return std::chrono::duration<double>(Clock::now() - t0).count(); };
    const double s = since();
    FileMeta m = extract::extract_file(fs, w.path, extract::ExtractOptions{});
    const double e = since();
    std::lock_guard lock(*mu);
    intervals->push_back({s, e});
    return m;
  };
  ScheduleOptions opt;
  opt.threads_per_rank = 4;
  std::vector<FileMeta> results;
  comm::run_in_threads(1, [&](comm::Communicator& comm) {
    results = run_schedule(comm, items, fn, opt);
  });
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  ASSERT_EQ(results.size(), 8u);
  for (const auto& m : results) {
    EXPECT_TRUE(m.ok()) << m.path << ": " << m.error_message;
    EXPECT_EQ(m.format, FileFormat::kRoot);
    EXPECT_GT(m.objects.size(), 0u) << m.path;
  }
  // Peak concurrency: at some instant, several extractions were running at once.
  ASSERT_EQ(intervals->size(), 8u);
  std::size_t peak = 0;
  for (const auto& a : *intervals) {
    const double t = a.start + 1e-6;
    const auto n = std::count_if(intervals->begin(), intervals->end(),
                                 [t](const Interval& b) { return b.start <= t && t < b.end; });
    peak = std::max(peak, static_cast<std::size_t>(n));
  }
  EXPECT_GE(peak, 3u);
  EXPECT_LT(wall, 8 * 0.100 * 0.6) << "8 opens of 100 ms on 4 threads took " << wall << " s";
}

}  // namespace
}  // namespace mpiprep::schedule
