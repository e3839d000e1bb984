#include "mpiprep/journal/serialization.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string_view>
#include <random>

#include "journal/meta_testing.hpp"

namespace mpiprep::wire {
namespace {

using mpiprep::testing::expect_same;
using mpiprep::testing::columns_golden_meta;
using mpiprep::testing::synthetic_meta;

std::vector<std::byte> from_hex(std::string_view hex) {
  std::vector<std::byte> out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<std::byte>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

// The wire bytes of columns_golden_meta() as the std::vector<Column> layout (io_vector of
// Column{name, type}, before Columns, commit 5295eab) wrote them. A journal written by that
// build must replay, and this build must write the same bytes.
TEST(Wire, ColumnsBytesAsTheVectorOfColumnLayoutWroteThem) {
  const std::vector<std::byte> golden = from_hex(
      "4d50573101000000010000000000000009000000000000002f672f662e726f6f74d2040000000000002e1600"
      "00000000000101000000000000007506000000000000007a6c69623a31020000000000000006000000000000"
      "004576656e747305000000000000005454726565000000000000000001000000280000000000000005000000"
      "00000000030000000000000072756e080000000000000075696e7433325f742000000000000000484c545f45"
      "6c6533325f575054696768745f4773665f4c31446f75626c6545470400000000000000626f6f6c0000000000"
      "000000000000000000000006000000000000006e756c00696e1600000000000000766563746f723c76656374"
      "6f723c666c6f61743e203e06000000000000004a65745f70740700000000000000666c6f61745b5d05000000"
      "0000000002000000000000000000000000000000280000000000000000000000000000000000000000000000"
      "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
      "0000000000010000000000000068040000000000000054483144000000000000000000000000ffffffffffff"
      "ffff000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
      "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
      "000000000000000000000000000000000000d03f630000000000000001000000");
  ASSERT_EQ(golden.size(), 560u);
  const FileMeta want = columns_golden_meta();
  EXPECT_EQ(encode(std::vector<FileMeta>{want}), golden);
  auto got = decode(golden);
  ASSERT_TRUE(got.ok()) << got.error().to_string();
  ASSERT_EQ(got->size(), 1u);
  expect_same(want, (*got)[0]);
  const Columns& cols = (*got)[0].objects[0].columns;
  ASSERT_EQ(cols.size(), 5u);
  EXPECT_EQ(cols[1], (Column{"HLT_Ele32_WPTight_Gsf_L1DoubleEG", "bool"}));
  EXPECT_EQ(cols[2], (Column{"", ""}));
  EXPECT_EQ(cols[3].name, std::string_view("nul\0in", 6));
  EXPECT_EQ(cols[3].type, "vector<vector<float> >");
  EXPECT_TRUE((*got)[0].objects[1].columns.empty());
  // A count beyond the columns present fails cleanly (the table grows as columns arrive):
  // the count is the u64 5 directly followed by the u64 length 3 of "run".
  std::vector<std::byte> lying = golden;
  const std::vector<std::byte> count = from_hex("05000000000000000300000000000000" "72756e");
  auto at = std::search(lying.begin(), lying.end(), count.begin(), count.end());
  ASSERT_NE(at, lying.end());
  at[1] = std::byte{0xff};  // 65,285 columns
  auto bad = decode(lying);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().kind, ErrorKind::kCorrupt);
}

TEST(Wire, RoundTripEveryField) {
  std::vector<FileMeta> in;
  for (int i = 0; i < 12; ++i) in.push_back(synthetic_meta(i));
  const auto bytes = encode(in);
  auto out = decode(bytes);
  ASSERT_TRUE(out.ok()) << out.error().to_string();
  ASSERT_EQ(out->size(), in.size());
  for (std::size_t i = 0; i < in.size(); ++i) expect_same(in[i], (*out)[i]);
  // The embedded NUL survived (length-prefixed strings, not C strings).
  EXPECT_EQ((*out)[3].objects[1].attributes[2], std::string("with\0nul", 8));
  EXPECT_EQ((*out)[3].objects[1].filters[1].params[1], 0xFFFFFFFFu);
}

TEST(Wire, RoundTripDefaultsAndEmpty) {
  auto empty = decode(encode(std::vector<FileMeta>{}));
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  std::vector<FileMeta> one(1);
  auto out = decode(encode(one));
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(out->size(), 1u);
  expect_same(one[0], (*out)[0]);
  EXPECT_EQ((*out)[0].rank, -1);
}

TEST(Wire, RoundTripTestFilesMetadataFromExpectedJson) {
  const auto in = mpiprep::testing::metas_from_expected_json();
  ASSERT_GE(in.size(), 20u);
  const auto bytes = encode(in);
  auto out = decode(bytes);
  ASSERT_TRUE(out.ok()) << out.error().to_string();
  ASSERT_EQ(out->size(), in.size());
  for (std::size_t i = 0; i < in.size(); ++i) expect_same(in[i], (*out)[i]);
  // nano_dy.root's Events tree has 1499 top-level branches (expected.json nTopBranches).
  bool found = false;
  for (const auto& m : *out) {
    if (m.path.ends_with("/nano_dy.root")) {
      const ObjectMeta* ev = m.find_object("Events");
      ASSERT_NE(ev, nullptr);
      EXPECT_EQ(ev->columns.size(), 1499u);
      EXPECT_EQ(ev->num_entries, 40);
      found = true;
    }
  }
  EXPECT_TRUE(found);
}

TEST(Wire, EveryTruncationIsAnErrorNotACrash) {
  std::vector<FileMeta> in = {synthetic_meta(1), synthetic_meta(2)};
  const auto bytes = encode(in);
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) {
    auto out = decode(std::span(bytes).first(cut));
    ASSERT_FALSE(out.ok()) << "cut at " << cut << " of " << bytes.size();
    EXPECT_TRUE(out.error().kind == ErrorKind::kCorrupt) << out.error().to_string();
  }
}

TEST(Wire, TrailingBytesBadMagicBadVersion) {
  auto bytes = encode(std::vector<FileMeta>{synthetic_meta(7)});
  auto extra = bytes;
  extra.push_back(std::byte{0});
  EXPECT_FALSE(decode(extra).ok());
  auto magic = bytes;
  magic[0] = std::byte{'X'};
  EXPECT_EQ(decode(magic).error().kind, ErrorKind::kCorrupt);
  auto version = bytes;
  version[4] = std::byte{99};
  EXPECT_EQ(decode(version).error().kind, ErrorKind::kUnsupportedVersion);
}

// Lying counts must fail fast, without allocating what they claim.
TEST(Wire, LyingCountsAndLengthsAreRejected) {
  auto bytes = encode(std::vector<FileMeta>{synthetic_meta(3)});
  // Record count (u64 right after the 8-byte header).
  for (std::uint64_t lie : {std::uint64_t{1} << 40, std::uint64_t{1} << 30, std::uint64_t{2}}) {
    auto b = bytes;
    std::memcpy(b.data() + 8, &lie, 8);
    auto out = decode(b);
    EXPECT_FALSE(out.ok()) << lie;
  }
  // The path length (u64 after the count): claim 1 GiB and 2^31 + 1.
  for (std::uint64_t lie : {std::uint64_t{1} << 30, (std::uint64_t{1} << 31) + 1}) {
    auto b = bytes;
    std::memcpy(b.data() + 16, &lie, 8);
    auto out = decode(b);
    ASSERT_FALSE(out.ok()) << lie;
    EXPECT_EQ(out.error().kind, ErrorKind::kCorrupt);
  }
}

// Random corruption: decode either fails cleanly or returns something; it never crashes
// (run under -DMPIPREP_SANITIZE=ON for memory errors).
TEST(Wire, RandomCorruptionNeverCrashes) {
  std::vector<FileMeta> in = {synthetic_meta(4), synthetic_meta(5), synthetic_meta(6)};
  const auto bytes = encode(in);
  std::mt19937 rng(12345);
  std::uniform_int_distribution<std::size_t> pos(0, bytes.size() - 1);
  std::uniform_int_distribution<int> val(0, 255);
  int failures = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    auto b = bytes;
    const int flips = 1 + iter % 4;
    for (int k = 0; k < flips; ++k) b[pos(rng)] = static_cast<std::byte>(val(rng));
    auto out = decode(b);
    if (!out.ok()) ++failures;
  }
  // Most corruptions in lengths/counts/enums are detected; payload bytes in strings are not
  // (that is the journal checksum's job).
  EXPECT_GT(failures, 100);
}

TEST(Wire, ArchiveHelpersRoundTripAndRejectGarbage) {
  std::vector<std::byte> out;
  append_archive(out, synthetic_meta(9));
  auto back = read_archive<FileMeta>(out, "meta");
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  expect_same(synthetic_meta(9), *back);
  auto torn = read_archive<FileMeta>(std::span(out).first(out.size() / 2), "meta");
  ASSERT_FALSE(torn.ok());
  EXPECT_NE(torn.error().message.find("meta"), std::string::npos);
}

}  // namespace
}  // namespace mpiprep::wire
