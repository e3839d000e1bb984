// Writes a known cache for tests/cache/read_cache.py (h5py, no mpiprep code):
//   cache_fixture_writer <output.h5> <tests/data directory>
// 100 NanoAOD-like files sharing the nano_dy.root Events/Runs schemas from expected.json, the
// HDF5 datasets of indexes_2_0.h5 from expected.json, and one failed file.
#include <cstdio>
#include <exception>
#include <string>

#include "cache_test_support.hpp"
#include "mpiprep/comm/communicator.hpp"

int main(int argc, char** argv) {
  using namespace mpiprep;
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <output.h5>\n", argv[0]);
    return 2;
  }
  try {
    std::remove(argv[1]);  // a fresh cache every time: generation 1, nothing merged
    cache::Cache c(&cache::testing::test_versions);
    const FileMeta nano = cache::testing::expected_root_meta("nano_dy.root", "");
    for (int i = 0; i < 100; ++i) {
      FileMeta m = nano;
      char name[64];
      std::snprintf(name, sizeof name, "/data/nano/file_%03d.root", i);
      m.path = name;
      m.mtime_ns = 1700000000000000000LL + i;
      c.put(std::move(m), 0x1234);
    }
    c.put(cache::testing::expected_hdf5_meta("indexes_2_0.h5", "/data/indexes_2_0.h5"), 0x1234);
    c.put(cache::testing::make_failed_file("/data/classic.nc", ErrorKind::kUnsupportedFormat, 1),
          0x1234);
    comm::SerialCommunicator comm;
    auto rep = cache::commit(comm, c, argv[1]);
    std::printf("wrote %s: %zu files, %zu schemas, %llu bytes\n", argv[1], rep.files, rep.schemas,
                static_cast<unsigned long long>(rep.file_bytes));
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cache_fixture_writer: %s\n", e.what());
    return 1;
  }
}
