#include <gtest/gtest.h>

#include <chrono>
#include <cstring>

#include "mpiprep/io/latency.hpp"

namespace mpiprep::io {
namespace {

std::vector<std::byte> bytes(const std::string& s) {
  std::vector<std::byte> b(s.size());
  std::memcpy(b.data(), s.data(), s.size());
  return b;
}

LatencySpec parse_ok(std::string_view text) {
  auto r = parse_latency_spec(text);
  EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : LatencySpec{};
}

std::string parse_error(std::string_view text) {
  auto r = parse_latency_spec(text);
  EXPECT_FALSE(r.ok()) << "accepted: " << text;
  return r.ok() ? "" : r.error().message;
}

TEST(LatencySpec, ParsesOpenReadAndUnits) {
  auto s = parse_ok("open:2ms,read:0.5ms");
  EXPECT_DOUBLE_EQ(s.open_s, 2e-3);
  EXPECT_DOUBLE_EQ(s.read_s, 0.5e-3);
  EXPECT_TRUE(s.slow.empty());
  EXPECT_DOUBLE_EQ(parse_ok("open:250us").open_s, 250e-6);
  EXPECT_DOUBLE_EQ(parse_ok("open:1.5s").open_s, 1.5);
  EXPECT_DOUBLE_EQ(parse_ok("read:3ms").read_s, 3e-3);  // either part optional
  EXPECT_DOUBLE_EQ(parse_ok("read:3ms").open_s, 0.0);
  EXPECT_DOUBLE_EQ(parse_ok("read:1ms,open:0ms").open_s, 0.0);  // any order, zero allowed
  EXPECT_DOUBLE_EQ(parse_ok("open:.5ms").open_s, 0.5e-3);
}

TEST(LatencySpec, ParsesSlowPatterns) {
  auto s = parse_ok("open:2ms,slow:*big*:100,slow:/d/x:y/*.root:2.5");
  ASSERT_EQ(s.slow.size(), 2u);
  EXPECT_EQ(s.slow[0].pattern, "*big*");
  EXPECT_DOUBLE_EQ(s.slow[0].factor, 100.0);
  EXPECT_EQ(s.slow[1].pattern, "/d/x:y/*.root");  // ':' inside the pattern: factor after the last
  EXPECT_DOUBLE_EQ(s.slow[1].factor, 2.5);
  EXPECT_DOUBLE_EQ(s.factor_for("/data/big_01.root"), 100.0);
  EXPECT_DOUBLE_EQ(s.factor_for("/data/small.root"), 1.0);
  EXPECT_DOUBLE_EQ(s.factor_for("/d/x:y/big.root"), 250.0);  // every match multiplies
  EXPECT_NE(s.describe().find("slow *big* x100"), std::string::npos) << s.describe();
  EXPECT_NE(s.describe().find("open 2 ms"), std::string::npos) << s.describe();
}

TEST(LatencySpec, RejectsMalformedValues) {
  EXPECT_NE(parse_error("").find("empty"), std::string::npos);
  EXPECT_NE(parse_error("open:2").find("unit"), std::string::npos);
  EXPECT_NE(parse_error("open:2ns").find("not a non-negative decimal"), std::string::npos);
  EXPECT_NE(parse_error("open:-2ms").find("not a non-negative decimal"), std::string::npos);
  EXPECT_NE(parse_error("open:1e3ms").find("not a non-negative decimal"), std::string::npos);
  EXPECT_NE(parse_error("open: 2ms").find("not a non-negative decimal"), std::string::npos);
  EXPECT_NE(parse_error("open:ms").find("unit"), std::string::npos);
  EXPECT_NE(parse_error("open:2ms,").find("empty item"), std::string::npos);
  EXPECT_NE(parse_error("open:2ms,,read:1ms").find("empty item"), std::string::npos);
  EXPECT_NE(parse_error("open:2ms,open:3ms").find("given twice"), std::string::npos);
  EXPECT_NE(parse_error("stat:2ms").find("unknown key 'stat'"), std::string::npos);
  EXPECT_NE(parse_error("open2ms").find("KEY:VALUE"), std::string::npos);
  EXPECT_NE(parse_error("open:2ms,slow:*big*").find("FACTOR"), std::string::npos);
  EXPECT_NE(parse_error("open:2ms,slow:*big*:0").find("positive"), std::string::npos);
  EXPECT_NE(parse_error("open:2ms,slow:*big*:x").find("positive"), std::string::npos);
  EXPECT_NE(parse_error("open:2ms,slow::5").find("empty PATTERN"), std::string::npos);
  EXPECT_NE(parse_error("slow:*big*:100").find("none is set"), std::string::npos);
  EXPECT_NE(parse_error("open:2h").find("unit"), std::string::npos);
  // The message names the variable and the item.
  const std::string m = parse_error("open:2ms,read:fast");
  EXPECT_NE(m.find("MPIPREP_SIM_LATENCY"), std::string::npos) << m;
  EXPECT_NE(m.find("'read:fast'"), std::string::npos) << m;
}

double seconds_of(const std::function<void()>& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

TEST(LatencyFileSystem, DelaysOpensAndReads) {
  MemoryFileSystem mem;
  mem.add("/d/small.root", bytes("0123456789"));
  mem.add("/d/big_one.root", bytes("0123456789"));
  LatencyFileSystem fs(mem, parse_ok("open:20ms,read:10ms,slow:*big*:5"));

  std::unique_ptr<RandomAccessFile> f;
  const double t_open = seconds_of([&] { f = std::move(fs.open("/d/small.root")).value(); });
  EXPECT_GE(t_open, 0.020);
  std::vector<std::byte> buf(4);
  const double t_reads = seconds_of([&] {
    for (int i = 0; i < 3; ++i) ASSERT_EQ(*f->pread(static_cast<std::uint64_t>(i), buf), 4u);
  });
  EXPECT_GE(t_reads, 0.030);  // 10 ms per pread
  EXPECT_EQ(std::memcmp(buf.data(), "2345", 4), 0);  // content passes through

  std::unique_ptr<RandomAccessFile> g;
  const double t_slow_open = seconds_of([&] { g = std::move(fs.open("/d/big_one.root")).value(); });
  EXPECT_GE(t_slow_open, 0.100);  // 20 ms x 5
  const double t_slow_read = seconds_of([&] { ASSERT_TRUE(g->pread(0, buf).ok()); });
  EXPECT_GE(t_slow_read, 0.050);  // 10 ms x 5

  // stat and errors are not delayed beyond the open: a missing file still costs the open
  // delay (a parallel filesystem answers ENOENT after a round trip) and keeps its kind.
  auto missing = fs.open("/d/none.root");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, ErrorKind::kMissing);
  EXPECT_LT(seconds_of([&] { ASSERT_TRUE(fs.stat("/d/small.root").ok()); }), 0.020);
}

TEST(LatencyFileSystem, OpenOnlyLeavesReadsUndelayed) {
  MemoryFileSystem mem;
  mem.add("/f", bytes("abc"));
  LatencyFileSystem fs(mem, parse_ok("open:30ms"));
  std::unique_ptr<RandomAccessFile> f;
  EXPECT_GE(seconds_of([&] { f = std::move(fs.open("/f")).value(); }), 0.030);
  std::vector<std::byte> buf(3);
  EXPECT_TRUE(f->pread(0, buf).ok());
  EXPECT_EQ(f->size(), 3u);
  EXPECT_EQ(f->path(), "/f");
}

}  // namespace
}  // namespace mpiprep::io
