// Issue 5, item 7: a file or record that declares a huge object must be rejected with a clear
// error before anything of that size is allocated. Every allocation of this binary goes
// through a counting hook (alloc_probe.cpp); each test asserts the largest single request
// stayed under a fixed cap while the hostile input was read.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <xxhash.h>

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "../cache/cache_test_support.hpp"
#include "alloc_probe.hpp"
#include "cache/seal.hpp"
#include "mpiprep/cache/cache.hpp"
#include "mpiprep/comm/communicator.hpp"
#include "mpiprep/extract/root/reader.hpp"
#include "mpiprep/io/file_system.hpp"
#include "mpiprep/journal/journal.hpp"
#include "mpiprep/journal/serialization.hpp"

namespace mpiprep {
namespace {

using testing::AllocProbe;
namespace fs = std::filesystem;

// The reader caps (ROOT ReadOptions::max_record_bytes, journal kMaxRecordBytes) are 256 MiB;
// nothing here may come close to the declared sizes (2 GiB and more).
constexpr std::size_t kCap = std::size_t{256} << 20;

std::vector<std::byte> file_bytes(const std::string& path) {
  const auto n = static_cast<std::size_t>(fs::file_size(path));
  std::vector<std::byte> out(n);
  std::ifstream in(path, std::ios::binary);
  in.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(n));
  return out;
}

void write_file(const std::string& path, const std::vector<std::byte>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

std::uint32_t be32(const std::vector<std::byte>& b, std::size_t at) {
  return (std::to_integer<std::uint32_t>(b[at]) << 24) | (std::to_integer<std::uint32_t>(b[at + 1]) << 16) |
         (std::to_integer<std::uint32_t>(b[at + 2]) << 8) | std::to_integer<std::uint32_t>(b[at + 3]);
}
void put_be32(std::vector<std::byte>& b, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + static_cast<std::size_t>(i)] = static_cast<std::byte>((v >> (24 - 8 * i)) & 0xff);
}

// Offsets of the TKey headers (the record's own and the copies in the key lists) of every
// TTree key in a ROOT file: a header is found by its seek key pointing at itself.
std::vector<std::size_t> tree_key_headers(const std::vector<std::byte>& f) {
  std::vector<std::size_t> records;
  for (std::size_t o = 100; o + 40 < f.size(); ++o) {
    const auto version = (std::to_integer<int>(f[o + 4]) << 8) | std::to_integer<int>(f[o + 5]);
    const bool big = version > 1000;
    std::uint64_t seek = be32(f, o + 18);
    if (big) seek = (seek << 32) | be32(f, o + 22);
    if (seek != o) continue;
    const std::size_t cls = o + 18 + (big ? 16 : 8);
    if (cls + 6 > f.size() || std::to_integer<int>(f[cls]) != 5) continue;
    if (std::memcmp(f.data() + cls + 1, "TTree", 5) != 0) continue;
    records.push_back(o);
  }
  std::vector<std::size_t> all;
  for (const std::size_t r : records) {
    // fNbytes .. fCycle (18 bytes) identify the key; the key lists repeat them.
    for (std::size_t o = 0; o + 18 <= f.size(); ++o) {
      if (std::memcmp(f.data() + o, f.data() + r, 18) == 0) all.push_back(o);
    }
  }
  return all;
}

struct RootOutcome {
  std::string error;  // the file's error or the first object error ("" if none)
  std::size_t peak = 0;
};

RootOutcome read_with_probe(std::vector<std::byte> bytes) {
  io::MemoryFileSystem mfs;
  mfs.add("/mem/crafted.root", std::move(bytes));
  auto f = mfs.open("/mem/crafted.root");
  EXPECT_TRUE(f.ok());
  RootOutcome out;
  if (!f.ok()) return out;
  AllocProbe probe;
  auto info = extract::root::read_root_file(**f);
  out.peak = AllocProbe::peak();
  if (!info.ok()) {
    out.error = info.error().to_string();
  } else if (!info->object_errors.empty()) {
    out.error = info->object_errors.front().message;
  }
  return out;
}

class HugeRootObject : public ::testing::TestWithParam<std::string> {};

// fObjlen (the uncompressed size; Int_t in ROOT, so 2 GiB - 1 is the most a key can declare)
// and fNbytes (the stored size) of every TTree key set to 0x7fffffff.
TEST_P(HugeRootObject, DeclaredTwoGiBTreeIsAnErrorNotAnAllocation) {
  const auto original = file_bytes(std::string(MPIPREP_TEST_DATA_DIR) + "/" + GetParam());
  const auto headers = tree_key_headers(original);
  ASSERT_GE(headers.size(), 2u) << "no TTree key (record + key list copy) found";
  for (const std::size_t field : {std::size_t{6}, std::size_t{0}}) {  // fObjlen, fNbytes
    SCOPED_TRACE(field == 6 ? "fObjlen" : "fNbytes");
    auto bytes = original;
    for (const std::size_t h : headers) put_be32(bytes, h + field, 0x7fffffffu);
    const RootOutcome r = read_with_probe(std::move(bytes));
    EXPECT_FALSE(r.error.empty()) << "a 2 GiB object was accepted";
    EXPECT_LT(r.peak, kCap) << r.error;
    EXPECT_GT(AllocProbe::count(), 0u);
    if (field == 6) {
      EXPECT_NE(r.error.find("2147483647"), std::string::npos) << r.error;
    }
    std::printf("%s %s: peak single allocation %zu bytes; error: %s\n", GetParam().c_str(),
                field == 6 ? "fObjlen" : "fNbytes", r.peak, r.error.c_str());
  }
}

INSTANTIATE_TEST_SUITE_P(Files, HugeRootObject,
                         ::testing::Values("uproot-HZZ.root", "uproot-HZZ-zstd.root", "nano_dy.root"),
                         [](const auto& p) {
                           std::string n = p.param;
                           for (char& c : n) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return n;
                         });

char* volatile g_sink = nullptr;  // keeps the compiler from eliding new/delete pairs

// The hook itself: a large request through operator new is seen, and only while a probe lives.
TEST(AllocProbe, SeesOperatorNewAndStopsWithTheProbe) {
  constexpr std::size_t kBig = std::size_t{64} << 20;  // not touched: mmapped, never faulted in
  {
    AllocProbe probe;
    g_sink = new char[kBig];
    delete[] g_sink;
    EXPECT_GE(AllocProbe::peak(), kBig);
  }
  g_sink = new char[2 * kBig];
  delete[] g_sink;
  EXPECT_LT(AllocProbe::peak(), 2 * kBig);
}

void put_be64(std::vector<std::byte>& b, std::size_t at, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) b[at + static_cast<std::size_t>(i)] = static_cast<std::byte>((v >> (56 - 8 * i)) & 0xff);
}

// RNTuple anchors hold 64-bit sizes: fLenHeader (the uncompressed header) set to 4 GiB, with
// the anchor's xxh3 recomputed so that the size check, not the checksum, has to catch it.
TEST(HugeRootObject, RNTupleAnchorDeclaringFourGiBHeaderIsAnError) {
  auto bytes = file_bytes(std::string(MPIPREP_TEST_DATA_DIR) + "/ntpl001_staff_rntuple_v1-0-0-0.root");
  io::MemoryFileSystem mfs;
  mfs.add("/mem/ok.root", bytes);
  auto ok_file = mfs.open("/mem/ok.root");
  ASSERT_TRUE(ok_file.ok());
  auto info = extract::root::read_root_file(**ok_file);
  ASSERT_TRUE(info.ok()) << info.error().to_string();
  ASSERT_EQ(info->rntuples.size(), 1u);
  const auto& nt = info->rntuples[0];
  std::vector<std::byte> pattern(24);
  put_be64(pattern, 0, nt.seek_header);
  put_be64(pattern, 8, nt.nbytes_header);
  put_be64(pattern, 16, nt.len_header);
  std::size_t at = 0;
  for (std::size_t o = 8; o + 24 + 48 <= bytes.size(); ++o) {
    if (std::memcmp(bytes.data() + o, pattern.data(), 24) == 0) at = o;
  }
  ASSERT_GT(at, 0u) << "uncompressed RNTuple anchor not found";
  put_be64(bytes, at + 16, std::uint64_t{1} << 32);
  const std::size_t fields_at = at - 8;
  put_be64(bytes, fields_at + 64, XXH3_64bits(bytes.data() + fields_at, 64));
  const RootOutcome r = read_with_probe(std::move(bytes));
  EXPECT_FALSE(r.error.empty()) << "a 4 GiB RNTuple header was accepted";
  EXPECT_EQ(r.error.find("checksum"), std::string::npos) << r.error;
  EXPECT_LT(r.peak, kCap) << r.error;
  std::printf("RNTuple fLenHeader 4 GiB: peak single allocation %zu bytes; error: %s\n", r.peak, r.error.c_str());
}

// ---- journal ----

void put_le32(std::vector<std::byte>& b, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<std::byte>((v >> (8 * i)) & 0xff));
}
void put_le64(std::vector<std::byte>& b, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) b.push_back(static_cast<std::byte>((v >> (8 * i)) & 0xff));
}
std::vector<std::byte> journal_header() {
  std::vector<std::byte> b;
  for (const char c : std::string("MPJRNL01")) b.push_back(static_cast<std::byte>(c));
  put_le32(b, wire::kWireVersion);
  put_le32(b, 0);
  return b;
}
void append_record(std::vector<std::byte>& b, const std::vector<std::byte>& payload, std::uint32_t len,
                   bool good_hash) {
  put_le32(b, 0x524A504Du);  // "MPJR"
  put_le32(b, len);
  put_le64(b, good_hash ? XXH64(payload.data(), payload.size(), len) : 0);
  b.insert(b.end(), payload.begin(), payload.end());
}

FileMeta one_meta(int seed) {
  return cache::testing::make_root_file("/data/f" + std::to_string(seed) + ".root",
                                        cache::testing::make_columns(20), seed);
}

TEST(HugeJournalRecord, HugeLengthIsADroppedTailNotAnAllocation) {
  cache::testing::TempDir dir;
  const std::string cache_path = dir.file("cache.h5");
  const std::vector<FileMeta> metas{one_meta(1), one_meta(2)};
  const auto good = wire::encode(metas);
  for (const std::uint32_t len : {0xffffffffu, 0xfffffff0u, 0x80000000u, (256u << 20) + 1}) {
    SCOPED_TRACE(len);
    auto b = journal_header();
    append_record(b, good, static_cast<std::uint32_t>(good.size()), true);
    const std::size_t tail_at = b.size();
    append_record(b, std::vector<std::byte>(64, std::byte{0x5a}), len, false);
    const std::string jpath = journal::journal_prefix(cache_path) + "testhost.1.0";
    write_file(jpath, b);
    std::size_t peak = 0;
    Result<journal::Replay> r = make_error(ErrorKind::kInternal, "not run");
    {
      AllocProbe probe;
      r = journal::replay(cache_path);
      peak = AllocProbe::peak();
    }
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    ASSERT_EQ(r->details.size(), 1u);
    const journal::JournalFile& jf = r->details[0];
    EXPECT_TRUE(jf.replayed);
    EXPECT_EQ(jf.records, 1u);
    EXPECT_EQ(r->metas.size(), 2u);
    EXPECT_EQ(jf.bytes_dropped, b.size() - tail_at);
    EXPECT_NE(jf.problem.find("claims"), std::string::npos) << jf.problem;
    EXPECT_LT(peak, std::size_t{1} << 20) << "replay of a small journal allocated " << peak;
    fs::remove(jpath);
  }
}

// A record whose checksum is right but whose payload lies about its counts (a writer bug or a
// deliberate forgery): every 4- and 8-byte window of a real payload set to all ones, and to a
// few large values. The decoder must refuse each without a large allocation.
TEST(HugeJournalRecord, LyingCountsInAChecksummedPayloadAreBounded) {
  const std::vector<FileMeta> metas{one_meta(3), one_meta(4)};
  const auto good = wire::encode(metas);
  ASSERT_TRUE(wire::decode(good).ok());
  std::size_t worst = 0;
  std::size_t rejected = 0;
  for (const std::size_t width : {std::size_t{4}, std::size_t{8}}) {
    for (const std::uint64_t value : {~std::uint64_t{0}, std::uint64_t{1} << 31, std::uint64_t{1} << 32}) {
      for (std::size_t at = 0; at + width <= good.size(); ++at) {
        auto bad = good;
        for (std::size_t i = 0; i < width; ++i) bad[at + i] = static_cast<std::byte>((value >> (8 * i)) & 0xff);
        AllocProbe probe;
        auto d = wire::decode(bad);
        worst = std::max(worst, AllocProbe::peak());
        if (!d.ok()) ++rejected;
      }
    }
  }
  EXPECT_GT(rejected, 0u);
  EXPECT_LT(worst, std::size_t{1} << 20) << "largest single allocation decoding a lying payload";
  std::printf("lying payloads: %zu rejected, largest allocation %zu bytes\n", rejected, worst);
}

// ---- HDF5 cache ----

// Replaces the table `name` by a chunked dataset of `elements` elements of the same type with
// no chunk written: a few hundred bytes in the file, `elements * 8` bytes declared.
void replace_with_huge(const std::string& path, const char* name, hsize_t elements) {
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  const hid_t old = H5Dopen2(f, name, H5P_DEFAULT);
  ASSERT_GE(old, 0);
  const hid_t type = H5Dget_type(old);
  H5Dclose(old);
  ASSERT_GE(H5Ldelete(f, name, H5P_DEFAULT), 0);
  const hsize_t dims[1] = {elements};
  const hid_t space = H5Screate_simple(1, dims, nullptr);
  const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  const hsize_t chunk[1] = {1024};
  H5Pset_chunk(dcpl, 1, chunk);
  H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER);
  const hid_t d = H5Dcreate2(f, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  ASSERT_GE(d, 0);
  H5Dclose(d);
  H5Pclose(dcpl);
  H5Sclose(space);
  H5Tclose(type);
  H5Fclose(f);
}

void reseal(const std::string& path) {
  auto bytes = file_bytes(path);
  const cache::SealCheck before = cache::check_seal(path, bytes.size());
  std::fill(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(cache::kUserBlockSize), std::byte{0});
  write_file(path, bytes);
  ASSERT_TRUE(cache::seal_file(path, before.info.generation, before.info.checksum).ok());
}

TEST(HugeCacheTable, DeclaredFourGiBTableIsRejectedWithoutAllocatingIt) {
  cache::testing::TempDir dir;
  for (const std::uint64_t cap : {cache::LoadOptions{}.max_table_bytes, std::uint64_t{256} << 20}) {
    SCOPED_TRACE(cap);
    const std::string path = dir.file("huge-" + std::to_string(cap) + ".h5");
    {
      cache::Cache c(&cache::testing::test_versions);
      c.put(one_meta(5), 7);
      c.put(one_meta(6), 7);
      comm::SerialCommunicator comm;
      const cache::CommitReport rep = cache::commit(comm, c, path);
      ASSERT_GT(rep.files, 0u);
    }
    replace_with_huge(path, "files/size", hsize_t{1} << 29);  // 2^29 x 8 bytes = 4 GiB
    reseal(path);
    cache::LoadOptions opts;
    opts.max_table_bytes = cap;
    opts.move_aside = false;
    std::size_t peak = 0;
    cache::LoadReport report;
    {
      AllocProbe probe;
      auto l = cache::Cache::load(path, opts, &cache::testing::test_versions);
      peak = AllocProbe::peak();
      report = l.report;
      EXPECT_EQ(l.cache.size(), 0u);
    }
    EXPECT_EQ(report.status, cache::LoadStatus::kCorrupt) << report.reason;
    EXPECT_NE(report.reason.find("files/size"), std::string::npos) << report.reason;
    EXPECT_LT(peak, kCap) << report.reason;
    std::printf("cap %llu: peak single allocation %zu bytes; reason: %s\n",
                static_cast<unsigned long long>(cap), peak, report.reason.c_str());
  }
}

}  // namespace
}  // namespace mpiprep
