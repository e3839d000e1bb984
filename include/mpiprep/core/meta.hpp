// The metadata model shared by every module: what an extractor returns for one file, what the
// cache stores and what the outputs render. Format-neutral: a ROOT TTree and an HDF5 dataset
// are both ObjectMeta, distinguished by `kind`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mpiprep/core/result.hpp"

namespace mpiprep {

enum class FileFormat : std::uint8_t { kUnknown = 0, kRoot, kHdf5, kNetcdf3, kParquet };

// Stable names ("unknown", "root", "hdf5", "netcdf3", "parquet"): part of the cache format.
std::string_view format_name(FileFormat f) noexcept;
FileFormat format_from_name(std::string_view name) noexcept;

// One column of a tree or ntuple: a branch (ROOT TTree), a field (RNTuple).
// `type` is a readable type: C++ scalar names for leaves ("int32_t", "float", "bool",
// "uint64_t", ...), with "[]" appended for variable-length leaves (TLeaf with fLeafCount),
// "[N]" for fixed arrays, the class name for TBranchElement/objects ("vector<float>"),
// and the RNTuple type name for fields ("std::int32_t").
struct Column {
  std::string name;
  std::string type;
  bool operator==(const Column&) const = default;
};

struct Filter {
  int id = 0;            // HDF5 filter id (1 deflate, 2 shuffle, 32015 zstd, ...)
  std::string name;      // from the file's pipeline message, else the registered name, else ""
  std::vector<unsigned> params;  // client data values
  bool operator==(const Filter&) const = default;
};

struct ObjectMeta {
  std::string path;   // ROOT: "Events", "one/two/tree" (no leading slash); HDF5: "/grp/ds"
  std::string kind;   // "TTree", "RNTuple", "dataset", "group", or a ROOT class name ("TH1D")
  std::string title;  // ROOT key title; empty for HDF5
  int cycle = 0;      // ROOT key cycle; 0 for HDF5
  std::int64_t num_entries = -1;  // TTree/RNTuple entries, dataset first dimension; -1 n/a

  // Trees and ntuples: top-level columns, and the count including all sub-branches.
  std::vector<Column> columns;
  std::int64_t n_columns_total = 0;
  // Common cluster boundaries (entry offsets, starting at 0 and ending at num_entries),
  // the intersection over branches of basket starts, as coffea's align_clusters uses them.
  std::vector<std::int64_t> clusters;

  // HDF5 datasets.
  std::vector<std::int64_t> shape, maxshape, chunks;  // maxshape: -1 = unlimited
  std::string dtype;   // numpy-style: "<f4", ">i4", "string(4,ascii)", "compound", ...
  std::string layout;  // "contiguous", "chunked", "compact", "virtual"
  std::vector<Filter> filters;
  std::vector<std::string> attributes;  // attribute names (datasets and groups)

  // An object the reader cannot decode (unknown streamer version) is listed with its error
  // instead of failing the file; kind None means fine.
  ErrorKind error_kind = ErrorKind::kNone;
  std::string error_message;
};

// Everything known about one file. status/error_* say whether extraction succeeded.
struct FileMeta {
  std::string path;          // absolute path
  std::int64_t size = 0;
  std::int64_t mtime_ns = 0;
  FileFormat format = FileFormat::kUnknown;
  std::string uuid;          // ROOT: file UUID, lowercase hyphenated; HDF5: stable content id
  std::string compression;   // ROOT: "zlib:1", "lz4:4", ...; empty for HDF5
  std::vector<ObjectMeta> objects;

  ErrorKind error_kind = ErrorKind::kNone;  // kNone = success
  std::string error_message;

  double extract_seconds = 0.0;
  std::uint64_t bytes_read = 0;
  int rank = -1;             // who extracted it (report only)

  [[nodiscard]] bool ok() const noexcept { return error_kind == ErrorKind::kNone; }
  // Object by path (ROOT paths may carry ";cycle": the highest cycle wins without one).
  [[nodiscard]] const ObjectMeta* find_object(std::string_view object_path) const;
  // First TTree (or RNTuple when there is no TTree) in file order, for entries without an
  // object_path.
  [[nodiscard]] const ObjectMeta* first_tree() const;
};

// Whether an object (by its path and kind) can matter when a fileset entry with this
// object_path (nullopt: none given) is resolved: the objects find_object() and first_tree()
// look at, and an HDF5 group's children. A FileMeta holding only these objects resolves to the
// same result as the full one; the warm path materializes only them from the cache.
[[nodiscard]] bool object_needed_for(std::optional<std::string_view> object_path,
                                     std::string_view path, std::string_view kind) noexcept;

}  // namespace mpiprep
