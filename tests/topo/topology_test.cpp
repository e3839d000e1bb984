#include <gtest/gtest.h>

#include <sched.h>

#include "mpiprep/topo/topology.hpp"

namespace mpiprep::topo {
namespace {

TEST(Topology, DetectSeesThisMachine) {
  auto t = detect();
  EXPECT_GE(t.cores_on_node, 1);
  EXPECT_GE(t.pus_on_node, t.cores_on_node);
  EXPECT_GE(t.pus_allowed, 1);
  EXPECT_LE(t.pus_allowed, t.pus_on_node);
  // hwloc and the kernel's affinity mask must agree on the PUs this process may run on.
  cpu_set_t mask;
  CPU_ZERO(&mask);
  ASSERT_EQ(sched_getaffinity(0, sizeof(mask), &mask), 0);
  EXPECT_EQ(t.pus_allowed, CPU_COUNT(&mask));
  EXPECT_FALSE(t.hostname.empty());
  EXPECT_FALSE(t.binding.empty());
}

TEST(Topology, ThreadsPerRank) {
  Topology unbound{.cores_on_node = 16, .pus_on_node = 32, .pus_allowed = 32, .binding = "none"};
  EXPECT_EQ(threads_per_rank(unbound, 4, 0), 4);
  EXPECT_EQ(threads_per_rank(unbound, 64, 0), 1);
  EXPECT_EQ(threads_per_rank(unbound, 4, 3), 3);
  Topology bound{.cores_on_node = 16, .pus_on_node = 32, .pus_allowed = 2, .binding = "core"};
  EXPECT_EQ(threads_per_rank(bound, 16, 0), 2);
}

}  // namespace
}  // namespace mpiprep::topo
