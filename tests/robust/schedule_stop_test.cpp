// Graceful stop inside the scheduler, through the threads communicator: once the stop flag is
// set nothing more is handed out, queued items come back, running ones finish, and every item
// is either extracted exactly once or listed in not_run.
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
      return m;
    };
    ScheduleOptions so;
    so.threads_per_rank = threads;
    so.stop = comm.rank() == 0 ? &flag0 : &flag_workers;
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
}

TEST(ScheduleStop, EveryRankSeesTheSignal) { run_stop_case(3, 2, false); }
TEST(ScheduleStop, OnlyRankZeroSeesTheSignal) { run_stop_case(3, 2, true); }
TEST(ScheduleStop, MainThreadExtraction) { run_stop_case(2, 0, false); }
TEST(ScheduleStop, SingleRank) { run_stop_case(1, 2, false); }

}  // namespace
}  // namespace mpiprep::schedule
