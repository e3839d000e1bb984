// Invariant 4: a bad cache is a warning, not a crash. Truncated, random, foreign, newer,
// tampered and structurally wrong caches are reported with a reason, moved aside to
// <name>.corrupt-<UTC>, and the run proceeds cold; HDF5 never prints its error stack.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <string_view>

#include "cache/cache_file.hpp"
#include "cache/h5.hpp"
#include "cache/seal.hpp"
#include "cache_test_support.hpp"
#include "mpiprep/comm/communicator.hpp"

namespace mpiprep::cache {
namespace {
namespace fs = std::filesystem;
using testing::TempDir;

constexpr const char* kMarker = "/data/MARKER-PATH-0123456789.root";

// A valid, uncompressed cache (so its strings appear verbatim in the file).
void write_valid(const std::string& path) {
  Cache c(&testing::test_versions);
  c.put(testing::make_root_file(kMarker, testing::make_columns(30), 1), 7);
  c.put(testing::make_hdf5_file("/data/x.h5", 2), 7);
  c.put(testing::make_failed_file("/data/bad.root", ErrorKind::kCorrupt, 3), 7);
  comm::SerialCommunicator comm;
  CommitOptions opts;
  opts.compress = false;
  (void)commit(comm, c, path, opts);
}

// Writes a cache through the real writer with a doctored header.
void write_with_header(const std::string& path, const std::string& format, std::int32_t version) {
  SchemaPool pool;
  TablesBuilder b(pool);
  b.add(meta_to_rec(testing::make_hdf5_file("/data/y.h5", 1), pool, 0, 1));
  Tables t = b.finish();
  WritePlan plan;
  plan.temp_path = path;
  plan.sizes = dataset_sizes(t);
  plan.header = Header{format,
                       version,
                       1,
                       "someone else 9.9",
                       "2030-01-01T00:00:00Z",
                       content_checksum(t, version, 1)};
  plan.compress = false;
  {
    h5::ErrorSilencer quiet;
    h5::Handle fapl = h5::sec2_fapl();
    write_cache_file(plan, &t, fapl.get(), false);
  }
  ASSERT_TRUE(seal_file(path, plan.header.generation, plan.header.checksum).ok());
}

// Re-seals a cache modified behind the seal's back, as a foreign writer producing a
// well-formed but wrong file would: the damage then has to be caught further in.
void reseal(const std::string& path) {
  auto bytes = testing::read_bytes(path);
  SealCheck before = check_seal(path, bytes.size());
  std::fill(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(kUserBlockSize), '\0');
  testing::write_bytes(path, bytes);
  ASSERT_TRUE(seal_file(path, before.info.generation, before.info.checksum).ok());
}

struct Rejection {
  LoadReport report;
  std::size_t size = 0;
  std::string stderr_text;
};

Rejection load_bad(const std::string& path, const LoadOptions& opts = {}) {
  ::testing::internal::CaptureStderr();
  auto l = Cache::load(path, opts, &testing::test_versions);
  Rejection r{l.report, l.cache.size(), ::testing::internal::GetCapturedStderr()};
  return r;
}

// "<anything>.corrupt-YYYYmmddTHHMMSS" optionally followed by "-<n>".
bool is_aside_name(const std::string& name) {
  const auto at = name.rfind(".corrupt-");
  if (at == std::string::npos) return false;
  const std::string stamp = name.substr(at + 9);
  auto digits = [](std::string_view v) {
    return !v.empty() &&
           std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (stamp.size() < 15 || !digits(std::string_view(stamp).substr(0, 8)) || stamp[8] != 'T' ||
      !digits(std::string_view(stamp).substr(9, 6)))
    return false;
  return stamp.size() == 15 || (stamp[15] == '-' && digits(std::string_view(stamp).substr(16)));
}

// The common expectations for a rejected cache whose bytes were `bad`.
void expect_moved_aside(const Rejection& r, const std::string& path, const std::vector<char>& bad) {
  EXPECT_EQ(r.stderr_text.find("HDF5-DIAG"), std::string::npos) << r.stderr_text;
  EXPECT_EQ(r.size, 0u);
  EXPECT_FALSE(r.report.reason.empty());
  EXPECT_FALSE(fs::exists(path)) << "left in place: " << path;
  ASSERT_FALSE(r.report.moved_to.empty());
  EXPECT_TRUE(is_aside_name(r.report.moved_to)) << r.report.moved_to;
  EXPECT_EQ(r.report.moved_to.rfind(path + ".corrupt-", 0), 0u) << r.report.moved_to;
  EXPECT_EQ(testing::read_bytes(r.report.moved_to), bad) << "moved file differs";
}

TEST(CorruptCache, MissingIsAColdRunNotAnError) {
  TempDir dir;
  auto r = load_bad(dir.file("none.h5"));
  EXPECT_EQ(r.report.status, LoadStatus::kMissing);
  EXPECT_TRUE(r.report.reason.empty());
  EXPECT_TRUE(r.report.moved_to.empty());
  EXPECT_EQ(r.size, 0u);
  EXPECT_TRUE(dir.list().empty());
}

TEST(CorruptCache, TruncatedAtSeveralOffsets) {
  TempDir dir;
  const std::string good = dir.file("good.h5");
  write_valid(good);
  const auto bytes = testing::read_bytes(good);
  ASSERT_GT(bytes.size(), 4096u);
  const std::size_t n = bytes.size();
  for (std::size_t cut : {std::size_t{0}, std::size_t{7}, std::size_t{100}, std::size_t{600},
                          std::size_t{2048}, n / 4, n / 2, 3 * n / 4, n - 64, n - 1}) {
    SCOPED_TRACE("truncated at " + std::to_string(cut));
    const std::string path = dir.file("trunc.h5");
    std::vector<char> bad(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(cut));
    testing::write_bytes(path, bad);
    auto r = load_bad(path);
    EXPECT_EQ(r.report.status, LoadStatus::kCorrupt) << r.report.reason;
    expect_moved_aside(r, path, bad);
    auto v = verify(r.report.moved_to);
    EXPECT_FALSE(v.ok());
    EXPECT_EQ(v.error().kind, ErrorKind::kCorrupt);
  }
  // The same second twice gives distinct names, never overwriting an earlier corrupt copy.
  std::size_t asides = 0;
  for (const auto& name : dir.list()) asides += name.find(".corrupt-") != std::string::npos;
  EXPECT_EQ(asides, 10u);
}

TEST(CorruptCache, RandomBytesWithAndWithoutTheHdf5Signature) {
  TempDir dir;
  std::mt19937_64 rng(12345);
  for (bool signature : {false, true}) {
    SCOPED_TRACE(signature ? "with signature" : "plain random");
    std::vector<char> bad(100000);
    for (auto& b : bad) b = static_cast<char>(rng() & 0xff);
    if (signature) {
      const char sig[8] = {'\x89', 'H', 'D', 'F', '\r', '\n', '\x1a', '\n'};
      std::copy(sig, sig + 8, bad.begin());
    }
    const std::string path = dir.file("random.h5");
    testing::write_bytes(path, bad);
    auto r = load_bad(path);
    // With the signature it looks like somebody else's HDF5 file; either way it goes aside
    // and libhdf5 never parses it.
    EXPECT_EQ(r.report.status, signature ? LoadStatus::kForeign : LoadStatus::kCorrupt);
    expect_moved_aside(r, path, bad);
  }
}

TEST(CorruptCache, NewerFormatVersionIsForeign) {
  TempDir dir;
  const std::string path = dir.file("newer.h5");
  write_with_header(path, std::string(kFormatName), kFormatVersion + 1);
  const auto bytes = testing::read_bytes(path);
  auto v = verify(path);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().kind, ErrorKind::kUnsupportedVersion);
  auto r = load_bad(path);
  EXPECT_EQ(r.report.status, LoadStatus::kForeign);
  EXPECT_NE(r.report.reason.find("newer"), std::string::npos) << r.report.reason;
  expect_moved_aside(r, path, bytes);
}

TEST(CorruptCache, WrongFormatNameIsForeign) {
  TempDir dir;
  const std::string path = dir.file("other.h5");
  write_with_header(path, "someone-elses-cache", kFormatVersion);
  const auto bytes = testing::read_bytes(path);
  auto v = verify(path);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().kind, ErrorKind::kUnsupportedFormat);
  auto r = load_bad(path);
  EXPECT_EQ(r.report.status, LoadStatus::kForeign);
  EXPECT_NE(r.report.reason.find("someone-elses-cache"), std::string::npos) << r.report.reason;
  expect_moved_aside(r, path, bytes);
}

TEST(CorruptCache, SomeoneElsesHdf5FileIsForeign) {
  TempDir dir;
  const std::string path = dir.file("cache.h5");
  fs::copy_file(testing::test_data_dir() + "/ref_groups.h5", path);
  const auto bytes = testing::read_bytes(path);
  auto r = load_bad(path);
  EXPECT_EQ(r.report.status, LoadStatus::kForeign);
  EXPECT_NE(r.report.reason.find("not an mpiprep cache"), std::string::npos) << r.report.reason;
  expect_moved_aside(r, path, bytes);
}

// One flipped bit in a data region: caught by the seal's whole-file hash; and if the file is
// re-sealed (so only the content checksum can notice), by the content checksum.
TEST(CorruptCache, FlippedByteInADataRegionIsAChecksumMismatch) {
  TempDir dir;
  for (bool resealed : {false, true}) {
    SCOPED_TRACE(resealed ? "re-sealed" : "sealed");
    const std::string path = dir.file("flip.h5");
    write_valid(path);
    ASSERT_TRUE(verify(path).ok());
    auto bytes = testing::read_bytes(path);
    const std::string marker = kMarker;
    auto it = std::search(bytes.begin(), bytes.end(), marker.begin(), marker.end());
    ASSERT_NE(it, bytes.end()) << "uncompressed path blob not found";
    *(it + 20) = static_cast<char>(*(it + 20) ^ 0x01);  // one bit of one path character
    testing::write_bytes(path, bytes);
    if (resealed) {
      reseal(path);
      bytes = testing::read_bytes(path);
    }
    const std::string want = resealed ? "checksum mismatch: stored" : "file checksum mismatch";
    auto v = verify(path);
    ASSERT_FALSE(v.ok());
    EXPECT_EQ(v.error().kind, ErrorKind::kCorrupt);
    EXPECT_NE(v.error().message.find(want), std::string::npos) << v.error().message;
    auto r = load_bad(path);
    EXPECT_EQ(r.report.status, LoadStatus::kCorrupt);
    EXPECT_NE(r.report.reason.find(want), std::string::npos) << r.report.reason;
    expect_moved_aside(r, path, bytes);
  }
}

// Structure errors the checksum cannot see (the writer was not us): a missing dataset and a
// dataset of the wrong type.
TEST(CorruptCache, WrongStructureIsCorrupt) {
  TempDir dir;
  for (int variant = 0; variant < 2; ++variant) {
    SCOPED_TRACE(variant);
    const std::string path = dir.file("structure.h5");
    write_valid(path);
    {
      h5::ErrorSilencer quiet;
      h5::Handle fapl = h5::sec2_fapl();
      h5::Handle f = h5::checked(H5Fopen(path.c_str(), H5F_ACC_RDWR, fapl.get()), H5Fclose, "open");
      const char* victim = variant == 0 ? "files/uuid_chars" : "files/size";
      h5::check(H5Ldelete(f.get(), victim, H5P_DEFAULT), "delete");
      if (variant == 1) {
        std::vector<std::int32_t> small(3, 1);
        h5::WriteSpec spec{3, small.data(), false};
        h5::write_dataset(f.get(), victim, h5::Elem::kI32, spec, H5P_DEFAULT, true);
      }
      f.close("close");
    }
    reseal(path);
    const auto bytes = testing::read_bytes(path);
    auto r = load_bad(path);
    EXPECT_EQ(r.report.status, LoadStatus::kCorrupt);
    EXPECT_NE(r.report.reason.find(variant == 0 ? "missing" : "unexpected element type"),
              std::string::npos)
        << r.report.reason;
    expect_moved_aside(r, path, bytes);
  }
}

// Invariant 6: sizes in the file are bounded before anything is allocated for them.
TEST(CorruptCache, TableSizeCapIsEnforced) {
  TempDir dir;
  const std::string path = dir.file("cap.h5");
  write_valid(path);
  LoadOptions opts;
  opts.max_table_bytes = 64;
  opts.move_aside = false;  // inspection mode: report only
  auto r = load_bad(path, opts);
  EXPECT_EQ(r.report.status, LoadStatus::kCorrupt);
  EXPECT_NE(r.report.reason.find("cap"), std::string::npos) << r.report.reason;
  EXPECT_TRUE(r.report.moved_to.empty());
  EXPECT_TRUE(fs::exists(path));
  EXPECT_TRUE(verify(path).ok());
}

TEST(CorruptCache, ColdRunAfterwardsWritesAFreshCacheAndKeepsTheBadOneAside) {
  TempDir dir;
  const std::string path = dir.file("cache.h5");
  testing::write_bytes(path, std::vector<char>(5000, 'x'));
  auto l = Cache::load(path, {}, &testing::test_versions);
  ASSERT_EQ(l.report.status, LoadStatus::kCorrupt);
  l.cache.put(testing::make_hdf5_file("/data/z.h5", 1), 0);
  comm::SerialCommunicator comm;
  auto rep = commit(comm, l.cache, path);
  EXPECT_EQ(rep.generation, 1u);
  EXPECT_TRUE(verify(path).ok());
  EXPECT_TRUE(fs::exists(l.report.moved_to));
  EXPECT_EQ(testing::read_bytes(l.report.moved_to), std::vector<char>(5000, 'x'));
}

// Random single-byte damage anywhere in the file (metadata or data, compressed or not) is
// either rejected or, if it hit bytes nobody reads, loads the very same content; never a crash,
// never wrong content, never HDF5 output.
TEST(CorruptCache, RandomByteDamageIsRejectedOrHarmless) {
  TempDir dir;
  for (bool compress : {false, true}) {
    SCOPED_TRACE(compress ? "deflate" : "plain");
    const std::string good = dir.file("good.h5");
    std::vector<FileMeta> metas;
    Cache c(&testing::test_versions);
    for (int i = 0; i < 300; ++i)
      metas.push_back(testing::make_root_file("/data/f" + std::to_string(i) + ".root",
                                              testing::make_columns(50, i % 2), i));
    metas.push_back(testing::make_hdf5_file("/data/x.h5", 1));
    for (const auto& m : metas) c.put(m, 1);
    comm::SerialCommunicator comm;
    CommitOptions opts;
    opts.compress = compress;
    (void)commit(comm, c, good, opts);
    const auto bytes = testing::read_bytes(good);
    std::mt19937_64 rng(compress ? 99 : 7);
    int rejected = 0, harmless = 0;
    const std::string path = dir.file("damaged.h5");
    for (int trial = 0; trial < 150; ++trial) {
      auto bad = bytes;
      const auto at = static_cast<std::size_t>(rng() % bad.size());
      bad[at] = static_cast<char>(bad[at] ^ static_cast<char>(1 + rng() % 255));
      testing::write_bytes(path, bad);
      LoadOptions lo;
      lo.move_aside = false;
      auto r = load_bad(path, lo);
      ASSERT_EQ(r.stderr_text.find("HDF5-DIAG"), std::string::npos) << "offset " << at;
      if (r.report.status == LoadStatus::kLoaded) {
        ++harmless;
        auto l = Cache::load(path, lo, &testing::test_versions);
        ASSERT_EQ(l.cache.size(), metas.size()) << "offset " << at;
        for (std::size_t i = 0; i < metas.size(); i += 37)
          testing::expect_same(*l.cache.get(metas[i].path), metas[i]);
      } else {
        ++rejected;
        EXPECT_NE(r.report.status, LoadStatus::kMissing);
        EXPECT_EQ(r.size, 0u);
      }
    }
    std::printf("[ measure  ] %s: %d of 150 damaged copies rejected, %d harmless\n",
                compress ? "deflate" : "plain", rejected, harmless);
    EXPECT_GT(rejected, 0);
  }
}

TEST(CorruptCache, ADirectoryInThePlaceOfTheCacheIsReported) {
  TempDir dir;
  const std::string path = dir.file("cache.h5");
  fs::create_directory(path);
  auto r = load_bad(path);
  EXPECT_EQ(r.report.status, LoadStatus::kCorrupt);
  EXPECT_NE(r.report.reason.find("not a regular file"), std::string::npos) << r.report.reason;
  EXPECT_FALSE(r.report.moved_to.empty());
}

}  // namespace
}  // namespace mpiprep::cache

namespace mpiprep::cache {
namespace {

// cache_fuzzer's inputs kept as regressions (tests/cache/regressions/) and its seeds
// (fuzz/corpus/cache/): each loads or is rejected with a reason, never crashes, and a loaded
// one materializes every row.
TEST(CacheFuzzRegressions, EveryKeptInputLoadsOrIsRejected) {
  std::size_t inputs = 0, loaded = 0;
  for (const char* dir : {MPIPREP_CACHE_REGRESSIONS_DIR, MPIPREP_CACHE_FUZZ_CORPUS_DIR}) {
    for (const auto& e : fs::directory_iterator(dir)) {
      if (!e.is_regular_file() || e.path().extension() == ".md") continue;
      SCOPED_TRACE(e.path().string());
      TempDir tmp;
      const std::string path = tmp.file("cache.h5");
      fs::copy_file(e.path(), path);
      LoadOptions lo;
      lo.move_aside = false;
      lo.max_table_bytes = 64u << 20;
      auto l = Cache::load(path, lo);
      ++inputs;
      if (l.report.status == LoadStatus::kLoaded) {
        ++loaded;
        for (const std::string& p : l.cache.paths()) EXPECT_TRUE(l.cache.get(p).has_value());
      } else {
        EXPECT_FALSE(l.report.reason.empty());
      }
    }
  }
  EXPECT_GE(inputs, 2u);
  EXPECT_GE(loaded, 2u) << "the seeds are valid caches";
}

}  // namespace
}  // namespace mpiprep::cache
