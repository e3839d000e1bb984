// Several clusters: none of the shared test files has more than one, so these tests write
// TTree v20 records from scratch (root_tree_writer.hpp) and check the decoded basket boundaries and the common cluster boundaries (uproot's
// common_entry_offsets: the intersection over all branches, any depth) on matching and on
// mismatched branches, open baskets and branches without baskets.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "mpiprep/extract/root/reader.hpp"
#include "root_file_builder.hpp"
#include "root_test_util.hpp"
#include "root_tree_writer.hpp"

namespace mpiprep::extract::root {
namespace {

using testing::BranchSpec;
using testing::DirSpec;
using testing::FileBuilder;
using testing::ObjectSpec;
using testing::RecordWriter;

Result<RootFileInfo> read_tree(std::int64_t entries, const std::vector<BranchSpec>& branches,
                               const std::vector<std::int64_t>& range_end = {},
                               const std::vector<std::int64_t>& range_size = {}) {
  RecordWriter w;
  w.tree(entries, range_end, range_size, branches);
  DirSpec top;
  top.entries.emplace_back(ObjectSpec{"TTree", "Events", "synthetic", 1, false, w.out});
  return read_bytes(FileBuilder().build(top));
}

const TreeInfo& only_tree(const Result<RootFileInfo>& info) {
  EXPECT_TRUE(info.ok()) << (info.ok() ? "" : info.error().to_string());
  EXPECT_TRUE(info->object_errors.empty()) << info->object_errors.front().message;
  EXPECT_EQ(info->trees.size(), 1u);
  return info->trees.at(0);
}

std::vector<std::int64_t> offsets_of(const TreeInfo& t, const std::string& name) {
  for (const BranchInfo& b : t.branches) {
    if (b.name == name) {
      const auto o = t.entry_offsets(b);
      return {o.begin(), o.end()};
    }
  }
  ADD_FAILURE() << "no branch " << name;
  return {};
}

using V = std::vector<std::int64_t>;

TEST(MultiCluster, BranchesSharingTheirBasketsGiveEveryBoundary) {
  const std::vector<BranchSpec> branches = {{"a", 400, {0, 100, 200, 300}}, {"b", 400, {0, 100, 200, 300}},
                                            {"c", 400, {0, 100, 200, 300}}};
  auto info = read_tree(400, branches, {399}, {100});
  const TreeInfo& t = only_tree(info);
  EXPECT_EQ(t.entries, 400);
  ASSERT_EQ(t.top.size(), 3u);
  EXPECT_EQ(offsets_of(t, "b"), (V{0, 100, 200, 300, 400}));
  EXPECT_EQ(common_entry_offsets(t), (V{0, 100, 200, 300, 400}));
  ASSERT_TRUE(t.cluster_range_end.has_value());
  EXPECT_EQ(*t.cluster_range_end, V{399});
  EXPECT_EQ(*t.cluster_size, V{100});
  EXPECT_EQ(t.auto_flush, 100);

  const FileMeta m = to_file_meta(*info, true);
  const ObjectMeta* o = m.find_object("Events");
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->clusters, (V{0, 100, 200, 300, 400}));
  EXPECT_EQ(o->n_columns_total, 3);
  EXPECT_EQ(o->columns.at(0).type, "int32_t");
  EXPECT_TRUE(to_file_meta(*info, false).find_object("Events")->clusters.empty());
}

TEST(MultiCluster, MismatchedBranchesIntersect) {
  // a: every 100, b: every 200, c: 100 and 300 missing  =>  {0, 200, 400, 500}.
  const std::vector<BranchSpec> branches = {{"a", 500, {0, 100, 200, 300, 400}},
                                            {"b", 500, {0, 200, 400}},
                                            {"c", 500, {0, 200, 300, 400}}};
  const auto info = read_tree(500, branches);
  const TreeInfo& t = only_tree(info);
  EXPECT_EQ(offsets_of(t, "a"), (V{0, 100, 200, 300, 400, 500}));
  EXPECT_EQ(offsets_of(t, "b"), (V{0, 200, 400, 500}));
  EXPECT_EQ(offsets_of(t, "c"), (V{0, 200, 300, 400, 500}));
  EXPECT_EQ(common_entry_offsets(t), (V{0, 200, 400, 500}));
}

TEST(MultiCluster, NoCommonInnerBoundaryLeavesOneCluster) {
  const std::vector<BranchSpec> branches = {{"a", 300, {0, 100, 200}}, {"b", 300, {0, 150}}};
  const auto info = read_tree(300, branches);
  const TreeInfo& t = only_tree(info);
  EXPECT_EQ(common_entry_offsets(t), (V{0, 300}));
}

TEST(MultiCluster, SubBranchesCountAndBasketlessBranchesImposeNothing) {
  // "obj" has no baskets of its own (a split object's top branch): it imposes nothing; its
  // sub-branches do, at any depth. "deep" removes 300.
  BranchSpec obj{"obj", 400, {}};
  BranchSpec mid{"obj.mid", 400, {0, 100, 200, 300}};
  mid.children.push_back(BranchSpec{"obj.mid.deep", 400, {0, 100, 200}});
  obj.children.push_back(mid);
  obj.children.push_back(BranchSpec{"obj.x", 400, {0, 100, 200, 300}});
  const std::vector<BranchSpec> branches = {{"a", 400, {0, 100, 200, 300}}, obj};
  const auto info = read_tree(400, branches);
  const TreeInfo& t = only_tree(info);
  EXPECT_EQ(t.top.size(), 2u);
  EXPECT_EQ(t.count_all_branches(), 5u);
  EXPECT_EQ(offsets_of(t, "obj"), V{0});
  EXPECT_EQ(offsets_of(t, "obj.mid.deep"), (V{0, 100, 200, 400}));
  EXPECT_EQ(common_entry_offsets(t), (V{0, 100, 200, 400}));
}

TEST(MultiCluster, FullBasketArraysEndAtTheEntryCount) {
  // fWriteBasket == fMaxBaskets: fBasketEntry has no slot for the next start, so the last
  // boundary is fEntries (nothing is read past the array).
  const std::vector<BranchSpec> branches = {{"a", 300, {0, 100, 200}, 3}, {"b", 300, {0, 100, 200}, 3}};
  const auto info = read_tree(300, branches);
  const TreeInfo& t = only_tree(info);
  EXPECT_EQ(offsets_of(t, "a"), (V{0, 100, 200, 300}));
  EXPECT_EQ(common_entry_offsets(t), (V{0, 100, 200, 300}));
}

}  // namespace
}  // namespace mpiprep::extract::root
