// Collective commit over the MPI communicator, with parallel HDF5 (MPI-IO, collective
// transfers) and with the serial fallback: the cache rank 0 loads back is identical to what it
// committed, and every rank gets the same report.
#include <gtest/gtest.h>

#include <filesystem>

#include "cache_test_support.hpp"
#include "mpiprep/comm/mpi_communicator.hpp"

namespace mpiprep::cache {
namespace {
namespace fs = std::filesystem;

// Rank 0 makes a directory and shares its name; removed at the end by rank 0.
std::string shared_dir(comm::Communicator& comm) {
  comm::Bytes b;
  if (comm.rank() == 0) {
    std::string tmpl = std::string(MPIPREP_BINARY_DIR) + "/tmp-cache-mpi-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp");
    b.assign(reinterpret_cast<const std::byte*>(tmpl.data()),
             reinterpret_cast<const std::byte*>(tmpl.data() + tmpl.size()));
  }
  comm.bcast(b, 0);
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

std::vector<FileMeta> content(int n_files) {
  std::vector<FileMeta> metas;
  auto nano = testing::expected_root_meta("nano_dy.root", "/data/nano_dy.root");
  for (int i = 0; i < n_files; ++i) {
    FileMeta m = nano;
    m.path = "/store/nano/file_" + std::to_string(i) + ".root";
    m.size += i;
    m.objects[0].num_entries = 40 + i;
    metas.push_back(std::move(m));
  }
  metas.push_back(testing::expected_hdf5_meta("test_gold.nc", "/data/test_gold.nc"));
  metas.push_back(testing::make_hdf5_file("/data/h.h5", 3));
  metas.push_back(testing::make_failed_file("/data/bad.root", ErrorKind::kTruncated, 4));
  return metas;
}

class MpiCommit : public ::testing::TestWithParam<CacheIo> {};

TEST_P(MpiCommit, LoadsBackIdenticalOnRankZero) {
  auto comm = comm::make_mpi_world_communicator();
  const std::string dir = shared_dir(*comm);
  const std::string path = dir + "/cache.h5";
  // Enough files that the big tables are chunked and compressed (parallel filtered writes).
  const auto metas = content(3000);
  CommitOptions opts;
  opts.io = GetParam();

  Cache c(&testing::test_versions);
  if (comm->rank() == 0)
    for (const auto& m : metas) c.put(m, 5);
  CommitReport rep = commit(*comm, c, path, opts);
  EXPECT_EQ(rep.files, metas.size());
  EXPECT_EQ(rep.generation, 1u);
  EXPECT_EQ(rep.schemas, 2u);  // nano Events and Runs; the HDF5 files have no columns
  EXPECT_EQ(rep.parallel, GetParam() == CacheIo::kParallel);

  // Every rank got the same report.
  comm::Bytes mine = comm::to_bytes(rep.checksum);
  auto all = comm->gather(mine, 0);
  if (comm->rank() == 0) {
    for (const auto& b : all) EXPECT_EQ(comm::from_bytes<std::uint64_t>(b), rep.checksum);
  }

  // Second commit on top: generation 2, with one more row.
  if (comm->rank() == 0) c.put(testing::make_hdf5_file("/data/late.h5", 9), 5);
  CommitReport rep2 = commit(*comm, c, path, opts);
  EXPECT_EQ(rep2.generation, 2u);
  EXPECT_EQ(rep2.files, metas.size() + 1);

  if (comm->rank() == 0) {
    auto loaded = Cache::load(path, {}, &testing::test_versions);
    ASSERT_EQ(loaded.report.status, LoadStatus::kLoaded) << loaded.report.reason;
    EXPECT_EQ(loaded.report.generation, 2u);
    EXPECT_EQ(loaded.cache.size(), metas.size() + 1);
    for (const auto& m : metas) {
      auto got = loaded.cache.lookup(m.path, m.size, m.mtime_ns, 5);
      ASSERT_TRUE(got.has_value()) << m.path;
      testing::expect_same(*got, m);
    }
    EXPECT_TRUE(verify(path).ok());
    std::vector<std::string> leftovers;
    for (const auto& e : fs::directory_iterator(dir))
      if (e.path().filename() != "cache.h5") leftovers.push_back(e.path().filename());
    EXPECT_TRUE(leftovers.empty()) << ::testing::PrintToString(leftovers);
    std::printf(
        "[ measure  ] %s commit of %zu files on %d ranks: %.1f ms (write %.1f ms), "
        "%llu bytes\n",
        GetParam() == CacheIo::kParallel ? "parallel" : "serial", rep.files, comm->size(),
        rep.seconds * 1e3, rep.write_seconds * 1e3,
        static_cast<unsigned long long>(rep.file_bytes));
  }
  comm->barrier();
  if (comm->rank() == 0 && std::getenv("MPIPREP_KEEP_TEST_CACHE") == nullptr) fs::remove_all(dir);
}

TEST_P(MpiCommit, UnwritableDirectoryIsFatalOnEveryRank) {
  auto comm = comm::make_mpi_world_communicator();
  Cache c(&testing::test_versions);
  if (comm->rank() == 0) c.put(testing::make_hdf5_file("/data/h.h5", 1), 0);
  CommitOptions opts;
  opts.io = GetParam();
  EXPECT_THROW(commit(*comm, c, "/nonexistent-dir-for-mpiprep-tests/cache.h5", opts), FatalError);
  comm->barrier();  // nobody is stuck in a collective
}

INSTANTIATE_TEST_SUITE_P(IoModes, MpiCommit,
                         ::testing::Values(CacheIo::kParallel, CacheIo::kSerial),
                         [](const auto& p) {
                           return p.param == CacheIo::kParallel ? "parallel" : "serial";
                         });

}  // namespace
}  // namespace mpiprep::cache
