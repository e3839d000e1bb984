// Classification and lookup: every verdict, for rows put in this run (overlay) and for rows
// read back from a committed file (columnar base), which take different code paths.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <optional>

#include <chrono>
#include <ctime>

#include "cache_test_support.hpp"
#include "mpiprep/comm/communicator.hpp"
#include "mpiprep/extract/extractor.hpp"

namespace mpiprep::cache {
namespace {
using testing::TempDir;

constexpr std::uint64_t kOpts = 0xfeedfacecafebeefULL;

struct Fixture {
  std::vector<FileMeta> metas;
  FileMeta root, hdf5, corrupt, truncated, unsupported, io_failed, timed_out, permission;
};

Fixture make_fixture() {
  Fixture f;
  auto cols = testing::make_columns(40);
  f.root = testing::make_root_file("/data/a.root", cols, 1);
  f.hdf5 = testing::make_hdf5_file("/data/b.h5", 2);
  f.corrupt = testing::make_failed_file("/data/corrupt.root", ErrorKind::kCorrupt, 3);
  f.truncated = testing::make_failed_file("/data/truncated.root", ErrorKind::kTruncated, 4);
  f.unsupported = testing::make_failed_file("/data/classic.nc", ErrorKind::kUnsupportedFormat, 5);
  f.io_failed = testing::make_failed_file("/data/eio.root", ErrorKind::kIo, 6);
  f.timed_out = testing::make_failed_file("/data/slow.root", ErrorKind::kTimeout, 7);
  f.permission = testing::make_failed_file("/data/secret.root", ErrorKind::kPermission, 8);
  f.metas = {f.root,        f.hdf5,      f.corrupt,   f.truncated,
             f.unsupported, f.io_failed, f.timed_out, f.permission};
  return f;
}

// Puts the fixture's rows; with `persist`, commits and reloads so rows come from the file.
Cache make_cache(const Fixture& f, bool persist, TempDir& dir,
                 ExtractorVersionFn versions = &testing::test_versions) {
  Cache c(&testing::test_versions);
  for (const auto& m : f.metas) c.put(m, kOpts);
  if (!persist) return c;
  comm::SerialCommunicator comm;
  (void)commit(comm, c, dir.file("c.h5"));
  auto loaded = Cache::load(dir.file("c.h5"), {}, versions);
  EXPECT_EQ(loaded.report.status, LoadStatus::kLoaded) << loaded.report.reason;
  return std::move(loaded.cache);
}

class ClassifyTest : public ::testing::TestWithParam<bool> {};

TEST_P(ClassifyTest, EveryVerdict) {
  TempDir dir;
  Fixture f = make_fixture();
  Cache c = make_cache(f, GetParam(), dir);
  ASSERT_EQ(c.size(), f.metas.size());

  std::vector<SurveyEntry> survey = {
      {f.root.path, f.root.size, f.root.mtime_ns},                       // hit
      {f.hdf5.path, f.hdf5.size + 1, f.hdf5.mtime_ns},                   // size changed
      {f.corrupt.path, f.corrupt.size, f.corrupt.mtime_ns + 1},          // mtime changed
      {"/data/new.root", 10, 20},                                        // new
      {f.truncated.path, f.truncated.size, f.truncated.mtime_ns},        // permanent failure: hit
      {f.unsupported.path, f.unsupported.size, f.unsupported.mtime_ns},  // permanent failure: hit
      {f.io_failed.path, f.io_failed.size, f.io_failed.mtime_ns},        // transient: retry
      {f.timed_out.path, f.timed_out.size, f.timed_out.mtime_ns},        // transient: retry
      // f.permission not surveyed: removed
  };
  Classification cl = c.classify(survey, kOpts);
  ASSERT_EQ(cl.verdicts.size(), survey.size());
  EXPECT_EQ(cl.verdicts[0], Verdict::kHit);
  EXPECT_EQ(cl.verdicts[1], Verdict::kMissChangedSize);
  EXPECT_EQ(cl.verdicts[2], Verdict::kMissChangedMtime);
  EXPECT_EQ(cl.verdicts[3], Verdict::kMissNew);
  EXPECT_EQ(cl.verdicts[4], Verdict::kHit);
  EXPECT_EQ(cl.verdicts[5], Verdict::kHit);
  EXPECT_EQ(cl.verdicts[6], Verdict::kMissRetry);
  EXPECT_EQ(cl.verdicts[7], Verdict::kMissRetry);
  EXPECT_EQ(cl.hits(), 3u);
  EXPECT_EQ(cl.misses(), 5u);
  EXPECT_EQ(cl.count(Verdict::kMissRetry), 2u);
  EXPECT_EQ(cl.removed, std::vector<std::string>{f.permission.path});

  // Options hash changed: everything present is an options miss (size/mtime still match).
  Classification other = c.classify(survey, kOpts + 1);
  EXPECT_EQ(other.verdicts[0], Verdict::kMissOptions);
  EXPECT_EQ(other.verdicts[4], Verdict::kMissOptions);
  EXPECT_EQ(other.count(Verdict::kHit), 0u);

  // The verdict order: size is reported before mtime, mtime before options.
  EXPECT_EQ(c.check(f.root.path, f.root.size + 5, f.root.mtime_ns + 5, kOpts + 1),
            Verdict::kMissChangedSize);
  EXPECT_EQ(c.check(f.root.path, f.root.size, f.root.mtime_ns + 5, kOpts + 1),
            Verdict::kMissChangedMtime);
}

// A survey sorted by path is merged against the loaded rows (no hash index); anything else
// goes through the index. Both must give the same verdicts, rows and removed paths, for
// surveys that skip long runs of rows (the merge gallops), interleave new paths, start before
// the first row, end after the last, repeat a path, or hit nothing at all.
TEST(Classify, SortedSurveyMergeEqualsIndexLookup) {
  TempDir dir;
  Cache c(&testing::test_versions);
  std::vector<FileMeta> metas;
  for (int i = 0; i < 3000; ++i) {
    FileMeta m = testing::make_failed_file(fmt::format("/data/d{:02}/f{:05}.root", i % 37, i),
                                           i % 5 == 0 ? ErrorKind::kIo : ErrorKind::kCorrupt, i);
    metas.push_back(m);
    c.put(std::move(m), kOpts);
  }
  comm::SerialCommunicator comm;
  (void)commit(comm, c, dir.file("c.h5"));
  std::sort(metas.begin(), metas.end(),
            [](const FileMeta& a, const FileMeta& b) { return a.path < b.path; });

  std::vector<std::vector<SurveyKey>> surveys;
  std::vector<SurveyKey> all, sparse, mixed, dups;
  for (const auto& m : metas) all.push_back({m.path, m.size, m.mtime_ns});
  surveys.push_back(all);
  for (std::size_t i = 0; i < metas.size(); i += 257)  // long gaps: galloping
    sparse.push_back({metas[i].path, metas[i].size, metas[i].mtime_ns + static_cast<std::int64_t>(i % 2)});
  surveys.push_back(sparse);
  std::vector<std::string> extra = {"/",          "/a",          "/data/d00/f00000.root0",
                                    "/data/d05/", "/data/d36/z", "/zzz"};
  mixed.push_back({extra[0], 1, 1});
  mixed.push_back({extra[1], 1, 1});
  mixed.push_back({metas[0].path, metas[0].size, metas[0].mtime_ns});
  mixed.push_back({extra[2], 1, 1});
  mixed.push_back({extra[3], 1, 1});
  for (std::size_t i = 1500; i < 1510; ++i)
    mixed.push_back({metas[i].path, metas[i].size + 1, metas[i].mtime_ns});
  mixed.push_back({extra[4], 1, 1});
  mixed.push_back({metas.back().path, metas.back().size, metas.back().mtime_ns});
  mixed.push_back({extra[5], 1, 1});
  std::sort(mixed.begin(), mixed.end(),
            [](const SurveyKey& a, const SurveyKey& b) { return a.path < b.path; });
  surveys.push_back(mixed);
  for (std::size_t i = 10; i < 20; ++i) {
    dups.push_back({metas[i].path, metas[i].size, metas[i].mtime_ns});
    dups.push_back({metas[i].path, metas[i].size, metas[i].mtime_ns});
  }
  surveys.push_back(dups);
  surveys.push_back({{extra[5], 1, 1}});
  surveys.push_back({});
  // Out of order after a sorted start (a new path, then a matching one): the merge gives up
  // midway and the index answers for the whole survey.
  std::vector<SurveyKey> late = {all[5], all[6], {extra[4], 1, 1}, all[7], all[2999], all[0]};
  surveys.push_back(late);
  std::vector<SurveyKey> reversed(all.rbegin(), all.rend());
  surveys.push_back(reversed);

  for (std::size_t s = 0; s < surveys.size(); ++s) {
    const auto& survey = surveys[s];
    auto merged = Cache::load(dir.file("c.h5"), {}, &testing::test_versions);
    ASSERT_EQ(merged.report.status, LoadStatus::kLoaded);
    ASSERT_EQ(merged.cache.size(), metas.size());  // counted without building the index
    Classification a = merged.cache.classify(survey, kOpts);
    auto indexed = Cache::load(dir.file("c.h5"), {}, &testing::test_versions);
    ASSERT_TRUE(indexed.cache.contains(metas[0].path));  // builds the index: lookups from now
    Classification b = indexed.cache.classify(survey, kOpts);
    EXPECT_EQ(a.verdicts, b.verdicts) << "survey " << s;
    EXPECT_EQ(a.rows, b.rows) << "survey " << s;
    EXPECT_EQ(a.removed, b.removed) << "survey " << s;
    EXPECT_EQ(a.counts, b.counts) << "survey " << s;
    // And against the expectation itself: each row's own path.
    for (std::size_t k = 0; k < survey.size(); ++k) {
      const bool cached = std::binary_search(
          metas.begin(), metas.end(), survey[k].path,
          [](const auto& x, const auto& y) {
            auto key = [](const auto& v) -> std::string_view {
              if constexpr (std::is_same_v<std::decay_t<decltype(v)>, FileMeta>)
                return v.path;
              else
                return v;
            };
            return key(x) < key(y);
          });
      EXPECT_EQ(a.rows[k] != kNoRow, cached) << survey[k].path;
    }
    if (s >= 6) continue;  // (the unsorted ones are checked against the index above)
    EXPECT_EQ(a.removed.size() + static_cast<std::size_t>(std::count_if(
                                     a.rows.begin(), a.rows.end(),
                                     [](RowRef r) { return r != kNoRow; })) -
                  (s == 3 ? survey.size() / 2 : 0),
              metas.size())
        << "survey " << s;
  }
  // All of it: every row a hit or a retry (kIo), none removed.
  auto l = Cache::load(dir.file("c.h5"), {}, &testing::test_versions);
  Classification full = l.cache.classify(surveys[0], kOpts);
  EXPECT_EQ(full.hits() + full.count(Verdict::kMissRetry), metas.size());
  EXPECT_EQ(full.count(Verdict::kMissRetry), 600u);
  EXPECT_TRUE(full.removed.empty());
  // The same keys as SurveyEntry (owning paths) classify alike.
  std::vector<SurveyEntry> owning;
  for (const auto& k : surveys[1]) owning.push_back({std::string(k.path), k.size, k.mtime_ns});
  Classification o = l.cache.classify(owning, kOpts);
  Classification v = l.cache.classify(surveys[1], kOpts);
  EXPECT_EQ(o.verdicts, v.verdicts);
  EXPECT_EQ(o.rows, v.rows);
  EXPECT_EQ(o.removed, v.removed);
}

// The cache loaded on one rank and adopted by another (the warm run's helper rank): the same
// rows, verdicts and materialized hits as a direct load, object values read later from the
// transferred image; a missing or corrupt cache arrives as its status only, and the helper
// never moves a corrupt one aside (the receiver's own load() does).
TEST(Classify, CacheLoadedOnAnotherRankEqualsADirectLoad) {
  TempDir dir;
  Cache c(&testing::test_versions);
  auto cols = testing::make_columns(30);
  std::vector<FileMeta> metas;
  for (int i = 0; i < 300; ++i) {
    const std::string p = fmt::format("/data/f{:04}.{}", i, i % 3 == 0 ? "h5" : "root");
    metas.push_back(i % 3 == 0 ? testing::make_hdf5_file(p, i)
                               : testing::make_root_file(p, cols, i));
    c.put(metas.back(), kOpts);
  }
  comm::SerialCommunicator serial;
  (void)commit(serial, c, dir.file("c.h5"));
  std::vector<SurveyKey> survey;
  std::sort(metas.begin(), metas.end(),
            [](const FileMeta& a, const FileMeta& b) { return a.path < b.path; });
  for (const auto& m : metas) survey.push_back({m.path, m.size, m.mtime_ns + (m.size % 7 == 0)});

  auto transfer = [&](const std::string& path, std::string* seen_path) {
    std::optional<Cache::Loaded> got;
    comm::run_in_threads(2, [&](comm::Communicator& comm) {
      if (comm.rank() == 1) {
        LoadOptions peek;
        peek.move_aside = false;
        Cache::send_loaded(comm, 0, 77, path, peek);
      } else {
        got.emplace(Cache::receive_loaded(comm, 1, 77, {}, &testing::test_versions, seen_path));
      }
    });
    return std::move(*got);
  };
  std::string seen;
  Cache::Loaded moved = transfer(dir.file("c.h5"), &seen);
  EXPECT_EQ(seen, dir.file("c.h5"));
  auto direct = Cache::load(dir.file("c.h5"), {}, &testing::test_versions);
  ASSERT_EQ(moved.report.status, LoadStatus::kLoaded) << moved.report.reason;
  EXPECT_EQ(moved.report.generation, direct.report.generation);
  EXPECT_EQ(moved.report.file_bytes, direct.report.file_bytes);
  EXPECT_EQ(moved.cache.size(), direct.cache.size());
  EXPECT_EQ(moved.cache.generation(), direct.cache.generation());
  const Classification a = moved.cache.classify(survey, kOpts);
  const Classification b = direct.cache.classify(survey, kOpts);
  EXPECT_EQ(a.verdicts, b.verdicts);
  EXPECT_EQ(a.rows, b.rows);
  EXPECT_GT(a.hits(), 0u);
  EXPECT_LT(a.hits(), survey.size());
  auto keep = [](const void* ctx, std::string_view path, std::string_view kind) {
    return object_needed_for(*static_cast<const std::optional<std::string_view>*>(ctx), path,
                             kind);
  };
  FileMeta x, y;
  std::size_t with_objects = 0;
  for (std::size_t k = 0; k < survey.size(); ++k) {
    if (a.verdicts[k] != Verdict::kHit) continue;
    std::optional<std::string_view> want;
    ASSERT_TRUE(moved.cache.lookup_brief_row_into(a.rows[k], keep, &want, x));
    ASSERT_TRUE(direct.cache.lookup_brief_row_into(b.rows[k], keep, &want, y));
    EXPECT_EQ(x.path, y.path);
    EXPECT_EQ(x.uuid, y.uuid);
    ASSERT_EQ(x.objects.size(), y.objects.size()) << x.path;
    for (std::size_t o = 0; o < x.objects.size(); ++o) {
      EXPECT_EQ(x.objects[o].num_entries, y.objects[o].num_entries);
      EXPECT_EQ(x.objects[o].clusters, y.objects[o].clusters);
    }
    if (!x.objects.empty()) ++with_objects;
  }
  EXPECT_GT(with_objects, 0u);  // ROOT trees: their values came from the transferred image
  auto full_moved = moved.cache.get(metas[1].path);
  auto full_direct = direct.cache.get(metas[1].path);
  ASSERT_TRUE(full_moved && full_direct);
  EXPECT_EQ(full_moved->objects.size(), full_direct->objects.size());
  // It commits like a loaded cache (base rows copied, the new row added).
  moved.cache.put(testing::make_hdf5_file("/data/zz-new.h5", 9999), kOpts);
  auto rep = commit(serial, moved.cache, dir.file("c2.h5"));
  EXPECT_EQ(rep.files, metas.size() + 1);

  Cache::Loaded missing = transfer(dir.file("none.h5"), nullptr);
  EXPECT_EQ(missing.report.status, LoadStatus::kMissing);
  EXPECT_EQ(missing.cache.size(), 0u);

  auto bytes = testing::read_bytes(dir.file("c.h5"));
  for (std::size_t i = bytes.size() / 2; i < bytes.size() / 2 + 64; ++i) bytes[i] ^= 0x5a;
  testing::write_bytes(dir.file("bad.h5"), bytes);
  Cache::Loaded bad = transfer(dir.file("bad.h5"), nullptr);
  EXPECT_EQ(bad.report.status, LoadStatus::kCorrupt);
  EXPECT_FALSE(bad.report.reason.empty());
  EXPECT_EQ(bad.cache.size(), 0u);
  EXPECT_TRUE(std::filesystem::exists(dir.file("bad.h5")));  // not moved aside by the helper
}

// Compressed tables (chunked, shuffle + deflate: inflated chunk by chunk with libdeflate,
// including a partial last chunk and 1-, 4- and 8-byte elements) read back exactly as the
// same tables stored uncompressed (read by H5Dread), and as they were put.
TEST(Classify, CompressedTablesReadLikePlainOnes) {
  TempDir dir;
  Cache c(&testing::test_versions);
  std::vector<FileMeta> metas;
  auto cols = testing::make_columns(12);
  for (int i = 0; i < 6000; ++i) {
    metas.push_back(i % 2 == 0 ? testing::make_hdf5_file(fmt::format("/d/{:05}.h5", i), i)
                               : testing::make_root_file(fmt::format("/d/{:05}.root", i), cols, i));
    c.put(metas.back(), kOpts);
  }
  comm::SerialCommunicator serial;
  CommitOptions packed, plain;
  plain.compress = false;
  (void)commit(serial, c, dir.file("packed.h5"), packed);
  (void)commit(serial, c, dir.file("plain.h5"), plain);
  ASSERT_LT(std::filesystem::file_size(dir.file("packed.h5")),
            std::filesystem::file_size(dir.file("plain.h5")) / 2);
  auto a = Cache::load(dir.file("packed.h5"), {}, &testing::test_versions);
  auto b = Cache::load(dir.file("plain.h5"), {}, &testing::test_versions);
  ASSERT_EQ(a.report.status, LoadStatus::kLoaded) << a.report.reason;
  ASSERT_EQ(b.report.status, LoadStatus::kLoaded) << b.report.reason;
  EXPECT_EQ(a.cache.paths(), b.cache.paths());
  for (std::size_t i = 0; i < metas.size(); i += 97) {
    auto x = a.cache.get(metas[i].path);
    auto y = b.cache.get(metas[i].path);
    ASSERT_TRUE(x && y) << metas[i].path;
    EXPECT_EQ(x->uuid, metas[i].uuid);
    EXPECT_EQ(x->uuid, y->uuid);
    EXPECT_EQ(x->size, y->size);
    EXPECT_EQ(x->mtime_ns, y->mtime_ns);
    EXPECT_EQ(x->extract_seconds, y->extract_seconds);
    EXPECT_EQ(x->error_kind, y->error_kind);
    ASSERT_EQ(x->objects.size(), y->objects.size());
    for (std::size_t o = 0; o < x->objects.size(); ++o) {
      EXPECT_EQ(x->objects[o].path, y->objects[o].path);
      EXPECT_EQ(x->objects[o].num_entries, y->objects[o].num_entries);
      EXPECT_EQ(x->objects[o].clusters, y->objects[o].clusters);
    }
  }
}

// A new binary whose ROOT extractor changed reads a cache written by the old one.
TEST(Classify, ExtractorVersionChangeMissesOnlyThatFormat) {
  TempDir dir;
  Fixture f = make_fixture();
  Cache c = make_cache(f, /*persist=*/true, dir, &testing::test_versions_root_bumped);
  EXPECT_EQ(c.check(f.root.path, f.root.size, f.root.mtime_ns, kOpts), Verdict::kMissVersion);
  EXPECT_EQ(c.check(f.hdf5.path, f.hdf5.size, f.hdf5.mtime_ns, kOpts), Verdict::kHit);
  // A cached ROOT failure is re-extracted by the new ROOT reader too.
  EXPECT_EQ(c.check(f.corrupt.path, f.corrupt.size, f.corrupt.mtime_ns, kOpts),
            Verdict::kMissVersion);
  EXPECT_FALSE(c.lookup(f.root.path, f.root.size, f.root.mtime_ns, kOpts).has_value());
}

TEST_P(ClassifyTest, LookupReturnsTheExactFileMetaOnHitOnly) {
  TempDir dir;
  Fixture f = make_fixture();
  Cache c = make_cache(f, GetParam(), dir);
  auto hit = c.lookup(f.root.path, f.root.size, f.root.mtime_ns, kOpts);
  ASSERT_TRUE(hit.has_value());
  testing::expect_same(*hit, f.root);
  auto failed = c.lookup(f.truncated.path, f.truncated.size, f.truncated.mtime_ns, kOpts);
  ASSERT_TRUE(failed.has_value());
  testing::expect_same(*failed, f.truncated);
  EXPECT_FALSE(c.lookup(f.io_failed.path, f.io_failed.size, f.io_failed.mtime_ns, kOpts));
  EXPECT_FALSE(c.lookup(f.root.path, f.root.size, f.root.mtime_ns + 1, kOpts));
  EXPECT_FALSE(c.lookup("/nope", 1, 1, kOpts));
  // get() ignores the key; info() exposes the cost history without materializing.
  ASSERT_TRUE(c.get(f.io_failed.path).has_value());
  auto info = c.info(f.hdf5.path);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->size, f.hdf5.size);
  EXPECT_EQ(info->format, FileFormat::kHdf5);
  EXPECT_EQ(info->extract_seconds, f.hdf5.extract_seconds);
  EXPECT_EQ(info->n_objects, f.hdf5.objects.size());
  EXPECT_EQ(info->options_hash, kOpts);
  EXPECT_EQ(info->extractor_version, testing::test_versions(FileFormat::kHdf5));
}

TEST_P(ClassifyTest, PutReplacesAndEraseRemoves) {
  TempDir dir;
  Fixture f = make_fixture();
  Cache c = make_cache(f, GetParam(), dir);
  FileMeta changed = f.root;
  changed.size += 100;
  changed.objects[0].num_entries = 77;
  c.put(changed, kOpts);
  EXPECT_EQ(c.size(), f.metas.size());
  EXPECT_EQ(c.check(f.root.path, f.root.size, f.root.mtime_ns, kOpts), Verdict::kMissChangedSize);
  auto hit = c.lookup(changed.path, changed.size, changed.mtime_ns, kOpts);
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->objects[0].num_entries, 77);
  // Replacing an overlay row again keeps the index consistent.
  changed.objects[0].num_entries = 78;
  c.put(changed, kOpts);
  EXPECT_EQ(c.lookup(changed.path, changed.size, changed.mtime_ns, kOpts)->objects[0].num_entries,
            78);

  std::vector<std::string> gone = {f.hdf5.path, "/not/cached"};
  EXPECT_EQ(c.erase(gone), 1u);
  EXPECT_FALSE(c.contains(f.hdf5.path));
  EXPECT_EQ(c.size(), f.metas.size() - 1);
  auto paths = c.paths();
  EXPECT_TRUE(std::is_sorted(paths.begin(), paths.end()));
  EXPECT_EQ(paths.size(), c.size());
}

INSTANTIATE_TEST_SUITE_P(InMemoryAndPersisted, ClassifyTest, ::testing::Bool(),
                         [](const auto& p) { return p.param ? "persisted" : "in_memory"; });

TEST(Classify, TransientAndPermanentKinds) {
  EXPECT_TRUE(is_transient(ErrorKind::kIo));
  EXPECT_TRUE(is_transient(ErrorKind::kMissing));
  EXPECT_TRUE(is_transient(ErrorKind::kPermission));
  EXPECT_TRUE(is_transient(ErrorKind::kTimeout));
  EXPECT_TRUE(is_transient(ErrorKind::kInternal));
  EXPECT_FALSE(is_transient(ErrorKind::kCorrupt));
  EXPECT_FALSE(is_transient(ErrorKind::kTruncated));
  EXPECT_FALSE(is_transient(ErrorKind::kUnsupportedFormat));
  EXPECT_FALSE(is_transient(ErrorKind::kUnsupportedVersion));
  EXPECT_FALSE(is_transient(ErrorKind::kUnsupportedCompression));
  EXPECT_FALSE(is_transient(ErrorKind::kInconsistent));
  EXPECT_FALSE(is_transient(ErrorKind::kNotFound));
  EXPECT_EQ(verdict_name(Verdict::kMissChangedMtime), "miss_changed_mtime");
  EXPECT_EQ(verdict_name(Verdict::kMissRetry), "miss_retry");
}

TEST(Classify, DefaultVersionFunctionIsTheExtractors) {
  Cache c;  // extract::extractor_version
  FileMeta m = testing::make_hdf5_file("/x.h5", 1);
  c.put(m, 0);
  EXPECT_EQ(c.info("/x.h5")->extractor_version, extract::extractor_version(FileFormat::kHdf5));
}

// Invariant 7: a hit is a hash lookup. 100,000 warm files classify in well under a second
// (the bound is loose on purpose: the machine is shared; the measured figures are printed,
// CPU time next to wall time).
TEST(Classify, HundredThousandHitsAreCheap) {
  struct Clock {
    std::chrono::steady_clock::time_point wall = std::chrono::steady_clock::now();
    std::clock_t cpu = std::clock();
    std::string lap(const char* what, double per = 0) {
      auto w = std::chrono::steady_clock::now();
      auto c = std::clock();
      double ws = std::chrono::duration<double>(w - wall).count();
      double cs = static_cast<double>(c - cpu) / CLOCKS_PER_SEC;
      wall = w;
      cpu = c;
      std::string s = std::string(what) + " " + std::to_string(ws * 1e3) + " ms wall, " +
                      std::to_string(cs * 1e3) + " ms cpu";
      if (per > 0) s += " (" + std::to_string(cs * 1e6 / per) + " us cpu each)";
      return s;
    }
  };
  TempDir dir;
  Cache c(&testing::test_versions);
  auto cols = testing::make_columns(200);
  std::vector<SurveyEntry> survey;
  const int n = 100000;
  for (int i = 0; i < n; ++i) {
    FileMeta m;
    m.path = "/store/mc/RunIISummer20UL18NanoAODv9/DYJetsToLL/file_" + std::to_string(i) + ".root";
    m.size = 1000 + i;
    m.mtime_ns = 5 * i;
    m.format = FileFormat::kRoot;
    m.uuid = "a9490124-3648-11ea-89e9-" + std::to_string(100000000000 + i);
    ObjectMeta o;
    o.path = "Events";
    o.kind = "TTree";
    o.num_entries = i;
    o.columns = cols;
    o.clusters = {0, i / 2, i};
    m.objects.push_back(o);
    survey.push_back({m.path, m.size, m.mtime_ns});
    c.put(std::move(m), kOpts);
  }
  comm::SerialCommunicator comm;
  Clock clock;
  auto rep = commit(comm, c, dir.file("big.h5"));
  std::string t_commit = clock.lap("commit");
  EXPECT_EQ(rep.schemas, 1u);
  auto loaded = Cache::load(dir.file("big.h5"), {}, &testing::test_versions);
  std::string t_load = clock.lap("load");
  ASSERT_EQ(loaded.report.status, LoadStatus::kLoaded);
  Classification cl = loaded.cache.classify(survey, kOpts);
  std::string t_classify = clock.lap("classify", n);
  EXPECT_EQ(cl.hits(), static_cast<std::size_t>(n));
  std::size_t found = 0;
  for (int i = 0; i < n; i += 100) {
    const auto& e = survey[static_cast<std::size_t>(i)];
    if (loaded.cache.lookup(e.path, e.size, e.mtime_ns, kOpts).has_value()) ++found;
  }
  std::string t_lookup = clock.lap("lookup with 200 columns materialized", n / 100);
  EXPECT_EQ(found, static_cast<std::size_t>(n / 100));
  std::printf("[ measure  ] %d files, %llu bytes: %s; %s; %s; %s\n", n,
              static_cast<unsigned long long>(rep.file_bytes), t_commit.c_str(), t_load.c_str(),
              t_classify.c_str(), t_lookup.c_str());
  EXPECT_LT(static_cast<double>(std::clock() - clock.cpu), 1e9);  // sanity only
}

}  // namespace
}  // namespace mpiprep::cache
