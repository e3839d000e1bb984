// The cache's columnar tables in memory, exactly as they are laid out in a format-version-2
// file (see LAYOUT.md), plus the conversions between a table row and a FileMeta. One catalogue
// (for_each_dataset) lists every dataset in canonical order; writing, reading and the checksum
// all walk it, so they cannot disagree about the layout.
//
// Version 2 splits what a file's objects are (their structure: names, kinds, types, filters,
// attributes, chunking) from the few numbers that differ between files of the same structure
// (entry counts, shapes, cluster boundaries). Files with the same structure share one row
// range of /objects, an "object set", found by content hash as /schemas are; each file keeps
// only its numbers, one flat int64 run in /object_values/data. A warm run needs neither: the
// loader reads /object_values/data only when a lookup first asks for an object (lazy), and the
// object sets are a few rows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <type_traits>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "mpiprep/core/meta.hpp"
#include "mpiprep/core/result.hpp"

namespace mpiprep::cache {

inline constexpr const char* kValuesDataset = "object_values/data";

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
  std::vector<std::int64_t> object_set;            // row in /object_sets, -1 = no objects
  std::vector<std::uint64_t> value_offsets{0};     // n+1, the file's run in /object_values/data
  [[nodiscard]] std::size_t rows() const noexcept { return size.size(); }
};

// Distinct object structures: set s is /objects rows [object_offsets[s], object_offsets[s+1]).
struct ObjectSetsTable {
  std::vector<std::uint64_t> hash;
  std::vector<std::uint64_t> object_offsets{0};
  [[nodiscard]] std::size_t rows() const noexcept { return hash.size(); }
};

// An object's structure: everything but num_entries, shape, maxshape and clusters, which are
// per file (/object_values). shape_rank / maxshape_rank say how many values each takes there.
struct ObjectsTable {
  std::vector<std::int64_t> set;  // row in /object_sets (redundant, for readers' convenience)
  StringColumn path, kind, title;
  std::vector<std::int32_t> cycle;
  std::vector<std::int64_t> n_columns_total, schema;
  std::vector<std::int32_t> shape_rank, maxshape_rank;
  RaggedColumn<std::int64_t> chunks;
  StringColumn dtype, layout;
  std::vector<std::uint64_t> filter_offsets{0}, attribute_offsets{0};
  std::vector<std::uint8_t> error_kind;
  StringColumn error_message;
  [[nodiscard]] std::size_t rows() const noexcept { return set.size(); }
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

// Per file, for each object of its set in order: num_entries, shape[shape_rank],
// maxshape[maxshape_rank], the cluster count c, clusters[c].
struct ObjectValuesTable {
  std::vector<std::int64_t> data;
  std::vector<std::uint64_t> data_xxh64;  // one element: xxh64 (seed 0) of data's bytes
};

struct Tables {
  FilesTable files;
  ObjectSetsTable object_sets;
  ObjectsTable objects;
  FiltersTable filters;
  StringColumn attribute_name;
  SchemasTable schemas;
  SchemaColumnsTable schema_columns;
  ObjectValuesTable values;
  // False while object_values/data is still in the file (a lazy load): `values.data` is empty
  // and `values_count` elements are waiting there.
  bool values_loaded = true;
  std::uint64_t values_count = 0;
  // files/path strictly increasing, bytewise (what every mpiprep writer produces): set by
  // validate(); lets Cache::classify merge a sorted survey against the rows instead of
  // building a hash index of every path. Not stored in the file.
  bool paths_sorted = false;
};

// Whether the column's strings are strictly increasing (bytewise): sorted and unique.
[[nodiscard]] bool strictly_sorted(const StringColumn& c) noexcept;

// How a dataset's elements are typed in the file.
enum class ColumnKind : std::uint8_t { kPlain, kEnumFormat, kEnumErrorKind };

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
  f(std::string("files/object_set"), fi.object_set, ColumnKind::kPlain);
  f(std::string("files/value_offsets"), fi.value_offsets, ColumnKind::kPlain);

  f(std::string("object_sets/hash"), t.object_sets.hash, ColumnKind::kPlain);
  f(std::string("object_sets/object_offsets"), t.object_sets.object_offsets, ColumnKind::kPlain);

  auto& ob = t.objects;
  f(std::string("objects/set"), ob.set, ColumnKind::kPlain);
  str("objects/path", ob.path);
  str("objects/kind", ob.kind);
  str("objects/title", ob.title);
  f(std::string("objects/cycle"), ob.cycle, ColumnKind::kPlain);
  f(std::string("objects/n_columns_total"), ob.n_columns_total, ColumnKind::kPlain);
  f(std::string("objects/schema"), ob.schema, ColumnKind::kPlain);
  f(std::string("objects/shape_rank"), ob.shape_rank, ColumnKind::kPlain);
  f(std::string("objects/maxshape_rank"), ob.maxshape_rank, ColumnKind::kPlain);
  ragged("objects/chunks", ob.chunks);
  str("objects/dtype", ob.dtype);
  str("objects/layout", ob.layout);
  f(std::string("objects/filter_offsets"), ob.filter_offsets, ColumnKind::kPlain);
  f(std::string("objects/attribute_offsets"), ob.attribute_offsets, ColumnKind::kPlain);
  f(std::string("objects/error_kind"), ob.error_kind, ColumnKind::kEnumErrorKind);
  str("objects/error_message", ob.error_message);

  f(std::string("filters/id"), t.filters.id, ColumnKind::kPlain);
  str("filters/name", t.filters.name);
  f(std::string("filters/params"), t.filters.params.values, ColumnKind::kPlain);
  f(std::string("filters/param_offsets"), t.filters.params.offsets, ColumnKind::kPlain);

  str("attributes/name", t.attribute_name);

  f(std::string("schemas/hash"), t.schemas.hash, ColumnKind::kPlain);
  f(std::string("schemas/column_offsets"), t.schemas.column_offsets, ColumnKind::kPlain);
  str("schema_columns/name", t.schema_columns.name);
  str("schema_columns/type", t.schema_columns.type);

  f(std::string(kValuesDataset), t.values.data, ColumnKind::kPlain);
  f(std::string("object_values/data_xxh64"), t.values.data_xxh64, ColumnKind::kPlain);
}

// Groups created before the datasets, in order.
inline constexpr const char* kGroups[] = {"files",   "object_sets",    "objects",
                                          "filters", "attributes",     "schemas",
                                          "schema_columns", "object_values"};

// xxh64 (seed 0) of the column list: for each column, name, NUL, type, NUL (which is exactly
// Columns::text()).
std::uint64_t schema_hash(const Columns& columns) noexcept;

// xxh64 (seed 0) over, for each dataset in order of its path (bytewise): the path, a NUL byte,
// its element count as uint64 LE, and the xxh64 of its elements' little-endian bytes as uint64
// LE; then format_version as int32 LE and generation as uint64 LE. See LAYOUT.md. When the
// values are not loaded, object_values/data contributes its stored hash (data_xxh64[0]), which
// read_values() checks against the bytes once they are read.
std::uint64_t content_checksum(const Tables& t, std::int32_t format_version,
                               std::uint64_t generation);

// Structural consistency of tables read from a file (invariant 6: every offset and index is
// checked before anything indexes with it). The error message names the first violation.
// Checks the values too when they are loaded (validate_values).
[[nodiscard]] Status validate(Tables& t);
// The per-file value runs decode exactly against their object sets.
[[nodiscard]] Status validate_values(const Tables& t);

// Column lists are stored once; a pool hands out ids and deduplicates by content.
class SchemaPool {
 public:
  // Id of `columns` (empty list -> -1), adding it if new.
  std::int64_t intern(Columns&& columns);
  std::int64_t intern_copy(const Columns& columns);
  [[nodiscard]] const Columns& at(std::int64_t id) const;
  [[nodiscard]] std::uint64_t hash(std::int64_t id) const {
    return hashes_[static_cast<std::size_t>(id)];
  }
  [[nodiscard]] std::size_t size() const noexcept { return columns_.size(); }
  void clear();

 private:
  std::int64_t find(std::uint64_t h, const Columns& columns) const;
  std::vector<Columns> columns_;
  std::vector<std::uint64_t> hashes_;
  std::unordered_multimap<std::uint64_t, std::int64_t> by_hash_;
};

// The pool of a loaded file: schema i of the tables becomes id i.
void fill_pool(const SchemasTable& schemas, const SchemaColumnsTable& columns, SchemaPool& pool);
inline void fill_pool(const Tables& t, SchemaPool& pool) {
  fill_pool(t.schemas, t.schema_columns, pool);
}

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

// Row `row` of t as a record (schema ids as stored in t). Needs the values loaded when the
// file has objects.
FileRec row_to_rec(const Tables& t, std::size_t row);
// The pieces of row_to_rec: a file row's own fields (not its objects), and an object's
// structure fields (not columns, filters, attributes) plus its values from the file's run,
// which starts at `cursor` and is advanced past this object (what Cache::lookup_brief uses).
void read_file_fields(const Tables& t, std::size_t row, FileMeta& m);
void read_object_fields(const Tables& t, std::size_t j, ObjectMeta& om);
void read_object_values(const Tables& t, std::size_t j, std::uint64_t& cursor, ObjectMeta& om);
// Advances `cursor` past object j's values without reading them.
void skip_object_values(const Tables& t, std::size_t j, std::uint64_t& cursor);
// Moves columns into `pool`.
FileRec meta_to_rec(FileMeta&& meta, SchemaPool& pool, std::uint64_t options_hash,
                    std::int32_t extractor_version);
// Attaches the columns back.
FileMeta rec_to_meta(const FileRec& rec, const SchemaPool& pool);

// Builds tables from records or rows of loaded tables (any order; written in the given order).
// Schema ids are renumbered densely in order of first use and only used schemas are written;
// object sets likewise, deduplicated by content.
class TablesBuilder {
 public:
  explicit TablesBuilder(const SchemaPool& pool) : pool_(pool) {}
  void add(const FileRec& rec);
  // Row `row` of `src`, whose schema ids are `pool`'s (src was adopted with fill_pool):
  // copies the file's fields and value run and maps its set without decoding its objects.
  // `src` must have its values loaded and stay the same between calls.
  void add_row(const Tables& src, std::size_t row);
  Tables finish();

 private:
  std::int64_t schema_id(std::int64_t pool_id);
  std::int64_t intern_set(std::string&& key, std::uint64_t h, const std::vector<ObjectRec>& objs);
  void add_file_fields(const FileMeta& m, std::uint64_t options_hash, std::int32_t version);

  const SchemaPool& pool_;
  Tables t_;
  std::unordered_map<std::int64_t, std::int64_t> remap_;  // pool id -> written schema id
  std::unordered_multimap<std::uint64_t, std::pair<std::string, std::int64_t>> sets_;
  const Tables* src_ = nullptr;                          // add_row's source
  std::unordered_map<std::int64_t, std::int64_t> src_sets_;  // its set id -> written set id
};

}  // namespace mpiprep::cache
