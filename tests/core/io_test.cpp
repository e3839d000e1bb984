#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "mpiprep/io/file_system.hpp"

namespace mpiprep::io {
namespace {

std::vector<std::byte> bytes(const std::string& s) {
  std::vector<std::byte> b(s.size());
  std::memcpy(b.data(), s.data(), s.size());
  return b;
}

TEST(MemoryFileSystem, ReadStatList) {
  MemoryFileSystem fs;
  fs.add("/d/a.root", bytes("rootdata"), 123);
  fs.add("/d/sub/b.h5", bytes("x"));
  auto st = fs.stat("/d/a.root");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->size, 8);
  EXPECT_EQ(st->mtime_ns, 123);
  EXPECT_TRUE(fs.stat("/d/sub")->is_directory);
  EXPECT_EQ(fs.stat("/nope").error().kind, ErrorKind::kMissing);
  auto names = fs.list_dir("/d");
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(names->size(), 2u);
  auto f = fs.open("/d/a.root");
  ASSERT_TRUE(f.ok());
  auto head = (*f)->read_exact(0, 4);
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(std::memcmp(head->data(), "root", 4), 0);
  auto past = (*f)->read_exact(6, 4);
  ASSERT_FALSE(past.ok());
  EXPECT_EQ(past.error().kind, ErrorKind::kTruncated);
  EXPECT_NE(past.error().message.find("offset 6"), std::string::npos);
}

TEST(CountingFileSystem, CountsOpensReadsAndBytes) {
  MemoryFileSystem mem;
  mem.add("/f", bytes("0123456789"));
  CountingFileSystem fs(mem);
  (void)fs.stat("/f");
  auto f = fs.open("/f");
  ASSERT_TRUE(f.ok());
  (void)(*f)->read_exact(2, 5);
  EXPECT_EQ(fs.counters().stats.load(), 1u);
  EXPECT_EQ(fs.counters().opens.load(), 1u);
  EXPECT_EQ(fs.counters().preads.load(), 1u);
  EXPECT_EQ(fs.counters().bytes_read.load(), 5u);
}

TEST(FaultInjectingFileSystem, FailingReadsBecomeIoErrors) {
  MemoryFileSystem mem;
  mem.add("/bad", bytes("abc"));
  FaultInjectingFileSystem fs(mem);
  fs.fail_reads("/bad");
  auto f = fs.open("/bad");
  ASSERT_TRUE(f.ok());
  auto r = (*f)->read_exact(0, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kIo);
  EXPECT_NE(r.error().message.find("/bad"), std::string::npos);
}

TEST(PosixFileSystem, StatOpenReadAndMissing) {
  std::string path = ::testing::TempDir() + "/mpiprep_io_test.bin";
  { std::ofstream(path) << "hello world"; }
  PosixFileSystem fs;
  auto st = fs.stat(path);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->size, 11);
  EXPECT_GT(st->mtime_ns, 0);
  auto f = fs.open(path);
  ASSERT_TRUE(f.ok());
  auto b = (*f)->read_exact(6, 5);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(std::memcmp(b->data(), "world", 5), 0);
  EXPECT_EQ(fs.open(path + ".nope").error().kind, ErrorKind::kMissing);
}

TEST(AbsolutePath, NormalizesLexically) {
  EXPECT_EQ(absolute_path("/a/./b/../c"), "/a/c");
  EXPECT_EQ(absolute_path("/a/b/"), "/a/b");
  EXPECT_EQ(absolute_path("x").front(), '/');
}

}  // namespace
}  // namespace mpiprep::io
