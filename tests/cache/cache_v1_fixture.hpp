// The content of tests/data/cache-v1.h5: a cache in format version 1, written by the v1 writer
// (mpiprep at commit 577f565, before the object-set layout of version 2) from exactly these
// FileMetas, with options hash kV1Options and test_versions() extractor versions. The v1
// compatibility test loads that file with the current reader and compares every row with
// these metas field by field. The metas are built from deterministic generators and from
// expected.json, so they never change; if a generator in cache_test_support.cpp changes,
// the test fails and says so (re-writing the v1 file needs the v1 writer, so keep them fixed).
#pragma once

#include <string>
#include <vector>

#include "cache_test_support.hpp"

namespace mpiprep::cache::testing {

inline constexpr std::uint64_t kV1Options = 0x5eed;

inline std::vector<FileMeta> v1_fixture_metas() {
  std::vector<FileMeta> metas;
  const auto cols = make_columns(40);
  for (int i = 0; i < 4; ++i)
    metas.push_back(make_root_file("/v1/root/r" + std::to_string(i) + ".root", cols, i));
  for (int i = 0; i < 4; ++i)
    metas.push_back(make_hdf5_file("/v1/hdf5/h" + std::to_string(i) + ".h5", i));
  metas.push_back(make_failed_file("/v1/bad/corrupt.root", ErrorKind::kCorrupt, 1));
  metas.push_back(make_failed_file("/v1/bad/classic.nc", ErrorKind::kUnsupportedFormat, 2));
  metas.push_back(make_failed_file("/v1/bad/io.root", ErrorKind::kIo, 3));
  metas.push_back(expected_root_meta("nano_dy.root", "/v1/real/nano_dy.root"));
  metas.push_back(expected_root_meta("uproot-HZZ.root", "/v1/real/HZZ.root"));
  metas.push_back(expected_root_meta("uproot-nesteddirs.root", "/v1/real/nested.root"));
  metas.push_back(expected_hdf5_meta("indexes_2_0.h5", "/v1/real/indexes_2_0.h5"));
  metas.push_back(expected_hdf5_meta("test_gold.nc", "/v1/real/test_gold.nc"));
  metas.push_back(expected_hdf5_meta("issue672.nc", "/v1/real/issue672.nc"));
  FileMeta empty;  // no objects, empty strings, extreme values
  empty.path = "/v1/\xc3\xa9t\xc3\xa9 with spaces/\xe2\x9c\x93.root";
  empty.size = 0;
  empty.mtime_ns = -1;
  empty.bytes_read = ~std::uint64_t{0};
  empty.extract_seconds = 1e-300;
  empty.rank = -1;
  metas.push_back(empty);
  return metas;
}

}  // namespace mpiprep::cache::testing
