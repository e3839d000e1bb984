// The lock file: exclusive creation, owner record, waiting, and stale-lock detection by age,
// by dead pid on this host, and by mtime when the content is unreadable.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "cache_test_support.hpp"
#include "mpiprep/cache/lock.hpp"

namespace mpiprep::cache {
namespace {
namespace fs = std::filesystem;
using std::chrono::milliseconds;
using testing::TempDir;

std::int64_t now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void write_text(const std::string& path, const std::string& text) {
  testing::write_bytes(path, std::vector<char>(text.begin(), text.end()));
}

LockOptions no_wait() {
  LockOptions o;
  o.wait = milliseconds(0);
  return o;
}

TEST(Lock, FormatParseRoundTrip) {
  LockInfo info{"bob", "node17.cluster", 31337, 1700000000};
  auto parsed = parse_lock(format_lock(info));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, info);
  EXPECT_FALSE(parse_lock("garbage").ok());
  EXPECT_FALSE(parse_lock("host=x\npid=notanumber\ntime=1\n").ok());
  EXPECT_EQ(lock_path_for("/d/.mpiprep-cache.h5"), "/d/.mpiprep-cache.h5.lock");
}

TEST(Lock, AcquireRecordsTheOwnerAndReleaseRemovesIt) {
  TempDir dir;
  const std::string lp = dir.file("c.h5.lock");
  {
    auto lock = CacheLock::acquire(lp, no_wait());
    ASSERT_TRUE(lock.ok()) << lock.error().to_string();
    EXPECT_TRUE(lock->held());
    auto owner = read_lock(lp);
    ASSERT_TRUE(owner.ok());
    EXPECT_EQ(owner->pid, static_cast<std::int64_t>(::getpid()));
    EXPECT_EQ(owner->host, current_lock_info().host);
    EXPECT_LE(std::llabs(owner->time_unix - now()), 5);

    auto second = CacheLock::acquire(lp, no_wait());
    ASSERT_FALSE(second.ok());
    EXPECT_EQ(second.error().kind, ErrorKind::kTimeout);
    EXPECT_NE(second.error().message.find("pid " + std::to_string(::getpid())), std::string::npos)
        << second.error().message;
  }
  EXPECT_FALSE(fs::exists(lp));
}

TEST(Lock, WaitsForALiveHolderToRelease) {
  TempDir dir;
  const std::string lp = dir.file("c.h5.lock");
  auto first = CacheLock::acquire(lp, no_wait());
  ASSERT_TRUE(first.ok());
  std::thread releaser([&] {
    std::this_thread::sleep_for(milliseconds(200));
    first->release();
  });
  LockOptions o;
  o.wait = milliseconds(5000);
  o.poll = milliseconds(20);
  auto t0 = std::chrono::steady_clock::now();
  auto second = CacheLock::acquire(lp, o);
  auto waited = std::chrono::steady_clock::now() - t0;
  releaser.join();
  ASSERT_TRUE(second.ok()) << second.error().to_string();
  EXPECT_GE(waited, milliseconds(150));
}

TEST(Lock, StaleByAgeOnAnotherHost) {
  TempDir dir;
  const std::string lp = dir.file("c.h5.lock");
  write_text(lp, format_lock(LockInfo{"x", "far-away-host", 1, now() - 3600}));
  LockOptions o = no_wait();
  o.stale_after = std::chrono::seconds(600);
  auto lock = CacheLock::acquire(lp, o);
  ASSERT_TRUE(lock.ok()) << lock.error().to_string();
  EXPECT_EQ(read_lock(lp)->pid, static_cast<std::int64_t>(::getpid()));
  // No grave files left behind from breaking it.
  EXPECT_EQ(dir.list(), std::vector<std::string>{"c.h5.lock"});
}

TEST(Lock, RecentLockOnAnotherHostIsLive) {
  TempDir dir;
  const std::string lp = dir.file("c.h5.lock");
  write_text(lp, format_lock(LockInfo{"x", "far-away-host", 1, now()}));
  auto lock = CacheLock::acquire(lp, no_wait());
  ASSERT_FALSE(lock.ok());
  EXPECT_EQ(lock.error().kind, ErrorKind::kTimeout);
  EXPECT_TRUE(is_stale(LockInfo{"x", "far-away-host", 1, now() - 700}, std::chrono::seconds(600),
                       now(), "here"));
  EXPECT_FALSE(is_stale(LockInfo{"x", "far-away-host", 1, now() - 10}, std::chrono::seconds(600),
                        now(), "here"));
}

TEST(Lock, DeadPidOnThisHostIsStale) {
  TempDir dir;
  const std::string lp = dir.file("c.h5.lock");
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ASSERT_GT(child, 0);
  ::waitpid(child, nullptr, 0);
  LockInfo dead = current_lock_info();
  dead.pid = child;
  EXPECT_TRUE(is_stale(dead, std::chrono::seconds(600), now(), dead.host));
  LockInfo alive = current_lock_info();
  EXPECT_FALSE(is_stale(alive, std::chrono::seconds(600), now(), alive.host));
  write_text(lp, format_lock(dead));
  auto lock = CacheLock::acquire(lp, no_wait());
  ASSERT_TRUE(lock.ok()) << lock.error().to_string();
}

TEST(Lock, UnreadableContentIsJudgedByMtime) {
  TempDir dir;
  const std::string lp = dir.file("c.h5.lock");
  write_text(lp, "");  // a writer that died between create and write
  EXPECT_FALSE(CacheLock::acquire(lp, no_wait()).ok());
  struct timespec times[2];
  times[0].tv_sec = times[1].tv_sec = now() - 3600;
  times[0].tv_nsec = times[1].tv_nsec = 0;
  ASSERT_EQ(::utimensat(AT_FDCWD, lp.c_str(), times, 0), 0);
  auto lock = CacheLock::acquire(lp, no_wait());
  ASSERT_TRUE(lock.ok()) << lock.error().to_string();
}

// A stale lock we may not remove (another user's, in a sticky directory such as /tmp) is
// waited for like a live one: a timeout, not an endless retry loop.
TEST(Lock, StaleLockThatCannotBeRemovedIsWaitedFor) {
  TempDir dir;
  ASSERT_EQ(::chmod(dir.path().c_str(), 01777), 0);
  const std::string lp = dir.file("c.h5.lock");
  write_text(lp, format_lock(LockInfo{"x", "far-away-host", 1, now() - 3600}));  // stale
  testing::AsNobody nobody;
  auto lock = CacheLock::acquire(lp, no_wait());
  if (nobody.active()) {
    // As nobody, root's file in a sticky directory cannot be renamed.
    ASSERT_FALSE(lock.ok());
    EXPECT_EQ(lock.error().kind, ErrorKind::kTimeout) << lock.error().to_string();
  } else {
    // Not root: the lock file is our own, so breaking it works.
    EXPECT_TRUE(lock.ok());
  }
}

TEST(Lock, ReleaseLeavesSomeoneElsesLockAlone) {
  TempDir dir;
  const std::string lp = dir.file("c.h5.lock");
  auto lock = CacheLock::acquire(lp, no_wait());
  ASSERT_TRUE(lock.ok());
  // Our lock was judged stale and taken over by another job.
  write_text(lp, format_lock(LockInfo{"y", "other", 7, now()}));
  lock->release();
  EXPECT_TRUE(fs::exists(lp));
  EXPECT_EQ(read_lock(lp)->host, "other");
}

TEST(Lock, UnwritableDirectoryIsAnErrorNotATimeout) {
  TempDir dir;
  auto lock = CacheLock::acquire(dir.file("missing/c.h5.lock"), no_wait());
  ASSERT_FALSE(lock.ok());
  EXPECT_NE(lock.error().kind, ErrorKind::kTimeout);
}

}  // namespace
}  // namespace mpiprep::cache
