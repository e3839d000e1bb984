// Commit: atomic replacement (invariant 1), fatal errors for unwritable caches, the lock, and
// merging with a cache another job committed meanwhile (invariant 5), including several
// processes committing to one cache at once.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "cache_test_support.hpp"
#include "mpiprep/cache/lock.hpp"
#include "mpiprep/comm/communicator.hpp"

namespace mpiprep::cache {
namespace {
namespace fs = std::filesystem;
using testing::TempDir;

std::int64_t posix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string fmt_path(int proc, int round, int k) {
  return "/proc" + std::to_string(proc) + "/round" + std::to_string(round) + "/file" +
         std::to_string(k) + ".root";
}

FileMeta row(const std::string& path, int seed) {
  return testing::make_root_file(path, testing::make_columns(20, seed % 3), seed);
}

Cache load_ok(const std::string& path) {
  auto l = Cache::load(path, {}, &testing::test_versions);
  EXPECT_EQ(l.report.status, LoadStatus::kLoaded) << l.report.reason;
  return std::move(l.cache);
}

CommitReport commit_serial(Cache& c, const std::string& path, CommitOptions opts = {}) {
  comm::SerialCommunicator comm;
  return commit(comm, c, path, opts);
}

bool has_leftovers(const TempDir& dir) {
  for (const auto& n : dir.list())
    if (n.find(".tmp-") != std::string::npos || n.find(".lock") != std::string::npos) return true;
  return false;
}

TEST(Commit, MissingDirectoryIsFatal) {
  TempDir dir;
  Cache c(&testing::test_versions);
  c.put(row("/a.root", 1), 0);
  try {
    commit_serial(c, dir.file("no/such/dir/cache.h5"));
    FAIL() << "expected FatalError";
  } catch (const FatalError& e) {
    EXPECT_EQ(e.exit_code(), 2);
    EXPECT_NE(std::string(e.what()).find("no/such/dir"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(dir.list().empty());
}

TEST(Commit, ReadOnlyDirectoryIsFatalAndLeavesNothing) {
  TempDir dir;
  const std::string path = dir.file("cache.h5");
  Cache c(&testing::test_versions);
  c.put(row("/a.root", 1), 0);
  commit_serial(c, path);
  const auto before = testing::read_bytes(path);
  c.put(row("/b.root", 2), 0);
  ASSERT_EQ(::chmod(dir.path().c_str(), 0555), 0);
  {
    testing::AsNobody nobody;
    try {
      commit_serial(c, path);
      ADD_FAILURE() << "expected FatalError";
    } catch (const FatalError& e) {
      EXPECT_EQ(e.exit_code(), 2);
      EXPECT_NE(std::string(e.what()).find("ermission denied"), std::string::npos) << e.what();
    }
  }
  ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);
  EXPECT_EQ(dir.list(), std::vector<std::string>{"cache.h5"});
  EXPECT_EQ(testing::read_bytes(path), before);
}

TEST(Commit, ReplacesAtomicallyAndOldReadersKeepTheOldCache) {
  TempDir dir;
  const std::string path = dir.file("cache.h5");
  Cache c(&testing::test_versions);
  for (int i = 0; i < 10; ++i) c.put(row("/old/" + std::to_string(i), i), 0);
  auto rep1 = commit_serial(c, path);
  // A reader that opened the cache before the next commit.
  int old_fd = ::open(path.c_str(), O_RDONLY);
  ASSERT_GE(old_fd, 0);
  struct stat st_old {};
  ASSERT_EQ(::fstat(old_fd, &st_old), 0);

  for (int i = 0; i < 50; ++i) c.put(row("/new/" + std::to_string(i), i), 0);
  auto rep2 = commit_serial(c, path);
  EXPECT_EQ(rep2.generation, rep1.generation + 1);
  EXPECT_FALSE(has_leftovers(dir)) << ::testing::PrintToString(dir.list());

  // The old inode is intact and still a complete, valid generation-1 cache.
  std::vector<char> old_bytes(static_cast<std::size_t>(st_old.st_size));
  ASSERT_EQ(::pread(old_fd, old_bytes.data(), old_bytes.size(), 0),
            static_cast<ssize_t>(old_bytes.size()));
  ::close(old_fd);
  testing::write_bytes(dir.file("old-copy.h5"), old_bytes);
  Cache old = load_ok(dir.file("old-copy.h5"));
  EXPECT_EQ(old.generation(), 1u);
  EXPECT_EQ(old.size(), 10u);
  Cache now = load_ok(path);
  EXPECT_EQ(now.generation(), 2u);
  EXPECT_EQ(now.size(), 60u);
  struct stat st_new {};
  ASSERT_EQ(::stat(path.c_str(), &st_new), 0);
  EXPECT_NE(st_new.st_ino, st_old.st_ino);  // replaced by rename, not rewritten in place
}

TEST(Commit, LiveLockIsFatalAfterTheWaitAndLeavesTheCacheAlone) {
  TempDir dir;
  const std::string path = dir.file("cache.h5");
  Cache c(&testing::test_versions);
  c.put(row("/a.root", 1), 0);
  commit_serial(c, path);
  const auto before = testing::read_bytes(path);
  // Another host's job took the lock a moment ago.
  LockInfo other{"alice", "some-other-host", 4242, posix_now()};
  testing::write_bytes(lock_path_for(path), [&] {
    auto t = format_lock(other);
    return std::vector<char>(t.begin(), t.end());
  }());
  c.put(row("/b.root", 2), 0);
  CommitOptions opts;
  opts.lock_wait = std::chrono::milliseconds(300);
  try {
    commit_serial(c, path, opts);
    FAIL() << "expected FatalError";
  } catch (const FatalError& e) {
    EXPECT_NE(std::string(e.what()).find("alice@some-other-host pid 4242"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(testing::read_bytes(path), before);
  EXPECT_TRUE(fs::exists(lock_path_for(path)));  // not ours to remove
  for (const auto& n : dir.list()) EXPECT_EQ(n.find(".tmp-"), std::string::npos) << n;
}

TEST(Commit, StaleLockOfADeadProcessIsBroken) {
  TempDir dir;
  const std::string path = dir.file("cache.h5");
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ASSERT_GT(child, 0);
  ::waitpid(child, nullptr, 0);  // now a pid that no longer exists on this host
  LockInfo dead = current_lock_info();
  dead.pid = child;
  auto text = format_lock(dead);
  testing::write_bytes(lock_path_for(path), std::vector<char>(text.begin(), text.end()));
  Cache c(&testing::test_versions);
  c.put(row("/a.root", 1), 0);
  CommitOptions opts;
  opts.lock_wait = std::chrono::milliseconds(0);
  auto rep = commit_serial(c, path, opts);
  EXPECT_EQ(rep.files, 1u);
  EXPECT_FALSE(has_leftovers(dir)) << ::testing::PrintToString(dir.list());
}

TEST(Commit, WithThreadRanksOnlyRankZeroWritesAndAllAgree) {
  TempDir dir;
  const std::string path = dir.file("cache.h5");
  std::vector<CommitReport> reports(3);
  comm::run_in_threads(3, [&](comm::Communicator& comm) {
    Cache c(&testing::test_versions);
    if (comm.rank() == 0)
      for (int i = 0; i < 7; ++i) c.put(row("/t/" + std::to_string(i), i), 0);
    else
      c.put(row("/ignored/" + std::to_string(comm.rank()), 0), 0);  // non-root content ignored
    reports[static_cast<std::size_t>(comm.rank())] = commit(comm, c, path);
  });
  for (const auto& r : reports) {
    EXPECT_EQ(r.files, 7u);
    EXPECT_EQ(r.generation, 1u);
    EXPECT_EQ(r.checksum, reports[0].checksum);
    EXPECT_FALSE(r.parallel);
  }
  EXPECT_EQ(load_ok(path).size(), 7u);
}

// Invariant 1 seen from outside: another process loading the cache in a loop while this one
// commits repeatedly never finds it missing, partial, or mixed up between two generations.
TEST(Commit, AConcurrentReaderAlwaysSeesACompleteCache) {
  TempDir dir;
  const std::string path = dir.file("cache.h5");
  Cache c(&testing::test_versions);
  for (int i = 0; i < 200; ++i) c.put(row("/r/" + std::to_string(i), i), 0);
  commit_serial(c, path);
  int go[2];
  ASSERT_EQ(::pipe(go), 0);
  pid_t reader = ::fork();
  if (reader == 0) {
    ::close(go[1]);
    int checks = 0, bad = 0;
    char byte = 0;
    // Until the parent closes the pipe: verify whatever is at `path` right now.
    ::fcntl(go[0], F_SETFL, O_NONBLOCK);
    while (::read(go[0], &byte, 1) < 0) {
      // A full load, as a concurrent job's start would do it: a spurious "corrupt" here would
      // move a good cache aside.
      auto l = Cache::load(path, {}, &testing::test_versions);
      if (l.report.status != LoadStatus::kLoaded) ++bad;
      ++checks;
    }
    ::_exit(bad == 0 && checks > 0 ? 0 : 1);
  }
  ASSERT_GT(reader, 0);
  ::close(go[0]);
  for (int round = 0; round < 8; ++round) {
    c.put(row("/extra/" + std::to_string(round), round), 0);
    commit_serial(c, path);
  }
  ::close(go[1]);
  int status = 0;
  ASSERT_EQ(::waitpid(reader, &status, 0), reader);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the reader saw a missing or broken cache";
}

TEST(Commit, LeftoversOfKilledCommitsOnThisHostAreRemoved) {
  TempDir dir;
  const std::string path = dir.file("cache.h5");
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ASSERT_GT(child, 0);
  ::waitpid(child, nullptr, 0);
  const std::string host = current_lock_info().host;
  const std::string dead_tmp = path + ".tmp-" + host + "-" + std::to_string(child) + "-00ff";
  const std::string live_tmp =
      path + ".tmp-" + host + "-" + std::to_string(::getppid()) + "-00ff";  // alive
  const std::string other_host = path + ".tmp-elsewhere-" + std::to_string(child) + "-00ff";
  const std::string grave = path + ".lock.stale-" + host + "-" + std::to_string(child) + "-1";
  for (const auto& p : {dead_tmp, live_tmp, other_host, grave})
    testing::write_bytes(p, std::vector<char>(10, 'x'));
  Cache c(&testing::test_versions);
  c.put(row("/a", 1), 0);
  commit_serial(c, path);
  EXPECT_FALSE(fs::exists(dead_tmp));
  EXPECT_FALSE(fs::exists(grave));
  EXPECT_TRUE(fs::exists(live_tmp));
  EXPECT_TRUE(fs::exists(other_host));
}

// ---- merging with concurrent commits ------------------------------------------------------

TEST(CommitMerge, ConcurrentJobsKeepEachOthersRows) {
  TempDir dir;
  const std::string path = dir.file("cache.h5");
  {
    Cache c0(&testing::test_versions);
    c0.put(row("/A", 1), 0);
    c0.put(row("/B", 2), 0);
    commit_serial(c0, path);
  }
  Cache j1 = load_ok(path);
  Cache j2 = load_ok(path);
  FileMeta a2 = row("/A", 11);
  FileMeta b2 = row("/B", 12);
  j1.put(row("/C", 3), 0);
  j1.put(a2, 0);
  auto r1 = commit_serial(j1, path);
  EXPECT_FALSE(r1.merged);
  EXPECT_EQ(r1.generation, 2u);

  j2.put(row("/D", 4), 0);
  j2.put(b2, 0);
  auto r2 = commit_serial(j2, path);
  EXPECT_TRUE(r2.merged);
  EXPECT_EQ(r2.generation, 3u);
  EXPECT_EQ(r2.merged_rows, 2u);  // /A (j1's version) and /C came from the newer cache

  Cache fin = load_ok(path);
  EXPECT_EQ(fin.paths(), (std::vector<std::string>{"/A", "/B", "/C", "/D"}));
  testing::expect_same(*fin.get("/A"), a2);  // j2 did not extract /A: j1's newer row stays
  testing::expect_same(*fin.get("/B"), b2);  // j2 extracted /B: its row wins
  // j2's in-memory cache now is the committed content.
  EXPECT_EQ(j2.size(), 4u);
  EXPECT_EQ(j2.generation(), 3u);
}

TEST(CommitMerge, RowsThisRunExtractedWinAndPrunedPathsStayPruned) {
  TempDir dir;
  const std::string path = dir.file("cache.h5");
  {
    Cache c0(&testing::test_versions);
    for (const char* p : {"/X", "/P", "/Q"}) c0.put(row(p, 1), 0);
    commit_serial(c0, path);
  }
  Cache j1 = load_ok(path);
  Cache j2 = load_ok(path);
  FileMeta x1 = row("/X", 21), x2 = row("/X", 22);
  j1.put(x1, 0);
  j2.put(x2, 0);
  std::vector<std::string> pruned = {"/P"};
  EXPECT_EQ(j2.erase(pruned), 1u);
  commit_serial(j1, path);
  commit_serial(j2, path);
  Cache fin = load_ok(path);
  testing::expect_same(*fin.get("/X"), x2);
  EXPECT_FALSE(fin.contains("/P"));
  EXPECT_TRUE(fin.contains("/Q"));
}

TEST(CommitMerge, ColdRunMergesACacheThatAppearedMeanwhile) {
  TempDir dir;
  const std::string path = dir.file("cache.h5");
  auto cold = Cache::load(path, {}, &testing::test_versions);
  ASSERT_EQ(cold.report.status, LoadStatus::kMissing);
  {
    Cache other(&testing::test_versions);
    other.put(row("/theirs", 1), 0);
    commit_serial(other, path);
  }
  cold.cache.put(row("/mine", 2), 0);
  auto rep = commit_serial(cold.cache, path);
  EXPECT_TRUE(rep.merged);
  EXPECT_EQ(rep.generation, 2u);
  EXPECT_EQ(load_ok(path).paths(), (std::vector<std::string>{"/mine", "/theirs"}));
}

TEST(CommitMerge, ACacheCorruptedMeanwhileIsMovedAsideNotOverwritten) {
  TempDir dir;
  const std::string path = dir.file("cache.h5");
  Cache c(&testing::test_versions);
  c.put(row("/a", 1), 0);
  commit_serial(c, path);
  testing::write_bytes(path, std::vector<char>(3000, '\x55'));
  c.put(row("/b", 2), 0);
  auto rep = commit_serial(c, path);
  EXPECT_FALSE(rep.merged);
  EXPECT_NE(rep.merge_note.find("corrupt"), std::string::npos) << rep.merge_note;
  EXPECT_EQ(load_ok(path).size(), 2u);
  std::size_t asides = 0;
  for (const auto& n : dir.list()) asides += n.find(".corrupt-") != std::string::npos;
  EXPECT_EQ(asides, 1u);
}

// Several processes load, extract and commit to one cache at the same time, repeatedly: with
// the lock and the merge, no row is lost and every commit is a generation.
TEST(CommitMerge, ConcurrentProcessesLoseNothing) {
  TempDir dir;
  const std::string path = dir.file("cache.h5");
  constexpr int kProcs = 3, kRounds = 4, kRowsPerRound = 3;
  std::vector<pid_t> kids;
  for (int p = 0; p < kProcs; ++p) {
    pid_t pid = ::fork();
    if (pid == 0) {
      int rc = 0;
      try {
        for (int r = 0; r < kRounds; ++r) {
          auto l = Cache::load(path, {}, &testing::test_versions);
          if (l.report.status != LoadStatus::kLoaded && l.report.status != LoadStatus::kMissing)
            ::_exit(10);
          for (int k = 0; k < kRowsPerRound; ++k)
            l.cache.put(row(fmt_path(p, r, k), p * 100 + r * 10 + k), 0);
          comm::SerialCommunicator comm;
          CommitOptions opts;
          opts.lock_wait = std::chrono::seconds(60);
          (void)commit(comm, l.cache, path, opts);
        }
      } catch (...) {
        rc = 20;
      }
      ::_exit(rc);
    }
    ASSERT_GT(pid, 0);
    kids.push_back(pid);
  }
  for (pid_t k : kids) {
    int status = 0;
    ASSERT_EQ(::waitpid(k, &status, 0), k);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
  }
  Cache fin = load_ok(path);
  EXPECT_EQ(fin.size(), static_cast<std::size_t>(kProcs * kRounds * kRowsPerRound));
  EXPECT_EQ(fin.generation(), static_cast<std::uint64_t>(kProcs * kRounds));
  for (int p = 0; p < kProcs; ++p)
    for (int r = 0; r < kRounds; ++r)
      for (int k = 0; k < kRowsPerRound; ++k) EXPECT_TRUE(fin.contains(fmt_path(p, r, k)));
  EXPECT_FALSE(has_leftovers(dir)) << ::testing::PrintToString(dir.list());
}

}  // namespace
}  // namespace mpiprep::cache
