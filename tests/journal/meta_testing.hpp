// Test helpers: FileMeta built from expected.json (an independent oracle, not our own output),
// synthetic FileMeta with every field set (comparison: common/meta_compare.hpp).
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/meta_compare.hpp"
#include "mpiprep/core/meta.hpp"

namespace mpiprep::testing {

// A FileMeta with every field away from its default, varied by `i`.
inline FileMeta synthetic_meta(int i) {
  FileMeta m;
  m.path = "/lus/proj/data/file_" + std::to_string(i) + ".root";
  m.size = 1'000'000 + i;
  m.mtime_ns = 1'700'000'000'123'456'789 + i;
  m.format = (i % 2 == 0) ? FileFormat::kRoot : FileFormat::kHdf5;
  m.uuid = "a9490124-3648-11ea-89e9-" + std::to_string(100000000000 + i);
  m.compression = "zstd:" + std::to_string(i % 9);
  ObjectMeta tree;
  tree.path = "Events";
  tree.kind = "TTree";
  tree.title = "Events tree " + std::to_string(i);
  tree.cycle = 3;
  tree.num_entries = 40 + i;
  for (int c = 0; c < 5 + i % 7; ++c)
    tree.columns.add("col" + std::to_string(c), c % 2 ? "float" : "vector<float>");
  tree.n_columns_total = 100 + i;
  tree.clusters = {0, 10, 20, 40 + i};
  ObjectMeta ds;
  ds.path = "/grp/ds" + std::to_string(i);
  ds.kind = "dataset";
  ds.num_entries = 8192;
  ds.shape = {8192, 7};
  ds.maxshape = {-1, 7};
  ds.chunks = {1024, 7};
  ds.dtype = "<f4";
  ds.layout = "chunked";
  ds.filters = {{2, "shuffle", {4}}, {32015, "zstd", {3, 0xFFFFFFFFu}}};
  ds.attributes = {"CLASS", "TITLE", std::string("with\0nul", 8)};
  ds.error_kind = ErrorKind::kUnsupportedVersion;
  ds.error_message = "TStreamerInfo v99 at offset 1234";
  m.objects = {tree, ds};
  m.error_kind = i % 5 == 0 ? ErrorKind::kTruncated : ErrorKind::kNone;
  m.error_message = i % 5 == 0 ? "TKey at offset 999 past end" : "";
  m.extract_seconds = 0.001 * i + 1e-9;
  m.bytes_read = 4096u * static_cast<unsigned>(i + 1);
  m.rank = i % 4;
  return m;
}

// A FileMeta whose columns cover the table's edge cases: short and long (> 15 characters)
// names, an empty name and type, a NUL inside a name, a long type; and an object without
// columns.
inline FileMeta columns_golden_meta() {
  FileMeta m;
  m.path = "/g/f.root";
  m.size = 1234;
  m.mtime_ns = 5678;
  m.format = FileFormat::kRoot;
  m.uuid = "u";
  m.compression = "zlib:1";
  m.extract_seconds = 0.25;
  m.bytes_read = 99;
  m.rank = 1;
  ObjectMeta t;
  t.path = "Events";
  t.kind = "TTree";
  t.cycle = 1;
  t.num_entries = 40;
  t.n_columns_total = 5;
  t.columns = {{"run", "uint32_t"},
               {"HLT_Ele32_WPTight_Gsf_L1DoubleEG", "bool"},
               {"", ""},
               {std::string("nul\0in", 6), "vector<vector<float> >"},
               {"Jet_pt", "float[]"}};
  t.clusters = {0, 40};
  ObjectMeta h;
  h.path = "h";
  h.kind = "TH1D";
  m.objects = {t, h};
  return m;
}

// The test files' metadata as the model would hold it, built from expected.json.
inline std::vector<FileMeta> metas_from_expected_json() {
  std::ifstream in(std::string(MPIPREP_TEST_DATA_DIR) + "/expected.json");
  const auto j = nlohmann::json::parse(in);
  std::vector<FileMeta> out;
  for (const auto& [name, f] : j.at("files").items()) {
    FileMeta m;
    m.path = std::string(MPIPREP_TEST_DATA_DIR) + "/" + name;
    m.size = f.at("size").get<std::int64_t>();
    const std::string fmt = f.at("format").get<std::string>();
    m.format = fmt == "root"   ? FileFormat::kRoot
               : fmt == "hdf5" ? FileFormat::kHdf5
                               : FileFormat::kNetcdf3;
    if (f.contains("header")) m.uuid = f["header"].value("fUUID", "");
    if (f.contains("compression") && f["compression"].is_object())
      m.compression = f["compression"].value("algorithm", "");
    if (f.contains("trees")) {
      for (const auto& t : f["trees"]) {
        ObjectMeta o;
        o.path = t.value("path", "");
        o.kind = t.value("className", "TTree");
        o.title = t.value("title", "");
        o.cycle = t.value("cycle", 0);
        o.num_entries = t.value("entries", std::int64_t{-1});
        o.n_columns_total = t.value("nAllBranches", std::int64_t{0});
        if (t.contains("topBranches"))
          for (const auto& b : t["topBranches"])
            o.columns.add(b.value("name", ""), b.value("class", ""));
        m.objects.push_back(std::move(o));
      }
    }
    if (f.contains("datasets")) {
      for (const auto& d : f["datasets"]) {
        ObjectMeta o;
        o.path = d.value("path", "");
        o.kind = "dataset";
        o.shape = d.value("shape", std::vector<std::int64_t>{});
        o.maxshape = d.value("maxshape", std::vector<std::int64_t>{});
        if (d.contains("chunks") && d["chunks"].is_array())
          o.chunks = d["chunks"].get<std::vector<std::int64_t>>();
        o.num_entries = o.shape.empty() ? -1 : o.shape[0];
        o.dtype = d.value("dtype", "");
        o.layout = d.value("layout", "");
        if (d.contains("filters"))
          for (const auto& fl : d["filters"])
            o.filters.push_back({fl.value("id", 0), fl.value("name", ""),
                                 fl.value("params", std::vector<unsigned>{})});
        o.attributes = d.value("attributeNames", std::vector<std::string>{});
        m.objects.push_back(std::move(o));
      }
    }
    if (m.format == FileFormat::kNetcdf3) {
      m.error_kind = ErrorKind::kUnsupportedFormat;
      m.error_message = "NetCDF-3 classic is not HDF5";
    }
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace mpiprep::testing
