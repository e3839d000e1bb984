// The native ROOT reader against tests/data/expected.json (ground truth from jsroot and
// uproot3): header, compression, every key of every directory, trees (entries, counters,
// cluster settings, top branches with their leaves), RNTuples; then the FileMeta view.
#include <gtest/gtest.h>

#include <algorithm>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "mpiprep/extract/extractor.hpp"
#include "mpiprep/extract/root/reader.hpp"
#include "common/meta_compare.hpp"
#include "root_test_util.hpp"

namespace mpiprep::extract::root {
namespace {

using nlohmann::json;

const json& expected() {
  static const json j = [] {
    std::ifstream in(std::string(MPIPREP_TEST_DATA_DIR) + "/expected.json");
    return json::parse(in);
  }();
  return j;
}

std::vector<std::string> root_files() {
  std::vector<std::string> out;
  for (const auto& [name, v] : expected().at("files").items()) {
    if (v.at("format") == "root") out.push_back(name);
  }
  return out;
}

class ExpectedRootFile : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    exp_ = &expected().at("files").at(GetParam());
    auto info = read_test_file(GetParam());
    ASSERT_TRUE(info.ok()) << info.error().to_string();
    info_ = std::move(*info);
  }
  const TreeInfo* tree(const std::string& path, int cycle) const {
    for (const TreeInfo& t : info_.trees) {
      if (t.path == path && t.cycle == cycle) return &t;
    }
    return nullptr;
  }
  const json* exp_ = nullptr;
  RootFileInfo info_;
};

TEST_P(ExpectedRootFile, Header) {
  const json& h = exp_->at("header");
  const FileHeader& got = info_.header;
  EXPECT_EQ(got.version, h.at("fVersion").get<int>());
  EXPECT_EQ(got.begin, h.at("fBEGIN").get<int>());
  EXPECT_EQ(got.big_file, h.at("isBigFile").get<bool>());
  EXPECT_EQ(got.end, h.at("fEND").get<std::int64_t>());
  EXPECT_EQ(got.seek_free, h.at("fSeekFree").get<std::int64_t>());
  EXPECT_EQ(got.nbytes_free, h.at("fNbytesFree").get<int>());
  EXPECT_EQ(got.nfree, h.at("nfree").get<int>());
  EXPECT_EQ(got.nbytes_name, h.at("fNbytesName").get<int>());
  EXPECT_EQ(got.units, h.at("fUnits").get<int>());
  EXPECT_EQ(got.compress, h.at("fCompress").get<int>());
  EXPECT_EQ(got.seek_info, h.at("fSeekInfo").get<std::int64_t>());
  EXPECT_EQ(got.nbytes_info, h.at("fNbytesInfo").get<int>());
  EXPECT_EQ(got.seek_keys, h.at("fSeekKeys").get<std::int64_t>());
  EXPECT_EQ(got.nbytes_keys, h.at("fNbytesKeys").get<int>());
  EXPECT_EQ(got.uuid_version, h.at("fUUID_version").get<int>());
  EXPECT_EQ(got.uuid_hex(), h.at("fUUID").get<std::string>());
}

TEST_P(ExpectedRootFile, Compression) {
  const json& c = exp_->at("compression");
  EXPECT_EQ(info_.compression.level, c.at("level").get<int>());
  EXPECT_EQ(info_.compression.algorithm, c.at("algorithmCode").get<int>());
  std::string alg = c.at("algorithm").get<std::string>();
  alg = alg.substr(0, alg.find(' '));  // "zlib (kUseGlobal default)"
  if (info_.compression.level == 0) alg = "none";
  EXPECT_EQ(info_.compression.algorithm_name(), alg);
}

TEST_P(ExpectedRootFile, KeysAndDirectories) {
  const json& keys = exp_->at("keys");
  ASSERT_EQ(info_.keys.size(), keys.size());
  EXPECT_EQ(info_.keys.size(), exp_->at("nKeysRecursive").get<std::size_t>());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    SCOPED_TRACE("key " + std::to_string(i));
    EXPECT_EQ(info_.keys[i].path, keys[i].at("path").get<std::string>());
    EXPECT_EQ(info_.keys[i].class_name, keys[i].at("class").get<std::string>());
    EXPECT_EQ(info_.keys[i].cycle, keys[i].at("cycle").get<int>());
  }
  EXPECT_EQ(info_.directories, exp_->at("directories").get<std::vector<std::string>>());
  EXPECT_TRUE(info_.object_errors.empty());
}

// Leaf class counts over every branch at any depth, "TBranch v12"-style version counts.
struct Census {
  std::map<std::string, int> leaf_classes, branch_classes, branch_versions, leaf_versions;
  int no_written_baskets = 0;
};

Census census(const TreeInfo& t) {
  Census c;
  std::vector<std::uint32_t> stack(t.top.begin(), t.top.end());
  while (!stack.empty()) {
    const BranchInfo& b = t.branches[stack.back()];
    stack.pop_back();
    for (auto ch : t.children(b)) stack.push_back(ch);
    ++c.branch_classes[std::string(b.class_name)];
    ++c.branch_versions[std::string(b.class_name) + " v" + std::to_string(b.version)];
    if (b.class_name != "TBranch") {
      ++c.branch_versions["  (base TBranch v" + std::to_string(b.base_version) + ")"];
    }
    if (b.entries > 0 && b.write_basket == 0) ++c.no_written_baskets;
    for (auto l : t.leaf_ids(b)) {
      ++c.leaf_classes[std::string(t.leaves[l].class_name)];
      ++c.leaf_versions[std::string(t.leaves[l].class_name) + " v" + std::to_string(t.leaves[l].version)];
    }
  }
  return c;
}

template <typename T>
std::map<std::string, int> as_counts(const T& j) {
  std::map<std::string, int> m;
  for (const auto& [k, v] : j.items()) m[k] = v.template get<int>();
  return m;
}

TEST_P(ExpectedRootFile, Trees) {
  const json& trees = exp_->at("trees");
  EXPECT_EQ(info_.trees.size(), trees.size());
  for (const json& e : trees) {
    const std::string path = e.at("path");
    SCOPED_TRACE("tree " + path);
    const TreeInfo* t = tree(path, e.at("cycle").get<int>());
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->class_name, e.at("className").get<std::string>());
    EXPECT_EQ(t->version, e.at("classVersions").at("TTree").get<int>());
    EXPECT_EQ(t->entries, e.at("entries").get<std::int64_t>());
    EXPECT_EQ(t->tot_bytes, e.at("totBytes").get<std::int64_t>());
    EXPECT_EQ(t->zip_bytes, e.at("zipBytes").get<std::int64_t>());
    EXPECT_EQ(t->title, e.at("title").get<std::string>());
    if (e.at("autoFlush").is_null()) {
      EXPECT_FALSE(t->auto_flush.has_value());
    } else {
      ASSERT_TRUE(t->auto_flush.has_value());
      EXPECT_EQ(*t->auto_flush, e.at("autoFlush").get<std::int64_t>());
    }
    for (const auto& [key, member] : {std::pair{"clusterRangeEnd", &t->cluster_range_end},
                                      std::pair{"clusterSize", &t->cluster_size}}) {
      if (e.at(key).is_null()) {
        EXPECT_FALSE(member->has_value()) << key;
      } else {
        ASSERT_TRUE(member->has_value()) << key;
        EXPECT_EQ(**member, e.at(key).get<std::vector<std::int64_t>>()) << key;
      }
    }
    EXPECT_EQ(t->top.size(), e.at("nTopBranches").get<std::size_t>());
    EXPECT_EQ(t->count_all_branches(), e.at("nAllBranches").get<std::size_t>());

    const Census c = census(*t);
    EXPECT_EQ(c.leaf_classes, as_counts(e.at("leafTypeCounts")));
    EXPECT_EQ(c.branch_classes, as_counts(e.at("branchClasses")));
    EXPECT_EQ(c.no_written_baskets, e.at("branchesWithEntriesButNoWrittenBaskets").get<int>());
    // The oracle lists class versions except for ROOT 4 trees (empty there).
    if (!e.at("classVersions").at("branches").empty()) {
      EXPECT_EQ(c.branch_versions, as_counts(e.at("classVersions").at("branches")));
    }
    if (!e.at("classVersions").at("leaves").empty()) {
      EXPECT_EQ(c.leaf_versions, as_counts(e.at("classVersions").at("leaves")));
    }

    const json& tops = e.at("topBranches");
    ASSERT_EQ(tops.size(), t->top.size());
    for (std::size_t i = 0; i < tops.size(); ++i) {
      const json& eb = tops[i];
      const BranchInfo& b = t->branches[t->top[i]];
      SCOPED_TRACE("branch " + eb.at("name").get<std::string>());
      EXPECT_EQ(b.name, eb.at("name").get<std::string>());
      EXPECT_EQ(b.title, eb.at("title").get<std::string>());
      EXPECT_EQ(b.class_name, eb.at("class").get<std::string>());
      const auto leaves = t->leaf_ids(b);
      ASSERT_EQ(leaves.size(), eb.at("leaves").size());
      for (std::size_t l = 0; l < leaves.size(); ++l) {
        EXPECT_EQ(t->leaves[leaves[l]].name, eb.at("leaves")[l].at("name").get<std::string>());
        EXPECT_EQ(t->leaves[leaves[l]].class_name, eb.at("leaves")[l].at("type").get<std::string>());
      }
      if (eb.contains("className")) {
        EXPECT_EQ(b.element_class, eb.at("className").get<std::string>());
        EXPECT_EQ(b.streamer_type, eb.at("streamerType").get<int>());
      }
      if (eb.contains("subBranchNames")) {
        std::vector<std::string> names;
        for (auto ch : t->children(b)) names.emplace_back(t->branches[ch].name);
        EXPECT_EQ(names, eb.at("subBranchNames").get<std::vector<std::string>>());
        EXPECT_EQ(names.size(), eb.at("nSubBranches").get<std::size_t>());
      }
    }
  }
}

TEST_P(ExpectedRootFile, RNTuples) {
  const json& nts = exp_->at("rntuples");
  ASSERT_EQ(info_.rntuples.size(), nts.size());
  for (std::size_t i = 0; i < nts.size(); ++i) {
    const json& e = nts[i];
    const RNTupleInfo& nt = info_.rntuples[i];
    EXPECT_EQ(nt.path, e.at("path").get<std::string>());
    EXPECT_EQ(nt.cycle, e.at("cycle").get<int>());
    EXPECT_EQ(info_.keys[nt.key_index].class_name, e.at("className").get<std::string>());
    EXPECT_EQ(nt.entries, e.at("entries").get<std::int64_t>());
    EXPECT_EQ(nt.n_clusters, e.at("nClusters").get<std::uint64_t>());
    EXPECT_EQ(nt.fields.size(), e.at("nFields").get<std::size_t>());
    EXPECT_EQ(nt.version_epoch, e.at("fVersionEpoch").get<int>());
    EXPECT_EQ(nt.version_major, e.at("fVersionMajor").get<int>());
    EXPECT_EQ(nt.version_minor, e.at("fVersionMinor").get<int>());
    EXPECT_EQ(nt.version_patch, e.at("fVersionPatch").get<int>());
    EXPECT_EQ(nt.seek_header, e.at("fSeekHeader").get<std::uint64_t>());
    EXPECT_EQ(nt.nbytes_header, e.at("fNBytesHeader").get<std::uint64_t>());
    EXPECT_EQ(nt.len_header, e.at("fLenHeader").get<std::uint64_t>());
    EXPECT_EQ(nt.seek_footer, e.at("fSeekFooter").get<std::uint64_t>());
    EXPECT_EQ(nt.nbytes_footer, e.at("fNBytesFooter").get<std::uint64_t>());
    EXPECT_EQ(nt.len_footer, e.at("fLenFooter").get<std::uint64_t>());
    EXPECT_EQ(nt.max_key_size, e.at("fMaxKeySize").get<std::uint64_t>());
    const json& top = e.at("topFields");
    ASSERT_EQ(nt.top_fields.size(), top.size());
    for (std::size_t f = 0; f < top.size(); ++f) {
      EXPECT_EQ(nt.fields[nt.top_fields[f]].name, top[f].at("name").get<std::string>());
      EXPECT_EQ(nt.fields[nt.top_fields[f]].type_name, top[f].at("type").get<std::string>());
    }
  }
}

// The leaflist code in a plain TBranch title ("px[n]/F", "u4/i") is an oracle independent of
// how the reader names leaf types: letter → C++ type, dimensions from the brackets.
std::string type_from_leaflist(std::string_view title) {
  static const std::map<char, std::string> kCode = {
      {'B', "int8_t"},  {'b', "uint8_t"},  {'S', "int16_t"}, {'s', "uint16_t"}, {'I', "int32_t"},
      {'i', "uint32_t"}, {'L', "int64_t"}, {'l', "uint64_t"}, {'F', "float"},    {'D', "double"},
      {'O', "bool"},     {'C', "char*"},   {'f', "Float16_t"}, {'d', "Double32_t"},
      {'G', "int64_t"},  {'g', "uint64_t"}};
  const auto slash = title.rfind('/');
  if (slash == std::string_view::npos || slash + 1 >= title.size()) return {};
  const auto it = kCode.find(title[slash + 1]);
  if (it == kCode.end()) return {};
  std::string out = it->second;
  if (out == "char*") return out;
  const std::string_view name = title.substr(0, slash);
  for (std::size_t p = name.find('['); p != std::string_view::npos; p = name.find('[', p + 1)) {
    const auto close = name.find(']', p);
    const std::string_view inner = name.substr(p + 1, close - p - 1);
    const bool numeric = !inner.empty() && inner.find_first_not_of("0123456789") == std::string_view::npos;
    out += numeric ? "[" + std::string(inner) + "]" : std::string("[]");
  }
  return out;
}

TEST_P(ExpectedRootFile, FileMetaView) {
  auto file = open_test_file(GetParam());
  ASSERT_TRUE(file.ok());
  auto meta = extract::root::extract(**file, ExtractOptions{});
  ASSERT_TRUE(meta.ok()) << meta.error().to_string();
  EXPECT_EQ(meta->format, FileFormat::kRoot);
  EXPECT_EQ(meta->size, exp_->at("size").get<std::int64_t>());
  // Hyphenated form of the oracle's 32 hex digits.
  std::string u = exp_->at("header").at("fUUID").get<std::string>();
  u = u.substr(0, 8) + "-" + u.substr(8, 4) + "-" + u.substr(12, 4) + "-" + u.substr(16, 4) + "-" + u.substr(20);
  EXPECT_EQ(meta->uuid, u);
  const json& c = exp_->at("compression");
  const int level = c.at("level").get<int>();
  std::string alg = c.at("algorithm").get<std::string>();
  EXPECT_EQ(meta->compression, (level == 0 ? std::string("none") : alg.substr(0, alg.find(' '))) + ":" +
                                   std::to_string(level));

  const json& keys = exp_->at("keys");
  ASSERT_EQ(meta->objects.size(), keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const ObjectMeta& o = meta->objects[i];
    const std::string cls = keys[i].at("class");
    EXPECT_EQ(o.path, keys[i].at("path").get<std::string>());
    EXPECT_EQ(o.cycle, keys[i].at("cycle").get<int>());
    const std::string kind = cls == "TTree" || cls == "TNtuple" || cls == "TNtupleD" ? "TTree"
                             : cls == "ROOT::RNTuple"                               ? "RNTuple"
                                                                                    : cls;
    EXPECT_EQ(o.kind, kind);
    EXPECT_EQ(o.error_kind, ErrorKind::kNone);
  }
  for (const json& e : exp_->at("trees")) {
    const ObjectMeta* o = meta->find_object(e.at("path").get<std::string>() + ";" +
                                            std::to_string(e.at("cycle").get<int>()));
    ASSERT_NE(o, nullptr);
    SCOPED_TRACE(o->path);
    EXPECT_EQ(o->num_entries, e.at("entries").get<std::int64_t>());
    EXPECT_EQ(o->n_columns_total, e.at("nAllBranches").get<std::int64_t>());
    EXPECT_EQ(o->title, e.at("title").get<std::string>());
    const json& tops = e.at("topBranches");
    ASSERT_EQ(o->columns.size(), tops.size());
    for (std::size_t i = 0; i < tops.size(); ++i) {
      const json& b = tops[i];
      EXPECT_EQ(o->columns[i].name, b.at("name").get<std::string>());
      if (b.contains("className")) {
        EXPECT_EQ(o->columns[i].type, b.at("className").get<std::string>());
      } else if (const std::string want = type_from_leaflist(b.at("title").get<std::string>());
                 !want.empty() && b.at("title").get<std::string>().starts_with(b.at("name").get<std::string>())) {
        EXPECT_EQ(o->columns[i].type, want) << b.at("title");
      } else if (b.at("leaves").size() == 1) {
        // Titles without a leaflist (ROOT 4, NanoAOD documentation strings): the leaf class
        // gives the base type; signedness and dimensions are not in the oracle.
        static const std::map<std::string, std::string> kLeaf = {
            {"TLeafI", "int32_t"}, {"TLeafF", "float"},  {"TLeafD", "double"}, {"TLeafC", "char*"},
            {"TLeafO", "bool"},    {"TLeafB", "int8_t"}, {"TLeafS", "int16_t"}, {"TLeafL", "int64_t"}};
        const std::string base = kLeaf.at(b.at("leaves")[0].at("type").get<std::string>());
        const std::string_view got = o->columns[i].type;
        EXPECT_TRUE(got.starts_with(base) || got.starts_with("u" + base)) << got << " vs " << base;
      }
    }
    ASSERT_FALSE(o->clusters.empty());
    EXPECT_EQ(o->clusters.front(), 0);
    EXPECT_EQ(o->clusters.back(), o->num_entries);
  }
  for (const json& e : exp_->at("rntuples")) {
    const ObjectMeta* o = meta->find_object(e.at("path").get<std::string>());
    ASSERT_NE(o, nullptr);
    EXPECT_EQ(o->kind, "RNTuple");
    EXPECT_EQ(o->num_entries, e.at("entries").get<std::int64_t>());
    EXPECT_EQ(o->n_columns_total, e.at("nFields").get<std::int64_t>());
    ASSERT_EQ(o->columns.size(), e.at("topFields").size());
    for (std::size_t i = 0; i < o->columns.size(); ++i) {
      EXPECT_EQ(o->columns[i].name, e.at("topFields")[i].at("name").get<std::string>());
      EXPECT_EQ(o->columns[i].type, e.at("topFields")[i].at("type").get<std::string>());
    }
  }
}

// common_entry_offsets against a plain recomputation from the per-branch basket starts:
// every branch (any depth) that has baskets contributes its set; intersect all of them.
TEST_P(ExpectedRootFile, CommonEntryOffsetsMatchIndependentIntersection) {
  for (const TreeInfo& t : info_.trees) {
    SCOPED_TRACE(t.path);
    std::set<std::int64_t> common;
    bool first = true;
    std::size_t with_baskets = 0;
    std::vector<std::uint32_t> todo(t.top.begin(), t.top.end());
    while (!todo.empty()) {
      const BranchInfo& b = t.branches[todo.back()];
      todo.pop_back();
      for (auto c : t.children(b)) todo.push_back(c);
      const auto offs = t.entry_offsets(b);
      ASSERT_FALSE(offs.empty());
      EXPECT_EQ(offs.front(), 0);
      EXPECT_TRUE(std::is_sorted(offs.begin(), offs.end()));
      if (b.normal_baskets + b.embedded_baskets == 0) continue;
      ++with_baskets;
      // A branch's boundaries cover exactly its entries.
      EXPECT_EQ(offs.back(), b.entries) << b.name;
      EXPECT_EQ(offs.size(), b.normal_baskets + b.embedded_baskets + 1) << b.name;
      const std::set<std::int64_t> mine(offs.begin(), offs.end());
      if (first) {
        common = mine;
        first = false;
      } else {
        std::set<std::int64_t> both;
        for (auto x : common) {
          if (mine.count(x) != 0) both.insert(x);
        }
        common = both;
      }
    }
    common.insert(0);
    if (t.entries > 0) common.insert(t.entries);
    const std::vector<std::int64_t> want(common.begin(), common.end());
    EXPECT_EQ(common_entry_offsets(t), want);
    if (t.entries > 0) {
      EXPECT_GT(with_baskets, 0u);
    }
  }
}


// The StreamerInfo-driven decoder (the fallback for class versions without a hand-written
// layout), forced on every version the file's StreamerInfo describes, must give exactly what
// the hand-written layouts give.
TEST_P(ExpectedRootFile, StreamerInfoPathAgreesWithHandWrittenLayouts) {
  ReadOptions forced;
  forced.force_streamer_info = true;
  auto g = read_test_file(GetParam(), forced);
  ASSERT_TRUE(g.ok()) << g.error().to_string();
  ASSERT_EQ(g->trees.size(), info_.trees.size());
  EXPECT_TRUE(g->object_errors.empty());
  for (std::size_t i = 0; i < info_.trees.size(); ++i) {
    const TreeInfo& a = info_.trees[i];
    const TreeInfo& b = g->trees[i];
    SCOPED_TRACE(a.path);
    EXPECT_TRUE(b.used_streamer_info);
    EXPECT_EQ(a.entries, b.entries);
    EXPECT_EQ(a.tot_bytes, b.tot_bytes);
    EXPECT_EQ(a.zip_bytes, b.zip_bytes);
    EXPECT_EQ(a.auto_flush, b.auto_flush);
    EXPECT_EQ(a.cluster_range_end, b.cluster_range_end);
    EXPECT_EQ(a.cluster_size, b.cluster_size);
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.title, b.title);
    EXPECT_EQ(a.top, b.top);
    EXPECT_EQ(a.child_index, b.child_index);
    EXPECT_EQ(a.leaf_index, b.leaf_index);
    EXPECT_EQ(a.entry_offsets_pool, b.entry_offsets_pool);
    ASSERT_EQ(a.branches.size(), b.branches.size());
    for (std::size_t k = 0; k < a.branches.size(); ++k) {
      const BranchInfo& x = a.branches[k];
      const BranchInfo& y = b.branches[k];
      EXPECT_EQ(x.name, y.name);
      EXPECT_EQ(x.title, y.title);
      EXPECT_EQ(x.class_name, y.class_name);
      EXPECT_EQ(x.element_class, y.element_class);
      EXPECT_EQ(x.parent_name, y.parent_name);
      EXPECT_EQ(x.element_id, y.element_id);
      EXPECT_EQ(x.element_type, y.element_type);
      EXPECT_EQ(x.streamer_type, y.streamer_type);
      EXPECT_EQ(x.entries, y.entries) << x.name;
      EXPECT_EQ(x.first_entry, y.first_entry) << x.name;
      EXPECT_EQ(x.tot_bytes, y.tot_bytes) << x.name;
      EXPECT_EQ(x.write_basket, y.write_basket) << x.name;
      EXPECT_EQ(x.max_baskets, y.max_baskets) << x.name;
      EXPECT_EQ(x.normal_baskets, y.normal_baskets) << x.name;
      EXPECT_EQ(x.embedded_baskets, y.embedded_baskets) << x.name;
    }
    ASSERT_EQ(a.leaves.size(), b.leaves.size());
    for (std::size_t k = 0; k < a.leaves.size(); ++k) {
      EXPECT_EQ(a.leaves[k].name, b.leaves[k].name);
      EXPECT_EQ(a.leaves[k].len, b.leaves[k].len);
      EXPECT_EQ(a.leaves[k].is_unsigned, b.leaves[k].is_unsigned);
      EXPECT_EQ(a.leaves[k].has_leaf_count, b.leaves[k].has_leaf_count);
      EXPECT_EQ(a.leaves[k].leaf_count_name, b.leaves[k].leaf_count_name);
      EXPECT_EQ(a.leaves[k].element_type, b.leaves[k].element_type);
    }
  }
  if (!info_.trees.empty()) {
    EXPECT_TRUE(g->streamer_info_read) << g->streamer_info_error;
  }
}

// The fast path for TBranches and TBranchElements must give exactly what the general decoder
// gives, field by field (it runs on nano_dy.root's 1,507 branches, the split-object and STL
// trees' TBranchElements: Robustness.FastPathTakesEveryBranchOfTheTestFiles).
TEST_P(ExpectedRootFile, FastPathAgreesWithGeneralDecoder) {
  ReadOptions general;
  general.fast_paths = false;
  auto g = read_test_file(GetParam(), general);
  ASSERT_TRUE(g.ok()) << g.error().to_string();
  EXPECT_EQ(tree_dump(info_), tree_dump(*g));
  const FileMeta a = to_file_meta(info_, true);
  const FileMeta b = to_file_meta(*g, true);
  ASSERT_EQ(a.objects.size(), b.objects.size());
  for (std::size_t i = 0; i < a.objects.size(); ++i) {
    EXPECT_EQ(a.objects[i].columns, b.objects[i].columns);
    EXPECT_EQ(a.objects[i].clusters, b.objects[i].clusters);
    EXPECT_EQ(a.objects[i].n_columns_total, b.objects[i].n_columns_total);
  }
}

// to_file_meta(RootFileInfo&&) gives what the const overload gives; trees and RNTuples are
// matched to keys by walking them in key order, or through an index when a model lists them
// otherwise, with the same result.
TEST_P(ExpectedRootFile, FileMetaByMoveAndInAnyTreeOrder) {
  RootFileInfo info = info_;
  if (!info.keys.empty()) {
    info.keys.back().title = "a title longer than the fifteen characters of a short string";
    info.object_errors.push_back(ObjectError{info.keys.size() - 1, ErrorKind::kUnsupportedVersion,
                                             "a message longer than the short string buffer"});
  }
  const FileMeta reference = to_file_meta(info, true);
  RootFileInfo moved = info;
  mpiprep::testing::expect_same(to_file_meta(std::move(moved), true), reference);
  RootFileInfo reversed = info;
  std::reverse(reversed.trees.begin(), reversed.trees.end());
  std::reverse(reversed.rntuples.begin(), reversed.rntuples.end());
  mpiprep::testing::expect_same(to_file_meta(reversed, true), reference);
  if (!info.keys.empty()) {
    EXPECT_EQ(reference.objects.back().error_message, "a message longer than the short string buffer");
    EXPECT_EQ(reference.objects.back().title, info.keys.back().title);
  }
}

// extract() decodes into the reader's scratch memory (keys as views, records and model there)
// and builds the FileMeta from it: the same FileMeta as to_file_meta(read_root_file()), and
// for a file cut short (every 97th byte and the last ones) the same error.
TEST_P(ExpectedRootFile, ExtractAgreesWithReadRootFile) {
  auto file = open_test_file(GetParam());
  ASSERT_TRUE(file.ok());
  for (const bool clusters : {true, false}) {
    ExtractOptions eo;
    eo.clusters = clusters;
    auto meta = extract::root::extract(**file, eo);
    ASSERT_TRUE(meta.ok()) << meta.error().to_string();
    FileMeta reference = to_file_meta(info_, clusters);
    reference.path = (*file)->path();
    reference.size = static_cast<std::int64_t>((*file)->size());
    mpiprep::testing::expect_same(*meta, reference);
    EXPECT_EQ(meta->uuid, reference.uuid);
    EXPECT_EQ(meta->compression, reference.compression);
    EXPECT_EQ(meta->bytes_read, reference.bytes_read);
    EXPECT_EQ(meta->bytes_read, info_.bytes_read);
    ASSERT_EQ(meta->objects.size(), reference.objects.size());
    for (std::size_t i = 0; i < reference.objects.size(); ++i) {
      EXPECT_EQ(meta->objects[i].title, reference.objects[i].title);
      EXPECT_EQ(meta->objects[i].clusters, reference.objects[i].clusters);
      EXPECT_EQ(meta->objects[i].error_message, reference.objects[i].error_message);
    }
  }
  const std::vector<std::byte> bytes = load_bytes(test_path(GetParam()));
  std::vector<std::size_t> cuts;
  for (std::size_t n = 0; n < bytes.size(); n += 97) cuts.push_back(n);
  for (std::size_t k = 1; k <= 3 && k <= bytes.size(); ++k) cuts.push_back(bytes.size() - k);
  for (const std::size_t n : cuts) {
    SCOPED_TRACE(n);
    io::MemoryFileSystem fs;
    fs.add("/mem.root", std::vector<std::byte>(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n)));
    auto f = fs.open("/mem.root");
    ASSERT_TRUE(f.ok());
    auto info = read_root_file(**f);
    auto meta = extract::root::extract(**f, ExtractOptions{});
    ASSERT_EQ(meta.ok(), info.ok());
    if (!info.ok()) {
      EXPECT_EQ(meta.error().kind, info.error().kind);
      EXPECT_EQ(meta.error().message, info.error().message);
    } else {
      FileMeta reference = to_file_meta(*info, true);
      reference.path = (*f)->path();
      reference.size = static_cast<std::int64_t>((*f)->size());
      mpiprep::testing::expect_same(*meta, reference);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllRootFiles, ExpectedRootFile, ::testing::ValuesIn(root_files()),
                         [](const auto& param_info) {
                           std::string n = param_info.param;
                           for (char& ch : n) {
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return n;
                         });

TEST(ExpectedRootFiles, AllSeventeenArePresent) { EXPECT_EQ(root_files().size(), 17u); }

// nano_dy.root: 1499 top-level branches, with clusters; the Events record needs one pread.
TEST(RootReader, NanoAodReadsFewBytes) {
  auto file = open_test_file("nano_dy.root");
  ASSERT_TRUE(file.ok());
  auto info = read_root_file(**file);
  ASSERT_TRUE(info.ok());
  EXPECT_LE(info->reads, 3u);  // header, key list, both tree records (coalesced)
  EXPECT_LT(info->bytes_read, 120u * 1024);
  ASSERT_EQ(info->trees.size(), 2u);
  EXPECT_EQ(info->trees[0].record_bytes, 855138u);
  // Spot checks of readable types (NanoAOD: run/luminosityBlock UInt_t, event ULong64_t).
  auto meta = to_file_meta(*info, true);
  const ObjectMeta* ev = meta.find_object("Events");
  ASSERT_NE(ev, nullptr);
  EXPECT_EQ(ev->columns[0], (Column{"run", "uint32_t"}));
  EXPECT_EQ(ev->columns[2], (Column{"event", "uint64_t"}));
  for (const ColumnView col : ev->columns) {
    if (col.name == "nJet") {
      EXPECT_EQ(col.type, "uint32_t");
    } else if (col.name == "Jet_pt") {
      EXPECT_EQ(col.type, "float[]");
    } else if (col.name == "HLT_IsoMu24") {
      EXPECT_EQ(col.type, "bool");
    }
  }
}

}  // namespace
}  // namespace mpiprep::extract::root
