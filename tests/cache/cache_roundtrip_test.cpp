// Write/read round trip: every FileMeta field survives a commit and a load bit for bit, schemas
// are stored once per distinct column list, and the inspection calls agree with the content.
#include <gtest/gtest.h>

#include "cache/tables.hpp"
#include "cache_test_support.hpp"
#include "journal/meta_testing.hpp"
#include "mpiprep/comm/communicator.hpp"
#include "mpiprep/output/coffea.hpp"

namespace mpiprep::cache {
namespace {
using testing::TempDir;

constexpr std::uint64_t kOpts = 42;

Cache round_trip(Cache& c, TempDir& dir, bool compress, CommitReport* rep_out = nullptr) {
  comm::SerialCommunicator comm;
  CommitOptions opts;
  opts.compress = compress;
  CommitReport rep = commit(comm, c, dir.file("cache.h5"), opts);
  if (rep_out != nullptr) *rep_out = rep;
  auto loaded = Cache::load(dir.file("cache.h5"), {}, &testing::test_versions);
  EXPECT_EQ(loaded.report.status, LoadStatus::kLoaded) << loaded.report.reason;
  EXPECT_EQ(loaded.report.generation, rep.generation);
  return std::move(loaded.cache);
}

class RoundTrip : public ::testing::TestWithParam<bool> {};

TEST_P(RoundTrip, EveryFieldOfEveryKindOfFile) {
  TempDir dir;
  std::vector<FileMeta> metas;
  auto cols = testing::make_columns(60);
  for (int i = 0; i < 5; ++i)
    metas.push_back(testing::make_root_file("/data/r" + std::to_string(i) + ".root", cols, i));
  for (int i = 0; i < 3; ++i)
    metas.push_back(testing::make_hdf5_file("/data/h" + std::to_string(i) + ".h5", i));
  metas.push_back(testing::make_failed_file("/data/bad.root", ErrorKind::kCorrupt, 1));
  metas.push_back(testing::make_failed_file("/data/gone.root", ErrorKind::kMissing, 2));
  FileMeta empty;  // no objects, empty strings, negative and extreme values
  empty.path = "/data/\xc3\xa9t\xc3\xa9 with spaces/\xe2\x9c\x93.root";
  empty.size = 0;
  empty.mtime_ns = -1;
  empty.bytes_read = ~std::uint64_t{0};
  empty.extract_seconds = 1e-300;
  empty.rank = -1;
  metas.push_back(empty);

  Cache c(&testing::test_versions);
  for (const auto& m : metas) c.put(m, kOpts);
  CommitReport rep;
  Cache back = round_trip(c, dir, GetParam(), &rep);
  EXPECT_EQ(rep.files, metas.size());
  ASSERT_EQ(back.size(), metas.size());
  for (const auto& m : metas) {
    auto got = back.get(m.path);
    ASSERT_TRUE(got.has_value()) << m.path;
    testing::expect_same(*got, m);
    EXPECT_EQ(back.info(m.path)->options_hash, kOpts);
  }
  // Distinct column lists: the shared 60-column one and the Runs tree's.
  EXPECT_EQ(rep.schemas, 2u);
  EXPECT_EQ(rep.generation, 1u);
}

TEST_P(RoundTrip, RealMetadataFromExpectedJson) {
  TempDir dir;
  std::vector<FileMeta> metas = {
      testing::expected_root_meta("nano_dy.root", "/data/nano_dy.root"),
      testing::expected_root_meta("uproot-HZZ.root", "/data/HZZ.root"),
      testing::expected_root_meta("uproot-nesteddirs.root", "/data/nested.root"),
      testing::expected_hdf5_meta("indexes_2_0.h5", "/data/indexes_2_0.h5"),
      testing::expected_hdf5_meta("test_gold.nc", "/data/test_gold.nc"),
      testing::expected_hdf5_meta("issue672.nc", "/data/issue672.nc"),
  };
  // The oracle itself has the shapes the test relies on.
  ASSERT_EQ(metas[0].objects.size(), 2u);
  ASSERT_EQ(metas[0].objects[0].columns.size(), 1499u);
  ASSERT_EQ(metas[3].objects.size(), 5u + 42u);
  Cache c(&testing::test_versions);
  for (const auto& m : metas) c.put(m, kOpts);
  Cache back = round_trip(c, dir, GetParam());
  for (const auto& m : metas) {
    auto got = back.lookup(m.path, m.size, m.mtime_ns, kOpts);
    ASSERT_TRUE(got.has_value()) << m.path;
    testing::expect_same(*got, m);
  }
  // Spot checks against expected.json values directly, not through our own writer.
  auto nano = back.get("/data/nano_dy.root");
  const ObjectMeta* events = nano->find_object("Events");
  ASSERT_NE(events, nullptr);
  EXPECT_EQ(events->num_entries, 40);
  EXPECT_EQ(events->columns.front().name, "run");
  EXPECT_EQ(events->columns[2].name, "event");
  auto idx = back.get("/data/indexes_2_0.h5");
  const ObjectMeta* abounds = idx->find_object("/_i_table1/var1/abounds");
  ASSERT_NE(abounds, nullptr);
  EXPECT_EQ(abounds->maxshape, std::vector<std::int64_t>{-1});
  ASSERT_EQ(abounds->filters.size(), 2u);
  EXPECT_EQ(abounds->filters[1].name, "deflate");
}

// The warm path materializes hits with lookup_brief (only the objects object_needed_for keeps).
// For every object of real files, plus no object path, the root group and a missing name, the
// coffea resolution of the brief FileMeta must equal that of the full one, from the loaded
// tables (base rows) and from rows put this run (overlay), with and without cluster alignment.
TEST_P(RoundTrip, BriefLookupResolvesExactlyLikeTheFullOne) {
  TempDir dir;
  std::vector<FileMeta> metas = {
      testing::expected_root_meta("nano_dy.root", "/data/nano_dy.root"),
      testing::expected_root_meta("uproot-HZZ.root", "/data/HZZ.root"),
      testing::expected_root_meta("uproot-nesteddirs.root", "/data/nested.root"),
      testing::expected_root_meta("ntpl001_staff_rntuple_v1-0-0-0.root", "/data/staff.root"),
      testing::expected_hdf5_meta("indexes_2_0.h5", "/data/indexes_2_0.h5"),
      testing::expected_hdf5_meta("test_gold.nc", "/data/test_gold.nc"),
      testing::expected_hdf5_meta("pylhe-testfile-hpcgen.hdf5", "/data/lhe.hdf5"),
  };
  Cache overlay(&testing::test_versions);
  for (const auto& m : metas) overlay.put(m, kOpts);
  Cache c(&testing::test_versions);
  for (const auto& m : metas) c.put(m, kOpts);
  Cache base = round_trip(c, dir, GetParam());
  auto keep = [](const void* ctx, std::string_view path, std::string_view kind) {
    return object_needed_for(*static_cast<const std::optional<std::string_view>*>(ctx), path,
                             kind);
  };
  std::size_t compared = 0, kept = 0, total = 0;
  // One FileMeta reused for every lookup_brief_row_into: nothing of an earlier row may leak.
  FileMeta scratch;
  for (const Cache* cache : {&base, &overlay}) {
    Cache::BriefMemo memo;  // for entries without an object path
    // The warm path's form: classify() finds each row once, lookup_brief_row() reads it.
    std::vector<SurveyEntry> survey;
    for (const auto& m : metas) survey.push_back({m.path, m.size, m.mtime_ns});
    survey.push_back({"/data/not-cached.root", 1, 2});
    const Classification cls = cache->classify(survey, kOpts);
    ASSERT_EQ(cls.rows.size(), survey.size());
    EXPECT_EQ(cls.rows.back(), kNoRow);
    EXPECT_FALSE(cache->lookup_brief_row(cls.rows.back(), keep, nullptr).has_value());
    EXPECT_FALSE(cache->brief_row_available(cls.rows.back(), keep, nullptr));
    EXPECT_FALSE(cache->lookup_brief_row_into(cls.rows.back(), keep, nullptr, scratch));
    for (std::size_t mi = 0; mi < metas.size(); ++mi) {
      const FileMeta& m = metas[mi];
      ASSERT_EQ(cls.verdicts[mi], Verdict::kHit) << m.path;
      ASSERT_NE(cls.rows[mi], kNoRow) << m.path;
      std::vector<std::optional<std::string>> wants = {std::nullopt, "/", "no/such/object"};
      for (const auto& o : m.objects) {
        wants.emplace_back(o.path);
        if (o.cycle > 0) wants.emplace_back(o.path + ";" + std::to_string(o.cycle));
      }
      auto full = cache->lookup(m.path, m.size, m.mtime_ns, kOpts);
      ASSERT_TRUE(full.has_value()) << m.path;
      for (const auto& w : wants) {
        std::optional<std::string_view> want;
        if (w) want = *w;
        auto brief = cache->lookup_brief(m.path, m.size, m.mtime_ns, kOpts, keep, &want);
        ASSERT_TRUE(brief.has_value()) << m.path;
        EXPECT_EQ(brief->uuid, m.uuid);
        auto by_row = cache->lookup_brief_row(cls.rows[mi], keep, &want);
        ASSERT_TRUE(by_row.has_value()) << m.path;
        Cache::BriefMemo* memo_for = want ? nullptr : &memo;
        EXPECT_TRUE(cache->brief_row_available(cls.rows[mi], keep, &want, memo_for)) << m.path;
        ASSERT_TRUE(cache->lookup_brief_row_into(cls.rows[mi], keep, &want, scratch, memo_for))
            << m.path;
        EXPECT_EQ(scratch.path, by_row->path);
        EXPECT_EQ(scratch.uuid, by_row->uuid);
        EXPECT_EQ(scratch.size, by_row->size);
        EXPECT_EQ(scratch.mtime_ns, by_row->mtime_ns);
        EXPECT_EQ(scratch.format, by_row->format);
        EXPECT_EQ(scratch.error_kind, by_row->error_kind);
        EXPECT_EQ(scratch.compression, by_row->compression);
        ASSERT_EQ(scratch.objects.size(), by_row->objects.size()) << m.path;
        for (std::size_t oi = 0; oi < scratch.objects.size(); ++oi) {
          EXPECT_EQ(scratch.objects[oi].path, by_row->objects[oi].path);
          EXPECT_EQ(scratch.objects[oi].num_entries, by_row->objects[oi].num_entries);
          EXPECT_EQ(scratch.objects[oi].clusters, by_row->objects[oi].clusters);
          EXPECT_EQ(scratch.objects[oi].shape, by_row->objects[oi].shape);
        }
        EXPECT_EQ(by_row->path, m.path);
        EXPECT_EQ(by_row->uuid, brief->uuid);
        EXPECT_EQ(by_row->size, brief->size);
        EXPECT_EQ(by_row->mtime_ns, brief->mtime_ns);
        ASSERT_EQ(by_row->objects.size(), brief->objects.size()) << m.path;
        for (std::size_t oi = 0; oi < brief->objects.size(); ++oi) {
          EXPECT_EQ(by_row->objects[oi].path, brief->objects[oi].path);
          EXPECT_EQ(by_row->objects[oi].num_entries, brief->objects[oi].num_entries);
          EXPECT_EQ(by_row->objects[oi].clusters, brief->objects[oi].clusters);
        }
        EXPECT_EQ(brief->format, m.format);
        kept += brief->objects.size();
        total += full->objects.size();
        for (bool align : {false, true}) {
          output::StepOptions so;
          so.step_size = 7;
          so.align_clusters = align;
          fileset::FileSpec spec{"ds", m.path, w};
          auto a = output::resolve(spec, *full, so);
          auto b = output::resolve(spec, *brief, so);
          const std::string where = m.path + " object " + (w ? *w : std::string("(none)"));
          ASSERT_EQ(a.ok(), b.ok()) << where;
          if (a.ok()) {
            EXPECT_EQ(a->object_path, b->object_path) << where;
            EXPECT_EQ(a->num_entries, b->num_entries) << where;
            EXPECT_EQ(a->steps, b->steps) << where;
            EXPECT_EQ(a->uuid, b->uuid) << where;
            EXPECT_EQ(a->warnings, b->warnings) << where;
          } else {
            EXPECT_EQ(a.error().kind, b.error().kind) << where;
            EXPECT_EQ(a.error().message, b.error().message) << where;
          }
          ++compared;
        }
      }
      // No object path: a ROOT file keeps only its trees and ntuples, an HDF5 file nothing.
      std::optional<std::string_view> none;
      auto brief = cache->lookup_brief(m.path, m.size, m.mtime_ns, kOpts, keep, &none);
      for (const auto& o : brief->objects) {
        EXPECT_TRUE(o.kind == "TTree" || o.kind == "RNTuple") << o.kind;
        EXPECT_TRUE(o.columns.empty());
        EXPECT_TRUE(o.filters.empty());
        EXPECT_TRUE(o.attributes.empty());
      }
      if (m.format == FileFormat::kHdf5) {
        EXPECT_TRUE(brief->objects.empty()) << m.path;
      }
    }
  }
  EXPECT_GT(compared, 200u);
  // The point of it: far fewer objects materialized than a full lookup.
  EXPECT_LT(kept * 4, total);
  // A miss stays a miss.
  std::optional<std::string_view> none;
  EXPECT_FALSE(base.lookup_brief(metas[0].path, metas[0].size + 1, metas[0].mtime_ns, kOpts,
                                 keep, &none));
}

TEST_P(RoundTrip, HundredFilesSharingANanoAodSchemaStoreItOnce) {
  TempDir dir;
  auto cols = testing::make_columns(1500);
  Cache c(&testing::test_versions);
  for (int i = 0; i < 100; ++i)
    c.put(testing::make_root_file("/store/nano_" + std::to_string(i) + ".root", cols, i), kOpts);
  CommitReport rep;
  Cache back = round_trip(c, dir, GetParam(), &rep);
  // One 1,500-column schema plus the 2-column Runs schema every file also shares.
  EXPECT_EQ(rep.schemas, 2u);
  auto s = summary(dir.file("cache.h5"));
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  EXPECT_EQ(s->files, 100u);
  EXPECT_EQ(s->schemas, 2u);
  EXPECT_EQ(s->schema_columns, 1502u);
  EXPECT_EQ(s->objects, 300u);
  auto got = back.get("/store/nano_57.root");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->objects[0].columns, cols);
  // 100 x 1,500 columns would be ~3 MB of names if stored per file.
  std::printf("[ measure  ] 100 files x 1500 shared columns: %llu bytes (compress=%d)\n",
              static_cast<unsigned long long>(rep.file_bytes), GetParam() ? 1 : 0);
  EXPECT_LT(rep.file_bytes, 1000000u);
}

// The cache's bytes did not change when ObjectMeta::columns became a Columns table: the schema
// hash and the content checksum (every dataset's xxh64) of tables built from fixed records
// equal what the std::vector<Column> layout (commit 5295eab) computed for them.
TEST(CacheBytes, SchemaHashAndChecksumAsTheVectorOfColumnLayoutComputedThem) {
  const FileMeta golden = ::mpiprep::testing::columns_golden_meta();
  EXPECT_EQ(schema_hash(golden.objects[0].columns), 0x2711142d4bf36754u);
  // Columns::text() is the hashed bytes: name, NUL, type, NUL per column.
  EXPECT_EQ(golden.objects[0].columns.text().substr(0, 13),
            std::string_view("run\0uint32_t\0", 13));
  SchemaPool pool;
  TablesBuilder b(pool);
  b.add(meta_to_rec(FileMeta(golden), pool, 3, 4));
  auto put = [&](const std::string& path, const Columns& cols, int seed) {
    b.add(meta_to_rec(testing::make_root_file(path, cols, seed), pool, 3, 4));
  };
  put("/d/a.root", testing::make_columns(1499), 1);
  put("/d/b.root", testing::make_columns(1499), 2);
  put("/d/c.root", testing::make_columns(50, 1), 3);
  b.add(meta_to_rec(testing::make_hdf5_file("/d/x.h5", 2), pool, 3, 4));
  Tables t = b.finish();
  EXPECT_EQ(t.schema_columns.name.size(), 1556u);
  EXPECT_EQ(content_checksum(t, kFormatVersion, 1), 0x5d0274f2ccbc4d5fu);
  // The pool's copy of a schema equals the records' (and re-interning finds it).
  EXPECT_EQ(pool.at(0), golden.objects[0].columns);
  EXPECT_EQ(pool.intern_copy(golden.objects[0].columns), 0);
  EXPECT_EQ(pool.intern_copy(testing::make_columns(1499)), 1);
  // And a commit and load give the columns back unchanged.
  TempDir dir;
  Cache c(&testing::test_versions);
  c.put(golden, kOpts);
  Cache back = round_trip(c, dir, true);
  auto got = back.get(golden.path);
  ASSERT_TRUE(got.has_value());
  testing::expect_same(*got, golden);
}

INSTANTIATE_TEST_SUITE_P(CompressedAndPlain, RoundTrip, ::testing::Bool(),
                         [](const auto& p) { return p.param ? "deflate" : "plain"; });

TEST(RoundTripInspection, SummaryAndVerifyDescribeTheContent) {
  TempDir dir;
  Cache c(&testing::test_versions);
  auto cols = testing::make_columns(10);
  c.put(testing::make_root_file("/a.root", cols, 1), 0);
  c.put(testing::make_root_file("/b.root", cols, 2), 0);
  c.put(testing::make_hdf5_file("/c.h5", 3), 0);
  c.put(testing::make_failed_file("/d.nc", ErrorKind::kUnsupportedFormat, 4), 0);
  c.put(testing::make_failed_file("/e.root", ErrorKind::kTruncated, 5), 0);
  c.put(testing::make_failed_file("/f.root", ErrorKind::kTruncated, 6), 0);
  comm::SerialCommunicator comm;
  auto rep1 = commit(comm, c, dir.file("c.h5"));
  auto rep2 = commit(comm, c, dir.file("c.h5"));  // generation counts commits
  EXPECT_EQ(rep1.generation, 1u);
  EXPECT_EQ(rep2.generation, 2u);
  EXPECT_EQ(c.generation(), 2u);
  EXPECT_EQ(c.put_count(), 0u);

  EXPECT_TRUE(verify(dir.file("c.h5")).ok());
  auto s = summary(dir.file("c.h5"));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->files, 6u);
  EXPECT_EQ(s->generation, 2u);
  EXPECT_EQ(s->format_version, kFormatVersion);
  EXPECT_EQ(s->writer_version, writer_version());
  EXPECT_EQ(s->by_format.at("root"), 4u);
  EXPECT_EQ(s->by_format.at("hdf5"), 1u);
  EXPECT_EQ(s->by_format.at("netcdf3"), 1u);
  EXPECT_EQ(s->failures_by_kind.at("truncated"), 2u);
  EXPECT_EQ(s->failures_by_kind.at("unsupported_format"), 1u);
  EXPECT_EQ(s->failures_by_kind.size(), 2u);
  EXPECT_EQ(s->objects, 2u * 3u + 4u);
  EXPECT_EQ(s->checksum, rep2.checksum);
  EXPECT_EQ(s->file_bytes, rep2.file_bytes);
  EXPECT_EQ(s->created_utc.size(), 20u);  // YYYY-mm-ddTHH:MM:SSZ
  std::string text = format_summary(*s);
  EXPECT_NE(text.find("generation : 2"), std::string::npos) << text;
  EXPECT_NE(text.find("truncated 2"), std::string::npos) << text;

  auto missing = verify(dir.file("nothing.h5"));
  EXPECT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, ErrorKind::kMissing);
}

}  // namespace
}  // namespace mpiprep::cache
