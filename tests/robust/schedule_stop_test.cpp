// Graceful stop inside the scheduler, through the threads communicator: once the stop flag is
// set nothing more is handed out, queued items come back, running ones finish, and every item
// is either extracted exactly once or listed in not_run; rank 0's progress counts the items a
// stop dropped as not started, apart from the done and the failed ones.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>

#include "mpiprep/comm/communicator.hpp"
#include "mpiprep/schedule/schedule.hpp"

namespace mpiprep::schedule {
namespace {

std::vector<WorkItem> make_items(int n) {
  std::vector<WorkItem> items(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    items[static_cast<std::size_t>(i)].path = "/f" + std::to_string(i);
    items[static_cast<std::size_t>(i)].size = 1000;
  }
  return items;
}

void run_stop_case(int ranks, int threads, bool only_rank0_sees_it) {
  constexpr int kItems = 400;
  const auto items = make_items(kItems);
  std::atomic<bool> flag0{false}, flag_workers{false};
  std::atomic<int> extracted{0};
  std::mutex mu;
  std::multiset<std::string> seen;
  std::vector<FileMeta> results;
  ScheduleStats stats;
  DispatchProgress last;  // rank 0's last progress report
  std::size_t progress_calls = 0;
  comm::run_in_threads(ranks, [&](comm::Communicator& comm) {
    ExtractFn fn = [&](const WorkItem& w) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      {
        std::lock_guard<std::mutex> lk(mu);
        seen.insert(w.path);
      }
      if (++extracted == 60) {  // a signal arrives midway
        flag0 = true;
        if (!only_rank0_sees_it) flag_workers = true;
      }
      FileMeta m;
      m.path = w.path;
      if (w.path.back() == '7') m.error_kind = ErrorKind::kCorrupt;  // every tenth file fails
      return m;
    };
    ScheduleOptions so;
    so.threads_per_rank = threads;
    so.stop = comm.rank() == 0 ? &flag0 : &flag_workers;
    if (comm.rank() == 0) {
      so.on_progress = [&](const DispatchProgress& p) {
        EXPECT_LE(p.done + p.not_started, p.total);
        EXPECT_LE(p.failed, p.done);
        last = p;
        ++progress_calls;
      };
    }
    ScheduleStats st;
    auto r = run_schedule(comm, comm.rank() == 0 ? items : std::vector<WorkItem>{}, fn, so, &st);
    if (comm.rank() == 0) {
      results = std::move(r);
      stats = std::move(st);
    }
  });
  ASSERT_EQ(results.size(), static_cast<std::size_t>(kItems));
  EXPECT_TRUE(stats.stopped);
  std::set<std::size_t> not_run(stats.not_run.begin(), stats.not_run.end());
  EXPECT_EQ(not_run.size(), stats.not_run.size()) << "an item listed twice";
  EXPECT_GT(not_run.size(), 0u);
  EXPECT_LT(not_run.size(), static_cast<std::size_t>(kItems - 60));
  for (std::size_t i = 0; i < results.size(); ++i) {
    const std::size_t times = seen.count(items[i].path);
    if (not_run.count(i)) {
      EXPECT_EQ(times, 0u) << items[i].path << " is not_run but was extracted";
      EXPECT_TRUE(results[i].path.empty());
    } else {
      EXPECT_EQ(times, 1u) << items[i].path;
      EXPECT_EQ(results[i].path, items[i].path);
    }
  }
  EXPECT_EQ(seen.size() + not_run.size(), static_cast<std::size_t>(kItems));

  // The final progress: extracted files are done (the failed ones counted apart), dropped ones
  // are not started, and nothing is left running.
  ASSERT_GT(progress_calls, 0u);
  std::size_t failed = 0;
  for (const auto& path : seen)
    if (path.back() == '7') ++failed;
  EXPECT_EQ(last.total, static_cast<std::size_t>(kItems));
  EXPECT_EQ(last.done, seen.size());
  EXPECT_EQ(last.failed, failed);
  EXPECT_GT(last.failed, 0u);
  EXPECT_EQ(last.not_started, not_run.size());
  EXPECT_EQ(last.done + last.not_started, last.total);
}

TEST(ScheduleStop, EveryRankSeesTheSignal) { run_stop_case(3, 2, false); }
TEST(ScheduleStop, OnlyRankZeroSeesTheSignal) { run_stop_case(3, 2, true); }
TEST(ScheduleStop, MainThreadExtraction) { run_stop_case(2, 0, false); }
TEST(ScheduleStop, SingleRank) { run_stop_case(1, 2, false); }

}  // namespace
}  // namespace mpiprep::schedule
