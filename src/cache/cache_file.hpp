// Reading and writing the cache file: Tables <-> HDF5 datasets, the root attributes, and the
// verification (type, shape, size bounds, checksum, structure) that every read goes through.
#pragma once

#include <cstdint>
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
  Header header;
  Tables tables;
  std::uint64_t file_bytes = 0;
  FileId id;
};

// Reads (header only, or everything) and verifies a cache file. Never throws for file content.
ReadOutcome read_cache_file(const std::string& path, std::uint64_t max_table_bytes,
                            bool header_only);

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

}  // namespace mpiprep::cache
