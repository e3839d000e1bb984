// A small real fileset for end-to-end scans: copies of test files (ROOT with several codecs
// and nested directories, an RNTuple, HDF5 and NetCDF-4, and a NetCDF-3 file that must fail)
// in a fresh directory, with a coffea fileset JSON naming their trees and datasets.
#pragma once

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace mpiprep::testing {

struct FixtureFile {
  const char* dataset;
  const char* name;
  const char* object_path;  // nullptr: no object path
};

inline const std::vector<FixtureFile>& fixture_files() {
  static const std::vector<FixtureFile> files = {
      {"dy", "nano_dy.root", "Events"},
      {"hzz", "uproot-HZZ.root", "events"},
      {"hzz", "uproot-HZZ-lz4.root", "events"},
      {"hzz", "uproot-HZZ-zstd.root", "events"},
      {"hzz", "uproot-HZZ-lzma.root", "events"},
      {"zmumu", "uproot-Zmumu.root", nullptr},
      {"nested", "uproot-nesteddirs.root", "one/two/tree"},
      {"ntuple", "ntpl001_staff_rntuple_v1-0-0-0.root", "Staff"},
      {"h5", "pylhe-testfile-hpcgen.hdf5", "/events"},
      {"h5", "issue672.nc", "/azi_angle_trip"},
      {"h5", "test_gold.nc", nullptr},
      {"h5", "CRM032_test1.nc", nullptr},  // NetCDF-3: unsupported_format
  };
  return files;
}

// Copies the files into dir/data and writes dir/fileset.json; returns the fileset path.
inline std::string make_fixture(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  fs::remove_all(dir);
  fs::create_directories(dir / "data");
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const auto& f : fixture_files()) {
    fs::copy_file(fs::path(MPIPREP_TEST_DATA_DIR) / f.name, dir / "data" / f.name);
    auto path = (dir / "data" / f.name).string();
    if (!j.contains(f.dataset)) j[f.dataset] = {{"files", nlohmann::ordered_json::object()}};
    j[f.dataset]["files"][path] =
        f.object_path ? nlohmann::ordered_json(f.object_path) : nlohmann::ordered_json(nullptr);
  }
  auto fileset = (dir / "fileset.json").string();
  std::ofstream(fileset) << j.dump(2);
  return fileset;
}

inline std::string slurp(const std::string& path) {
  std::string s;
  if (std::FILE* f = std::fopen(path.c_str(), "rb")) {
    char buf[65536];
    std::size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
    std::fclose(f);
  }
  return s;
}

inline nlohmann::json expected_json() {
  return nlohmann::json::parse(slurp(std::string(MPIPREP_TEST_DATA_DIR) + "/expected.json"));
}

}  // namespace mpiprep::testing
