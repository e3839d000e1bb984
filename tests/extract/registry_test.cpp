// Sniffing and the extractor registry: formats by magic bytes (user blocks included), per-file
// errors for everything unsupported or broken, io accounting through the FileSystem layer.
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "h5_writer.hpp"
#include "mpiprep/extract/extractor.hpp"
#include "mpiprep/io/file_system.hpp"
#include "test_support.hpp"

namespace mpiprep::extract {
namespace {

using testing_support::data_path;
using testing_support::expected_json;
using testing_support::h5_check;
using testing_support::h5_open_ids;
using testing_support::H5Id;
using testing_support::read_all;
using testing_support::TempDir;
using testing_support::write_all;

std::vector<std::byte> bytes_of(std::initializer_list<int> v) {
  std::vector<std::byte> out;
  for (int b : v) out.push_back(static_cast<std::byte>(b));
  return out;
}

std::vector<std::byte> bytes_of(const std::string& s) {
  std::vector<std::byte> out;
  for (char c : s) out.push_back(static_cast<std::byte>(c));
  return out;
}

const std::vector<std::byte> kHdf5Sig = bytes_of({0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'});

Result<FileFormat> sniff_memory(std::vector<std::byte> content) {
  io::MemoryFileSystem fs;
  fs.add("/f", std::move(content));
  auto f = fs.open("/f");
  if (!f.ok()) return f.error();
  return sniff(**f);
}

FileMeta extract_quietly(io::FileSystem& fs, const std::string& path, std::string* err) {
  ::testing::internal::CaptureStderr();
  FileMeta m = extract_file(fs, path, ExtractOptions{});
  *err = ::testing::internal::GetCapturedStderr();
  return m;
}

TEST(Sniff, PrefixMagicBytes) {
  EXPECT_EQ(sniff_prefix(kHdf5Sig), FileFormat::kHdf5);
  EXPECT_EQ(sniff_prefix(bytes_of("root\0\0\xf4\x28")), FileFormat::kRoot);
  EXPECT_EQ(sniff_prefix(bytes_of({'C', 'D', 'F', 1, 0, 0, 0, 0})), FileFormat::kNetcdf3);
  EXPECT_EQ(sniff_prefix(bytes_of({'C', 'D', 'F', 2})), FileFormat::kNetcdf3);
  EXPECT_EQ(sniff_prefix(bytes_of({'C', 'D', 'F', 5})), FileFormat::kNetcdf3);
  EXPECT_EQ(sniff_prefix(bytes_of({'C', 'D', 'F', 3})), FileFormat::kUnknown);
  EXPECT_EQ(sniff_prefix(bytes_of("PAR1....")), FileFormat::kParquet);
  EXPECT_EQ(sniff_prefix(bytes_of("roo")), FileFormat::kUnknown);  // too short
  EXPECT_EQ(sniff_prefix({}), FileFormat::kUnknown);
  std::vector<std::byte> almost = kHdf5Sig;
  almost[7] = std::byte{0};
  EXPECT_EQ(sniff_prefix(almost), FileFormat::kUnknown);
}

TEST(Sniff, Hdf5BehindUserBlocksAtPowersOfTwoOnly) {
  for (std::size_t at : {512U, 1024U, 2048U, 65536U}) {
    std::vector<std::byte> content(at + 4096, std::byte{'u'});
    std::copy(kHdf5Sig.begin(), kHdf5Sig.end(), content.begin() + static_cast<long>(at));
    auto f = sniff_memory(content);
    ASSERT_TRUE(f.ok());
    EXPECT_EQ(*f, FileFormat::kHdf5) << at;
  }
  for (std::size_t at : {8U, 700U, 1536U}) {  // not an allowed superblock offset
    std::vector<std::byte> content(4096, std::byte{'u'});
    std::copy(kHdf5Sig.begin(), kHdf5Sig.end(), content.begin() + static_cast<long>(at));
    auto f = sniff_memory(content);
    ASSERT_TRUE(f.ok());
    EXPECT_EQ(*f, FileFormat::kUnknown) << at;
  }
  // Signature cut by the end of the file.
  std::vector<std::byte> cut(516, std::byte{0});
  std::copy(kHdf5Sig.begin(), kHdf5Sig.begin() + 4, cut.begin() + 512);
  EXPECT_EQ(*sniff_memory(cut), FileFormat::kUnknown);
  EXPECT_EQ(*sniff_memory({}), FileFormat::kUnknown);
}

TEST(Sniff, EveryTestFileHasTheFormatOfExpectedJson) {
  io::PosixFileSystem fs;
  int n = 0;
  for (const auto& [name, v] : expected_json().at("files").items()) {
    const std::string fmt = v.at("format");
    const FileFormat want = fmt == "hdf5"                ? FileFormat::kHdf5
                            : fmt == "root"              ? FileFormat::kRoot
                            : fmt.starts_with("netcdf3") ? FileFormat::kNetcdf3
                                                         : FileFormat::kUnknown;
    auto f = fs.open(data_path(name));
    ASSERT_TRUE(f.ok()) << name;
    auto got = sniff(**f);
    ASSERT_TRUE(got.ok()) << name;
    EXPECT_EQ(*got, want) << name;
    ++n;
  }
  EXPECT_EQ(n, 23);
}

TEST(Registry, ExtractorVersions) {
  EXPECT_EQ(extractor_version(FileFormat::kRoot), kRootExtractorVersion);
  EXPECT_EQ(extractor_version(FileFormat::kHdf5), kHdf5ExtractorVersion);
  EXPECT_GE(kRootExtractorVersion, 1);
  EXPECT_GE(kHdf5ExtractorVersion, 1);
  EXPECT_EQ(extractor_version(FileFormat::kNetcdf3), 0);
  EXPECT_EQ(extractor_version(FileFormat::kUnknown), 0);
}

TEST(Registry, NetCdf3IsUnsupportedWithAHint) {
  io::PosixFileSystem fs;
  const std::string path = data_path("CRM032_test1.nc");
  FileMeta m = extract_file(fs, path, ExtractOptions{});
  EXPECT_FALSE(m.ok());
  EXPECT_EQ(m.error_kind, ErrorKind::kUnsupportedFormat);
  EXPECT_NE(m.error_message.find("NetCDF-3"), std::string::npos) << m.error_message;
  EXPECT_NE(m.error_message.find("nccopy"), std::string::npos) << m.error_message;
  EXPECT_EQ(m.format, FileFormat::kNetcdf3);
  EXPECT_EQ(m.path, path);
  EXPECT_EQ(m.size, expected_json()["files"]["CRM032_test1.nc"]["size"].get<std::int64_t>());
  EXPECT_TRUE(m.objects.empty());
  EXPECT_GT(m.bytes_read, 0U);
  EXPECT_LE(m.bytes_read, 64U);  // a sniff, not a read of the file
  EXPECT_GE(m.extract_seconds, 0.0);
}

TEST(Registry, OtherUnsupportedContentIsNamed) {
  io::MemoryFileSystem fs;
  fs.add("/p.parquet", bytes_of("PAR1 and the rest"));
  fs.add("/x.nc", bytes_of({'C', 'D', 'F', 2, 0, 0, 0, 0}));
  fs.add("/x5.nc", bytes_of({'C', 'D', 'F', 5, 0, 0, 0, 0}));
  fs.add("/empty", {});
  fs.add("/z.gz", bytes_of({0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3}));
  fs.add("/h4.hdf", bytes_of({0x0e, 0x03, 0x13, 0x01, 0, 0, 0, 0}));
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"/p.parquet", "Parquet"}, {"/x.nc", "64-bit offset"}, {"/x5.nc", "CDF-5"},
      {"/empty", "empty file"},  {"/z.gz", "gzip"},          {"/h4.hdf", "HDF4"}};
  for (const auto& [path, word] : cases) {
    FileMeta m = extract_file(fs, path, ExtractOptions{});
    EXPECT_EQ(m.error_kind, ErrorKind::kUnsupportedFormat) << path;
    EXPECT_NE(m.error_message.find(word), std::string::npos) << path << ": " << m.error_message;
  }
}

TEST(Registry, RandomEmptyAndTruncatedFilesArePerFileErrors) {
  TempDir dir;
  io::PosixFileSystem fs;
  std::mt19937 rng(2024);
  std::vector<char> random(65536);
  for (auto& b : random) b = static_cast<char>(rng() & 0xffU);
  write_all(dir.file("random.bin"), random);
  write_all(dir.file("empty.h5"), {});
  std::string err;

  FileMeta r = extract_quietly(fs, dir.file("random.bin"), &err);
  EXPECT_EQ(r.error_kind, ErrorKind::kUnsupportedFormat) << r.error_message;
  EXPECT_NE(r.error_message.find("unknown format"), std::string::npos);
  EXPECT_EQ(r.size, 65536);
  FileMeta e = extract_quietly(fs, dir.file("empty.h5"), &err);
  EXPECT_EQ(e.error_kind, ErrorKind::kUnsupportedFormat);
  EXPECT_NE(e.error_message.find("empty"), std::string::npos);

  for (const std::string name : {"issue672.nc", "pylhe-testfile-hpcgen.hdf5"}) {
    const auto bytes = read_all(data_path(name));
    for (std::size_t cut : {8UL, 100UL, 1000UL, bytes.size() / 3, bytes.size() - 100}) {
      const std::string path = dir.file("cut_" + std::to_string(cut) + ".h5");
      write_all(path, std::vector<char>(bytes.begin(), bytes.begin() + static_cast<long>(cut)));
      FileMeta m = extract_quietly(fs, path, &err);
      EXPECT_EQ(err.find("HDF5-DIAG"), std::string::npos) << err;
      EXPECT_EQ(m.format, FileFormat::kHdf5);
      EXPECT_EQ(m.error_kind, ErrorKind::kTruncated)
          << name << " cut " << cut << ": " << m.error_message;
      EXPECT_EQ(m.size, static_cast<std::int64_t>(cut));
      EXPECT_TRUE(m.objects.empty());
    }
  }
  EXPECT_EQ(h5_open_ids(), 0);
}

TEST(Registry, MissingFileIsMissing) {
  io::PosixFileSystem fs;
  FileMeta m = extract_file(fs, "/nonexistent/dir/file.root", ExtractOptions{});
  EXPECT_EQ(m.error_kind, ErrorKind::kMissing) << m.error_message;
  EXPECT_EQ(m.path, "/nonexistent/dir/file.root");
  EXPECT_EQ(m.format, FileFormat::kUnknown);
}

TEST(Registry, Hdf5ThroughCountingFileSystem) {
  io::PosixFileSystem posix;
  io::CountingFileSystem fs(posix);
  const auto files = testing_support::files_of_format("hdf5");
  std::uint64_t sum_bytes = 0;
  for (const auto& name : files) {
    const std::uint64_t before = fs.counters().bytes_read.load();
    FileMeta m = extract_file(fs, data_path(name), ExtractOptions{});
    const std::uint64_t io_bytes = fs.counters().bytes_read.load() - before;
    ASSERT_TRUE(m.ok()) << name << ": " << m.error_message;
    EXPECT_EQ(m.format, FileFormat::kHdf5);
    EXPECT_EQ(m.path, data_path(name));
    EXPECT_EQ(m.size, expected_json()["files"][name]["size"].get<std::int64_t>());
    // Signature, superblock and the id's tail sample go through the io layer; what libhdf5
    // reads itself is added on top (it reads metadata, sometimes twice, never all the data).
    EXPECT_GT(io_bytes, 0U);
    EXPECT_GT(m.bytes_read, io_bytes);
    EXPECT_LE(m.bytes_read, 2 * static_cast<std::uint64_t>(m.size) + io_bytes);
    EXPECT_GT(m.extract_seconds, 0.0);
    EXPECT_FALSE(m.objects.empty());
    sum_bytes += io_bytes;
  }
  EXPECT_EQ(fs.counters().opens.load(), files.size());
  EXPECT_EQ(fs.counters().bytes_read.load(), sum_bytes);
}

TEST(Registry, RootGoesThroughTheCountedFile) {
  io::PosixFileSystem posix;
  io::CountingFileSystem fs(posix);
  FileMeta m = extract_file(fs, data_path("uproot-HZZ.root"), ExtractOptions{});
  EXPECT_EQ(m.format, FileFormat::kRoot);
  EXPECT_EQ(fs.counters().opens.load(), 1U);
  // Every byte the ROOT reader used came through the io layer and is accounted exactly.
  EXPECT_EQ(m.bytes_read, fs.counters().bytes_read.load());
  EXPECT_GT(m.bytes_read, 0U);
}

TEST(Registry, UserBlockHdf5FileIsExtracted) {
  TempDir dir;
  const std::string path = dir.file("ub.h5");
  {
    H5Id fcpl(H5Pcreate(H5P_FILE_CREATE), H5Pclose, "fcpl");
    h5_check(H5Pset_userblock(fcpl, 1024), "userblock");
    H5Id f(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, fcpl, H5P_DEFAULT), H5Fclose, "create");
    const hsize_t dims[1] = {42};
    H5Id space(H5Screate_simple(1, dims, nullptr), H5Sclose, "space");
    H5Id ds(H5Dcreate2(f, "x", H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
            H5Dclose, "dataset");
  }
  io::PosixFileSystem fs;
  FileMeta m = extract_file(fs, path, ExtractOptions{});
  ASSERT_TRUE(m.ok()) << m.error_message;
  EXPECT_EQ(m.format, FileFormat::kHdf5);
  const ObjectMeta* x = m.find_object("/x");
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(x->num_entries, 42);
  EXPECT_EQ(x->dtype, "<i8");
}

TEST(Registry, Hdf5FileThatExistsOnlyBehindTheFileSystem) {
  // libhdf5 cannot open this path itself; the extractor reads the file through the io layer
  // and gives libhdf5 the image. The result equals the on-disk extraction, id included.
  const std::string name = "test_gold.nc";
  const auto raw = read_all(data_path(name));
  std::vector<std::byte> content(raw.size());
  std::memcpy(content.data(), raw.data(), raw.size());
  io::MemoryFileSystem mem;
  mem.add("/in-memory/" + name, content);
  io::CountingFileSystem fs(mem);
  std::string err;
  FileMeta m = extract_quietly(fs, "/in-memory/" + name, &err);
  EXPECT_TRUE(err.empty()) << err;
  ASSERT_TRUE(m.ok()) << m.error_message;
  io::PosixFileSystem posix;
  FileMeta disk = extract_file(posix, data_path(name), ExtractOptions{});
  ASSERT_TRUE(disk.ok());
  EXPECT_EQ(m.uuid, disk.uuid);
  ASSERT_EQ(m.objects.size(), disk.objects.size());
  for (std::size_t i = 0; i < m.objects.size(); ++i) {
    EXPECT_EQ(m.objects[i].path, disk.objects[i].path);
    EXPECT_EQ(m.objects[i].dtype, disk.objects[i].dtype);
    EXPECT_EQ(m.objects[i].shape, disk.objects[i].shape);
    EXPECT_EQ(m.objects[i].filters, disk.objects[i].filters);
    EXPECT_EQ(m.objects[i].attributes, disk.objects[i].attributes);
  }
  // The whole image came through the counted io layer.
  EXPECT_GE(fs.counters().bytes_read.load(), raw.size());
  EXPECT_GE(m.bytes_read, raw.size());
  EXPECT_EQ(h5_open_ids(), 0);

  // A truncated in-memory copy is still named as truncated.
  mem.add("/in-memory/cut.nc", std::vector<std::byte>(content.begin(), content.begin() + 5000));
  FileMeta cut = extract_quietly(fs, "/in-memory/cut.nc", &err);
  EXPECT_EQ(cut.error_kind, ErrorKind::kTruncated) << cut.error_message;
  EXPECT_EQ(err.find("HDF5-DIAG"), std::string::npos) << err;
}

// A FileSystem whose files throw from pread: a reader bug must not escape extract_file.
class ThrowingFileSystem final : public io::FileSystem {
 public:
  Result<io::FileStat> stat(const std::string&) override { return io::FileStat{}; }
  Result<std::unique_ptr<io::RandomAccessFile>> open(const std::string& path) override {
    return std::unique_ptr<io::RandomAccessFile>(std::make_unique<File>(path));
  }
  Result<std::vector<std::string>> list_dir(const std::string&) override {
    return std::vector<std::string>{};
  }

 private:
  class File final : public io::RandomAccessFile {
   public:
    explicit File(std::string p) : path_(std::move(p)) {}
    Result<std::size_t> pread(std::uint64_t, std::span<std::byte>) override {
      throw std::runtime_error("boom from pread");
    }
    std::uint64_t size() const override { return 1000; }
    const std::string& path() const override { return path_; }

   private:
    std::string path_;
  };
};

TEST(Registry, ExceptionsBecomeInternalErrors) {
  ThrowingFileSystem fs;
  FileMeta m = extract_file(fs, "/any", ExtractOptions{});
  EXPECT_EQ(m.error_kind, ErrorKind::kInternal);
  EXPECT_NE(m.error_message.find("boom from pread"), std::string::npos) << m.error_message;
  EXPECT_EQ(m.path, "/any");
}

TEST(Registry, FaultInjectedReadErrorsAreIoErrors) {
  io::PosixFileSystem posix;
  io::FaultInjectingFileSystem fs(posix);
  const std::string path = data_path("ref_groups.h5");
  fs.fail_reads(path);
  FileMeta m = extract_file(fs, path, ExtractOptions{});
  EXPECT_EQ(m.error_kind, ErrorKind::kIo) << m.error_message;
}

}  // namespace
}  // namespace mpiprep::extract
