#include <gtest/gtest.h>

#include <sched.h>

#include <string>
#include <vector>

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
  // Bound: the cores of the rank's cpuset, not its hardware threads.
  Topology core{.cores_on_node = 16, .pus_on_node = 32, .pus_allowed = 2, .binding = "core",
                .cores_allowed = 1, .cpuset = "0,16"};
  EXPECT_EQ(threads_per_rank(core, 16, 0), 1);
  EXPECT_EQ(threads_reason(core, 16, 0), "auto: 1 core in cpuset 0,16");
  Topology socket{.cores_on_node = 16, .pus_on_node = 32, .pus_allowed = 16,
                  .binding = "package", .cores_allowed = 8, .cpuset = "0-7,16-23"};
  EXPECT_EQ(threads_per_rank(socket, 2, 0), 8);
  EXPECT_EQ(threads_reason(unbound, 4, 0), "auto: unbound, 16 cores / 4 ranks on the node");
  EXPECT_EQ(threads_reason(unbound, 4, 3), "--threads 3");
}

TEST(Topology, DetectRecordsCpusetCoresAndNuma) {
  auto t = detect();
  EXPECT_FALSE(t.cpuset.empty());
  EXPECT_GE(t.cores_allowed, 1);
  EXPECT_LE(t.cores_allowed, t.cores_on_node);
  EXPECT_FALSE(t.numa.empty());  // every Linux machine has NUMA node 0
}

RankPlacement rank(int r, std::string host, std::string cpuset, std::string binding, int cores,
                   int cores_on_node, int threads) {
  return RankPlacement{.rank = r, .host = std::move(host), .cpuset = std::move(cpuset),
                       .binding = std::move(binding), .numa = "0", .cores = cores,
                       .cores_on_node = cores_on_node, .threads = threads};
}

TEST(Placement, WireRoundTripAndValidation) {
  auto p = rank(3, "node-7", "0-3,8", "4 PUs", 4, 16, 4);
  auto back = decode(encode(p));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, p);
  EXPECT_FALSE(decode("1\thost").ok());
  EXPECT_FALSE(decode("x\th\t0\tcore\t0\t1\t2\t1").ok());
}

TEST(Placement, BoundRanksOnTwoHostsGiveNoWarning) {
  std::vector<RankPlacement> rs = {rank(0, "a", "0", "core", 1, 2, 1),
                                   rank(1, "a", "1", "core", 1, 2, 1),
                                   rank(2, "b", "0", "core", 1, 2, 1),
                                   rank(3, "b", "1", "core", 1, 2, 1)};
  auto s = summarize(rs);
  ASSERT_EQ(s.hosts.size(), 2u);
  EXPECT_EQ(s.hosts[0], "a: 2 ranks (0-1), 2 cores, bind=core, cpusets 0|1, NUMA 0");
  EXPECT_EQ(s.hosts[1], "b: 2 ranks (2-3), 2 cores, bind=core, cpusets 0|1, NUMA 0");
  EXPECT_TRUE(s.warnings.empty()) << s.warnings.front();
}

TEST(Placement, WarnsOnUnboundOversubscribedAndSharedCores) {
  auto s = summarize({rank(0, "a", "0-1", "none", 2, 2, 1), rank(1, "a", "0-1", "none", 2, 2, 1),
                      rank(2, "a", "0-1", "none", 2, 2, 1)});
  ASSERT_EQ(s.warnings.size(), 2u);
  EXPECT_EQ(s.warnings[0], "a: 3 ranks on 2 cores: ranks oversubscribe the cores");
  EXPECT_NE(s.warnings[1].find("3 of 3 ranks are not bound to cores (ranks 0-2)"),
            std::string::npos);

  s = summarize({rank(0, "a", "0", "core", 1, 4, 1), rank(1, "a", "0", "core", 1, 4, 1)});
  ASSERT_EQ(s.warnings.size(), 1u);
  EXPECT_EQ(s.warnings[0], "a: bound ranks 0-1 share cores");

  s = summarize({rank(0, "a", "0-3", "package", 4, 4, 4), rank(1, "a", "4-7", "package", 4, 4, 4)});
  ASSERT_EQ(s.warnings.size(), 1u);  // 2 ranks on 4 cores, but 8 threads
  EXPECT_EQ(s.warnings[0], "a: 8 extraction threads on 4 cores: threads oversubscribe the cores");
}

TEST(Placement, UnboundRankAloneOnItsNodeIsNoWarning) {
  // One rank per node may use every core of it; binding would only take cores away.
  auto s = summarize({rank(0, "a", "0-3", "none", 4, 4, 4), rank(1, "b", "0-3", "none", 4, 4, 4)});
  EXPECT_TRUE(s.warnings.empty()) << s.warnings.front();
  // Two unbound ranks on one node still are.
  s = summarize({rank(0, "a", "0-3", "none", 4, 4, 2), rank(1, "a", "0-3", "none", 4, 4, 2),
                 rank(2, "b", "0-3", "none", 4, 4, 4)});
  ASSERT_EQ(s.warnings.size(), 1u);
  EXPECT_NE(s.warnings[0].find("2 of 3 ranks are not bound to cores (ranks 0-1)"),
            std::string::npos)
      << s.warnings[0];
}

}  // namespace
}  // namespace mpiprep::topo
