#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>

#include "mpiprep/comm/communicator.hpp"

namespace mpiprep::comm {
namespace {

Bytes str_bytes(const std::string& s) {
  Bytes b(s.size());
  std::memcpy(b.data(), s.data(), s.size());
  return b;
}
std::string bytes_str(const Bytes& b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

TEST(SerialCommunicator, CollectivesAreIdentity) {
  SerialCommunicator c;
  Bytes b = str_bytes("hello");
  c.bcast(b, 0);
  EXPECT_EQ(bytes_str(b), "hello");
  auto all = c.gather(b, 0);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(bytes_str(all[0]), "hello");
  EXPECT_EQ(c.allreduce_max(3.5), 3.5);
  EXPECT_EQ(c.allreduce_sum(std::int64_t{7}), 7);
}

TEST(SerialCommunicator, SendToSelfThenReceive) {
  SerialCommunicator c;
  c.send(0, 5, str_bytes("x"));
  EXPECT_FALSE(c.try_recv(kAnySource, 6).has_value());
  auto m = c.try_recv(kAnySource, 5);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(bytes_str(m->data), "x");
}

class ThreadComm : public ::testing::TestWithParam<int> {};

TEST_P(ThreadComm, GatherBcastAllreduce) {
  const int n = GetParam();
  std::atomic<int> checked{0};
  run_in_threads(n, [&](Communicator& c) {
    auto all = c.gather(str_bytes("r" + std::to_string(c.rank())), 0);
    if (c.rank() == 0) {
      ASSERT_EQ(static_cast<int>(all.size()), n);
      for (int r = 0; r < n; ++r) EXPECT_EQ(bytes_str(all[static_cast<std::size_t>(r)]), "r" + std::to_string(r));
    } else {
      EXPECT_TRUE(all.empty());
    }
    Bytes b = c.rank() == 0 ? str_bytes("root says") : Bytes{};
    c.bcast(b, 0);
    EXPECT_EQ(bytes_str(b), "root says");
    EXPECT_EQ(c.allreduce_max(static_cast<double>(c.rank())), n - 1);
    EXPECT_EQ(c.allreduce_min(static_cast<double>(c.rank())), 0.0);
    EXPECT_EQ(c.allreduce_sum(std::int64_t{1}), n);
    c.barrier();
    checked.fetch_add(1);
  });
  EXPECT_EQ(checked.load(), n);
}

TEST_P(ThreadComm, PointToPointMatchesSourceAndTag) {
  const int n = GetParam();
  run_in_threads(n, [&](Communicator& c) {
    if (c.rank() != 0) {
      c.send(0, 1, str_bytes("a" + std::to_string(c.rank())));
      c.send(0, 2, str_bytes("b" + std::to_string(c.rank())));
    } else {
      // Receive the tag-2 messages first although tag 1 was sent first.
      for (int i = 1; i < n; ++i) {
        auto m = c.recv(kAnySource, 2);
        EXPECT_EQ(bytes_str(m.data), "b" + std::to_string(m.source));
      }
      for (int i = 1; i < n; ++i) {
        auto m = c.recv(i, 1);
        EXPECT_EQ(bytes_str(m.data), "a" + std::to_string(i));
      }
    }
  });
}

TEST(ThreadCommAbort, ExceptionOnOneRankReleasesTheOthers) {
  EXPECT_THROW(run_in_threads(3,
                              [](Communicator& c) {
                                if (c.rank() == 2) throw std::runtime_error("boom");
                                (void)c.recv(kAnySource, 99);  // would block forever
                              }),
               std::runtime_error);
}

INSTANTIATE_TEST_SUITE_P(Ranks, ThreadComm, ::testing::Values(1, 2, 4));

}  // namespace
}  // namespace mpiprep::comm
