// inspect JSON: the keys per object kind, values taken from the FileMeta, and the round trip
// through file_meta_from_json, on real HDF5 extractions and on hand-built ROOT-like metadata.
#include "mpiprep/output/meta_json.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "mpiprep/extract/extractor.hpp"
#include "mpiprep/io/file_system.hpp"
#include "common/meta_compare.hpp"
#include "test_support.hpp"

namespace mpiprep::output {
namespace {

using nlohmann::json;
using testing_support::data_path;
using testing_support::expected_json;

std::set<std::string> keys(const json& j) {
  std::set<std::string> k;
  for (const auto& [key, v] : j.items()) k.insert(key);
  return k;
}

// inspect JSON does not carry mtime, extraction time, bytes read or rank.
void expect_same_file(const FileMeta& a, const FileMeta& b) {
  testing::expect_same(a, b, testing::RunFields::kIgnore);
}

TEST(MetaJson, Hdf5FileShapeMatchesExpectedJsonAndRoundTrips) {
  io::PosixFileSystem fs;
  const std::string name = "indexes_2_0.h5";
  FileMeta m = extract::extract_file(fs, data_path(name), extract::ExtractOptions{});
  ASSERT_TRUE(m.ok()) << m.error_message;
  const json j = to_json(m);

  EXPECT_EQ(keys(j), (std::set<std::string>{"path", "format", "size", "uuid", "objects"}));
  EXPECT_EQ(j["format"], "hdf5");
  EXPECT_EQ(j["path"], data_path(name));
  EXPECT_EQ(j["size"], expected_json()["files"][name]["size"]);
  EXPECT_EQ(j["uuid"], m.uuid);

  // The datasets in JSON carry exactly expected.json's values (chunks null when contiguous).
  const json& exp = expected_json()["files"][name];
  int datasets = 0;
  for (const json& o : j["objects"]) {
    if (o["kind"] == "group") {
      EXPECT_EQ(keys(o), (std::set<std::string>{"path", "kind", "attributes"}));
      continue;
    }
    ASSERT_EQ(o["kind"], "dataset");
    ++datasets;
    EXPECT_EQ(keys(o),
              (std::set<std::string>{"path", "kind", "shape", "maxshape", "dtype", "layout",
                                     "chunks", "filters", "attributes", "num_entries"}));
    for (const json& e : exp["datasets"]) {
      if (e["path"] != o["path"]) continue;
      EXPECT_EQ(o["shape"], e["shape"]);
      EXPECT_EQ(o["maxshape"], e["maxshape"]);
      EXPECT_EQ(o["dtype"], e["dtype"]);
      EXPECT_EQ(o["layout"], e["layout"]);
      EXPECT_EQ(o["chunks"], e["chunks"]);
      EXPECT_EQ(o["filters"], e["filters"]);
      EXPECT_EQ(o["attributes"].size(), e["nAttributes"].get<std::size_t>());
      EXPECT_EQ(o["num_entries"], e["shape"].empty() ? json(-1) : e["shape"][0]);
    }
  }
  EXPECT_EQ(datasets, exp["nDatasets"].get<int>());

  FileMeta back = file_meta_from_json(j);
  expect_same_file(back, m);
  EXPECT_EQ(to_json(back), j);
}

TEST(MetaJson, ContiguousDatasetHasNullChunks) {
  io::PosixFileSystem fs;
  FileMeta m = extract::extract_file(fs, data_path("ref_groups.h5"), extract::ExtractOptions{});
  ASSERT_TRUE(m.ok());
  const json j = to_json(m);
  bool seen = false;
  for (const json& o : j["objects"]) {
    if (o["path"] == "/MyGroup/dset1") {
      seen = true;
      EXPECT_TRUE(o["chunks"].is_null());
      EXPECT_EQ(o["layout"], "contiguous");
      EXPECT_EQ(o["dtype"], ">i4");
      EXPECT_EQ(o["shape"], json::array({3, 3}));
      EXPECT_EQ(o["filters"], json::array());
    }
  }
  EXPECT_TRUE(seen);
  expect_same_file(file_meta_from_json(j), m);
}

FileMeta root_like() {
  FileMeta m;
  m.path = "/data/run1.root";
  m.size = 123456;
  m.format = FileFormat::kRoot;
  m.uuid = "0a1b2c3d-0000-1111-2222-333344445555";
  m.compression = "zstd:5";
  ObjectMeta tree;
  tree.path = "Events";
  tree.kind = "TTree";
  tree.title = "Events";
  tree.cycle = 2;
  tree.num_entries = 1000;
  tree.columns = {{"run", "uint32_t"}, {"Jet_pt", "float[]"}, {"evt", "MyEvent"}};
  tree.n_columns_total = 7;
  tree.clusters = {0, 400, 800, 1000};
  ObjectMeta ntuple;
  ntuple.path = "Staff";
  ntuple.kind = "RNTuple";
  ntuple.cycle = 1;
  ntuple.num_entries = 3354;
  ntuple.columns = {{"Age", "std::int32_t"}};
  ntuple.n_columns_total = 1;
  ntuple.clusters = {0, 3354};
  ObjectMeta hist;
  hist.path = "dir/h1";
  hist.kind = "TH1D";
  hist.cycle = 1;
  ObjectMeta broken;
  broken.path = "Old";
  broken.kind = "TTree";
  broken.cycle = 1;
  broken.error_kind = ErrorKind::kUnsupportedVersion;
  broken.error_message = "TTree class version 99 at offset 1234";
  m.objects = {tree, ntuple, hist, broken};
  return m;
}

TEST(MetaJson, RootObjectsHaveTheirKeys) {
  const FileMeta m = root_like();
  const json j = to_json(m);
  EXPECT_EQ(keys(j),
            (std::set<std::string>{"path", "format", "size", "uuid", "compression", "objects"}));
  EXPECT_EQ(j["format"], "root");
  EXPECT_EQ(j["compression"], "zstd:5");
  const json& tree = j["objects"][0];
  EXPECT_EQ(keys(tree), (std::set<std::string>{"path", "cycle", "kind", "title", "num_entries",
                                               "branches", "n_branches_total", "clusters"}));
  EXPECT_EQ(tree["branches"][1], (json{{"name", "Jet_pt"}, {"type", "float[]"}}));
  EXPECT_EQ(tree["n_branches_total"], 7);
  EXPECT_EQ(tree["clusters"], json::array({0, 400, 800, 1000}));
  EXPECT_EQ(tree["cycle"], 2);
  const json& nt = j["objects"][1];
  EXPECT_EQ(keys(nt), (std::set<std::string>{"path", "cycle", "kind", "title", "num_entries",
                                             "fields", "n_fields_total", "clusters"}));
  EXPECT_EQ(nt["fields"][0]["type"], "std::int32_t");
  EXPECT_EQ(keys(j["objects"][2]), (std::set<std::string>{"path", "cycle", "kind"}));
  EXPECT_EQ(j["objects"][2]["kind"], "TH1D");
  const json& broken = j["objects"][3];
  EXPECT_EQ(broken["error"]["kind"], "unsupported_version");
  EXPECT_EQ(broken["error"]["message"], "TTree class version 99 at offset 1234");

  expect_same_file(file_meta_from_json(j), m);
}

TEST(MetaJson, FailedFileCarriesItsError) {
  io::PosixFileSystem fs;
  FileMeta m = extract::extract_file(fs, data_path("CRM032_test1.nc"), extract::ExtractOptions{});
  const json j = to_json(m);
  ASSERT_TRUE(j.contains("error"));
  EXPECT_EQ(j["error"]["kind"], "unsupported_format");
  EXPECT_EQ(j["error"]["message"], m.error_message);
  EXPECT_EQ(j["format"], "netcdf3");
  EXPECT_EQ(j["objects"], json::array());
  FileMeta back = file_meta_from_json(j);
  EXPECT_EQ(back.error_kind, ErrorKind::kUnsupportedFormat);
  EXPECT_FALSE(back.ok());
  expect_same_file(back, m);
}

TEST(MetaJson, MalformedInputThrows) {
  EXPECT_THROW((void)file_meta_from_json(json{{"size", "not a number"}}), json::exception);
  EXPECT_THROW((void)file_meta_from_json(json{{"objects", json::array({json{{"cycle", "x"}}})}}),
               json::exception);
  FileMeta empty = file_meta_from_json(json::object());
  EXPECT_TRUE(empty.ok());
  EXPECT_TRUE(empty.objects.empty());
}

}  // namespace
}  // namespace mpiprep::output
