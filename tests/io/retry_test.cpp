#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "mpiprep/io/file_system.hpp"

namespace mpiprep::io {
namespace {

using Op = FaultInjectingFileSystem::Op;

std::vector<std::byte> bytes(const std::string& s) {
  std::vector<std::byte> b(s.size());
  std::memcpy(b.data(), s.data(), s.size());
  return b;
}

TEST(IsTransient, KnowsTheTransientErrnos) {
  EXPECT_TRUE(is_transient(errno_error(EIO, "read", "/f")));
  EXPECT_TRUE(is_transient(errno_error(ESTALE, "open", "/f")));
  EXPECT_TRUE(is_transient(errno_error(EINTR, "read", "/f")));
  EXPECT_TRUE(is_transient(errno_error(EAGAIN, "read", "/f")));
  EXPECT_FALSE(is_transient(errno_error(ENOENT, "open", "/f")));
  EXPECT_FALSE(is_transient(errno_error(EACCES, "open", "/f")));
  EXPECT_FALSE(is_transient(errno_error(EISDIR, "open", "/f")));
  EXPECT_FALSE(is_transient(make_error(ErrorKind::kTruncated, "short read")));
}

TEST(RetryingFileSystem, RetriesTransientOpenErrorsWithBackoff) {
  MemoryFileSystem mem;
  mem.add("/f", bytes("hello"));
  FaultInjectingFileSystem faulty(mem);
  faulty.fail_transient("/f", Op::kOpen, ESTALE, 3);
  RetryingFileSystem fs(faulty, RetryPolicy{4, 0.01, 0.1});
  const auto t0 = std::chrono::steady_clock::now();
  auto f = fs.open("/f");
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(faulty.injected(), 3u);
  EXPECT_EQ(fs.retries(), 3u);
  EXPECT_GE(secs, 0.01 + 0.02 + 0.04);  // back-off doubles
  auto got = (*f)->read_exact(0, 5);
  ASSERT_TRUE(got.ok());
}

TEST(RetryingFileSystem, RetriesTransientReadErrors) {
  MemoryFileSystem mem;
  mem.add("/f", bytes("hello"));
  FaultInjectingFileSystem faulty(mem);
  faulty.fail_transient("/f", Op::kRead, EIO, 2);
  faulty.fail_transient("/f", Op::kRead, EINTR, 1);
  RetryingFileSystem fs(faulty, RetryPolicy{4, 0.001, 0.01});
  auto f = fs.open("/f");
  ASSERT_TRUE(f.ok());
  auto got = (*f)->read_exact(1, 3);
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(std::memcmp(got->data(), "ell", 3), 0);
  EXPECT_EQ(faulty.injected(), 3u);
  EXPECT_EQ(fs.retries(), 3u);
}

TEST(RetryingFileSystem, GivesUpAfterMaxRetries) {
  MemoryFileSystem mem;
  mem.add("/f", bytes("hello"));
  FaultInjectingFileSystem faulty(mem);
  faulty.fail_transient("/f", Op::kOpen, EIO, 100);
  RetryingFileSystem fs(faulty, RetryPolicy{3, 0.001, 0.01});
  auto f = fs.open("/f");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error().kind, ErrorKind::kIo);
  EXPECT_NE(f.error().message.find("open /f"), std::string::npos) << f.error().message;
  EXPECT_EQ(faulty.injected(), 4u);  // the first attempt plus 3 retries
  EXPECT_EQ(fs.retries(), 3u);
}

TEST(RetryingFileSystem, DoesNotRetryPermanentErrors) {
  MemoryFileSystem mem;
  mem.add("/f", bytes("hello"));
  FaultInjectingFileSystem faulty(mem);
  faulty.fail_transient("/f", Op::kOpen, EACCES, 5);
  RetryingFileSystem fs(faulty, RetryPolicy{3, 0.001, 0.01});
  auto f = fs.open("/f");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error().kind, ErrorKind::kPermission);
  EXPECT_EQ(faulty.injected(), 1u);
  EXPECT_EQ(fs.retries(), 0u);
  auto missing = fs.open("/none");
  EXPECT_EQ(missing.error().kind, ErrorKind::kMissing);
  EXPECT_EQ(fs.retries(), 0u);
}

TEST(DefaultFileSystem, RetriesOnTopOfPosix) {
  EXPECT_NE(dynamic_cast<RetryingFileSystem*>(&default_file_system()), nullptr);
}

}  // namespace
}  // namespace mpiprep::io
