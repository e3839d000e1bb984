#include <gtest/gtest.h>

#include "mpiprep/core/meta.hpp"

#include <algorithm>
#include <iterator>
#include <ranges>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace mpiprep {
namespace {
using namespace std::string_literals;

FileMeta sample() {
  FileMeta f;
  f.objects.push_back({.path = "h", .kind = "TH1D", .cycle = 1});
  f.objects.push_back({.path = "##Params", .kind = "TTree", .cycle = 1, .num_entries = 1});
  f.objects.push_back({.path = "##Params", .kind = "TTree", .cycle = 2, .num_entries = 2});
  f.objects.push_back({.path = "one/two/tree", .kind = "TTree", .cycle = 1, .num_entries = 3});
  return f;
}

static_assert(std::random_access_iterator<Columns::iterator>);
static_assert(std::ranges::random_access_range<const Columns>);

TEST(Columns, AddViewsAndIterate) {
  Columns c;
  EXPECT_TRUE(c.empty());
  EXPECT_EQ(c.size(), 0u);
  EXPECT_EQ(c.begin(), c.end());
  EXPECT_EQ(c.text(), "");
  const std::string long_name(300, 'x');
  c.reserve(3, 20);
  c.add("run", "uint32_t");
  c.add(long_name, "vector<vector<float> >");
  c.add("", "");
  ASSERT_EQ(c.size(), 3u);
  EXPECT_FALSE(c.empty());
  EXPECT_EQ(c[0].name, "run");
  EXPECT_EQ(c[0].type, "uint32_t");
  EXPECT_EQ(c[1].name, long_name);
  EXPECT_EQ(c[1].type, "vector<vector<float> >");
  EXPECT_EQ(c[2], (Column{"", ""}));
  EXPECT_EQ(c.front(), (Column{"run", "uint32_t"}));
  EXPECT_EQ(c.back().name, "");
  EXPECT_EQ(c.at(1).name.size(), 300u);
  EXPECT_THROW((void)c.at(3), std::out_of_range);
  EXPECT_EQ(c.text(), "run\0uint32_t\0"s + long_name + '\0' + "vector<vector<float> >\0\0\0"s);
  std::vector<std::string> names;
  for (const ColumnView v : c) names.emplace_back(v.name);
  EXPECT_EQ(names, (std::vector<std::string>{"run", long_name, ""}));
  EXPECT_EQ(c.end() - c.begin(), 3);
  EXPECT_EQ((c.begin() + 1)->type, "vector<vector<float> >");
  EXPECT_EQ(c.begin()[2].type, "");
  EXPECT_EQ(std::ranges::find(c, ColumnView{"", ""}) - c.begin(), 2);
  c.clear();
  EXPECT_TRUE(c.empty());
  EXPECT_EQ(c, Columns{});
}

TEST(Columns, NulBytesInsideNamesAreData) {
  // Same text ("a\0b\0c\0"), different columns: the offsets tell them apart.
  Columns a, b;
  a.add("a\0b"s, "c");
  b.add("a", "b\0c"s);
  EXPECT_EQ(a.text(), b.text());
  EXPECT_NE(a, b);
  EXPECT_EQ(a[0].name, "a\0b"s);
  EXPECT_EQ(a[0].type, "c");
  EXPECT_EQ(b[0].name, "a");
  EXPECT_EQ(b[0].type, "b\0c"s);
}

TEST(Columns, InitializerListCopyCompareSwap) {
  const Columns c = {{"run", "uint32_t"}, {"Jet_pt_with_a_long_name", "float[]"}};
  Columns d;
  d.add("run", "uint32_t");
  d.add("Jet_pt_with_a_long_name", "float[]");
  EXPECT_EQ(c, d);
  Columns copy = c;
  EXPECT_EQ(copy, c);
  copy.add("x", "bool");
  EXPECT_NE(copy, c);
  Columns other = {{"run", "uint32_t"}, {"Jet_pt_with_a_long_name", "float"}};
  EXPECT_NE(other, c);
  EXPECT_NE((Columns{{"run", "uint32_t"}}), c);  // a prefix is not equal
  Columns moved = std::move(copy);
  EXPECT_EQ(moved.size(), 3u);
  Columns empty;
  swap(moved, empty);
  EXPECT_TRUE(moved.empty());
  EXPECT_EQ(empty.size(), 3u);
  empty.shrink_to_fit();
  EXPECT_EQ(empty[2], (Column{"x", "bool"}));
  // Column and ColumnView compare both ways.
  const Column col{"run", "uint32_t"};
  EXPECT_TRUE(c[0] == col);
  EXPECT_TRUE(col == c[0]);
  EXPECT_FALSE(c[1] == col);
  EXPECT_EQ(static_cast<ColumnView>(col), c[0]);
  std::ostringstream os;
  os << c[0];
  EXPECT_EQ(os.str(), "{\"run\", \"uint32_t\"}");
}

TEST(Columns, ObjectMetaCopiesItsColumns) {
  ObjectMeta o;
  o.columns = {{"a_name_longer_than_fifteen", "int32_t"}};
  ObjectMeta p = o;
  o.columns.add("b", "float");
  EXPECT_EQ(p.columns.size(), 1u);
  EXPECT_EQ(p.columns[0].name, "a_name_longer_than_fifteen");
  EXPECT_EQ(o.columns.size(), 2u);
}

TEST(FileMeta, FindObjectPicksHighestCycleUnlessOneIsNamed) {
  auto f = sample();
  ASSERT_NE(f.find_object("##Params"), nullptr);
  EXPECT_EQ(f.find_object("##Params")->num_entries, 2);
  EXPECT_EQ(f.find_object("##Params;1")->num_entries, 1);
  EXPECT_EQ(f.find_object("/one/two/tree")->num_entries, 3);
  EXPECT_EQ(f.find_object("missing"), nullptr);
  EXPECT_EQ(f.find_object("##Params;7"), nullptr);
}

TEST(FileMeta, FirstTreeSkipsNonTrees) {
  auto f = sample();
  ASSERT_NE(f.first_tree(), nullptr);
  EXPECT_EQ(f.first_tree()->path, "##Params");
  EXPECT_EQ(f.first_tree()->cycle, 1);
}

TEST(FileFormat, NamesRoundTrip) {
  for (auto f : {FileFormat::kUnknown, FileFormat::kRoot, FileFormat::kHdf5, FileFormat::kNetcdf3,
                 FileFormat::kParquet})
    EXPECT_EQ(format_from_name(format_name(f)), f);
}

}  // namespace
}  // namespace mpiprep
