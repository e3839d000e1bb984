// Node topology through hwloc: how many cores this rank may use, what it is bound to, and
// from that how many extraction threads a rank should run. Read once per rank at start-up;
// the ranks' placements are gathered (by the CLI) and summarized for the report's header.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "mpiprep/core/result.hpp"

namespace mpiprep::topo {

struct Topology {
  int cores_on_node = 1;      // physical cores
  int pus_on_node = 1;        // hardware threads
  int pus_allowed = 1;        // PUs in this process's CPU binding
  std::string binding;        // "none", "core", "socket", "N PUs", ...
  std::string hostname;
  int cores_allowed = 0;      // cores with at least one PU in the binding (0: not detected)
  std::string cpuset;         // the binding as a PU list, "0-3,8"; "" when not detected
  std::string numa;           // NUMA nodes the binding touches, "0" or "0,1"; "" if unknown
};

// Local. Never fails: falls back to one core if hwloc cannot load the topology.
Topology detect();

// Threads per rank for ROOT extraction: the cores of the rank's cpuset when it is bound, or,
// unbound, the node's cores divided by the ranks on this node; at least 1. `requested` > 0 wins.
int threads_per_rank(const Topology& t, int ranks_on_node, int requested);
// Why threads_per_rank chose its value, for the report: "auto: 2 cores in cpuset 0-1".
std::string threads_reason(const Topology& t, int ranks_on_node, int requested);

// One rank's placement, as gathered on rank 0.
struct RankPlacement {
  int rank = 0;
  std::string host;
  std::string cpuset;   // PU list
  std::string binding;  // as Topology::binding
  std::string numa;
  int cores = 1;          // cores in the cpuset
  int cores_on_node = 1;
  int threads = 1;        // extraction threads chosen

  bool operator==(const RankPlacement&) const = default;
};
RankPlacement placement(const Topology& t, int rank, int threads);

// Wire format for the gather (one line of tab-separated fields; validated on decode).
std::string encode(const RankPlacement& p);
Result<RankPlacement> decode(std::string_view bytes);

// The report header's view of all ranks: one line per host and the warnings.
struct PlacementSummary {
  std::vector<std::string> hosts;     // "vm: ranks 0-1 (2), 2 cores, bind=core, cpusets 0|1, NUMA 0"
  std::vector<std::string> warnings;  // unbound ranks, shared cores, threads > cores
};
PlacementSummary summarize(const std::vector<RankPlacement>& ranks);

}  // namespace mpiprep::topo
