// Format sniffing by magic bytes. Extensions lie (".nc" is NetCDF-3 or NetCDF-4/HDF5, ".h5"
// files are sometimes ROOT), so the registry decides on content only.
#include <array>

#include "extract/magic.hpp"
#include "mpiprep/extract/extractor.hpp"

namespace mpiprep::extract {

int extractor_version(FileFormat f) noexcept {
  switch (f) {
    case FileFormat::kRoot:
      return kRootExtractorVersion;
    case FileFormat::kHdf5:
      return kHdf5ExtractorVersion;
    case FileFormat::kUnknown:
    case FileFormat::kNetcdf3:
    case FileFormat::kParquet:
      break;
  }
  return 0;  // no extractor: nothing to invalidate
}

FileFormat sniff_prefix(std::span<const std::byte> head) noexcept {
  if (magic::has_prefix(head, magic::kHdf5)) return FileFormat::kHdf5;
  if (magic::has_prefix(head, magic::kRoot)) return FileFormat::kRoot;
  if (magic::has_prefix(head, magic::kNetcdfClassic) ||
      magic::has_prefix(head, magic::kNetcdf64BitOffset) ||
      magic::has_prefix(head, magic::kNetcdfCdf5))
    return FileFormat::kNetcdf3;
  if (magic::has_prefix(head, magic::kParquet)) return FileFormat::kParquet;
  return FileFormat::kUnknown;
}

Result<FileFormat> sniff(io::RandomAccessFile& file) {
  std::array<std::byte, magic::kHdf5.size()> head{};
  auto n = file.pread(0, head);
  if (!n.ok()) return n.error();
  FileFormat f = sniff_prefix(std::span<const std::byte>(head.data(), *n));
  if (f != FileFormat::kUnknown) return f;
  // Only HDF5 may sit behind a user block; offset 0 was checked above, so this costs one
  // 8-byte read per power of two from 512 up to the file size.
  if (file.size() <= magic::kHdf5FirstUserBlockOffset) return FileFormat::kUnknown;
  auto sb = magic::find_hdf5_superblock(file, magic::kHdf5FirstUserBlockOffset);
  if (!sb.ok()) return sb.error();
  return sb->has_value() ? FileFormat::kHdf5 : FileFormat::kUnknown;
}

}  // namespace mpiprep::extract
