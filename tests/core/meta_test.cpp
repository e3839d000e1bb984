#include <gtest/gtest.h>

#include "mpiprep/core/meta.hpp"

namespace mpiprep {
namespace {

FileMeta sample() {
  FileMeta f;
  f.objects.push_back({.path = "h", .kind = "TH1D", .cycle = 1});
  f.objects.push_back({.path = "##Params", .kind = "TTree", .cycle = 1, .num_entries = 1});
  f.objects.push_back({.path = "##Params", .kind = "TTree", .cycle = 2, .num_entries = 2});
  f.objects.push_back({.path = "one/two/tree", .kind = "TTree", .cycle = 1, .num_entries = 3});
  return f;
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
