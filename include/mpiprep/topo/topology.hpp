// Node topology through hwloc: how many cores this rank may use, what it is bound to, and
// from that how many extraction threads a rank should run. Read once per rank at start-up.
#pragma once

#include <string>

namespace mpiprep::topo {

struct Topology {
  int cores_on_node = 1;      // physical cores
  int pus_on_node = 1;        // hardware threads
  int pus_allowed = 1;        // PUs in this process's CPU binding
  std::string binding;        // "none", "core", "socket", "N PUs", ...
  std::string hostname;
};

// Local. Never fails: falls back to one core if hwloc cannot load the topology.
Topology detect();

// Threads per rank for ROOT extraction: the PUs this rank is bound to, or, unbound, the node's
// cores divided by the ranks on this node; at least 1. `requested` > 0 wins.
int threads_per_rank(const Topology& t, int ranks_on_node, int requested);

}  // namespace mpiprep::topo
