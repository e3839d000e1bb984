// Column types as to_file_meta builds them (a fixed buffer, the bracket scan in words)
// against branch_type_name()/leaf_type_name() (std::string) and against a plain
// reimplementation of the title rule: every test file's columns, brackets at every position
// of titles and names of every length, and types too long for the fixed buffer.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "mpiprep/extract/root/reader.hpp"
#include "root_test_util.hpp"

namespace mpiprep::extract::root {
namespace {

// Also the cluster boundaries, which to_file_meta intersects in its pass over the columns
// when every branch is top-level.
TEST(ColumnTypes, EveryTestFileColumnIsItsBranchTypeName) {
  std::size_t columns = 0;
  for (const std::string& name : root_test_files()) {
    SCOPED_TRACE(name);
    auto info = read_test_file(name);
    ASSERT_TRUE(info.ok()) << info.error().to_string();
    const FileMeta meta = to_file_meta(*info, true);
    for (const TreeInfo& t : info->trees) {
      const ObjectMeta& o = meta.objects.at(t.key_index);
      EXPECT_EQ(o.clusters, common_entry_offsets(t));
      ASSERT_EQ(o.columns.size(), t.top.size());
      for (std::size_t i = 0; i < t.top.size(); ++i) {
        const BranchInfo& b = t.branches[t.top[i]];
        EXPECT_EQ(o.columns[i].name, b.name);
        EXPECT_EQ(o.columns[i].type, branch_type_name(t, b)) << b.name;
        ++columns;
      }
    }
  }
  EXPECT_GT(columns, 1600u);
}

// The rule of leaf_type_name for a TLeafF, written plainly: the dimensions of the title from
// its first '[' (else of the name), if they agree with fLen and the leaf count.
std::string plain_float_type(const std::string& title, const std::string& name, std::int32_t len,
                             bool has_count) {
  std::string t = title;
  std::size_t p = t.find('[');
  if (p == std::string::npos) {
    t = name;
    p = t.find('[');
  }
  if (p != std::string::npos) {
    std::string dims;
    std::int64_t product = 1;
    int variable = 0;
    bool bad = false;
    while (p < t.size() && t[p] == '[') {
      const std::size_t close = t.find(']', p);
      if (close == std::string::npos) {
        bad = true;
        break;
      }
      const std::string inner = t.substr(p + 1, close - p - 1);
      const bool number = !inner.empty() && inner.find_first_not_of("0123456789") == std::string::npos &&
                          inner.size() < 10 && std::stoll(inner) > 0;
      if (number) {
        product *= std::stoll(inner);
        dims += "[" + inner + "]";
      } else {
        ++variable;
        dims += "[]";
      }
      p = close + 1;
    }
    if (!bad && variable == (has_count ? 1 : 0) && product == std::max(len, 1) && !dims.empty()) {
      return "float" + dims;
    }
  }
  std::string out = "float";
  if (has_count) out += "[]";
  if (len > 1) out += "[" + std::to_string(len) + "]";
  return out;
}

// One TBranch with one TLeafF in a hand-built tree, condensed by to_file_meta.
struct OneLeafTree {
  std::string name, title;  // own the bytes the views point into
  RootFileInfo info;

  OneLeafTree(std::string leaf_name, std::string leaf_title, std::int32_t len, bool has_count)
      : name(std::move(leaf_name)), title(std::move(leaf_title)) {
    KeyInfo k;
    k.path = k.name = "T";
    k.class_name = "TTree";
    k.cycle = 1;
    info.keys.push_back(k);
    TreeInfo t;
    t.key_index = 0;
    t.path = "T";
    t.cycle = 1;
    t.class_name = "TTree";
    BranchInfo b;
    b.class_name = "TBranch";
    b.name = name;
    b.leaf_begin = 0;
    b.leaf_count = 1;
    t.branches.push_back(b);
    t.top.push_back(0);
    LeafInfo l;
    l.class_name = "TLeafF";
    l.name = name;
    l.title = title;
    l.len = len;
    l.has_leaf_count = has_count;
    t.leaves.push_back(l);
    t.leaf_index.push_back(0);
    t.all_branches_reachable = true;
    info.trees.push_back(std::move(t));
  }
  std::string column_type() const { return std::string(to_file_meta(info, false).objects.at(0).columns.at(0).type); }
  std::string leaf_type() const { return leaf_type_name(info.trees[0].leaves[0]); }
};

TEST(ColumnTypes, BracketAtEveryPositionOfEveryLength) {
  int checked = 0;
  for (std::size_t size = 0; size <= 70; ++size) {
    for (std::size_t at = 0; at <= size; ++at) {
      // A title of `size` letters with "[2][3]" inserted at `at` (found, "float[2][3]"; a
      // bracket missed gives "float[6]"); and the same without a bracket, the dimensions then
      // in the name.
      std::string letters(size, 'x');
      for (std::size_t i = 0; i < size; ++i) letters[i] = static_cast<char>('a' + (i * 7) % 26);
      const std::string with = letters.substr(0, at) + "[2][3]" + letters.substr(at);
      for (const auto& [name, title] : {std::pair{std::string("leaf"), with}, std::pair{with, letters}}) {
        for (const std::int32_t len : {1, 6}) {
          for (const bool count : {false, true}) {
            const OneLeafTree t(name, title, len, count);
            const std::string want = plain_float_type(title, name, len, count);
            ASSERT_EQ(t.column_type(), want) << "name " << name << " title " << title << " len " << len;
            ASSERT_EQ(t.leaf_type(), want);
            ++checked;
          }
        }
      }
    }
  }
  EXPECT_GT(checked, 20000);
  // No bracket anywhere, and a variable dimension.
  EXPECT_EQ(OneLeafTree("Jet_pt", "Jet_pt", 1, true).column_type(), "float[]");
  EXPECT_EQ(OneLeafTree("Jet_pt", "transverse momentum of the jet (GeV)", 1, true).column_type(), "float[]");
  EXPECT_EQ(OneLeafTree("m", "m[nMuon][4]", 4, true).column_type(), "float[][4]");
  EXPECT_EQ(OneLeafTree("m", "m[2][3]", 6, false).column_type(), "float[2][3]");
  EXPECT_EQ(OneLeafTree("m", "m[2][3]", 5, false).column_type(), "float[5]");  // disagrees with fLen
  // A dimension is a number as from_chars reads one: digits only, below 2^30; kept verbatim.
  EXPECT_EQ(OneLeafTree("m", "m[007][x]", 7, true).column_type(), "float[007][]");
  EXPECT_EQ(OneLeafTree("m", "m[+3][x]", 3, true).column_type(), "float[][3]");
  EXPECT_EQ(OneLeafTree("m", "m[ 3][x]", 3, true).column_type(), "float[][3]");
  EXPECT_EQ(OneLeafTree("m", "m[3 ][x]", 3, true).column_type(), "float[][3]");
  EXPECT_EQ(OneLeafTree("m", "m[-3][x]", 3, true).column_type(), "float[][3]");
  EXPECT_EQ(OneLeafTree("m", "m[1073741823][x]", 1073741823, true).column_type(), "float[1073741823][]");
  EXPECT_EQ(OneLeafTree("m", "m[1073741824][x]", 1073741824, true).column_type(), "float[][1073741824]");
  EXPECT_EQ(OneLeafTree("m", "m[99999999999999999999][x]", 5, true).column_type(), "float[][5]");
  EXPECT_EQ(OneLeafTree("m", "m[3", 3, false).column_type(), "float[3]");  // no ']'
  EXPECT_EQ(OneLeafTree("m", "m[2]x[3]", 2, false).column_type(), "float[2]");  // stops at 'x'
}

TEST(ColumnTypes, TypesLongerThanTheBufferAreWhole) {
  // Leaf-list branches ("struct{...}") and long class names do not fit 64 characters.
  for (const std::size_t leaves : {1u, 2u, 5u, 12u}) {
    OneLeafTree t("b", "b", 1, false);
    TreeInfo& tree = t.info.trees[0];
    std::vector<std::string> names;
    names.reserve(leaves);
    for (std::size_t i = 0; i < leaves; ++i) names.push_back("a_rather_long_leaf_name_" + std::to_string(i));
    tree.leaves.clear();
    tree.leaf_index.clear();
    for (std::size_t i = 0; i < leaves; ++i) {
      LeafInfo l;
      l.class_name = i % 2 == 0 ? "TLeafD" : "TLeafI";
      l.name = names[i];
      l.title = names[i];
      l.len = static_cast<std::int32_t>(i + 1);
      tree.leaves.push_back(l);
      tree.leaf_index.push_back(static_cast<std::uint32_t>(i));
    }
    tree.branches[0].leaf_count = static_cast<std::uint32_t>(leaves);
    const std::string want = branch_type_name(tree, tree.branches[0]);
    EXPECT_EQ(t.column_type(), want);
    if (leaves > 1) {
      EXPECT_GT(want.size(), 64u);
    }
  }
  const std::string cls = "std::map<std::string,std::vector<std::pair<ROOT::Math::XYZVector,double>>>";
  OneLeafTree t("obj", "obj", 1, false);
  BranchInfo& b = t.info.trees[0].branches[0];
  b.class_name = "TBranchElement";
  b.element_class = cls;
  b.element_id = -1;
  EXPECT_EQ(t.column_type(), cls);
}

}  // namespace
}  // namespace mpiprep::extract::root
