// The scheduling policies of issue 4: cost model refined by history (fit and ordering), the
// static contiguous split (benchmark baseline), the bound on abandoned threads, and rank 0
// answering requests while its own threads extract a slow file.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <memory>
#include <mutex>
#include <thread>

#include "mpiprep/comm/communicator.hpp"
#include "mpiprep/schedule/schedule.hpp"
#include "schedule_test_support.hpp"

namespace mpiprep::schedule {
namespace {

using testing::index_of;
using testing::ok_meta;
using testing::run;

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::vector<WorkItem> make_items(std::size_t n) {
  std::vector<WorkItem> items;
  for (std::size_t i = 0; i < n; ++i)
    items.push_back(WorkItem{"/t/" + std::to_string(i), static_cast<std::int64_t>(1000 + i), 0,
                             FileFormat::kRoot});
  return items;
}

// ---- fit -----------------------------------------------------------------------------------

TEST(FitLinear, RecoversLatencyAndThroughput) {
  // 3 ms + 10 ms per MiB, with +-5% alternating noise, sizes over 3 decades.
  std::vector<HistoryRow> rows;
  for (int i = 0; i < 200; ++i) {
    const std::int64_t size = static_cast<std::int64_t>(1024.0 * std::pow(10.0, 3.0 * i / 199));
    const double t = 3e-3 + 10e-3 * static_cast<double>(size) / 1048576.0;
    rows.push_back({FileFormat::kRoot, size, t * (i % 2 == 0 ? 1.05 : 0.95)});
  }
  const LinearFit f = fit_linear(rows);
  EXPECT_EQ(f.rows, 200u);
  EXPECT_NEAR(f.latency_s, 3e-3, 0.3e-3);
  EXPECT_NEAR(f.per_byte_s * 1048576.0, 10e-3, 1e-3);
  EXPECT_NEAR(f.at(1 << 20), 13e-3, 1e-3);
}

TEST(FitLinear, ConstrainedToNonNegativeCoefficients) {
  // Time falls with size (noise): a flat mean, not a negative slope.
  std::vector<HistoryRow> down = {{FileFormat::kHdf5, 100, 4e-3}, {FileFormat::kHdf5, 200, 3e-3},
                                  {FileFormat::kHdf5, 300, 2e-3}};
  LinearFit f = fit_linear(down);
  EXPECT_EQ(f.per_byte_s, 0.0);
  EXPECT_NEAR(f.latency_s, 3e-3, 1e-12);
  // A line that would cross zero above 0 bytes: through the origin instead.
  std::vector<HistoryRow> steep = {{FileFormat::kRoot, 1000, 1e-3}, {FileFormat::kRoot, 2000, 3e-3},
                                   {FileFormat::kRoot, 3000, 5e-3}};
  f = fit_linear(steep);
  EXPECT_EQ(f.latency_s, 0.0);
  EXPECT_GT(f.per_byte_s, 0.0);
  EXPECT_GT(f.at(1000), 0.0);
  // Unusable rows are ignored; nothing usable gives rows = 0.
  std::vector<HistoryRow> junk = {{FileFormat::kRoot, 10, 0.0},
                                  {FileFormat::kRoot, 10, -1.0},
                                  {FileFormat::kRoot, 10, std::nan("")}};
  EXPECT_EQ(fit_linear(junk).rows, 0u);
}

TEST(HistoryModel, FallsBackPerFormatWhenTooFewRows) {
  std::vector<HistoryRow> rows;
  for (int i = 0; i < 20; ++i)
    rows.push_back({FileFormat::kHdf5, 1000 * (i + 1), 0.5 + 1e-4 * 1000 * (i + 1)});
  for (int i = 0; i < 3; ++i) rows.push_back({FileFormat::kRoot, 1000, 9.0});  // only 3 rows
  CostModel fallback;
  HistoryModel m(fallback, 8);
  m.fit(rows);
  ASSERT_NE(m.fit_for(FileFormat::kHdf5), nullptr);
  EXPECT_EQ(m.fit_for(FileFormat::kRoot), nullptr);
  const WorkItem h5{"/new.h5", 5000, 0, FileFormat::kHdf5};
  const WorkItem root{"/new.root", 5000, 0, FileFormat::kRoot};
  EXPECT_NEAR(m.predict(h5), 0.5 + 0.5, 1e-6);          // learned
  EXPECT_DOUBLE_EQ(m.predict(root), fallback.predict(root));  // static defaults
  EXPECT_NE(m.describe().find("hdf5"), std::string::npos) << m.describe();
  EXPECT_EQ(m.describe().find("root"), std::string::npos) << m.describe();
}

TEST(HistoryModel, ChangedFileUsesItsOwnTimeScaledBySize) {
  std::vector<HistoryRow> rows;
  for (int i = 1; i <= 10; ++i)  // 1 ms + 1 ms per 1000 bytes
    rows.push_back({FileFormat::kRoot, 1000 * i, 1e-3 + 1e-3 * i});
  HistoryModel m;
  m.fit(rows);
  m.add_file("/grown.root", 1000, 0.2);  // this file was slow last time (2 ms by the fit)
  // It grew to 3000 bytes: fit(3000) / fit(1000) = 4 ms / 2 ms = 2, so 0.4 s.
  EXPECT_NEAR(m.predict(WorkItem{"/grown.root", 3000, 0, FileFormat::kRoot}), 0.4, 1e-6);
  EXPECT_EQ(m.files_with_history(), 1u);
  // Without a fit for its format, the last time as is.
  HistoryModel bare;
  bare.add_file("/x.h5", 10, 0.7);
  EXPECT_DOUBLE_EQ(bare.predict(WorkItem{"/x.h5", 1'000'000, 0, FileFormat::kHdf5}), 0.7);
  bare.add_file("/zero.h5", 10, 0.0);  // no time: ignored
  EXPECT_EQ(bare.files_with_history(), 1u);
}

TEST(HistoryModel, DrivesTheDispatchOrder) {
  // New files: the fit says HDF5 is expensive per byte and ROOT is not; a changed file was a
  // straggler last time. Largest predicted first: the straggler, then HDF5 by size, then ROOT.
  std::vector<HistoryRow> rows;
  for (int i = 1; i <= 10; ++i) {
    rows.push_back({FileFormat::kHdf5, 1000 * i, 1e-3 * i});
    rows.push_back({FileFormat::kRoot, 1000 * i, 1e-3});
  }
  auto model = std::make_shared<HistoryModel>();
  model->fit(rows);
  std::vector<WorkItem> items = {
      {"/t/0", 9000, 0, FileFormat::kRoot},   // new ROOT: 1 ms
      {"/t/1", 2000, 0, FileFormat::kHdf5},   // new HDF5: 2 ms
      {"/t/2", 500, 0, FileFormat::kRoot},    // changed, was 5 s: the straggler
      {"/t/3", 8000, 0, FileFormat::kHdf5},   // new HDF5: 8 ms
  };
  model->add_file("/t/2", 500, 5.0);
  ScheduleOptions opt;
  opt.predict = [model](const WorkItem& w) { return model->predict(w); };
  ScheduleStats stats;
  auto results = run(2, items, [](const WorkItem& w) { return ok_meta(w); }, opt, &stats);
  ASSERT_EQ(results.size(), 4u);
  const std::vector<std::size_t> expected = {2, 3, 1, 0};
  EXPECT_EQ(stats.dispatch_order, expected);
}

// ---- static split --------------------------------------------------------------------------

TEST(StaticSplit, EachRankExtractsItsContiguousSlice) {
  for (int ranks : {1, 3, 4}) {
    const auto items = make_items(50);
    auto seen = std::make_shared<std::vector<std::atomic<int>>>(items.size());
    ExtractFn fn = [seen](const WorkItem& w) {
      (*seen)[index_of(w)].fetch_add(1);
      return ok_meta(w);
    };
    ScheduleOptions opt;
    opt.static_split = true;
    opt.threads_per_rank = 2;
    ScheduleStats stats;
    auto results = run(ranks, items, fn, opt, &stats);
    ASSERT_EQ(results.size(), items.size());
    const std::size_t n = items.size(), p = static_cast<std::size_t>(ranks);
    for (std::size_t r = 0; r < p; ++r)
      for (std::size_t i = r * n / p; i < (r + 1) * n / p; ++i) {
        EXPECT_EQ(results[i].rank, static_cast<int>(r)) << "item " << i << " of " << ranks;
        EXPECT_EQ((*seen)[i].load(), 1) << i;
        EXPECT_TRUE(results[i].ok());
      }
  }
}

TEST(StaticSplit, LosesToTheDynamicScheduleOnSkewedWork) {
  // Slice 0 holds all the slow files: static waits for it, dynamic spreads them.
  const auto items = make_items(40);
  ExtractFn fn = [](const WorkItem& w) {
    std::this_thread::sleep_for(index_of(w) < 10 ? 40ms : 1ms);
    return ok_meta(w);
  };
  ScheduleOptions opt;
  opt.threads_per_rank = 1;
  opt.predict = [](const WorkItem& w) { return index_of(w) < 10 ? 0.04 : 0.001; };
  auto timed = [&](bool static_split) {
    opt.static_split = static_split;
    const auto t0 = Clock::now();
    auto r = run(4, items, fn, opt);
    EXPECT_EQ(r.size(), items.size());
    return std::chrono::duration<double>(Clock::now() - t0).count();
  };
  const double t_static = timed(true);
  const double t_dynamic = timed(false);
  EXPECT_GE(t_static, 0.4);  // rank 0 alone sleeps 10 x 40 ms
  EXPECT_LT(t_dynamic, t_static * 0.75) << "static " << t_static << " s, dynamic " << t_dynamic;
}

// ---- bounded abandoned threads -------------------------------------------------------------

TEST(Timeouts, AbandonedThreadsAreBounded) {
  // Every file hangs (a dead filesystem). 2 threads, limit 3: at most 3 + 2 threads are ever
  // abandoned, the remaining files fail fast as timeouts, and the run ends.
  const auto items = make_items(30);
  auto calls = std::make_shared<std::atomic<int>>(0);
  ExtractFn fn = [calls](const WorkItem& w) {
    calls->fetch_add(1);
    std::this_thread::sleep_for(3s);
    return ok_meta(w);
  };
  ScheduleOptions opt;
  opt.threads_per_rank = 2;
  opt.timeout_s = 0.1;
  opt.max_abandoned_threads = 3;
  ScheduleStats stats;
  const auto t0 = Clock::now();
  auto results = run(1, items, fn, opt, &stats);
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  ASSERT_EQ(results.size(), items.size());
  int not_opened = 0;
  for (const auto& m : results) {
    EXPECT_EQ(m.error_kind, ErrorKind::kTimeout) << m.path;
    if (m.error_message.find("not extracted") != std::string::npos) ++not_opened;
  }
  EXPECT_LE(calls->load(), 3 + 2);
  EXPECT_LE(stats.ranks[0].abandoned_threads, 3 + 2);
  EXPECT_GE(stats.ranks[0].abandoned_threads, 3);
  EXPECT_GE(not_opened, 30 - 5);
  EXPECT_LT(wall, 2.5);  // did not wait for any hung read
}

// ---- rank 0 answers while it extracts ------------------------------------------------------

TEST(RankZero, RepliesWhileItsOwnThreadExtractsASlowFile) {
  // Static split on 2 ranks: rank 0's slice starts with a 600 ms file; rank 1 pulls its 60
  // files two at a time (30 round trips). If rank 0's replies waited for its own file, rank 1
  // could not finish before that file does.
  auto items = make_items(120);
  auto end_of = std::make_shared<std::vector<Clock::time_point>>(items.size());
  auto mu = std::make_shared<std::mutex>();
  ExtractFn fn = [end_of, mu](const WorkItem& w) {
    const std::size_t i = index_of(w);
    std::this_thread::sleep_for(i == 0 ? 600ms : 1ms);
    std::lock_guard lock(*mu);
    (*end_of)[i] = Clock::now();
    return ok_meta(w);
  };
  ScheduleOptions opt;
  opt.static_split = true;
  opt.threads_per_rank = 1;
  opt.max_batch_items = 2;
  opt.requeue_after_s = 0;
  auto results = run(2, items, fn, opt);
  ASSERT_EQ(results.size(), items.size());
  ASSERT_EQ(results[0].rank, 0);
  for (std::size_t i = 60; i < 120; ++i) {
    ASSERT_EQ(results[i].rank, 1);
    EXPECT_LT((*end_of)[i], (*end_of)[0]) << "rank 1's file " << i << " waited for rank 0's";
  }
}

}  // namespace
}  // namespace mpiprep::schedule
