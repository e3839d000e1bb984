// Format version 1 of the cache tables (mpiprep up to the v2 layout): kept to read old caches.
// A v1 file is read whole, checked as before (its checksum and structure), and converted into
// version-2 tables in memory (read v1, write v2), so nothing is extracted again. The layout is
// described in LAYOUT.md's "Version 1" section.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "tables.hpp"

namespace mpiprep::cache::v1 {

using cache::ColumnKind;
using cache::FiltersTable;
using cache::RaggedColumn;
using cache::SchemaColumnsTable;
using cache::SchemasTable;
using cache::StringColumn;

struct FilesTable {
  StringColumn path;
  std::vector<std::int64_t> size, mtime_ns;
  std::vector<std::uint8_t> format, error_kind;  // FileFormat / ErrorKind codes
  StringColumn error_message, uuid, compression;
  std::vector<double> extract_seconds;
  std::vector<std::uint64_t> bytes_read;
  std::vector<std::int32_t> rank;
  std::vector<std::uint64_t> options_hash;
  std::vector<std::int32_t> extractor_version;
  std::vector<std::uint64_t> object_offsets{0};
  [[nodiscard]] std::size_t rows() const noexcept { return size.size(); }
};

struct ObjectsTable {
  std::vector<std::int64_t> file;
  StringColumn path, kind, title;
  std::vector<std::int32_t> cycle;
  std::vector<std::int64_t> num_entries, n_columns_total, schema;
  std::vector<std::uint64_t> cluster_offsets{0};
  RaggedColumn<std::int64_t> shape, maxshape, chunks;
  StringColumn dtype, layout;
  std::vector<std::uint64_t> filter_offsets{0}, attribute_offsets{0};
  std::vector<std::uint8_t> error_kind;
  StringColumn error_message;
  [[nodiscard]] std::size_t rows() const noexcept { return file.size(); }
};

struct Tables {
  FilesTable files;
  ObjectsTable objects;
  std::vector<std::int64_t> clusters;
  FiltersTable filters;
  StringColumn attribute_name;
  SchemasTable schemas;
  SchemaColumnsTable schema_columns;
};

// Calls f(name, vector&, kind) for every dataset in canonical order. TablesT may be const.
template <typename TablesT, typename F>
  requires std::is_same_v<std::remove_const_t<TablesT>, Tables>
void for_each_dataset(TablesT& t, F&& f) {
  auto str = [&f](const char* base, auto& col) {
    std::string b(base);
    f(b + "_chars", col.chars, ColumnKind::kPlain);
    f(b + "_offsets", col.offsets, ColumnKind::kPlain);
  };
  auto ragged = [&f](const char* base, auto& col) {
    std::string b(base);
    f(b + "_values", col.values, ColumnKind::kPlain);
    f(b + "_offsets", col.offsets, ColumnKind::kPlain);
  };
  auto& fi = t.files;
  str("files/path", fi.path);
  f(std::string("files/size"), fi.size, ColumnKind::kPlain);
  f(std::string("files/mtime_ns"), fi.mtime_ns, ColumnKind::kPlain);
  f(std::string("files/format"), fi.format, ColumnKind::kEnumFormat);
  f(std::string("files/error_kind"), fi.error_kind, ColumnKind::kEnumErrorKind);
  str("files/error_message", fi.error_message);
  str("files/uuid", fi.uuid);
  str("files/compression", fi.compression);
  f(std::string("files/extract_seconds"), fi.extract_seconds, ColumnKind::kPlain);
  f(std::string("files/bytes_read"), fi.bytes_read, ColumnKind::kPlain);
  f(std::string("files/rank"), fi.rank, ColumnKind::kPlain);
  f(std::string("files/options_hash"), fi.options_hash, ColumnKind::kPlain);
  f(std::string("files/extractor_version"), fi.extractor_version, ColumnKind::kPlain);
  f(std::string("files/object_offsets"), fi.object_offsets, ColumnKind::kPlain);

  auto& ob = t.objects;
  f(std::string("objects/file"), ob.file, ColumnKind::kPlain);
  str("objects/path", ob.path);
  str("objects/kind", ob.kind);
  str("objects/title", ob.title);
  f(std::string("objects/cycle"), ob.cycle, ColumnKind::kPlain);
  f(std::string("objects/num_entries"), ob.num_entries, ColumnKind::kPlain);
  f(std::string("objects/n_columns_total"), ob.n_columns_total, ColumnKind::kPlain);
  f(std::string("objects/schema"), ob.schema, ColumnKind::kPlain);
  f(std::string("objects/cluster_offsets"), ob.cluster_offsets, ColumnKind::kPlain);
  ragged("objects/shape", ob.shape);
  ragged("objects/maxshape", ob.maxshape);
  ragged("objects/chunks", ob.chunks);
  str("objects/dtype", ob.dtype);
  str("objects/layout", ob.layout);
  f(std::string("objects/filter_offsets"), ob.filter_offsets, ColumnKind::kPlain);
  f(std::string("objects/attribute_offsets"), ob.attribute_offsets, ColumnKind::kPlain);
  f(std::string("objects/error_kind"), ob.error_kind, ColumnKind::kEnumErrorKind);
  str("objects/error_message", ob.error_message);

  f(std::string("clusters"), t.clusters, ColumnKind::kPlain);

  f(std::string("filters/id"), t.filters.id, ColumnKind::kPlain);
  str("filters/name", t.filters.name);
  f(std::string("filters/params"), t.filters.params.values, ColumnKind::kPlain);
  f(std::string("filters/param_offsets"), t.filters.params.offsets, ColumnKind::kPlain);

  str("attributes/name", t.attribute_name);

  f(std::string("schemas/hash"), t.schemas.hash, ColumnKind::kPlain);
  f(std::string("schemas/column_offsets"), t.schemas.column_offsets, ColumnKind::kPlain);
  str("schema_columns/name", t.schema_columns.name);
  str("schema_columns/type", t.schema_columns.type);
}

// Groups created before the datasets, in order.
inline constexpr const char* kGroups[] = {"files",      "objects", "filters",
                                          "attributes", "schemas", "schema_columns"};

// The v1 checksum: xxh64 over, per dataset sorted by path, the path, a NUL, the element count
// (uint64 LE) and the elements' bytes; then format_version (int32) and generation (uint64).
std::uint64_t content_checksum(const Tables& t, std::int32_t format_version,
                               std::uint64_t generation);

// Structural consistency, as the v1 reader checked it.
[[nodiscard]] Status validate(const Tables& t);

// Version-2 tables holding the same rows (schemas renumbered, object sets deduplicated).
cache::Tables upgrade(const Tables& t);

}  // namespace mpiprep::cache::v1
