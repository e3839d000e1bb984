// The extractor registry: open through the io layer, sniff, dispatch to the ROOT or HDF5
// reader, and turn every outcome (including exceptions from a reader bug) into a FileMeta.
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <exception>
#include <new>
#include <string>

#include "extract/magic.hpp"
#include "mpiprep/extract/extractor.hpp"

namespace mpiprep::extract {
namespace {

// Counts what a reader pulls through the io layer, for FileMeta::bytes_read. Per file (not a
// CountingFileSystem) so concurrent extractions on one rank do not mix their numbers.
class CountingFile final : public io::RandomAccessFile {
 public:
  explicit CountingFile(io::RandomAccessFile& base) : base_(base) {}
  Result<std::size_t> pread(std::uint64_t offset, std::span<std::byte> buf) override {
    auto r = base_.pread(offset, buf);
    if (r.ok()) bytes_.fetch_add(*r, std::memory_order_relaxed);
    return r;
  }
  std::uint64_t size() const override { return base_.size(); }
  const std::string& path() const override { return base_.path(); }
  [[nodiscard]] std::uint64_t bytes() const noexcept {
    return bytes_.load(std::memory_order_relaxed);
  }

 private:
  io::RandomAccessFile& base_;
  std::atomic<std::uint64_t> bytes_{0};
};

std::string hex_bytes(std::span<const std::byte> b) {
  std::string s;
  for (std::size_t i = 0; i < b.size(); ++i) {
    std::array<char, 4> buf{};
    std::snprintf(buf.data(), buf.size(), "%02x", static_cast<unsigned>(b[i]));
    if (i > 0) s += ' ';
    s += buf.data();
  }
  return s;
}

// What the user should be told about a file no extractor handles.
std::string unsupported_message(std::span<const std::byte> head, std::uint64_t size) {
  using namespace magic;
  if (size == 0) return "empty file (0 bytes)";
  if (has_prefix(head, kNetcdfClassic))
    return "NetCDF-3 classic file (CDF\\x01): not HDF5-based; convert with nccopy -k nc4";
  if (has_prefix(head, kNetcdf64BitOffset))
    return "NetCDF-3 64-bit offset file (CDF\\x02): not HDF5-based; convert with nccopy -k nc4";
  if (has_prefix(head, kNetcdfCdf5))
    return "NetCDF CDF-5 file (CDF\\x05): not HDF5-based; convert with nccopy -k nc4";
  if (has_prefix(head, kParquet)) return "Apache Parquet file (PAR1): not supported";
  std::string what = "unknown format";
  static constexpr std::array<unsigned char, 2> kGzip = {0x1f, 0x8b};
  static constexpr std::array<unsigned char, 4> kHdf4 = {0x0e, 0x03, 0x13, 0x01};
  static constexpr std::array<unsigned char, 4> kZip = {'P', 'K', 0x03, 0x04};
  static constexpr std::array<unsigned char, 6> kXz = {0xfd, '7', 'z', 'X', 'Z', 0x00};
  static constexpr std::array<unsigned char, 3> kBzip2 = {'B', 'Z', 'h'};
  if (has_prefix(head, kGzip)) what = "gzip-compressed file: decompress it first";
  if (has_prefix(head, kXz)) what = "xz-compressed file: decompress it first";
  if (has_prefix(head, kBzip2)) what = "bzip2-compressed file: decompress it first";
  if (has_prefix(head, kZip)) what = "zip archive";
  if (has_prefix(head, kHdf4)) what = "HDF4 file: not HDF5; convert with h4toh5";
  return what + " (" + std::to_string(size) + " bytes, first bytes " + hex_bytes(head) +
         "; no ROOT or HDF5 signature)";
}

void set_error(FileMeta& meta, const Error& e) {
  meta.error_kind = e.kind == ErrorKind::kNone ? ErrorKind::kInternal : e.kind;
  meta.error_message = e.message;
}

// Everything but the timing; exceptions escape to extract_file.
void run(io::FileSystem& fs, const std::string& path, const ExtractOptions& opts, FileMeta& meta) {
  auto opened = fs.open(path);
  if (!opened.ok()) return set_error(meta, opened.error());
  io::RandomAccessFile& raw = **opened;
  CountingFile file(raw);
  meta.size = static_cast<std::int64_t>(file.size());

  auto format = sniff(file);
  if (!format.ok()) {
    meta.bytes_read = file.bytes();
    return set_error(meta, format.error());
  }
  meta.format = *format;

  Result<FileMeta> result = make_error(ErrorKind::kInternal, "no extractor ran");
  std::uint64_t outside_io = 0;  // bytes a reader read without the io layer (libhdf5)
  switch (*format) {
    case FileFormat::kRoot:
      result = root::extract(file, opts);
      break;
    case FileFormat::kHdf5:
      result = hdf5::extract(file, opts);
      if (result.ok()) outside_io = result->bytes_read;
      break;
    case FileFormat::kNetcdf3:
    case FileFormat::kParquet:
    case FileFormat::kUnknown: {
      std::array<std::byte, magic::kHdf5.size()> head{};
      auto n = file.pread(0, head);
      std::span<const std::byte> got(head.data(), n.ok() ? *n : 0);
      result = make_error(ErrorKind::kUnsupportedFormat, unsupported_message(got, file.size()));
      break;
    }
  }

  if (result.ok()) {
    FileMeta extracted = std::move(result).value();
    extracted.mtime_ns = meta.mtime_ns;
    extracted.rank = meta.rank;
    meta = std::move(extracted);
  } else {
    set_error(meta, result.error());
  }
  // The reader's own notion of path/size/format is overridden by what the registry saw, so
  // every FileMeta agrees with the FileSystem whatever the reader filled in.
  meta.path = path;
  meta.size = static_cast<std::int64_t>(file.size());
  meta.format = *format;
  meta.bytes_read = file.bytes() + outside_io;
}

}  // namespace

FileMeta extract_file(io::FileSystem& fs, const std::string& path, const ExtractOptions& opts) {
  const auto t0 = std::chrono::steady_clock::now();
  FileMeta meta;
  meta.path = path;
  // A bad file must never take the rank down: a reader that throws has a bug, which is reported
  // as this file's kInternal error rather than an abort of the whole job.
  try {
    run(fs, path, opts, meta);
  } catch (const std::bad_alloc&) {
    meta.objects.clear();
    set_error(meta, make_error(ErrorKind::kInternal, "out of memory while extracting"));
  } catch (const std::exception& e) {
    meta.objects.clear();
    set_error(meta, make_error(ErrorKind::kInternal, std::string("exception: ") + e.what()));
  } catch (...) {
    meta.objects.clear();
    set_error(meta, make_error(ErrorKind::kInternal, "unknown exception"));
  }
  meta.path = path;
  meta.extract_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return meta;
}

}  // namespace mpiprep::extract
