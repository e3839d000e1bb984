#include <gtest/gtest.h>

#include <time.h>

#include <chrono>
#include <thread>

#include "mpiprep/comm/mpi_communicator.hpp"

namespace mpiprep::comm {
namespace {

TEST(MpiCommunicator, CollectivesAgreeAcrossRanks) {
  auto c = make_mpi_world_communicator();
  const int n = c->size();
  Bytes mine(static_cast<std::size_t>(c->rank() + 1), std::byte{42});
  auto all = c->gather(mine, 0);
  if (c->rank() == 0) {
    ASSERT_EQ(static_cast<int>(all.size()), n);
    for (int r = 0; r < n; ++r) EXPECT_EQ(all[static_cast<std::size_t>(r)].size(), static_cast<std::size_t>(r + 1));
  }
  Bytes b = c->rank() == 0 ? Bytes(1000, std::byte{7}) : Bytes{};
  c->bcast(b, 0);
  ASSERT_EQ(b.size(), 1000u);
  EXPECT_EQ(b[999], std::byte{7});
  EXPECT_EQ(c->allreduce_sum(std::int64_t{2}), 2 * n);
  EXPECT_EQ(c->allreduce_max(static_cast<double>(c->rank())), n - 1);
  EXPECT_NE(c->mpi_comm_handle(), nullptr);
}

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Ranks waiting in a collective for rank 0 (which is busy for 400 ms) sleep instead of
// busy-polling a core: each waiting rank's own CPU time over the wait stays far below it, in
// every collective the scan uses while rank 0 works alone. The results still agree.
TEST(MpiCommunicator, WaitingRanksDoNotBurnACore) {
  auto c = make_mpi_world_communicator();
  if (c->size() < 2) GTEST_SKIP() << "needs a second rank to wait for rank 0";
  constexpr auto kBusy = std::chrono::milliseconds(400);
  auto rank0_works = [&] {
    if (c->rank() == 0) std::this_thread::sleep_for(kBusy);
  };
  c->barrier();
  double waited_cpu = 0;
  auto t0 = std::chrono::steady_clock::now();
  double cpu0 = thread_cpu_seconds();
  rank0_works();
  c->barrier();
  rank0_works();
  Bytes b = c->rank() == 0 ? Bytes(3, std::byte{9}) : Bytes{};
  c->bcast(b, 0);
  rank0_works();
  auto all = c->gather(Bytes(1, std::byte{1}), 0);
  rank0_works();
  const std::int64_t sum = c->allreduce_sum(std::int64_t{1});
  waited_cpu = thread_cpu_seconds() - cpu0;
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[2], std::byte{9});
  EXPECT_EQ(sum, c->size());
  if (c->rank() == 0) {
    EXPECT_EQ(static_cast<int>(all.size()), c->size());
  } else {
    EXPECT_GE(wall, 1.5);  // it did wait for rank 0's four busy periods
    // Busy-polling would use most of the 1.6 s; sleeping waits use a few percent of it.
    EXPECT_LT(waited_cpu, 0.4) << "rank " << c->rank() << " used " << waited_cpu
                               << " s of CPU while waiting " << wall << " s";
  }
}

TEST(MpiCommunicator, PointToPointToRankZero) {
  auto c = make_mpi_world_communicator();
  if (c->rank() != 0) {
    Bytes b(4, static_cast<std::byte>(c->rank()));
    c->send(0, 3, b);
  } else {
    for (int i = 1; i < c->size(); ++i) {
      auto m = c->recv(kAnySource, 3);
      ASSERT_EQ(m.data.size(), 4u);
      EXPECT_EQ(static_cast<int>(m.data[0]), m.source);
    }
    EXPECT_FALSE(c->try_recv(kAnySource, 3).has_value());
  }
  c->barrier();
}

}  // namespace
}  // namespace mpiprep::comm
