// Structure checks and small helpers shared by the table code of every cache format version
// (tables.cpp for the current one, tables_v1.cpp for the version-1 reader).
#pragma once

#include <fmt/format.h>

#include <bit>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mpiprep/core/result.hpp"
#include "tables.hpp"

namespace mpiprep::cache::table_checks {

static_assert(sizeof(unsigned) == sizeof(std::uint32_t), "filter params are stored as uint32");

// The file is little endian and the checksum is defined over little-endian bytes; hashing the
// in-memory vectors directly is only right on a little-endian host.
static_assert(std::endian::native == std::endian::little,
              "the cache checksum hashes in-memory little-endian bytes");

inline Error structure(std::string msg) { return make_error(ErrorKind::kCorrupt, std::move(msg)); }

// Offsets of a column with `rows` entries into a value array of `values` elements.
inline Status check_offsets(const std::vector<std::uint64_t>& off, std::size_t rows, std::size_t values,
                     const char* name) {
  if (off.size() != rows + 1)
    return structure(fmt::format("{}: {} offsets for {} rows", name, off.size(), rows));
  if (off.front() != 0) return structure(fmt::format("{}: first offset is not 0", name));
  for (std::size_t i = 1; i < off.size(); ++i)
    if (off[i] < off[i - 1]) return structure(fmt::format("{}: offsets decrease at {}", name, i));
  if (off.back() != values)
    return structure(fmt::format("{}: last offset {} but {} values", name, off.back(), values));
  return Status::success();
}

inline Status check_strings(const StringColumn& c, std::size_t rows, const char* name) {
  return check_offsets(c.offsets, rows, c.chars.size(), name);
}

template <typename T>
Status check_ragged(const RaggedColumn<T>& c, std::size_t rows, const char* name) {
  return check_offsets(c.offsets, rows, c.values.size(), name);
}

template <typename V>
Status check_len(const V& v, std::size_t rows, const char* name) {
  if (v.size() != rows)
    return structure(fmt::format("{}: {} values for {} rows", name, v.size(), rows));
  return Status::success();
}

inline std::string to_string(std::string_view s) { return std::string(s); }

}  // namespace mpiprep::cache::table_checks
