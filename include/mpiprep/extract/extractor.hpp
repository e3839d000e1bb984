// Format sniffing and the extractor entry points. extract_file() never throws for a bad file:
// it always returns a FileMeta, with error_kind set when the file could not be read.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "mpiprep/core/meta.hpp"
#include "mpiprep/io/file_system.hpp"

namespace mpiprep::extract {

// Bumped whenever an extractor's output changes meaning; part of the cache key, so a new
// version re-extracts every file of that format.
inline constexpr int kRootExtractorVersion = 1;
inline constexpr int kHdf5ExtractorVersion = 1;
int extractor_version(FileFormat f) noexcept;

struct ExtractOptions {
  // Collect per-branch basket boundaries to derive common cluster boundaries (ROOT).
  bool clusters = true;
};

// Identifies a format from the file's first bytes and, for HDF5, the signature at 512, 1024,
// 2048, ... (the superblock may follow a user block). Reads at most a few small blocks.
Result<FileFormat> sniff(io::RandomAccessFile& file);
// Same, for a prefix already in memory (only the offset-0 checks).
FileFormat sniff_prefix(std::span<const std::byte> head) noexcept;

// Opens `path` through `fs`, sniffs it and runs the matching extractor. path/size/format,
// extract_seconds and bytes_read are filled in; errors are in the returned FileMeta.
FileMeta extract_file(io::FileSystem& fs, const std::string& path, const ExtractOptions& opts);

namespace root {
// Native ROOT reader (no libROOT). Thread-safe: no global state.
Result<FileMeta> extract(io::RandomAccessFile& file, const ExtractOptions& opts);
}  // namespace root

namespace hdf5 {
// Initializes libhdf5 on the calling thread. Call it once on the main thread before
// extraction threads start: parallel libhdf5 may call MPI while initializing, and MPI is
// initialized FUNNELED (only the main thread may call it).
void initialize();
// libhdf5 C API; opens file.path() itself. Not thread-safe (Debian's parallel libhdf5 is not
// built thread-safe): callers serialize HDF5 extraction within a process.
Result<FileMeta> extract(io::RandomAccessFile& file, const ExtractOptions& opts);
}  // namespace hdf5

}  // namespace mpiprep::extract
