// Crash-safe commit through the io layer (issue 5, promise 3): the serial commit path writes,
// fsyncs, renames and fsyncs the directory through io::FileSystem, so
//  - a fault-injecting file system fails the k-th write-side operation (ENOSPC, EIO) for every
//    k of a commit: the commit fails with a clear error (path, kind, reason), exit code 2, no
//    temp or lock file is left and the old cache is intact;
//  - a power-loss file system rebuilds the directory as a crash right after any operation of
//    a commit would leave it (unsynced data dropped, unsynced renames undone, and two milder
//    variants): the cache there always loads, verifies and is the old or the new one.
// The parallel (MPI-IO) path is covered by cache_mpi_test and the SIGKILL tests.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "../cache/cache_test_support.hpp"
#include "mpiprep/cache/cache.hpp"
#include "mpiprep/comm/communicator.hpp"
#include "mpiprep/io/file_system.hpp"
#include "power_loss_fs.hpp"

namespace mpiprep::cache {
namespace {
namespace fs = std::filesystem;
using mpiprep::testing::PowerLossFileSystem;
using testing::TempDir;

FileMeta row(int batch, int k) {
  return testing::make_root_file(
      "/data/batch" + std::to_string(batch) + "/file" + std::to_string(k) + ".root",
      testing::make_columns(20, k % 3), batch * 100000 + k);
}

CommitOptions options(io::FileSystem& fs) {
  CommitOptions o;
  o.io = CacheIo::kSerial;
  o.fs = &fs;
  o.write_chunk_bytes = 16 << 10;  // several writes per commit
  o.lock_wait = std::chrono::seconds(5);
  return o;
}

Cache::Loaded load(const std::string& path) {
  LoadOptions lo;
  lo.move_aside = false;
  return Cache::load(path, lo, &testing::test_versions);
}

// Loads `path`, adds `rows` rows of `batch`, commits through `fs`.
CommitReport add_and_commit(const std::string& path, int batch, int rows, io::FileSystem& fs) {
  auto l = load(path);
  EXPECT_TRUE(l.report.status == LoadStatus::kLoaded || l.report.status == LoadStatus::kMissing)
      << l.report.reason;
  for (int k = 0; k < rows; ++k) l.cache.put(row(batch, k), 0);
  comm::SerialCommunicator comm;
  return commit(comm, l.cache, path, options(fs));
}

// Names of temp and lock files in a directory.
std::vector<std::string> leftovers(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string n = e.path().filename();
    if (n.find(".tmp-") != std::string::npos || n.find(".lock") != std::string::npos)
      out.push_back(n);
  }
  return out;
}

// What is on disk at `path`: loaded? and its checksum (0 if not loadable).
struct Seen {
  bool loaded = false;
  std::uint64_t checksum = 0;
  std::size_t files = 0;
  std::string why;
};
Seen seen(const std::string& path) {
  Seen s;
  auto l = load(path);
  s.loaded = l.report.status == LoadStatus::kLoaded;
  s.files = l.cache.size();
  s.why = std::string(load_status_name(l.report.status)) + ": " + l.report.reason;
  if (s.loaded) {
    auto sum = summary(path);
    if (sum.ok()) {
      s.checksum = sum->checksum;
    } else {
      s.loaded = false;
      s.why = "summary: " + sum.error().message;
    }
  }
  return s;
}

TEST(CommitIo, SerialCommitWritesThroughTheIoLayer) {
  TempDir dir;
  const std::string path = dir.file("cache.h5");
  io::PosixFileSystem posix;
  io::FaultInjectingFileSystem counting(posix);  // no faults planned: counts only
  const CommitReport r = add_and_commit(path, 0, 200, counting);
  EXPECT_FALSE(r.parallel);
  // create + at least 2 writes + fsync + rename + directory fsync
  EXPECT_GE(counting.mutations(), 6u);
  const Seen s = seen(path);
  ASSERT_TRUE(s.loaded) << s.why;
  EXPECT_EQ(s.checksum, r.checksum);
  EXPECT_EQ(s.files, 200u);
  EXPECT_EQ(leftovers(dir.path()), std::vector<std::string>{});
}

// (a) ENOSPC and EIO at every write-side operation of a commit.
TEST(CommitIo, EveryFailedWriteSideOperationKeepsTheOldCache) {
  TempDir base;
  const std::string old_path = base.file("cache.h5");
  io::PosixFileSystem posix;
  const CommitReport old = add_and_commit(old_path, 0, 200, posix);

  // How many write-side operations the commit under test makes.
  std::uint64_t total = 0;
  {
    TempDir probe;
    fs::copy_file(old_path, probe.file("cache.h5"));
    io::FaultInjectingFileSystem count(posix);
    (void)add_and_commit(probe.file("cache.h5"), 1, 50, count);
    total = count.mutations();
  }
  ASSERT_GE(total, 6u);

  int trials = 0;
  for (const int err : {ENOSPC, EIO}) {
    for (std::uint64_t k = 1; k <= total; ++k) {
      SCOPED_TRACE(std::string(std::strerror(err)) + " at write-side operation " +
                   std::to_string(k) + " of " + std::to_string(total));
      TempDir dir;
      const std::string path = dir.file("cache.h5");
      fs::copy_file(old_path, path);
      io::FaultInjectingFileSystem faulty(posix);
      faulty.fail_mutation(k, err);
      std::string message;
      int exit_code = 0;
      try {
        (void)add_and_commit(path, 1, 50, faulty);
      } catch (const FatalError& e) {
        message = e.what();
        exit_code = e.exit_code();
      }
      ++trials;
      ASSERT_EQ(faulty.injected(), 1u);
      ASSERT_FALSE(message.empty()) << "the commit must fail";
      EXPECT_EQ(exit_code, 2);
      // Path, kind and reason.
      EXPECT_NE(message.find("cannot write cache " + path), std::string::npos) << message;
      EXPECT_NE(message.find("io: "), std::string::npos) << message;
      EXPECT_NE(message.find(std::strerror(err)), std::string::npos) << message;
      EXPECT_EQ(leftovers(dir.path()), std::vector<std::string>{}) << message;
      const Seen s = seen(path);
      ASSERT_TRUE(s.loaded) << s.why;
      if (k < total) {
        EXPECT_EQ(s.checksum, old.checksum) << message;
        EXPECT_EQ(s.files, 200u);
      } else {
        // The last operation is the directory fsync: the new cache is already in place, and
        // the error says it may not be durable.
        EXPECT_NE(message.find("fsync directory"), std::string::npos) << message;
        EXPECT_NE(message.find("may not survive a power loss"), std::string::npos) << message;
        EXPECT_EQ(s.files, 250u);
      }
    }
  }
  std::printf("%d failing commits (%llu write-side operations each, ENOSPC and EIO)\n", trials,
              static_cast<unsigned long long>(total));
}

// Loads the materialized cache; returns its checksum or fails the test.
std::uint64_t crashed_checksum(const PowerLossFileSystem& plfs, std::size_t n,
                               PowerLossFileSystem::Crash mode, std::string* why) {
  TempDir out;
  plfs.materialize(n, mode, out.path());
  const Seen s = seen(out.file("cache.h5"));
  if (!s.loaded) {
    *why = s.why;
    return 0;
  }
  return s.checksum;
}

// (b) Power loss after every operation of a commit.
TEST(CommitIo, PowerLossAfterEveryOperationLeavesTheOldOrTheNewCache) {
  TempDir dir;
  const std::string path = dir.file("cache.h5");
  io::PosixFileSystem posix;
  const CommitReport old = add_and_commit(path, 0, 200, posix);
  PowerLossFileSystem plfs(posix, dir.path());
  const CommitReport neu = add_and_commit(path, 1, 50, plfs);
  const std::size_t n_ops = plfs.ops();
  ASSERT_GE(n_ops, 6u);

  std::size_t rename_at = n_ops, sync_dir_at = n_ops;
  for (std::size_t i = 0; i < n_ops; ++i) {
    if (plfs.describe(i).substr(0, 6) == "rename") rename_at = i;
    if (plfs.describe(i) == "fsync directory") sync_dir_at = i;
  }
  ASSERT_LT(rename_at, sync_dir_at);

  int checked = 0;
  for (std::size_t n = 0; n <= n_ops; ++n) {
    for (auto mode : {PowerLossFileSystem::Crash::kPowerLoss, PowerLossFileSystem::Crash::kNamesAhead,
                      PowerLossFileSystem::Crash::kProcess}) {
      SCOPED_TRACE(std::string(mpiprep::testing::crash_name(mode)) + " after " +
                   std::to_string(n) + " of " + std::to_string(n_ops) + " operations (last: " +
                   (n > 0 ? plfs.describe(n - 1) : "none") + ")");
      std::string why;
      const std::uint64_t got = crashed_checksum(plfs, n, mode, &why);
      ASSERT_NE(got, 0u) << why;
      ++checked;
      // Before the rename only the old cache can be there; after the directory fsync only the
      // new one; in between it depends on what the crash kept.
      if (n <= rename_at) {
        EXPECT_EQ(got, old.checksum);
      } else if (n > sync_dir_at) {
        EXPECT_EQ(got, neu.checksum);
      } else {
        EXPECT_TRUE(got == old.checksum || got == neu.checksum);
      }
    }
  }
  std::printf("%d crash states checked (%zu operations x 3 crash kinds)\n", checked, n_ops + 1);
}

// (b) >= 50 random crash points over several consecutive commits.
TEST(CommitIo, PowerLossAtRandomPointsOverSeveralCommits) {
  TempDir dir;
  const std::string path = dir.file("cache.h5");
  io::PosixFileSystem posix;
  std::vector<std::uint64_t> checksums{add_and_commit(path, 0, 100, posix).checksum};
  PowerLossFileSystem plfs(posix, dir.path());
  std::vector<std::size_t> ends{0};  // op count after each commit
  for (int c = 1; c <= 5; ++c) {
    checksums.push_back(add_and_commit(path, c, 40, plfs).checksum);
    ends.push_back(plfs.ops());
  }
  std::mt19937_64 rng(20261122);
  const auto modes = {PowerLossFileSystem::Crash::kPowerLoss,
                      PowerLossFileSystem::Crash::kNamesAhead, PowerLossFileSystem::Crash::kProcess};
  int checked = 0;
  for (int trial = 0; trial < 60; ++trial) {
    const std::size_t n = static_cast<std::size_t>(rng() % (ends.back() + 1));
    const auto mode = *(modes.begin() + static_cast<std::ptrdiff_t>(rng() % 3));
    // Commit j is the one in flight at n (or the last completed one, at a boundary).
    std::size_t j = 0;
    while (j + 1 < ends.size() && ends[j] < n) ++j;
    SCOPED_TRACE(std::string(mpiprep::testing::crash_name(mode)) + " after operation " +
                 std::to_string(n) + " (commit " + std::to_string(j) + ")");
    std::string why;
    const std::uint64_t got = crashed_checksum(plfs, n, mode, &why);
    ASSERT_NE(got, 0u) << why;
    const bool ok = got == checksums[j] || (j > 0 && got == checksums[j - 1]);
    EXPECT_TRUE(ok) << "neither the cache before nor after commit " << j;
    ++checked;
  }
  std::printf("%d random crash points over %zu operations of 5 commits\n", checked, ends.back());
  EXPECT_GE(checked, 50);
}

}  // namespace
}  // namespace mpiprep::cache
