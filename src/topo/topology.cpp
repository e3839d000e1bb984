#include "mpiprep/topo/topology.hpp"

#include <hwloc.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <map>
#include <set>
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
    std::array<char, 512> list{};
    if (hwloc_bitmap_list_snprintf(list.data(), list.size(), set) >= 0) t.cpuset = list.data();
    const int ncores = hwloc_get_nbobjs_by_type(topology, HWLOC_OBJ_CORE);
    int in_set = 0;
    for (int i = 0; i < ncores; ++i) {
      hwloc_obj_t core = hwloc_get_obj_by_type(topology, HWLOC_OBJ_CORE, static_cast<unsigned>(i));
      if (core != nullptr && hwloc_bitmap_intersects(core->cpuset, set)) ++in_set;
    }
    t.cores_allowed = in_set;
    const int nnuma = hwloc_get_nbobjs_by_type(topology, HWLOC_OBJ_NUMANODE);
    for (int i = 0; i < nnuma; ++i) {
      hwloc_obj_t node = hwloc_get_obj_by_type(topology, HWLOC_OBJ_NUMANODE, static_cast<unsigned>(i));
      if (node == nullptr || !hwloc_bitmap_intersects(node->cpuset, set)) continue;
      if (!t.numa.empty()) t.numa += ',';
      t.numa += std::to_string(node->os_index);
    }
    if (t.pus_allowed >= t.pus_on_node) {
      t.binding = "none";
    } else {
      // Name the smallest object that covers the binding, as mpirun --report-bindings would.
      hwloc_obj_t obj = hwloc_get_obj_covering_cpuset(topology, set);
      // A PU that is a whole core (no SMT) is a core binding, as Open MPI calls it.
      if (obj != nullptr && obj->type == HWLOC_OBJ_PU && obj->parent != nullptr &&
          obj->parent->type == HWLOC_OBJ_CORE && hwloc_bitmap_isequal(obj->parent->cpuset, set)) {
        obj = obj->parent;
      }
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

namespace {

int auto_threads(const Topology& t, int ranks_on_node) {
  const bool bound = t.binding != "none" && t.binding != "unknown";
  if (bound) return std::max(1, t.cores_allowed > 0 ? t.cores_allowed : t.pus_allowed);
  return std::max(1, t.cores_on_node / std::max(1, ranks_on_node));
}

// "0-3,8" -> {0,1,2,3,8}; malformed pieces are skipped (the list comes from hwloc).
std::set<int> parse_list(std::string_view list) {
  std::set<int> out;
  std::size_t pos = 0;
  while (pos < list.size()) {
    auto end = list.find(',', pos);
    if (end == std::string_view::npos) end = list.size();
    auto piece = list.substr(pos, end - pos);
    int a = 0, b = 0;
    auto dash = piece.find('-');
    auto first = piece.substr(0, dash);
    if (std::from_chars(first.data(), first.data() + first.size(), a).ec == std::errc()) {
      b = a;
      if (dash != std::string_view::npos) {
        auto second = piece.substr(dash + 1);
        if (std::from_chars(second.data(), second.data() + second.size(), b).ec != std::errc()) b = a;
      }
      for (int i = a; i <= b && i - a < 65536; ++i) out.insert(i);
    }
    pos = end + 1;
  }
  return out;
}

// Ranks as a compact list: 0-3,8,10-11.
std::string rank_list(const std::vector<int>& ranks) {
  std::string out;
  for (std::size_t i = 0; i < ranks.size();) {
    std::size_t j = i;
    while (j + 1 < ranks.size() && ranks[j + 1] == ranks[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += j == i ? std::to_string(ranks[i]) : fmt::format("{}-{}", ranks[i], ranks[j]);
    i = j + 1;
  }
  return out;
}

bool is_bound(const std::string& binding) { return binding != "none" && binding != "unknown"; }

}  // namespace

int threads_per_rank(const Topology& t, int ranks_on_node, int requested) {
  if (requested > 0) return requested;
  return auto_threads(t, ranks_on_node);
}

std::string threads_reason(const Topology& t, int ranks_on_node, int requested) {
  if (requested > 0) return fmt::format("--threads {}", requested);
  if (is_bound(t.binding)) {
    return fmt::format("auto: {} core{} in cpuset {}", t.cores_allowed,
                       t.cores_allowed == 1 ? "" : "s", t.cpuset.empty() ? "?" : t.cpuset);
  }
  return fmt::format("auto: unbound, {} cores / {} rank{} on the node", t.cores_on_node,
                     ranks_on_node, ranks_on_node == 1 ? "" : "s");
}

RankPlacement placement(const Topology& t, int rank, int threads) {
  RankPlacement p;
  p.rank = rank;
  p.host = t.hostname.empty() ? "?" : t.hostname;
  p.cpuset = t.cpuset;
  p.binding = t.binding.empty() ? "unknown" : t.binding;
  p.numa = t.numa;
  p.cores = t.cores_allowed > 0 ? t.cores_allowed : t.pus_allowed;
  p.cores_on_node = t.cores_on_node;
  p.threads = threads;
  return p;
}

std::string encode(const RankPlacement& p) {
  auto clean = [](std::string v) {
    std::replace(v.begin(), v.end(), '\t', ' ');
    return v;
  };
  return fmt::format("{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}", p.rank, clean(p.host), clean(p.cpuset),
                     clean(p.binding), clean(p.numa), p.cores, p.cores_on_node, p.threads);
}

Result<RankPlacement> decode(std::string_view bytes) {
  std::vector<std::string_view> f;
  std::size_t pos = 0;
  while (true) {
    auto end = bytes.find('\t', pos);
    f.push_back(bytes.substr(pos, end == std::string_view::npos ? bytes.size() - pos : end - pos));
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
  auto bad = [&](std::string_view why) {
    return Error{ErrorKind::kCorrupt, fmt::format("placement record: {}", why)};
  };
  if (f.size() != 8) return bad(fmt::format("{} fields, expected 8", f.size()));
  auto num = [](std::string_view v, int& out) {
    return !v.empty() && std::from_chars(v.data(), v.data() + v.size(), out).ec == std::errc();
  };
  RankPlacement p;
  if (!num(f[0], p.rank) || !num(f[5], p.cores) || !num(f[6], p.cores_on_node) ||
      !num(f[7], p.threads)) {
    return bad("a number field is not a number");
  }
  p.host = f[1];
  p.cpuset = f[2];
  p.binding = f[3];
  p.numa = f[4];
  return p;
}

PlacementSummary summarize(const std::vector<RankPlacement>& ranks) {
  PlacementSummary s;
  std::vector<std::string> order;
  std::map<std::string, std::vector<const RankPlacement*>> by_host;
  for (const auto& r : ranks) {
    if (by_host.find(r.host) == by_host.end()) order.push_back(r.host);
    by_host[r.host].push_back(&r);
  }
  std::vector<int> unbound;
  for (const auto& host : order) {
    const auto& rs = by_host[host];
    std::vector<int> ids;
    std::set<std::string> bindings, numa;
    std::string cpusets;
    int threads = 0;
    for (const auto* r : rs) {
      ids.push_back(r->rank);
      bindings.insert(r->binding);
      for (const auto& n : parse_list(r->numa)) numa.insert(std::to_string(n));
      threads += r->threads;
      // A rank alone on its node may run anywhere on it (and its threads use every core):
      // only ranks sharing a node need binding to stay off each other's cores.
      if (!is_bound(r->binding) && rs.size() > 1) unbound.push_back(r->rank);
      if (rs.size() <= 8 || cpusets.size() < 40) {
        cpusets += (cpusets.empty() ? "" : "|") + (r->cpuset.empty() ? "?" : r->cpuset);
      } else if (cpusets.back() != '.') {
        cpusets += "|...";
      }
    }
    std::string bind;
    for (const auto& b : bindings) bind += (bind.empty() ? "" : "/") + b;
    std::string numas;
    for (const auto& n : numa) numas += (numas.empty() ? "" : ",") + n;
    const int cores = rs.front()->cores_on_node;
    s.hosts.push_back(fmt::format("{}: {} rank{} ({}), {} cores, bind={}, cpusets {}, NUMA {}",
                                  host, rs.size(), rs.size() == 1 ? "" : "s", rank_list(ids),
                                  cores, bind, cpusets, numas.empty() ? "?" : numas));
    if (static_cast<int>(rs.size()) > cores) {
      s.warnings.push_back(fmt::format("{}: {} ranks on {} cores: ranks oversubscribe the cores",
                                       host, rs.size(), cores));
    } else if (threads > cores) {
      s.warnings.push_back(fmt::format(
          "{}: {} extraction threads on {} cores: threads oversubscribe the cores", host,
          threads, cores));
    }
    // Bound ranks whose cpusets overlap share cores.
    std::map<int, std::vector<int>> pu_owners;
    for (const auto* r : rs) {
      if (!is_bound(r->binding)) continue;
      for (int pu : parse_list(r->cpuset)) pu_owners[pu].push_back(r->rank);
    }
    std::set<int> sharing;
    for (const auto& [pu, owners] : pu_owners) {
      if (owners.size() > 1) sharing.insert(owners.begin(), owners.end());
    }
    if (!sharing.empty()) {
      s.warnings.push_back(fmt::format("{}: bound ranks {} share cores",
                                       host, rank_list({sharing.begin(), sharing.end()})));
    }
  }
  if (!unbound.empty()) {
    s.warnings.push_back(fmt::format(
        "{} of {} ranks are not bound to cores (ranks {}): bind them with srun --cpu-bind=cores "
        "or mpirun --bind-to core",
        unbound.size(), ranks.size(), rank_list(unbound)));
  }
  return s;
}

}  // namespace mpiprep::topo
