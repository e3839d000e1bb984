#include "mpiprep/topo/topology.hpp"

#include <hwloc.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <string>

namespace mpiprep::topo {

Topology detect() {
  Topology t;
  std::array<char, 256> host{};
  if (::gethostname(host.data(), host.size() - 1) == 0) t.hostname = host.data();

  hwloc_topology_t topology = nullptr;
  if (hwloc_topology_init(&topology) != 0) return t;
  if (hwloc_topology_load(topology) != 0) {
    hwloc_topology_destroy(topology);
    return t;
  }
  t.cores_on_node = std::max(1, hwloc_get_nbobjs_by_type(topology, HWLOC_OBJ_CORE));
  t.pus_on_node = std::max(1, hwloc_get_nbobjs_by_type(topology, HWLOC_OBJ_PU));

  hwloc_bitmap_t set = hwloc_bitmap_alloc();
  if (set != nullptr && hwloc_get_cpubind(topology, set, HWLOC_CPUBIND_PROCESS) == 0) {
    t.pus_allowed = std::max(1, hwloc_bitmap_weight(set));
    if (t.pus_allowed >= t.pus_on_node) {
      t.binding = "none";
    } else {
      // Name the smallest object that covers the binding, as mpirun --report-bindings would.
      hwloc_obj_t obj = hwloc_get_obj_covering_cpuset(topology, set);
      if (obj != nullptr && hwloc_bitmap_isequal(obj->cpuset, set)) {
        t.binding = hwloc_obj_type_string(obj->type);
        for (auto& c : t.binding) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      } else {
        t.binding = std::to_string(t.pus_allowed) + " PUs";
      }
    }
  } else {
    t.pus_allowed = t.pus_on_node;
    t.binding = "unknown";
  }
  if (set != nullptr) hwloc_bitmap_free(set);
  hwloc_topology_destroy(topology);
  return t;
}

int threads_per_rank(const Topology& t, int ranks_on_node, int requested) {
  if (requested > 0) return requested;
  if (t.binding != "none" && t.binding != "unknown") return std::max(1, t.pus_allowed);
  return std::max(1, t.cores_on_node / std::max(1, ranks_on_node));
}

}  // namespace mpiprep::topo
