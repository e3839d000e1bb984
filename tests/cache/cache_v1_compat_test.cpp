// Format version 2: object sets shared across files, per-file values read on first use, and
// version-1 caches (tests/data/cache-v1.h5, written by the v1 writer) read and rewritten as
// version 2 without extracting anything again.
#include <gtest/gtest.h>

#include <filesystem>

#include "cache/cache_file.hpp"
#include "cache/cache_impl.hpp"
#include "cache/h5.hpp"
#include "cache/seal.hpp"
#include "cache_test_support.hpp"
#include "cache_v1_fixture.hpp"
#include "mpiprep/comm/communicator.hpp"
#include "mpiprep/extract/extractor.hpp"
#include "mpiprep/io/file_system.hpp"

namespace mpiprep::cache {
namespace {
namespace fs = std::filesystem;
using testing::TempDir;

constexpr std::uint64_t kOpts = 77;

std::string copy_v1_fixture(const TempDir& dir) {
  const std::string path = dir.file("cache.h5");
  fs::copy_file(testing::test_data_dir() + "/cache-v1.h5", path);
  return path;
}

bool keep_trees(const void*, std::string_view, std::string_view kind) {
  return kind == "TTree" || kind == "RNTuple";
}
bool keep_nothing(const void*, std::string_view, std::string_view) { return false; }

TEST(V1Compat, EveryRowOfAV1CacheLoadsExactly) {
  TempDir dir;
  const std::string path = copy_v1_fixture(dir);
  auto s = summary(path);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->format_version, 1);
  EXPECT_TRUE(verify(path).ok());

  auto l = Cache::load(path, {}, &testing::test_versions);
  ASSERT_EQ(l.report.status, LoadStatus::kLoaded) << l.report.reason;
  EXPECT_TRUE(l.cache.outdated());
  const auto metas = testing::v1_fixture_metas();
  ASSERT_EQ(l.cache.size(), metas.size());
  for (const auto& m : metas) {
    SCOPED_TRACE(m.path);
    auto got = l.cache.get(m.path);
    ASSERT_TRUE(got.has_value());
    testing::expect_same(*got, m);
    auto info = l.cache.info(m.path);
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->options_hash, testing::kV1Options);
    EXPECT_EQ(info->extractor_version, testing::test_versions(m.format));
    EXPECT_EQ(info->n_objects, m.objects.size());
    const Verdict v = l.cache.check(m.path, m.size, m.mtime_ns, testing::kV1Options);
    EXPECT_EQ(v, is_transient(m.error_kind) && !m.ok() ? Verdict::kMissRetry : Verdict::kHit);
  }
}

TEST(V1Compat, ACommitRewritesItAsVersion2WithTheSameRows) {
  TempDir dir;
  const std::string path = copy_v1_fixture(dir);
  auto l = Cache::load(path, {}, &testing::test_versions);
  ASSERT_EQ(l.report.status, LoadStatus::kLoaded) << l.report.reason;
  ASSERT_EQ(l.cache.put_count(), 0u);
  comm::SerialCommunicator comm;
  CommitReport rep = commit(comm, l.cache, path);
  EXPECT_EQ(rep.generation, 2u);
  EXPECT_FALSE(l.cache.outdated());

  auto s = summary(path);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->format_version, kFormatVersion);
  const auto metas = testing::v1_fixture_metas();
  std::size_t objects = 0;
  for (const auto& m : metas) objects += m.objects.size();
  EXPECT_EQ(s->files, metas.size());
  EXPECT_EQ(s->objects, objects);
  EXPECT_LT(s->object_rows, objects);  // the 4 ROOT and 4 HDF5 look-alikes share their sets

  auto back = Cache::load(path, {}, &testing::test_versions);
  ASSERT_EQ(back.report.status, LoadStatus::kLoaded) << back.report.reason;
  EXPECT_FALSE(back.cache.outdated());
  for (const auto& m : metas) {
    SCOPED_TRACE(m.path);
    auto got = back.cache.get(m.path);
    ASSERT_TRUE(got.has_value());
    testing::expect_same(*got, m);
  }
}

TEST(Version2, ThousandFilesOfOneStructureShareOneObjectSet) {
  TempDir dir;
  Cache c(&testing::test_versions);
  std::vector<FileMeta> metas;
  for (int i = 0; i < 1000; ++i) {
    metas.push_back(testing::make_hdf5_file("/d/h" + std::to_string(i) + ".h5", i));
    c.put(metas.back(), kOpts);
  }
  const auto cols = testing::make_columns(25);
  for (int i = 0; i < 10; ++i) {
    metas.push_back(testing::make_root_file("/d/r" + std::to_string(i) + ".root", cols, i));
    c.put(metas.back(), kOpts);
  }
  // Same structure except the title: a set of its own.
  FileMeta other = testing::make_root_file("/d/other.root", cols, 3);
  other.objects[0].title = "another title";
  metas.push_back(other);
  c.put(other, kOpts);

  comm::SerialCommunicator comm;
  CommitReport rep = commit(comm, c, dir.file("cache.h5"));
  EXPECT_EQ(rep.files, metas.size());
  auto s = summary(dir.file("cache.h5"));
  ASSERT_TRUE(s.ok()) << s.error().message;
  // make_root_file titles its Events tree by seed: 10 ROOT sets + 1 + 1 HDF5 set.
  EXPECT_EQ(s->object_sets, 12u);
  EXPECT_EQ(s->object_rows, 4u + 11u * 3u);
  EXPECT_EQ(s->objects, 1000u * 4u + 11u * 3u);
  EXPECT_EQ(s->clusters, 11u * (4u + 2u));

  auto back = Cache::load(dir.file("cache.h5"), {}, &testing::test_versions);
  ASSERT_EQ(back.report.status, LoadStatus::kLoaded) << back.report.reason;
  for (const auto& m : metas) {
    auto got = back.cache.get(m.path);
    ASSERT_TRUE(got.has_value()) << m.path;
    testing::expect_same(*got, m);
  }
}

TEST(Version2, EveryFieldOfRealExtractedFilesSurvivesCommitAndLoad) {
  extract::hdf5::initialize();
  io::PosixFileSystem posix;
  extract::ExtractOptions eo;
  eo.clusters = true;
  std::vector<FileMeta> metas;
  for (const auto& e : fs::directory_iterator(testing::test_data_dir())) {
    const std::string name = e.path().filename();
    if (name == "cache-v1.h5" || name == "expected.json" || name == "MANIFEST.md") continue;
    FileMeta m = extract::extract_file(posix, e.path().string(), eo);
    metas.push_back(std::move(m));
  }
  ASSERT_GE(metas.size(), 20u);
  std::size_t with_objects = 0, with_clusters = 0, with_filters = 0;
  for (const auto& m : metas) {
    with_objects += m.objects.empty() ? 0u : 1u;
    for (const auto& o : m.objects) {
      with_clusters += o.clusters.empty() ? 0u : 1u;
      with_filters += o.filters.empty() ? 0u : 1u;
    }
  }
  ASSERT_GE(with_objects, 15u);  // the test is about real content: make sure there is some
  ASSERT_GT(with_clusters, 0u);
  ASSERT_GT(with_filters, 0u);

  TempDir dir;
  for (bool compress : {true, false}) {
    SCOPED_TRACE(compress);
    Cache c(&testing::test_versions);
    for (const auto& m : metas) c.put(m, kOpts);
    comm::SerialCommunicator comm;
    CommitOptions co;
    co.compress = compress;
    const std::string path = dir.file(compress ? "z.h5" : "plain.h5");
    (void)commit(comm, c, path, co);
    auto back = Cache::load(path, {}, &testing::test_versions);
    ASSERT_EQ(back.report.status, LoadStatus::kLoaded) << back.report.reason;
    for (const auto& m : metas) {
      SCOPED_TRACE(m.path);
      auto got = back.cache.lookup(m.path, m.size, m.mtime_ns, kOpts);
      if (is_transient(m.error_kind) && !m.ok()) {
        EXPECT_FALSE(got.has_value());
        got = back.cache.get(m.path);
      }
      ASSERT_TRUE(got.has_value());
      testing::expect_same(*got, m);
    }
    // A commit that copies every loaded row untouched (add_row) writes the same content.
    back.cache.put(metas.front(), kOpts);
    (void)commit(comm, back.cache, path, co);
    auto again = Cache::load(path, {}, &testing::test_versions);
    ASSERT_EQ(again.report.status, LoadStatus::kLoaded) << again.report.reason;
    for (const auto& m : metas) {
      auto got = again.cache.get(m.path);
      ASSERT_TRUE(got.has_value()) << m.path;
      testing::expect_same(*got, m);
    }
  }
}

TEST(Version2, ValuesAreReadOnlyWhenALookupNeedsAnObject) {
  TempDir dir;
  Cache c(&testing::test_versions);
  FileMeta r = testing::make_root_file("/d/r.root", testing::make_columns(5), 1);
  FileMeta h = testing::make_hdf5_file("/d/h.h5", 1);
  c.put(r, kOpts);
  c.put(h, kOpts);
  comm::SerialCommunicator comm;
  (void)commit(comm, c, dir.file("cache.h5"));
  auto l = Cache::load(dir.file("cache.h5"), {}, &testing::test_versions);
  ASSERT_EQ(l.report.status, LoadStatus::kLoaded) << l.report.reason;
  const Cache::Impl& im = CacheAccess::impl(l.cache);
  EXPECT_FALSE(im.base.values_loaded);
  EXPECT_TRUE(im.base.values.data.empty());

  // What a warm run of HDF5 files without an object path asks: no objects, no values.
  auto brief = l.cache.lookup_brief(h.path, h.size, h.mtime_ns, kOpts, &keep_nothing, nullptr);
  ASSERT_TRUE(brief.has_value());
  EXPECT_EQ(brief->uuid, h.uuid);
  EXPECT_TRUE(brief->objects.empty());
  EXPECT_EQ(l.cache.classify(std::vector<SurveyEntry>{{h.path, h.size, h.mtime_ns}}, kOpts)
                .hits(),
            1u);
  EXPECT_FALSE(im.base.values_loaded);

  // A ROOT file's tree: now they are read, and the tree comes with its values.
  brief = l.cache.lookup_brief(r.path, r.size, r.mtime_ns, kOpts, &keep_trees, nullptr);
  ASSERT_TRUE(brief.has_value());
  EXPECT_TRUE(im.base.values_loaded);
  ASSERT_EQ(brief->objects.size(), 2u);
  EXPECT_EQ(brief->objects[0].path, "Events");
  EXPECT_EQ(brief->objects[0].num_entries, r.objects[0].num_entries);
  EXPECT_EQ(brief->objects[0].clusters, r.objects[0].clusters);
  EXPECT_EQ(brief->objects[1].clusters, r.objects[1].clusters);
}

// A file whose values do not match the hash its checksum covered (a writer bug or a crafted
// file that passes the seal): the load succeeds, rows needing objects become misses (extracted
// again), nothing crashes, and the next commit leaves those rows out.
TEST(Version2, UnreadableValuesAreMissesNotACrash) {
  TempDir dir;
  const std::string path = dir.file("cache.h5");
  FileMeta r = testing::make_root_file("/d/r.root", testing::make_columns(5), 1);
  FileMeta bad = testing::make_failed_file("/d/bad.root", ErrorKind::kCorrupt, 1);
  {
    SchemaPool pool;
    TablesBuilder b(pool);
    b.add(meta_to_rec(FileMeta(bad), pool, kOpts, testing::test_versions(bad.format)));
    b.add(meta_to_rec(FileMeta(r), pool, kOpts, testing::test_versions(r.format)));
    Tables t = b.finish();
    t.values.data[0] += 1;  // data_xxh64 still describes the original
    // The checksum as a lazy reader computes it: over the stored hash of the values.
    t.values_loaded = false;
    const std::uint64_t sum = content_checksum(t, kFormatVersion, 1);
    t.values_loaded = true;
    WritePlan plan;
    plan.temp_path = path;
    plan.sizes = dataset_sizes(t);
    plan.header = Header{std::string(kFormatName), kFormatVersion, 1, "test", "", sum};
    plan.compress = false;
    {
      h5::ErrorSilencer quiet;
      h5::Handle fapl = h5::sec2_fapl();
      write_cache_file(plan, &t, fapl.get(), false);
    }
    ASSERT_TRUE(seal_file(path, 1, sum).ok());
  }
  // A full read (verify, cache show) sees it at once.
  EXPECT_FALSE(verify(path).ok());

  ::testing::internal::CaptureStderr();
  auto l = Cache::load(path, {}, &testing::test_versions);
  ASSERT_EQ(l.report.status, LoadStatus::kLoaded) << l.report.reason;
  EXPECT_EQ(l.cache.check(r.path, r.size, r.mtime_ns, kOpts), Verdict::kHit);
  EXPECT_FALSE(l.cache.lookup(r.path, r.size, r.mtime_ns, kOpts).has_value());
  EXPECT_FALSE(
      l.cache.lookup_brief(r.path, r.size, r.mtime_ns, kOpts, &keep_trees, nullptr).has_value());
  EXPECT_FALSE(l.cache.get(r.path).has_value());
  // A row without objects needs no values.
  auto b = l.cache.get(bad.path);
  ASSERT_TRUE(b.has_value());
  testing::expect_same(*b, bad);

  comm::SerialCommunicator comm;
  l.cache.put(testing::make_hdf5_file("/d/new.h5", 2), kOpts);
  CommitReport rep = commit(comm, l.cache, path);
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("cannot be read"), std::string::npos) << err;
  EXPECT_EQ(err.find("HDF5-DIAG"), std::string::npos) << err;
  EXPECT_EQ(rep.files, 2u);  // bad.root and new.h5; r.root is extracted again by the next run
  EXPECT_TRUE(verify(path).ok());
}

}  // namespace
}  // namespace mpiprep::cache
