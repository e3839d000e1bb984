// tree_dump(): every field the ROOT reader's decoder fills in the trees, as text, to compare
// two decodings (tests/root and the differential check in fuzz/root_tree_fuzzer.cpp).
#pragma once

#include <sstream>
#include <string>
#include <vector>

#include "mpiprep/extract/root/model.hpp"

namespace mpiprep::extract::root {

// Every field the decoder fills in the trees (branches, leaves, pools, offsets), one line per
// object: two decodings of a file agree iff these dumps are equal.
inline std::string tree_dump(const std::vector<TreeInfo>& trees) {
  std::ostringstream o;
  for (const TreeInfo& t : trees) {
    o << "tree " << t.path << ";" << t.cycle << " " << t.class_name << " v" << t.version << " " << t.name << "|"
      << t.title << " e=" << t.entries << " tot=" << t.tot_bytes << " zip=" << t.zip_bytes
      << " af=" << t.auto_flush.value_or(-1) << " reach=" << t.all_branches_reachable << " ranges=";
    for (const auto x : t.cluster_range_end.value_or(std::vector<std::int64_t>{})) o << x << ",";
    o << " sizes=";
    for (const auto x : t.cluster_size.value_or(std::vector<std::int64_t>{})) o << x << ",";
    o << "\n top=";
    for (const auto x : t.top) o << x << ",";
    o << "\n children=";
    for (const auto x : t.child_index) o << x << ",";
    o << "\n leaf_index=";
    for (const auto x : t.leaf_index) o << x << ",";
    o << "\n offsets=";
    for (const auto x : t.entry_offsets_pool) o << x << ",";
    o << "\n";
    for (const BranchInfo& b : t.branches) {
      o << " B " << b.class_name << " " << b.name << "|" << b.title << " v" << b.version << "/" << b.base_version << " ec="
        << b.element_class << " pn=" << b.parent_name << " cn=" << b.clones_name << " id=" << b.element_id
        << " ty=" << b.element_type << " st=" << b.streamer_type << " c=" << b.compress << " wb=" << b.write_basket
        << " mb=" << b.max_baskets << " sl=" << b.split_level << " e=" << b.entries << " fe=" << b.first_entry
        << " tot=" << b.tot_bytes << " zip=" << b.zip_bytes << " nb=" << b.normal_baskets << "+" << b.embedded_baskets
        << " l=" << b.leaf_begin << "/" << b.leaf_count << " ch=" << b.child_begin << "/" << b.child_count
        << " o=" << b.offset_begin << "/" << b.offset_count << "\n";
    }
    for (const LeafInfo& l : t.leaves) {
      o << " L " << l.class_name << " " << l.name << "|" << l.title << " v" << l.version << " len=" << l.len
        << " lt=" << l.len_type << " r=" << l.is_range << " u=" << l.is_unsigned << " cnt=" << l.has_leaf_count
        << ":" << l.leaf_count_name << " id=" << l.element_id << " ty=" << l.element_type << "\n";
    }
  }
  return o.str();
}

inline std::string tree_dump(const RootFileInfo& info) {
  std::string s = tree_dump(info.trees);
  for (const ObjectError& e : info.object_errors) {
    s += "error " + std::to_string(e.key_index) + " " + std::to_string(static_cast<int>(e.kind)) + " " + e.message + "\n";
  }
  return s;
}

}  // namespace mpiprep::extract::root
