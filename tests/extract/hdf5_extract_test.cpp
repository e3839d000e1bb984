// HDF5/NetCDF-4 extractor against tests/data/expected.json (h5py/h5ls ground truth) and
// against files written here with the HDF5 C API: every dtype class, user blocks, filters this
// process cannot decode, bad files. No test may leave HDF5-DIAG text on stderr or an open id.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <random>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "extract/hdf5/superblock.hpp"
#include "extract/magic.hpp"
#include "h5_writer.hpp"
#include "mpiprep/extract/extractor.hpp"
#include "mpiprep/io/file_system.hpp"
#include "test_support.hpp"

namespace mpiprep::extract {
namespace {

using nlohmann::json;
using testing_support::data_path;
using testing_support::expected_json;
using testing_support::h5_check;
using testing_support::h5_open_ids;
using testing_support::H5Id;
using testing_support::read_all;
using testing_support::TempDir;
using testing_support::write_all;

// Extraction with stderr captured: the result and whether libhdf5 printed a diagnostic.
struct Extraction {
  Result<FileMeta> result = make_error(ErrorKind::kInternal, "not run");
  std::string stderr_text;
};

Extraction extract_path(const std::string& path) {
  io::PosixFileSystem fs;
  Extraction run;
  ::testing::internal::CaptureStderr();
  auto f = fs.open(path);
  if (f.ok()) {
    run.result = hdf5::extract(**f, ExtractOptions{});
  } else {
    run.result = f.error();
  }
  run.stderr_text = ::testing::internal::GetCapturedStderr();
  return run;
}

const ObjectMeta* find(const FileMeta& m, const std::string& path) {
  for (const auto& o : m.objects)
    if (o.path == path) return &o;
  return nullptr;
}

std::vector<std::int64_t> ints(const json& j) {
  if (j.is_null()) return {};
  return j.get<std::vector<std::int64_t>>();
}

std::vector<std::string> split_path(const std::string& p) {
  std::vector<std::string> parts;
  std::string cur;
  for (char c : p.substr(1)) {
    if (c == '/') {
      parts.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) parts.push_back(cur);
  return parts;
}

const std::regex kUuidPattern(
    "^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");

// ---------------------------------------------------------------------------------------------
// Real files vs expected.json

class Hdf5ExpectedTest : public ::testing::TestWithParam<std::string> {};

TEST_P(Hdf5ExpectedTest, MatchesExpectedJson) {
  const json& exp = expected_json().at("files").at(GetParam());
  Extraction run = extract_path(data_path(GetParam()));
  EXPECT_EQ(run.stderr_text.find("HDF5-DIAG"), std::string::npos) << run.stderr_text;
  ASSERT_TRUE(run.result.ok()) << run.result.error().to_string();
  EXPECT_EQ(h5_open_ids(), 0);
  const FileMeta& m = *run.result;

  EXPECT_EQ(m.format, FileFormat::kHdf5);
  EXPECT_EQ(m.size, exp.at("size").get<std::int64_t>());
  EXPECT_TRUE(std::regex_match(m.uuid, kUuidPattern)) << m.uuid;
  // What libhdf5 read: some metadata (it may re-read a little), never the bulk of the data.
  EXPECT_GT(m.bytes_read, 0U);
  EXPECT_LE(m.bytes_read, 2 * static_cast<std::uint64_t>(m.size));

  int n_datasets = 0, n_groups = 0;
  for (const auto& o : m.objects) {
    EXPECT_EQ(o.error_kind, ErrorKind::kNone) << o.path << ": " << o.error_message;
    if (o.kind == "dataset") ++n_datasets;
    if (o.kind == "group") ++n_groups;
  }
  EXPECT_EQ(n_datasets, exp.at("nDatasets").get<int>());
  EXPECT_EQ(n_groups, exp.at("nGroups").get<int>());  // includes the root group

  for (const json& ed : exp.at("datasets")) {
    const std::string path = ed.at("path");
    SCOPED_TRACE(path);
    const ObjectMeta* o = find(m, path);
    ASSERT_NE(o, nullptr);
    EXPECT_EQ(o->kind, "dataset");
    EXPECT_EQ(o->shape, ints(ed.at("shape")));
    EXPECT_EQ(o->maxshape, ints(ed.at("maxshape")));
    EXPECT_EQ(o->dtype, ed.at("dtype").get<std::string>());
    EXPECT_EQ(o->layout, ed.at("layout").get<std::string>());
    EXPECT_EQ(o->chunks, ints(ed.at("chunks")));
    const auto shape = ints(ed.at("shape"));
    EXPECT_EQ(o->num_entries, shape.empty() ? -1 : shape.front());
    ASSERT_EQ(o->filters.size(), ed.at("filters").size());
    for (std::size_t i = 0; i < o->filters.size(); ++i) {
      const json& ef = ed.at("filters")[i];
      EXPECT_EQ(o->filters[i].id, ef.at("id").get<int>());
      EXPECT_EQ(o->filters[i].name, ef.at("name").get<std::string>());
      EXPECT_EQ(o->filters[i].params, ef.at("params").get<std::vector<unsigned>>());
    }
    // expected.json lists at most the first 10 names (sorted) and the full count.
    const auto names = ed.at("attributeNames").get<std::vector<std::string>>();
    EXPECT_EQ(o->attributes.size(), ed.at("nAttributes").get<std::size_t>());
    ASSERT_GE(o->attributes.size(), names.size());
    EXPECT_TRUE(std::equal(names.begin(), names.end(), o->attributes.begin()));
  }
  for (const json& eg : exp.at("groups")) {
    const std::string path = eg.at("path");
    SCOPED_TRACE(path);
    const ObjectMeta* o = find(m, path);
    ASSERT_NE(o, nullptr);
    EXPECT_EQ(o->kind, "group");
    EXPECT_EQ(o->attributes.size(), eg.at("nAttributes").get<std::size_t>());
    EXPECT_EQ(o->num_entries, -1);
  }
  const ObjectMeta* root = find(m, "/");
  ASSERT_NE(root, nullptr);
  EXPECT_EQ(root->kind, "group");
  EXPECT_EQ(root->attributes, exp.at("rootAttributes").get<std::vector<std::string>>());

  // Nothing beyond what the oracle knows, and in depth-first, name-sorted order: sorting paths
  // component-wise gives exactly that order.
  std::set<std::string> known = {"/"};
  for (const json& e : exp.at("datasets")) known.insert(e.at("path").get<std::string>());
  for (const json& e : exp.at("groups")) known.insert(e.at("path").get<std::string>());
  std::vector<std::string> ours;
  for (const auto& o : m.objects) ours.push_back(o.path);
  EXPECT_EQ(std::set<std::string>(ours.begin(), ours.end()), known);
  auto sorted = ours;
  std::sort(sorted.begin(), sorted.end(), [](const std::string& a, const std::string& b) {
    return split_path(a) < split_path(b);
  });
  EXPECT_EQ(ours, sorted);
}

TEST_P(Hdf5ExpectedTest, IdIsStableAndContentDerived) {
  Extraction a = extract_path(data_path(GetParam()));
  Extraction b = extract_path(data_path(GetParam()));
  ASSERT_TRUE(a.result.ok() && b.result.ok());
  EXPECT_EQ(a.result->uuid, b.result->uuid);

  // A byte-identical copy elsewhere has the same id; changing the last byte changes it.
  TempDir dir;
  auto bytes = read_all(data_path(GetParam()));
  write_all(dir.file("copy.h5"), bytes);
  Extraction c = extract_path(dir.file("copy.h5"));
  ASSERT_TRUE(c.result.ok()) << c.result.error().to_string();
  EXPECT_EQ(c.result->uuid, a.result->uuid);
}

TEST_P(Hdf5ExpectedTest, SuperblockEndOfFileIsWhereLibhdf5DrawsTheLine) {
  // libhdf5 is the oracle for the parsed end of file: the file cut exactly there opens, one
  // byte less is refused as truncated.
  auto bytes = read_all(data_path(GetParam()));
  std::vector<std::byte> head(hdf5::kSuperblockMaxBytes);
  std::memcpy(head.data(), bytes.data(), std::min(bytes.size(), head.size()));
  auto sb = hdf5::parse_superblock(head);
  EXPECT_GE(sb.version, 0);
  EXPECT_LE(sb.version, 3);
  ASSERT_TRUE(sb.end_of_file.has_value());
  const std::size_t eof = *sb.end_of_file;
  ASSERT_LE(eof, bytes.size());
  TempDir dir;
  write_all(dir.file("at_eof.h5"),
            std::vector<char>(bytes.begin(), bytes.begin() + static_cast<long>(eof)));
  write_all(dir.file("short.h5"),
            std::vector<char>(bytes.begin(), bytes.begin() + static_cast<long>(eof - 1)));
  Extraction at_eof = extract_path(dir.file("at_eof.h5"));
  EXPECT_TRUE(at_eof.result.ok()) << at_eof.result.error().to_string();
  Extraction short_file = extract_path(dir.file("short.h5"));
  ASSERT_FALSE(short_file.result.ok());
  EXPECT_EQ(short_file.result.error().kind, ErrorKind::kTruncated);
  EXPECT_NE(short_file.result.error().message.find("truncated file"), std::string::npos)
      << short_file.result.error().message;  // libhdf5's own words are kept
  EXPECT_EQ(sb.length,
            sb.version <= 1 ? std::size_t{96 + (sb.version == 1 ? 4U : 0U)} : std::size_t{48});
}

std::string test_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string s = info.param;
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return s;
}

INSTANTIATE_TEST_SUITE_P(TestData, Hdf5ExpectedTest,
                         ::testing::ValuesIn(testing_support::files_of_format("hdf5")), test_name);

TEST(Hdf5Extract, TestFilesHaveDistinctIds) {
  std::set<std::string> ids;
  const auto files = testing_support::files_of_format("hdf5");
  ASSERT_GE(files.size(), 5U);
  for (const auto& f : files) {
    Extraction r = extract_path(data_path(f));
    ASSERT_TRUE(r.result.ok());
    ids.insert(r.result->uuid);
  }
  EXPECT_EQ(ids.size(), files.size());
}

TEST(Hdf5Extract, ConcurrentCallersAreSerializedAndAgree) {
  // libhdf5 here is not thread-safe; the extractor's lock must make concurrent calls safe.
  const auto files = testing_support::files_of_format("hdf5");
  std::vector<std::string> serial;
  for (const auto& f : files) {
    Extraction r = extract_path(data_path(f));
    ASSERT_TRUE(r.result.ok());
    serial.push_back(r.result->uuid + ":" + std::to_string(r.result->objects.size()));
  }
  std::vector<std::vector<std::string>> got(4);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < got.size(); ++t) {
    threads.emplace_back([&, t] {
      io::PosixFileSystem fs;
      for (int rep = 0; rep < 3; ++rep) {
        for (const auto& f : files) {
          auto file = fs.open(data_path(f));
          if (!file.ok()) {
            got[t].push_back("open failed");
            continue;
          }
          auto r = hdf5::extract(**file, ExtractOptions{});
          got[t].push_back(r.ok() ? r->uuid + ":" + std::to_string(r->objects.size())
                                  : r.error().to_string());
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& g : got) {
    ASSERT_EQ(g.size(), 3 * serial.size());
    for (std::size_t i = 0; i < g.size(); ++i) EXPECT_EQ(g[i], serial[i % serial.size()]);
  }
  EXPECT_EQ(h5_open_ids(), 0);
}

// ---------------------------------------------------------------------------------------------
// Bad files

TEST(Hdf5BadFiles, TruncatedCopiesAreTruncatedErrors) {
  TempDir dir;
  for (const std::string name : {"test_gold.nc", "ref_groups.h5", "indexes_2_0.h5"}) {
    const auto bytes = read_all(data_path(name));
    // Up to 64 bytes short of the end: PyTables leaves a few bytes past HDF5's recorded end of
    // file, and cutting those is no truncation (the last cut case is tested below).
    const std::vector<std::size_t> cuts = {
        8, 13, 40, 95, 512, 2048, bytes.size() / 2, bytes.size() - 64};
    for (std::size_t cut : cuts) {
      SCOPED_TRACE(name + " cut at " + std::to_string(cut));
      const std::string path = dir.file("cut.h5");
      write_all(path, std::vector<char>(bytes.begin(), bytes.begin() + static_cast<long>(cut)));
      Extraction r = extract_path(path);
      EXPECT_EQ(r.stderr_text.find("HDF5-DIAG"), std::string::npos) << r.stderr_text;
      ASSERT_FALSE(r.result.ok());
      EXPECT_EQ(r.result.error().kind, ErrorKind::kTruncated) << r.result.error().message;
      EXPECT_FALSE(r.result.error().message.empty());
      EXPECT_EQ(h5_open_ids(), 0);
    }
  }
}

TEST(Hdf5BadFiles, GarbageAfterSignatureIsAnErrorNotACrash) {
  TempDir dir;
  std::mt19937 rng(12345);
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<char> bytes(4096);
    for (auto& b : bytes) b = static_cast<char>(rng() & 0xffU);
    std::memcpy(bytes.data(), magic::kHdf5.data(), magic::kHdf5.size());
    const std::string path = dir.file("garbage.h5");
    write_all(path, bytes);
    Extraction r = extract_path(path);
    EXPECT_EQ(r.stderr_text.find("HDF5-DIAG"), std::string::npos) << r.stderr_text;
    ASSERT_FALSE(r.result.ok());
    const ErrorKind k = r.result.error().kind;
    EXPECT_TRUE(k == ErrorKind::kCorrupt || k == ErrorKind::kTruncated)
        << r.result.error().to_string();
    EXPECT_EQ(h5_open_ids(), 0);
  }
}

TEST(Hdf5BadFiles, NoSignatureAndEmptyFileAreCorrupt) {
  TempDir dir;
  write_all(dir.file("empty.h5"), {});
  std::vector<char> random(10000);
  std::mt19937 rng(7);
  for (auto& b : random) b = static_cast<char>(rng() & 0x7fU);  // never 0x89: no signature
  write_all(dir.file("random.h5"), random);
  for (const std::string name : {"empty.h5", "random.h5"}) {
    Extraction r = extract_path(dir.file(name));
    ASSERT_FALSE(r.result.ok()) << name;
    EXPECT_EQ(r.result.error().kind, ErrorKind::kCorrupt);
    EXPECT_NE(r.result.error().message.find("signature"), std::string::npos);
    EXPECT_TRUE(r.stderr_text.empty()) << r.stderr_text;
  }
}

TEST(Hdf5BadFiles, DamagedMetadataNeverCrashesOrLeaks) {
  // Overwrite a window after the superblock with random bytes: libhdf5 may refuse the file or
  // single objects; either way the answer is a value and nothing stays open.
  TempDir dir;
  const auto original = read_all(data_path("ref_groups.h5"));
  std::mt19937 rng(99);
  int failed_files = 0, failed_objects = 0;
  for (std::size_t start = 96; start + 256 <= original.size(); start += 256) {
    auto bytes = original;
    for (std::size_t i = start; i < start + 256; ++i) bytes[i] = static_cast<char>(rng() & 0xffU);
    const std::string path = dir.file("damaged.h5");
    write_all(path, bytes);
    Extraction r = extract_path(path);
    EXPECT_EQ(r.stderr_text.find("HDF5-DIAG"), std::string::npos) << r.stderr_text;
    EXPECT_EQ(h5_open_ids(), 0);
    if (!r.result.ok()) {
      ++failed_files;
      EXPECT_NE(r.result.error().kind, ErrorKind::kInternal);
      EXPECT_FALSE(r.result.error().message.empty());
    } else {
      for (const auto& o : r.result->objects)
        if (o.error_kind != ErrorKind::kNone) ++failed_objects;
    }
  }
  // The damage must have been noticed somewhere (the windows cover all metadata).
  EXPECT_GT(failed_files + failed_objects, 0);
}

// ---------------------------------------------------------------------------------------------
// Files written here

std::size_t passthrough_filter(unsigned, std::size_t, const unsigned[], std::size_t nbytes,
                               std::size_t*, void**) {
  return nbytes;
}

TEST(Hdf5Generated, FiltersThisProcessCannotDecodeAreListed) {
  TempDir dir;
  const std::string path = dir.file("filters.h5");
  constexpr H5Z_filter_t kZstd = 32015, kCustom = 40123;
  const H5Z_class2_t zstd_cls = {H5Z_CLASS_T_VERS, kZstd,   1,       1,
                                 "zstd stand-in",  nullptr, nullptr, passthrough_filter};
  const H5Z_class2_t custom_cls = {H5Z_CLASS_T_VERS,  kCustom, 1,       1,
                                   "custom optional", nullptr, nullptr, passthrough_filter};
  {
    // Registered only while writing, so the ids and names really land in the pipeline message.
    h5_check(H5Zregister(&zstd_cls), "H5Zregister");
    h5_check(H5Zregister(&custom_cls), "H5Zregister");
    H5Id f(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose, "create");
    H5Id dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose, "dcpl");
    const hsize_t chunk[1] = {4};
    h5_check(H5Pset_chunk(dcpl, 1, chunk), "chunk");
    const unsigned zstd_params[1] = {3};
    const unsigned custom_params[2] = {7, 9};
    h5_check(H5Pset_filter(dcpl, kZstd, H5Z_FLAG_MANDATORY, 1, zstd_params), "filter");
    h5_check(H5Pset_filter(dcpl, kCustom, H5Z_FLAG_OPTIONAL, 2, custom_params), "filter");
    h5_check(H5Pset_deflate(dcpl, 4), "deflate");
    const hsize_t dims[1] = {16};
    H5Id space(H5Screate_simple(1, dims, nullptr), H5Sclose, "space");
    H5Id ds(H5Dcreate2(f, "data", H5T_STD_I32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT), H5Dclose,
            "dataset");
    std::array<int, 16> values{};
    for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<int>(i * i);
    h5_check(H5Dwrite(ds, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), "write");
  }
  h5_check(H5Zunregister(kZstd), "H5Zunregister");
  h5_check(H5Zunregister(kCustom), "H5Zunregister");
  ASSERT_EQ(H5Zfilter_avail(kZstd), 0);
  ASSERT_EQ(H5Zfilter_avail(kCustom), 0);
  ASSERT_EQ(h5_open_ids(), 0);

  Extraction r = extract_path(path);
  EXPECT_EQ(r.stderr_text.find("HDF5-DIAG"), std::string::npos) << r.stderr_text;
  ASSERT_TRUE(r.result.ok()) << r.result.error().to_string();
  const ObjectMeta* ds = find(*r.result, "/data");
  ASSERT_NE(ds, nullptr);
  EXPECT_EQ(ds->error_kind, ErrorKind::kNone) << ds->error_message;
  EXPECT_EQ(ds->layout, "chunked");
  EXPECT_EQ(ds->chunks, std::vector<std::int64_t>{4});
  const std::vector<Filter> want = {
      {32015, "zstd stand-in", {3}}, {40123, "custom optional", {7, 9}}, {1, "deflate", {4}}};
  EXPECT_EQ(ds->filters, want);
  EXPECT_EQ(h5_open_ids(), 0);
}

TEST(Hdf5Generated, UserBlockFileIsFoundAndExtracted) {
  TempDir dir;
  for (hsize_t ub : {hsize_t{512}, hsize_t{4096}}) {
    SCOPED_TRACE(ub);
    const std::string path = dir.file("userblock.h5");
    {
      H5Id fcpl(H5Pcreate(H5P_FILE_CREATE), H5Pclose, "fcpl");
      h5_check(H5Pset_userblock(fcpl, ub), "userblock");
      H5Id f(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, fcpl, H5P_DEFAULT), H5Fclose, "create");
      const hsize_t dims[2] = {5, 3};
      H5Id space(H5Screate_simple(2, dims, nullptr), H5Sclose, "space");
      H5Id ds(H5Dcreate2(f, "table", H5T_IEEE_F64BE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
              H5Dclose, "dataset");
    }
    // Give the user block content that is neither HDF5 nor another format's magic.
    auto bytes = read_all(path);
    const std::string text = "#!/bin/sh\necho user block\n";
    std::memcpy(bytes.data(), text.data(), text.size());
    write_all(path, bytes);

    io::PosixFileSystem fs;
    auto file = fs.open(path);
    ASSERT_TRUE(file.ok());
    auto at = magic::find_hdf5_superblock(**file);
    ASSERT_TRUE(at.ok());
    ASSERT_TRUE(at->has_value());
    EXPECT_EQ(**at, ub);

    Extraction r = extract_path(path);
    ASSERT_TRUE(r.result.ok()) << r.result.error().to_string();
    const ObjectMeta* ds = find(*r.result, "/table");
    ASSERT_NE(ds, nullptr);
    EXPECT_EQ(ds->shape, (std::vector<std::int64_t>{5, 3}));
    EXPECT_EQ(ds->dtype, ">f8");
    EXPECT_EQ(ds->num_entries, 5);
    EXPECT_TRUE(std::regex_match(r.result->uuid, kUuidPattern));

    // The recorded end of file is relative to the base address (the user block size).
    std::vector<std::byte> sb(hdf5::kSuperblockMaxBytes);
    std::memcpy(sb.data(), bytes.data() + ub, sb.size());
    auto info = hdf5::parse_superblock(sb);
    ASSERT_TRUE(info.end_of_file.has_value());
    EXPECT_EQ(*info.end_of_file, bytes.size());
  }
}

TEST(Hdf5Generated, EveryDatatypeClassHasItsDocumentedSpelling) {
  TempDir dir;
  const std::string path = dir.file("types.h5");
  {
    H5Id f(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose, "create");
    const hsize_t one[1] = {3};
    H5Id space(H5Screate_simple(1, one, nullptr), H5Sclose, "space");
    auto make = [&](const char* name, hid_t type, hid_t sp = -1, hid_t dcpl = H5P_DEFAULT) {
      H5Id ds(H5Dcreate2(f, name, type, sp < 0 ? static_cast<hid_t>(space) : sp, H5P_DEFAULT, dcpl,
                         H5P_DEFAULT),
              H5Dclose, name);
    };
    // h5py's bool: an enum over int8.
    H5Id boolean(H5Tenum_create(H5T_NATIVE_INT8), H5Tclose, "enum");
    const signed char f0 = 0, t1 = 1;
    h5_check(H5Tenum_insert(boolean, "FALSE", &f0), "enum insert");
    h5_check(H5Tenum_insert(boolean, "TRUE", &t1), "enum insert");
    make("bool", boolean);
    H5Id be_enum(H5Tenum_create(H5T_STD_I16BE), H5Tclose, "enum");
    const std::array<unsigned char, 2> minus_two = {0xff, 0xfe};  // -2 as big-endian int16
    const std::array<unsigned char, 2> three_hundred = {0x01, 0x2c};
    h5_check(H5Tenum_insert(be_enum, "LOW", minus_two.data()), "enum insert");
    h5_check(H5Tenum_insert(be_enum, "HIGH", three_hundred.data()), "enum insert");
    make("enum_be", be_enum);

    H5Id vstr(H5Tcopy(H5T_C_S1), H5Tclose, "str");
    h5_check(H5Tset_size(vstr, H5T_VARIABLE), "vlen");
    h5_check(H5Tset_cset(vstr, H5T_CSET_UTF8), "cset");
    make("vlen_utf8", vstr);
    H5Id fstr(H5Tcopy(H5T_C_S1), H5Tclose, "str");
    h5_check(H5Tset_size(fstr, 7), "size");
    h5_check(H5Tset_cset(fstr, H5T_CSET_UTF8), "cset");
    make("fixed_utf8", fstr);

    make("be_u2", H5T_STD_U16BE);
    make("i1", H5T_STD_I8LE);
    make("le_f4", H5T_IEEE_F32LE);

    const hsize_t adims[2] = {3, 4};
    H5Id arr(H5Tarray_create2(H5T_IEEE_F32LE, 2, adims), H5Tclose, "array");
    make("array", arr);
    H5Id vseq(H5Tvlen_create(H5T_STD_I64BE), H5Tclose, "vlen");
    make("vlen_seq", vseq);

    H5Id s3(H5Tcopy(H5T_C_S1), H5Tclose, "str");
    h5_check(H5Tset_size(s3, 3), "size");
    H5Id inner(H5Tcreate(H5T_COMPOUND, 11), H5Tclose, "compound");
    h5_check(H5Tinsert(inner, "x", 0, H5T_IEEE_F64LE), "insert");
    h5_check(H5Tinsert(inner, "s", 8, s3), "insert");
    const hsize_t two[1] = {2};
    H5Id u1x2(H5Tarray_create2(H5T_STD_U8LE, 1, two), H5Tclose, "array");
    H5Id outer(H5Tcreate(H5T_COMPOUND, 2 + 11 + 2 + 16), H5Tclose, "compound");
    h5_check(H5Tinsert(outer, "a", 0, H5T_STD_I16LE), "insert");
    h5_check(H5Tinsert(outer, "b", 2, inner), "insert");
    h5_check(H5Tinsert(outer, "c", 13, u1x2), "insert");
    h5_check(H5Tinsert(outer, "v", 15, vstr), "insert");
    make("nested", outer);

    make("objref", H5T_STD_REF_OBJ);
    make("regref", H5T_STD_REF_DSETREG);
    H5Id opaque(H5Tcreate(H5T_OPAQUE, 5), H5Tclose, "opaque");
    h5_check(H5Tset_tag(opaque, "blob"), "tag");
    make("opaque", opaque);
    make("bitfield", H5T_STD_B16BE);

    H5Id scalar(H5Screate(H5S_SCALAR), H5Sclose, "scalar");
    make("scalar", H5T_IEEE_F64LE, scalar);
    H5Id null_space(H5Screate(H5S_NULL), H5Sclose, "null");
    make("null", H5T_STD_I32LE, null_space);

    H5Id compact(H5Pcreate(H5P_DATASET_CREATE), H5Pclose, "dcpl");
    h5_check(H5Pset_layout(compact, H5D_COMPACT), "compact");
    make("compact", H5T_STD_I32LE, -1, compact);

    H5Id chunked(H5Pcreate(H5P_DATASET_CREATE), H5Pclose, "dcpl");
    const hsize_t cdims[2] = {2, 5};
    h5_check(H5Pset_chunk(chunked, 2, cdims), "chunk");
    h5_check(H5Pset_shuffle(chunked), "shuffle");
    const hsize_t dims2[2] = {4, 5}, max2[2] = {H5S_UNLIMITED, 5};
    H5Id ext(H5Screate_simple(2, dims2, max2), H5Sclose, "space");
    make("unlimited", H5T_STD_I32LE, ext, chunked);

    H5Id named(H5Tcopy(H5T_STD_U32BE), H5Tclose, "type");
    h5_check(H5Tcommit2(f, "mytype", named, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "commit");

    // One dataset reachable by two hard links, a soft and a dangling external link.
    H5Id g(H5Gcreate2(f, "g", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose, "group");
    h5_check(H5Lcreate_hard(f, "unlimited", g, "alias", H5P_DEFAULT, H5P_DEFAULT), "hard");
    h5_check(H5Lcreate_soft("/scalar", f, "soft", H5P_DEFAULT, H5P_DEFAULT), "soft");
    h5_check(H5Lcreate_external("missing.h5", "/x", f, "ext", H5P_DEFAULT, H5P_DEFAULT), "ext");

    // Attributes: out of order on a dataset, many (dense storage) on a group.
    H5Id ascalar(H5Screate(H5S_SCALAR), H5Sclose, "scalar");
    H5Id sds(H5Dopen2(f, "scalar", H5P_DEFAULT), H5Dclose, "open");
    for (const char* an : {"zeta", "Alpha", "beta"})
      H5Id a(H5Acreate2(sds, an, H5T_STD_I32LE, ascalar, H5P_DEFAULT, H5P_DEFAULT), H5Aclose, an);
    for (int i = 0; i < 20; ++i) {
      const std::string an = "attr_" + std::to_string(19 - i);
      H5Id a(H5Acreate2(g, an.c_str(), H5T_STD_I32LE, ascalar, H5P_DEFAULT, H5P_DEFAULT), H5Aclose,
             "attr");
    }
  }
  ASSERT_EQ(h5_open_ids(), 0);

  Extraction r = extract_path(path);
  EXPECT_TRUE(r.stderr_text.empty()) << r.stderr_text;
  ASSERT_TRUE(r.result.ok()) << r.result.error().to_string();
  const FileMeta& m = *r.result;
  for (const auto& o : m.objects)
    EXPECT_EQ(o.error_kind, ErrorKind::kNone) << o.path << ": " << o.error_message;

  auto dtype = [&](const std::string& p) {
    const ObjectMeta* o = find(m, p);
    return o != nullptr ? o->dtype : std::string("<missing " + p + ">");
  };
  EXPECT_EQ(dtype("/bool"), "enum(|i1){FALSE=0,TRUE=1}");
  EXPECT_EQ(dtype("/enum_be"), "enum(>i2){LOW=-2,HIGH=300}");
  EXPECT_EQ(dtype("/vlen_utf8"), "string(vlen,utf-8)");
  EXPECT_EQ(dtype("/fixed_utf8"), "string(7,utf-8)");
  EXPECT_EQ(dtype("/be_u2"), ">u2");
  EXPECT_EQ(dtype("/i1"), "|i1");
  EXPECT_EQ(dtype("/le_f4"), "<f4");
  EXPECT_EQ(dtype("/array"), "array(<f4,(3,4))");
  EXPECT_EQ(dtype("/vlen_seq"), "vlen(>i8)");
  EXPECT_EQ(dtype("/nested"),
            "compound{a:<i2,b:compound{x:<f8,s:|S3},c:array(|u1,(2)),v:string(vlen,utf-8)}");
  EXPECT_EQ(dtype("/objref"), "ref(object)");
  EXPECT_EQ(dtype("/regref"), "ref(region)");
  EXPECT_EQ(dtype("/opaque"), "opaque(5,blob)");
  EXPECT_EQ(dtype("/bitfield"), ">u2");  // as h5py reads bitfields
  EXPECT_EQ(dtype("/mytype"), ">u4");

  const ObjectMeta* scalar = find(m, "/scalar");
  ASSERT_NE(scalar, nullptr);
  EXPECT_TRUE(scalar->shape.empty());
  EXPECT_EQ(scalar->num_entries, -1);
  EXPECT_EQ(scalar->attributes, (std::vector<std::string>{"Alpha", "beta", "zeta"}));
  const ObjectMeta* null_ds = find(m, "/null");
  ASSERT_NE(null_ds, nullptr);
  EXPECT_TRUE(null_ds->shape.empty());
  EXPECT_EQ(null_ds->num_entries, -1);
  const ObjectMeta* compact = find(m, "/compact");
  ASSERT_NE(compact, nullptr);
  EXPECT_EQ(compact->layout, "compact");
  EXPECT_TRUE(compact->chunks.empty());
  EXPECT_EQ(find(m, "/array")->layout, "contiguous");

  // The doubly linked dataset is listed once, under the first path in name order.
  const ObjectMeta* alias = find(m, "/g/alias");
  ASSERT_NE(alias, nullptr);
  EXPECT_EQ(find(m, "/unlimited"), nullptr);
  EXPECT_EQ(alias->shape, (std::vector<std::int64_t>{4, 5}));
  EXPECT_EQ(alias->maxshape, (std::vector<std::int64_t>{-1, 5}));
  EXPECT_EQ(alias->chunks, (std::vector<std::int64_t>{2, 5}));
  EXPECT_EQ(alias->filters, (std::vector<Filter>{{2, "shuffle", {4}}}));
  EXPECT_EQ(find(m, "/soft"), nullptr);
  EXPECT_EQ(find(m, "/ext"), nullptr);

  const ObjectMeta* mytype = find(m, "/mytype");
  ASSERT_NE(mytype, nullptr);
  EXPECT_EQ(mytype->kind, "datatype");
  const ObjectMeta* g = find(m, "/g");
  ASSERT_NE(g, nullptr);
  std::vector<std::string> want_attrs;
  for (int i = 0; i < 20; ++i) want_attrs.push_back("attr_" + std::to_string(i));
  std::sort(want_attrs.begin(), want_attrs.end());
  EXPECT_EQ(g->attributes, want_attrs);

  // 18 datasets written (one under two names) + the named type + "/" and "/g".
  EXPECT_EQ(m.objects.size(), 18U + 1U + 2U);
  EXPECT_EQ(h5_open_ids(), 0);
}

TEST(Hdf5Generated, MetadataExtractionDoesNotReadTheData) {
  TempDir dir;
  const std::string path = dir.file("big.h5");
  constexpr std::size_t kValues = 1 << 20;  // 8 MiB of doubles
  {
    H5Id f(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose, "create");
    const hsize_t dims[1] = {kValues};
    H5Id space(H5Screate_simple(1, dims, nullptr), H5Sclose, "space");
    H5Id ds(H5Dcreate2(f, "values", H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
            H5Dclose, "dataset");
    std::vector<double> v(kValues);
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(i) * 0.5;
    h5_check(H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), "write");
  }
  Extraction r = extract_path(path);
  ASSERT_TRUE(r.result.ok()) << r.result.error().to_string();
  EXPECT_EQ(find(*r.result, "/values")->num_entries, static_cast<std::int64_t>(kValues));
  EXPECT_GT(r.result->size, 8 << 20);
  EXPECT_GT(r.result->bytes_read, 0U);
  EXPECT_LT(r.result->bytes_read, 64U << 10);
}

TEST(Hdf5Generated, DiagnosticsStaySilencedAndTheHandlerIsRestored) {
  // After a failing extraction, the application's own HDF5 error handler is back in place.
  H5E_auto2_t func = nullptr;
  void* data = nullptr;
  h5_check(H5Eget_auto2(H5E_DEFAULT, &func, &data), "get_auto");
  TempDir dir;
  std::vector<char> bytes(2048, 'x');
  std::memcpy(bytes.data(), magic::kHdf5.data(), magic::kHdf5.size());
  write_all(dir.file("bad.h5"), bytes);
  Extraction r = extract_path(dir.file("bad.h5"));
  EXPECT_FALSE(r.result.ok());
  EXPECT_TRUE(r.stderr_text.empty()) << r.stderr_text;
  H5E_auto2_t after = nullptr;
  void* after_data = nullptr;
  h5_check(H5Eget_auto2(H5E_DEFAULT, &after, &after_data), "get_auto");
  EXPECT_EQ(after, func);
  EXPECT_EQ(after_data, data);
}

}  // namespace
}  // namespace mpiprep::extract
