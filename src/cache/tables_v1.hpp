// The cache's columnar tables in memory, exactly as they are laid out in the file (see
// LAYOUT.md), plus the conversions between a table row and a FileMeta. One catalogue
// (for_each_dataset) lists every dataset in canonical order; writing, reading and the checksum
// all walk it, so they cannot disagree about the layout.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "mpiprep/core/meta.hpp"
#include "mpiprep/core/result.hpp"

namespace mpiprep::cache {

// Arrow-style offsets: n+1 entries starting at 0; value i is [offsets[i], offsets[i+1]).
struct StringColumn {
  std::vector<char> chars;
  std::vector<std::uint64_t> offsets{0};

  [[nodiscard]] std::size_t size() const noexcept { return offsets.size() - 1; }
  [[nodiscard]] std::string_view at(std::size_t i) const noexcept {
    return {chars.data() + offsets[i], static_cast<std::size_t>(offsets[i + 1] - offsets[i])};
  }
  void push(std::string_view s) {
    chars.insert(chars.end(), s.begin(), s.end());
    offsets.push_back(chars.size());
  }
};

template <typename T>
struct RaggedColumn {
  std::vector<T> values;
  std::vector<std::uint64_t> offsets{0};

  [[nodiscard]] std::size_t size() const noexcept { return offsets.size() - 1; }
  [[nodiscard]] std::span<const T> at(std::size_t i) const noexcept {
    return {values.data() + offsets[i], static_cast<std::size_t>(offsets[i + 1] - offsets[i])};
  }
  void push(std::span<const T> v) {
    values.insert(values.end(), v.begin(), v.end());
    offsets.push_back(values.size());
  }
};

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

struct FiltersTable {
  std::vector<std::int32_t> id;
  StringColumn name;
  RaggedColumn<std::uint32_t> params;
};

struct SchemasTable {
  std::vector<std::uint64_t> hash;
  std::vector<std::uint64_t> column_offsets{0};
};

struct SchemaColumnsTable {
  StringColumn name, type;
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

// How a dataset's elements are typed in the file.
enum class ColumnKind : std::uint8_t { kPlain, kEnumFormat, kEnumErrorKind };

// Calls f(name, vector&, kind) for every dataset in canonical order. TablesT may be const.
template <typename TablesT, typename F>
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

// xxh64 (seed 0) of the column list: for each column, name, NUL, type, NUL.
std::uint64_t schema_hash(std::span<const Column> columns) noexcept;

// xxh64 (seed 0) over, for each dataset in order of its path ("files/path_chars", bytewise):
// the path, a NUL byte, its element count as uint64 LE, its elements' little-endian bytes;
// then format_version as int32 LE and generation as uint64 LE. See LAYOUT.md.
std::uint64_t content_checksum(const Tables& t, std::int32_t format_version,
                               std::uint64_t generation);

// Structural consistency of tables read from a file (invariant 6: every offset and index is
// checked before anything indexes with it). The error message names the first violation.
[[nodiscard]] Status validate(const Tables& t);

// Column lists are stored once; a pool hands out ids and deduplicates by content.
class SchemaPool {
 public:
  // Id of `columns` (empty list -> -1), adding it if new.
  std::int64_t intern(std::vector<Column>&& columns);
  std::int64_t intern_copy(const std::vector<Column>& columns);
  [[nodiscard]] const std::vector<Column>& at(std::int64_t id) const;
  [[nodiscard]] std::uint64_t hash(std::int64_t id) const {
    return hashes_[static_cast<std::size_t>(id)];
  }
  [[nodiscard]] std::size_t size() const noexcept { return columns_.size(); }
  void clear();

 private:
  std::int64_t find(std::uint64_t h, const std::vector<Column>& columns) const;
  std::vector<std::vector<Column>> columns_;
  std::vector<std::uint64_t> hashes_;
  std::unordered_multimap<std::uint64_t, std::int64_t> by_hash_;
};

// The pool of a loaded file: schema i of the tables becomes id i.
void fill_pool(const Tables& t, SchemaPool& pool);

// A file's row without its column lists: objects refer to a SchemaPool id instead.
struct ObjectRec {
  ObjectMeta meta;  // columns empty
  std::int64_t schema = -1;
};
struct FileRec {
  FileMeta meta;  // objects empty
  std::vector<ObjectRec> objects;
  std::uint64_t options_hash = 0;
  std::int32_t extractor_version = 0;
};

// Row `row` of t as a record (schema ids as stored in t).
FileRec row_to_rec(const Tables& t, std::size_t row);
// The pieces of row_to_rec: a file row's own fields (not its objects), and an object row's
// fields except columns, filters and attributes (what Cache::lookup_brief materializes).
void read_file_fields(const Tables& t, std::size_t row, FileMeta& m);
void read_object_fields(const Tables& t, std::size_t j, ObjectMeta& om);
// Moves columns into `pool`.
FileRec meta_to_rec(FileMeta&& meta, SchemaPool& pool, std::uint64_t options_hash,
                    std::int32_t extractor_version);
// Attaches the columns back.
FileMeta rec_to_meta(const FileRec& rec, const SchemaPool& pool);

// Builds tables from records (any order; written in the given order). Schema ids are
// renumbered densely in order of first use and only used schemas are written.
class TablesBuilder {
 public:
  explicit TablesBuilder(const SchemaPool& pool) : pool_(pool) {}
  void add(const FileRec& rec);
  Tables finish();

 private:
  const SchemaPool& pool_;
  Tables t_;
  std::unordered_map<std::int64_t, std::int64_t> remap_;
};

}  // namespace mpiprep::cache
