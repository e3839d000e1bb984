// root_write_cluster_file OUT.root: writes a ROOT file whose TTree "Events" (1,000 entries)
// has several clusters, for the end-to-end test of `mpiprep scan --align-clusters`
// (align_clusters_cli_test.py). Prints each branch's basket starts as JSON on stdout, so the
// test computes the common cluster boundaries itself (the intersection over all branches,
// as coffea/uproot do) instead of trusting the reader.
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "root_file_builder.hpp"
#include "root_tree_writer.hpp"

using namespace mpiprep::extract::root::testing;

namespace {

void print_branch(const BranchSpec& b, bool& first) {
  std::printf("%s\"%s\": [", first ? "" : ", ", b.name.c_str());
  first = false;
  for (std::size_t i = 0; i < b.basket_entry.size(); ++i) {
    std::printf("%s%lld", i == 0 ? "" : ", ", static_cast<long long>(b.basket_entry[i]));
  }
  std::printf("]");
  for (const BranchSpec& c : b.children) print_branch(c, first);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT.root\n", argv[0]);
    return 2;
  }
  constexpr std::int64_t kEntries = 1000;
  // a: a basket every 100 entries; b: every 200; c: misses 600 and has 500; the split object
  // "obj" has no basket of its own, its member obj.x misses nothing more. Common boundaries:
  // 0, 200, 400, 800 (and the end, 1000).
  BranchSpec obj{"obj", kEntries, {}};
  obj.children.push_back(BranchSpec{"obj.x", kEntries, {0, 200, 400, 600, 800}});
  const std::vector<BranchSpec> branches = {
      {"a", kEntries, {0, 100, 200, 300, 400, 500, 600, 700, 800, 900}, 12},
      {"b", kEntries, {0, 200, 400, 600, 800}},
      {"c", kEntries, {0, 200, 400, 500, 800}},
      obj,
  };
  RecordWriter w;
  w.tree(kEntries, {}, {}, branches);
  DirSpec top;
  top.entries.emplace_back(ObjectSpec{"TTree", "Events", "multi-cluster tree", 1, false, w.out});
  const std::vector<std::byte> bytes = FileBuilder().build(top);
  std::ofstream out(argv[1], std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) {
    std::fprintf(stderr, "cannot write %s\n", argv[1]);
    return 1;
  }
  std::printf("{\"entries\": %lld, \"baskets\": {", static_cast<long long>(kEntries));
  bool first = true;
  for (const BranchSpec& b : branches) print_branch(b, first);
  std::printf("}}\n");
  return 0;
}
