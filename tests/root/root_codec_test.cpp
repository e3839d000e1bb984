// Decompressor: every algorithm on records built here with the codecs' own APIs, multi-block
// records (including blocks of the maximum 0xFFFFFF bytes), both zlib implementations, and
// each way a record can be wrong.
#include <gtest/gtest.h>
#include <lz4.h>
#include <lzma.h>
#include <xxhash.h>
#include <zlib.h>
#include <zstd.h>

#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "mpiprep/extract/root/decompress.hpp"
#include "root_codec_util.hpp"

namespace mpiprep::extract::root {
namespace {

class Codec : public ::testing::TestWithParam<Algorithm> {};

TEST_P(Codec, MultiBlockRoundTrip) {
  const auto data = sample_data(350'000, 7);
  const auto record = make_record(data, GetParam(), 100'000);
  // 4 blocks: 100000 * 3 + 50000.
  EXPECT_EQ(count_blocks(record), 4u);
  for (const ZlibImpl impl : {ZlibImpl::kLibdeflate, ZlibImpl::kZlib}) {
    Decompressor dec(impl);
    std::vector<std::byte> out(data.size());
    const Status st = dec.decompress(record, out);
    ASSERT_TRUE(st.ok()) << st.error().to_string();
    EXPECT_EQ(out, data);
  }
}

TEST_P(Codec, SingleBlock) {
  const auto data = sample_data(1000, 3);
  const auto record = make_record(data, GetParam(), kMaxBlockBytes);
  EXPECT_EQ(count_blocks(record), 1u);
  Decompressor dec;
  std::vector<std::byte> out(data.size());
  ASSERT_TRUE(dec.decompress(record, out).ok());
  EXPECT_EQ(out, data);
}

TEST_P(Codec, OutputSizeMismatchIsCorrupt) {
  const auto data = sample_data(5000, 4);
  const auto record = make_record(data, GetParam(), kMaxBlockBytes);
  Decompressor dec;
  std::vector<std::byte> bigger(data.size() + 10);
  const Status st = dec.decompress(record, bigger);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().kind, ErrorKind::kCorrupt);
  std::vector<std::byte> smaller(data.size() - 10);
  const Status st2 = dec.decompress(record, smaller);
  ASSERT_FALSE(st2.ok());
  EXPECT_EQ(st2.error().kind, ErrorKind::kCorrupt);
}

TEST_P(Codec, DamagedStreamIsCorrupt) {
  const auto data = sample_data(20'000, 5);
  auto record = make_record(data, GetParam(), kMaxBlockBytes);
  // Damage the middle of the compressed stream (after the 9-byte header).
  for (std::size_t i = record.size() / 2; i < record.size() / 2 + 16; ++i) record[i] ^= std::byte{0x5a};
  Decompressor dec;
  std::vector<std::byte> out(data.size());
  const Status st = dec.decompress(record, out);
  // lz4 catches it with its checksum; the others by their own stream checks (xz/zstd/zlib
  // carry checksums too), so a damaged stream never comes back as data.
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().kind, ErrorKind::kCorrupt);
}

// Each codec keeps one decoder context per thread (decompress.cpp): a failed record must not
// leave it in a state that spoils the next one, records of different sizes must not see each
// other's data, and threads must not share it.
TEST_P(Codec, ThreadContextsSurviveFailuresAndThreads) {
  const auto big = sample_data(200'000, 11);
  const auto small = sample_data(3'000, 12);
  const auto big_record = make_record(big, GetParam(), kMaxBlockBytes);
  const auto small_record = make_record(small, GetParam(), kMaxBlockBytes);
  auto damaged = big_record;
  for (std::size_t i = damaged.size() / 2; i < damaged.size() / 2 + 16; ++i) damaged[i] ^= std::byte{0x5a};
  const auto truncated = std::vector<std::byte>(small_record.begin(), small_record.end() - 5);
  auto run = [&](int rounds) {
    Decompressor dec;
    int good = 0;
    for (int r = 0; r < rounds; ++r) {
      std::vector<std::byte> out(big.size());
      if (dec.decompress(damaged, out).ok()) return -1;
      std::vector<std::byte> out_small(small.size());
      if (dec.decompress(truncated, out_small).ok()) return -1;
      if (!dec.decompress(big_record, out).ok() || out != big) return -1;
      std::fill(out_small.begin(), out_small.end(), std::byte{0});
      if (!dec.decompress(small_record, out_small).ok() || out_small != small) return -1;
      ++good;
    }
    return good;
  };
  EXPECT_EQ(run(3), 3);
  int a = 0;
  int b = 0;
  std::thread ta([&] { a = run(4); });
  std::thread tb([&] { b = run(4); });
  ta.join();
  tb.join();
  EXPECT_EQ(a, 4);
  EXPECT_EQ(b, 4);
}

INSTANTIATE_TEST_SUITE_P(AllAlgorithms, Codec,
                         ::testing::Values(Algorithm::kZlib, Algorithm::kLzma, Algorithm::kLz4,
                                           Algorithm::kZstd),
                         [](const auto& p) { return std::string(algorithm_label(p.param)); });

// A preset-9 xz stream asks for a 64 MiB dictionary, which the per-thread decoder does not
// keep (decompress.cpp, kLzmaKeepBytes); streams before and after it still decode.
TEST(Decompressor, XzLargeDictionaryBetweenSmallOnes) {
  const auto data = sample_data(50'000, 13);
  std::vector<std::byte> body(lzma_stream_buffer_bound(data.size()));
  std::size_t pos = 0;
  ASSERT_EQ(lzma_easy_buffer_encode(9, LZMA_CHECK_CRC64, nullptr,
                                    reinterpret_cast<const std::uint8_t*>(data.data()), data.size(),
                                    reinterpret_cast<std::uint8_t*>(body.data()), &pos, body.size()),
            LZMA_OK);
  body.resize(pos);
  std::vector<std::byte> big_dict_record(kBlockHeaderSize);
  write_block_header(big_dict_record, "XZ", 0, static_cast<std::uint32_t>(body.size()),
                     static_cast<std::uint32_t>(data.size()));
  big_dict_record.insert(big_dict_record.end(), body.begin(), body.end());
  const auto& big_dict = big_dict_record;
  const auto small_dict = make_record(data, Algorithm::kLzma, kMaxBlockBytes);
  Decompressor dec;
  for (const auto* record : {&small_dict, &big_dict, &small_dict, &big_dict, &small_dict}) {
    std::vector<std::byte> out(data.size());
    const Status st = dec.decompress(*record, out);
    ASSERT_TRUE(st.ok()) << st.error().to_string();
    EXPECT_EQ(out, data);
  }
}

// Blocks hold at most 0xFFFFFF bytes: a 40 MiB record needs three of them.
TEST(Decompressor, RecordLargerThanOneBlock) {
  const std::size_t n = 2 * kMaxBlockBytes + 12345;
  const auto data = sample_data(n, 11);
  for (const Algorithm alg : {Algorithm::kZlib, Algorithm::kZstd}) {
    const auto record = make_record(data, alg, kMaxBlockBytes);
    EXPECT_EQ(count_blocks(record), 3u);
    Decompressor dec;
    std::vector<std::byte> out(n);
    const Status st = dec.decompress(record, out);
    ASSERT_TRUE(st.ok()) << st.error().to_string();
    EXPECT_TRUE(out == data);
  }
}

TEST(Decompressor, MixedAlgorithmsInOneRecord) {
  const auto a = sample_data(30'000, 1);
  const auto b = sample_data(20'000, 2);
  auto record = make_record(a, Algorithm::kLzma, kMaxBlockBytes);
  const auto second = make_record(b, Algorithm::kLz4, kMaxBlockBytes);
  record.insert(record.end(), second.begin(), second.end());
  std::vector<std::byte> want = a;
  want.insert(want.end(), b.begin(), b.end());
  Decompressor dec;
  std::vector<std::byte> out(want.size());
  ASSERT_TRUE(dec.decompress(record, out).ok());
  EXPECT_EQ(out, want);
}

TEST(Decompressor, BadLz4ChecksumIsCorrupt) {
  const auto data = sample_data(10'000, 9);
  auto record = make_record(data, Algorithm::kLz4, kMaxBlockBytes);
  record[kBlockHeaderSize + 3] ^= std::byte{0x01};  // inside the 8-byte checksum
  Decompressor dec;
  std::vector<std::byte> out(data.size());
  const Status st = dec.decompress(record, out, 5000);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().kind, ErrorKind::kCorrupt);
  EXPECT_NE(st.error().message.find("checksum"), std::string::npos) << st.error().message;
  EXPECT_NE(st.error().message.find("5000"), std::string::npos) << "names the block's offset";
}

TEST(Decompressor, OldCsAlgorithmIsUnsupported) {
  std::vector<std::byte> record(kBlockHeaderSize + 20);
  write_block_header(record, "CS", 8, 20, 100);
  Decompressor dec;
  std::vector<std::byte> out(100);
  const Status st = dec.decompress(record, out);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().kind, ErrorKind::kUnsupportedCompression);
  EXPECT_NE(st.error().message.find("CS"), std::string::npos);
}

TEST(Decompressor, UnknownMagicIsCorrupt) {
  std::vector<std::byte> record(kBlockHeaderSize + 20);
  write_block_header(record, "QQ", 1, 20, 100);
  Decompressor dec;
  std::vector<std::byte> out(100);
  const Status st = dec.decompress(record, out);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().kind, ErrorKind::kCorrupt);
  EXPECT_NE(st.error().message.find("QQ"), std::string::npos);
}

TEST(Decompressor, SizesBeyondTheRecordAreCorrupt) {
  const auto data = sample_data(4000, 6);
  const auto good = make_record(data, Algorithm::kZlib, kMaxBlockBytes);
  Decompressor dec;
  std::vector<std::byte> out(data.size());
  {  // compressed size larger than what follows
    auto r = good;
    const BlockHeader h = parse_block_header(r);
    write_block_header(r, h.magic, h.method, h.compressed + 100, h.uncompressed);
    EXPECT_EQ(dec.decompress(r, out).error().kind, ErrorKind::kCorrupt);
  }
  {  // uncompressed size larger than the record's
    auto r = good;
    const BlockHeader h = parse_block_header(r);
    write_block_header(r, h.magic, h.method, h.compressed, h.uncompressed + 1);
    EXPECT_EQ(dec.decompress(r, out).error().kind, ErrorKind::kCorrupt);
  }
  {  // record ends inside the next block header
    auto r = good;
    const BlockHeader h = parse_block_header(r);
    write_block_header(r, h.magic, h.method, h.compressed, h.uncompressed - 100);
    r.resize(r.size() + 4);
    EXPECT_EQ(dec.decompress(r, out).error().kind, ErrorKind::kCorrupt);
  }
  {  // a block claiming zero bytes would never make progress
    std::vector<std::byte> r(kBlockHeaderSize);
    write_block_header(r, "ZL", 8, 0, 0);
    EXPECT_EQ(dec.decompress(r, out).error().kind, ErrorKind::kCorrupt);
  }
  {  // empty input for a non-empty output
    EXPECT_EQ(dec.decompress({}, out).error().kind, ErrorKind::kCorrupt);
  }
}

TEST(Decompressor, BlockHeaderRoundTrip) {
  std::vector<std::byte> h(kBlockHeaderSize);
  write_block_header(h, "ZS", 1, 0xABCDEF, 0x123456);
  const BlockHeader b = parse_block_header(h);
  EXPECT_EQ(b.magic[0], 'Z');
  EXPECT_EQ(b.magic[1], 'S');
  EXPECT_EQ(b.method, 1);
  EXPECT_EQ(b.compressed, 0xABCDEFu);
  EXPECT_EQ(b.uncompressed, 0x123456u);
  // Little-endian 3-byte fields, as ROOT writes them.
  EXPECT_EQ(h[3], std::byte{0xEF});
  EXPECT_EQ(h[5], std::byte{0xAB});
}

}  // namespace
}  // namespace mpiprep::extract::root
