// Reading and writing the cache file: Tables <-> HDF5 datasets, the root attributes, and the
// verification (type, shape, size bounds, checksum, structure) that every read goes through.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "h5.hpp"
#include "mpiprep/cache/cache.hpp"
#include "tables.hpp"

namespace mpiprep::cache {

struct Header {
  std::string format;
  std::int32_t format_version = 0;
  std::uint64_t generation = 0;
  std::string writer_version;
  std::string created_utc;
  std::uint64_t checksum = 0;
};

// Which inode was read (so a rejected file is moved aside only if it is still the one there).
struct FileId {
  std::uint64_t dev = 0;
  std::uint64_t ino = 0;
};

struct ReadOutcome {
  LoadStatus status = LoadStatus::kMissing;
  ErrorKind kind = ErrorKind::kNone;  // for verify(): kCorrupt, kUnsupportedVersion, ...
  std::string reason;
  bool movable = false;  // the file exists and is ours to move aside (not e.g. unreadable)
  Header header;  // header.format_version is the file's (1 for a v1 file read and upgraded)
  Tables tables;  // always version 2 in memory
  std::uint64_t file_bytes = 0;
  FileId id;
  // The sealed file image, kept when the values were left unread (ReadMode::kLazy).
  std::shared_ptr<const std::vector<char>> image;
};

enum class ReadMode : std::uint8_t {
  kHeader,  // seal and root attributes only
  kLazy,    // everything but object_values/data, which load_values() reads from `image`
  kFull,    // everything (verification, inspection)
};

// Reads and verifies a cache file: the whole file is read into memory once, its seal checked
// over those bytes, and libhdf5 parses the same bytes (core driver), so a commit renaming a
// new cache into place meanwhile cannot mix two files. A version-1 file is read whole and
// upgraded to version-2 tables. Never throws for file content.
ReadOutcome read_cache_file(const std::string& path, std::uint64_t max_table_bytes, ReadMode mode);
inline ReadOutcome read_cache_file(const std::string& path, std::uint64_t max_table_bytes,
                                   bool header_only) {
  return read_cache_file(path, max_table_bytes, header_only ? ReadMode::kHeader : ReadMode::kFull);
}

// Reads object_values/data of a lazily read cache from its image into `t`, checks it against
// the hash the checksum covered and its structure against the object sets. Never throws for
// file content; on error `t` is unchanged.
[[nodiscard]] Status load_values(const std::vector<char>& image, std::uint64_t max_table_bytes,
                                 Tables& t);

// True if `path` still names the inode `id` (false if it was replaced or removed).
bool still_same_file(const std::string& path, const FileId& id);

// Element counts of every dataset in canonical order.
std::vector<std::uint64_t> dataset_sizes(const Tables& t);

struct WritePlan {
  std::string temp_path;
  std::vector<std::uint64_t> sizes;  // dataset_sizes() of the tables being written
  Header header;
  bool compress = true;
};

// Writes the plan's file. `tables` is non-null on the rank holding the data; with
// `parallel`, every rank of the fapl's communicator calls this (collectively) and ranks
// without data select nothing. Throws h5::H5Error on failure.
void write_cache_file(const WritePlan& plan, const Tables* tables, hid_t fapl, bool parallel);

// The serial writer: the same file built in memory (HDF5 core driver, no backing store), as
// its complete byte image with the user block zeroed (seal_image fills it). plan.temp_path
// only names the image in error messages. Throws h5::H5Error on failure.
std::vector<std::byte> write_cache_image(const WritePlan& plan, const Tables& tables);

}  // namespace mpiprep::cache
