// run_schedule over the real MPI communicator (mpiexec -n 1, 2, 4): every item extracted
// exactly once, all results on rank 0 in input order.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <thread>

#include "mpiprep/comm/mpi_communicator.hpp"
#include "mpiprep/schedule/schedule.hpp"

namespace mpiprep::schedule {
namespace {

std::vector<WorkItem> make_items(std::size_t n) {
  std::vector<WorkItem> items;
  for (std::size_t i = 0; i < n; ++i) {
    WorkItem w;
    w.path = "/mpi/" + std::to_string(i);
    w.size = static_cast<std::int64_t>((i * 7919) % 100000) * 1024;
    w.hint = i % 3 == 0 ? FileFormat::kHdf5 : FileFormat::kRoot;
    items.push_back(w);
  }
  return items;
}

void exactly_once(int threads) {
  auto comm = comm::make_mpi_world_communicator();
  constexpr std::size_t kItems = 600;
  const auto all_items = make_items(kItems);
  // Counts live in a shared_ptr captured by value: the ExtractFn owns what it touches.
  auto counts = std::make_shared<std::vector<std::atomic<int>>>(kItems);
  ExtractFn fn = [counts](const WorkItem& w) {
    const std::size_t i = std::stoul(w.path.substr(5));
    (*counts)[i].fetch_add(1);
    if (i % 50 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    FileMeta m;
    m.path = w.path;
    m.size = w.size;
    m.uuid = "u" + std::to_string(i);
    return m;
  };
  ScheduleOptions opt;
  opt.threads_per_rank = threads;
  ScheduleStats stats;
  const std::vector<WorkItem> none;
  auto results = run_schedule(*comm, comm->rank() == 0 ? all_items : none, fn, opt, &stats);

  // Sum the per-process counts on rank 0.
  comm::Bytes mine(kItems * sizeof(int));
  for (std::size_t i = 0; i < kItems; ++i) {
    const int c = (*counts)[i].load();
    std::memcpy(mine.data() + i * sizeof(int), &c, sizeof(int));
  }
  auto parts = comm->gather(mine, 0);
  if (comm->rank() != 0) {
    EXPECT_TRUE(results.empty());
    return;
  }
  std::vector<int> total(kItems, 0);
  for (const auto& p : parts) {
    ASSERT_EQ(p.size(), kItems * sizeof(int));
    for (std::size_t i = 0; i < kItems; ++i) {
      int c = 0;
      std::memcpy(&c, p.data() + i * sizeof(int), sizeof(int));
      total[i] += c;
    }
  }
  for (std::size_t i = 0; i < kItems; ++i) EXPECT_EQ(total[i], 1) << "item " << i;
  ASSERT_EQ(results.size(), kItems);
  std::int64_t files = 0;
  for (std::size_t i = 0; i < kItems; ++i) {
    EXPECT_EQ(results[i].path, all_items[i].path);
    EXPECT_EQ(results[i].uuid, "u" + std::to_string(i));
    EXPECT_GE(results[i].rank, 0);
    EXPECT_LT(results[i].rank, comm->size());
  }
  ASSERT_EQ(stats.ranks.size(), static_cast<std::size_t>(comm->size()));
  for (const auto& r : stats.ranks) files += r.files;
  EXPECT_EQ(files, static_cast<std::int64_t>(kItems));
  EXPECT_EQ(stats.decode_errors, 0);
  EXPECT_GT(stats.ranks[0].files, 0);  // rank 0 extracts too
}

TEST(ScheduleMpi, ExactlyOnceOneThread) { exactly_once(1); }
TEST(ScheduleMpi, ExactlyOnceTwoThreads) { exactly_once(2); }
TEST(ScheduleMpi, ExactlyOnceInline) { exactly_once(0); }

}  // namespace
}  // namespace mpiprep::schedule
