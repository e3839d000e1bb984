// Shared helpers for the cache tests: temp directories, FileMeta generators with every field
// populated, FileMetas built from tests/data/expected.json (an independent oracle), and a
// field-by-field comparison.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "mpiprep/cache/cache.hpp"
#include "common/meta_compare.hpp"
#include "mpiprep/core/meta.hpp"

namespace mpiprep::cache::testing {

using mpiprep::testing::expect_same;  // tests/common/meta_compare.hpp

// A fresh directory under the build tree, removed (recursively) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] std::string file(const std::string& name) const { return path_ + "/" + name; }
  // Names in the directory, sorted.
  [[nodiscard]] std::vector<std::string> list() const;

 private:
  std::string path_;
};

// Extractor versions for tests: fixed, and "upgraded" for ROOT only.
int test_versions(FileFormat f) noexcept;
int test_versions_root_bumped(FileFormat f) noexcept;

// n columns with names and types that depend on `variant` (same variant -> same schema).
Columns make_columns(int n, int variant = 0);

// A ROOT-like file: two TTrees (one with `columns`), a histogram with an object error,
// clusters, uuid, compression, timing. Every FileMeta field is set.
FileMeta make_root_file(const std::string& path, const Columns& columns, int seed);
// An HDF5-like file: chunked datasets with filters (names, params), maxshape -1, attributes,
// a group, a contiguous dataset, an object error.
FileMeta make_hdf5_file(const std::string& path, int seed);
// A failed file.
FileMeta make_failed_file(const std::string& path, ErrorKind kind, int seed);

// From expected.json: nano_dy.root's trees (Events with its 1,499 branch names, Runs) and an
// HDF5 file's datasets and groups exactly as h5py reported them.
FileMeta expected_root_meta(const std::string& data_file, const std::string& path);
FileMeta expected_hdf5_meta(const std::string& data_file, const std::string& path);
std::string test_data_dir();

// Drops filesystem privileges for this thread (root's CAP_DAC_OVERRIDE and CAP_FOWNER would
// otherwise ignore modes and sticky bits); a no-op when not running as root.
class AsNobody {
 public:
  AsNobody();
  ~AsNobody();
  AsNobody(const AsNobody&) = delete;
  AsNobody& operator=(const AsNobody&) = delete;
  [[nodiscard]] bool active() const { return root_; }

 private:
  bool root_;
  unsigned prev_uid_ = 0, prev_gid_ = 0;
};

// EXPECT_EQ on every field of FileMeta / ObjectMeta.

// Bytes of a file / write bytes.
std::vector<char> read_bytes(const std::string& path);
void write_bytes(const std::string& path, const std::vector<char>& bytes);

}  // namespace mpiprep::cache::testing
