#include <gtest/gtest.h>

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
