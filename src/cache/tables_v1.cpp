#include "tables.hpp"

#include <fmt/format.h>
#include <xxhash.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <unordered_set>

namespace mpiprep::cache {
namespace {

static_assert(sizeof(unsigned) == sizeof(std::uint32_t), "filter params are stored as uint32");

// The file is little endian and the checksum is defined over little-endian bytes; hashing the
// in-memory vectors directly is only right on a little-endian host.
static_assert(std::endian::native == std::endian::little,
              "the cache checksum hashes in-memory little-endian bytes");

struct Xxh64 {
  Xxh64() : state_(XXH64_createState(), &XXH64_freeState) {
    if (!state_) throw std::bad_alloc();
    XXH64_reset(state_.get(), 0);
  }
  void update(const void* p, std::size_t n) {
    if (n > 0) XXH64_update(state_.get(), p, n);
  }
  std::uint64_t digest() const { return XXH64_digest(state_.get()); }

 private:
  std::unique_ptr<XXH64_state_t, XXH_errorcode (*)(XXH64_state_t*)> state_;
};

Error structure(std::string msg) { return make_error(ErrorKind::kCorrupt, std::move(msg)); }

// Offsets of a column with `rows` entries into a value array of `values` elements.
Status check_offsets(const std::vector<std::uint64_t>& off, std::size_t rows, std::size_t values,
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

Status check_strings(const StringColumn& c, std::size_t rows, const char* name) {
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

std::string to_string(std::string_view s) { return std::string(s); }

}  // namespace

std::uint64_t schema_hash(std::span<const Column> columns) noexcept {
  // One-shot over a flat buffer is several times faster than streaming 3,000 tiny updates.
  std::string buf;
  std::size_t n = 0;
  for (const auto& c : columns) n += c.name.size() + c.type.size() + 2;
  buf.reserve(n);
  for (const auto& c : columns) {
    buf += c.name;
    buf.push_back('\0');
    buf += c.type;
    buf.push_back('\0');
  }
  return XXH64(buf.data(), buf.size(), 0);
}

std::uint64_t content_checksum(const Tables& t, std::int32_t format_version,
                               std::uint64_t generation) {
  // Datasets in order of their path (bytewise), so a reader can reproduce the checksum by
  // walking the file without knowing this catalogue (LAYOUT.md shows it in Python).
  struct Part {
    std::string name;
    const void* data;
    std::uint64_t n;
    std::size_t elem;
  };
  std::vector<Part> parts;
  for_each_dataset(t, [&parts](const std::string& name, const auto& vec, ColumnKind) {
    using T = typename std::decay_t<decltype(vec)>::value_type;
    parts.push_back(Part{name, vec.data(), vec.size(), sizeof(T)});
  });
  std::sort(parts.begin(), parts.end(),
            [](const Part& a, const Part& b) { return a.name < b.name; });
  Xxh64 h;
  for (const auto& p : parts) {
    h.update(p.name.data(), p.name.size());
    const char nul = '\0';
    h.update(&nul, 1);
    h.update(&p.n, sizeof p.n);
    h.update(p.data, p.n * p.elem);
  }
  h.update(&format_version, sizeof format_version);
  h.update(&generation, sizeof generation);
  return h.digest();
}

#define MPIPREP_TRY(expr)    \
  do {                       \
    Status s_ = (expr);      \
    if (!s_.ok()) return s_; \
  } while (false)

Status validate(const Tables& t) {
  const auto& fi = t.files;
  const std::size_t nf = fi.size.size();
  const std::size_t no = t.objects.file.size();
  MPIPREP_TRY(check_strings(fi.path, nf, "files/path"));
  MPIPREP_TRY(check_len(fi.mtime_ns, nf, "files/mtime_ns"));
  MPIPREP_TRY(check_len(fi.format, nf, "files/format"));
  MPIPREP_TRY(check_len(fi.error_kind, nf, "files/error_kind"));
  MPIPREP_TRY(check_strings(fi.error_message, nf, "files/error_message"));
  MPIPREP_TRY(check_strings(fi.uuid, nf, "files/uuid"));
  MPIPREP_TRY(check_strings(fi.compression, nf, "files/compression"));
  MPIPREP_TRY(check_len(fi.extract_seconds, nf, "files/extract_seconds"));
  MPIPREP_TRY(check_len(fi.bytes_read, nf, "files/bytes_read"));
  MPIPREP_TRY(check_len(fi.rank, nf, "files/rank"));
  MPIPREP_TRY(check_len(fi.options_hash, nf, "files/options_hash"));
  MPIPREP_TRY(check_len(fi.extractor_version, nf, "files/extractor_version"));
  MPIPREP_TRY(check_offsets(fi.object_offsets, nf, no, "files/object_offsets"));

  const auto& ob = t.objects;
  MPIPREP_TRY(check_strings(ob.path, no, "objects/path"));
  MPIPREP_TRY(check_strings(ob.kind, no, "objects/kind"));
  MPIPREP_TRY(check_strings(ob.title, no, "objects/title"));
  MPIPREP_TRY(check_len(ob.cycle, no, "objects/cycle"));
  MPIPREP_TRY(check_len(ob.num_entries, no, "objects/num_entries"));
  MPIPREP_TRY(check_len(ob.n_columns_total, no, "objects/n_columns_total"));
  MPIPREP_TRY(check_len(ob.schema, no, "objects/schema"));
  MPIPREP_TRY(check_offsets(ob.cluster_offsets, no, t.clusters.size(), "objects/cluster_offsets"));
  MPIPREP_TRY(check_ragged(ob.shape, no, "objects/shape"));
  MPIPREP_TRY(check_ragged(ob.maxshape, no, "objects/maxshape"));
  MPIPREP_TRY(check_ragged(ob.chunks, no, "objects/chunks"));
  MPIPREP_TRY(check_strings(ob.dtype, no, "objects/dtype"));
  MPIPREP_TRY(check_strings(ob.layout, no, "objects/layout"));
  MPIPREP_TRY(check_offsets(ob.filter_offsets, no, t.filters.id.size(), "objects/filter_offsets"));
  MPIPREP_TRY(check_offsets(ob.attribute_offsets, no, t.attribute_name.size(),
                            "objects/attribute_offsets"));
  MPIPREP_TRY(check_len(ob.error_kind, no, "objects/error_kind"));
  MPIPREP_TRY(check_strings(ob.error_message, no, "objects/error_message"));

  const std::size_t nfilt = t.filters.id.size();
  MPIPREP_TRY(check_strings(t.filters.name, nfilt, "filters/name"));
  MPIPREP_TRY(check_ragged(t.filters.params, nfilt, "filters/params"));
  if (t.attribute_name.offsets.empty() || t.attribute_name.offsets.front() != 0)
    return structure("attributes/name: bad offsets");
  MPIPREP_TRY(
      check_strings(t.attribute_name, t.attribute_name.offsets.size() - 1, "attributes/name"));

  const std::size_t ns = t.schemas.hash.size();
  if (t.schema_columns.name.offsets.empty()) return structure("schema_columns/name: no offsets");
  const std::size_t ncol = t.schema_columns.name.offsets.size() - 1;
  MPIPREP_TRY(check_strings(t.schema_columns.name, ncol, "schema_columns/name"));
  MPIPREP_TRY(check_strings(t.schema_columns.type, ncol, "schema_columns/type"));
  MPIPREP_TRY(check_offsets(t.schemas.column_offsets, ns, ncol, "schemas/column_offsets"));

  // Cross references: each object names its file, each schema id exists, each row's objects
  // are its own, paths are unique.
  for (std::size_t i = 0; i < nf; ++i)
    for (auto j = fi.object_offsets[i]; j < fi.object_offsets[i + 1]; ++j)
      if (ob.file[j] != static_cast<std::int64_t>(i))
        return structure(fmt::format("objects/file[{}] is {}, expected {}", j, ob.file[j], i));
  for (std::size_t j = 0; j < no; ++j)
    if (ob.schema[j] < -1 || ob.schema[j] >= static_cast<std::int64_t>(ns))
      return structure(fmt::format("objects/schema[{}] = {} out of range", j, ob.schema[j]));
  // A schema's stored hash must match its columns (catches a mix-up the checksum cannot), and
  // a schema is stored once: ids are positions, so a duplicate would make two ids equal.
  std::unordered_multimap<std::uint64_t, std::size_t> seen_schemas;
  std::vector<std::vector<Column>> schema_cols(ns);
  for (std::size_t s = 0; s < ns; ++s) {
    auto& cols = schema_cols[s];
    for (auto c = t.schemas.column_offsets[s]; c < t.schemas.column_offsets[s + 1]; ++c)
      cols.push_back(
          Column{to_string(t.schema_columns.name.at(c)), to_string(t.schema_columns.type.at(c))});
    if (cols.empty()) return structure(fmt::format("schemas[{}] has no columns", s));
    const std::uint64_t h = schema_hash(cols);
    if (h != t.schemas.hash[s])
      return structure(fmt::format("schemas/hash[{}] does not match its columns", s));
    auto [lo, hi] = seen_schemas.equal_range(h);
    for (auto it = lo; it != hi; ++it)
      if (schema_cols[it->second] == cols)
        return structure(fmt::format("schemas[{}] duplicates schemas[{}]", s, it->second));
    seen_schemas.emplace(h, s);
  }
  std::unordered_set<std::string_view> paths;
  paths.reserve(nf);
  for (std::size_t i = 0; i < nf; ++i)
    if (!paths.insert(fi.path.at(i)).second)
      return structure(fmt::format("files/path[{}] '{}' appears twice", i, fi.path.at(i)));
  return Status::success();
}

#undef MPIPREP_TRY

// ---- schema pool ----------------------------------------------------------------------

std::int64_t SchemaPool::find(std::uint64_t h, const std::vector<Column>& columns) const {
  auto [lo, hi] = by_hash_.equal_range(h);
  for (auto it = lo; it != hi; ++it)
    if (columns_[static_cast<std::size_t>(it->second)] == columns) return it->second;
  return -1;
}

std::int64_t SchemaPool::intern(std::vector<Column>&& columns) {
  if (columns.empty()) return -1;
  const std::uint64_t h = schema_hash(columns);
  if (auto id = find(h, columns); id >= 0) return id;
  const auto id = static_cast<std::int64_t>(columns_.size());
  columns_.push_back(std::move(columns));
  hashes_.push_back(h);
  by_hash_.emplace(h, id);
  return id;
}

std::int64_t SchemaPool::intern_copy(const std::vector<Column>& columns) {
  if (columns.empty()) return -1;
  const std::uint64_t h = schema_hash(columns);
  if (auto id = find(h, columns); id >= 0) return id;
  return intern(std::vector<Column>(columns));
}

const std::vector<Column>& SchemaPool::at(std::int64_t id) const {
  return columns_.at(static_cast<std::size_t>(id));
}

void SchemaPool::clear() {
  columns_.clear();
  hashes_.clear();
  by_hash_.clear();
}

void fill_pool(const Tables& t, SchemaPool& pool) {
  pool.clear();
  const auto& sc = t.schema_columns;
  for (std::size_t s = 0; s < t.schemas.hash.size(); ++s) {
    std::vector<Column> cols;
    const auto lo = t.schemas.column_offsets[s], hi = t.schemas.column_offsets[s + 1];
    cols.reserve(static_cast<std::size_t>(hi - lo));
    for (auto c = lo; c < hi; ++c)
      cols.push_back(Column{to_string(sc.name.at(c)), to_string(sc.type.at(c))});
    // Stored schemas are distinct, so ids line up with table rows; a duplicate (a foreign
    // writer) would shift them, which validate() rules out by construction below.
    auto id = pool.intern(std::move(cols));
    if (id != static_cast<std::int64_t>(s))
      throw std::runtime_error(fmt::format("schemas: row {} duplicates schema {}", s, id));
  }
}

// ---- row <-> record ---------------------------------------------------------------------

void read_file_fields(const Tables& t, std::size_t row, FileMeta& m) {
  const auto& fi = t.files;
  m.path = to_string(fi.path.at(row));
  m.size = fi.size[row];
  m.mtime_ns = fi.mtime_ns[row];
  m.format = static_cast<FileFormat>(fi.format[row]);
  m.error_kind = static_cast<ErrorKind>(fi.error_kind[row]);
  m.error_message = to_string(fi.error_message.at(row));
  m.uuid = to_string(fi.uuid.at(row));
  m.compression = to_string(fi.compression.at(row));
  m.extract_seconds = fi.extract_seconds[row];
  m.bytes_read = fi.bytes_read[row];
  m.rank = fi.rank[row];
}

void read_object_fields(const Tables& t, std::size_t j, ObjectMeta& om) {
  const auto& ob = t.objects;
  om.path = to_string(ob.path.at(j));
  om.kind = to_string(ob.kind.at(j));
  om.title = to_string(ob.title.at(j));
  om.cycle = ob.cycle[j];
  om.num_entries = ob.num_entries[j];
  om.n_columns_total = ob.n_columns_total[j];
  om.clusters.assign(t.clusters.begin() + static_cast<std::ptrdiff_t>(ob.cluster_offsets[j]),
                     t.clusters.begin() + static_cast<std::ptrdiff_t>(ob.cluster_offsets[j + 1]));
  auto sh = ob.shape.at(j), mx = ob.maxshape.at(j), ch = ob.chunks.at(j);
  om.shape.assign(sh.begin(), sh.end());
  om.maxshape.assign(mx.begin(), mx.end());
  om.chunks.assign(ch.begin(), ch.end());
  om.dtype = to_string(ob.dtype.at(j));
  om.layout = to_string(ob.layout.at(j));
  om.error_kind = static_cast<ErrorKind>(ob.error_kind[j]);
  om.error_message = to_string(ob.error_message.at(j));
}

FileRec row_to_rec(const Tables& t, std::size_t row) {
  const auto& fi = t.files;
  FileRec r;
  read_file_fields(t, row, r.meta);
  r.options_hash = fi.options_hash[row];
  r.extractor_version = fi.extractor_version[row];
  const auto& ob = t.objects;
  for (auto j = fi.object_offsets[row]; j < fi.object_offsets[row + 1]; ++j) {
    ObjectRec& o = r.objects.emplace_back();
    ObjectMeta& om = o.meta;
    read_object_fields(t, j, om);
    o.schema = ob.schema[j];
    for (auto k = ob.filter_offsets[j]; k < ob.filter_offsets[j + 1]; ++k) {
      auto params = t.filters.params.at(k);
      om.filters.push_back(Filter{t.filters.id[k], to_string(t.filters.name.at(k)),
                                  std::vector<unsigned>(params.begin(), params.end())});
    }
    for (auto k = ob.attribute_offsets[j]; k < ob.attribute_offsets[j + 1]; ++k)
      om.attributes.push_back(to_string(t.attribute_name.at(k)));
  }
  return r;
}

FileRec meta_to_rec(FileMeta&& meta, SchemaPool& pool, std::uint64_t options_hash,
                    std::int32_t extractor_version) {
  FileRec r;
  r.options_hash = options_hash;
  r.extractor_version = extractor_version;
  r.objects.reserve(meta.objects.size());
  for (auto& om : meta.objects) {
    ObjectRec o;
    o.schema = pool.intern(std::move(om.columns));
    // Release the storage too: when the pool already had this schema the vector was not
    // moved from, and clear() alone kept its capacity (~96 KB per NanoAOD file, 9.4 GiB for
    // 10^5 puts, found by bench/memory).
    std::vector<Column>().swap(om.columns);
    o.meta = std::move(om);
    r.objects.push_back(std::move(o));
  }
  meta.objects.clear();
  r.meta = std::move(meta);
  return r;
}

FileMeta rec_to_meta(const FileRec& rec, const SchemaPool& pool) {
  FileMeta m = rec.meta;
  m.objects.reserve(rec.objects.size());
  for (const auto& o : rec.objects) {
    m.objects.push_back(o.meta);
    if (o.schema >= 0) m.objects.back().columns = pool.at(o.schema);
  }
  return m;
}

void TablesBuilder::add(const FileRec& rec) {
  auto& fi = t_.files;
  const FileMeta& m = rec.meta;
  const auto file_index = static_cast<std::int64_t>(fi.size.size());
  fi.path.push(m.path);
  fi.size.push_back(m.size);
  fi.mtime_ns.push_back(m.mtime_ns);
  fi.format.push_back(static_cast<std::uint8_t>(m.format));
  fi.error_kind.push_back(static_cast<std::uint8_t>(m.error_kind));
  fi.error_message.push(m.error_message);
  fi.uuid.push(m.uuid);
  fi.compression.push(m.compression);
  fi.extract_seconds.push_back(m.extract_seconds);
  fi.bytes_read.push_back(m.bytes_read);
  fi.rank.push_back(m.rank);
  fi.options_hash.push_back(rec.options_hash);
  fi.extractor_version.push_back(rec.extractor_version);

  auto& ob = t_.objects;
  for (const auto& o : rec.objects) {
    const ObjectMeta& om = o.meta;
    ob.file.push_back(file_index);
    ob.path.push(om.path);
    ob.kind.push(om.kind);
    ob.title.push(om.title);
    ob.cycle.push_back(om.cycle);
    ob.num_entries.push_back(om.num_entries);
    ob.n_columns_total.push_back(om.n_columns_total);
    std::int64_t sid = -1;
    if (o.schema >= 0) {
      auto [it, fresh] = remap_.try_emplace(o.schema, static_cast<std::int64_t>(remap_.size()));
      sid = it->second;
      if (fresh) {
        for (const auto& c : pool_.at(o.schema)) {
          t_.schema_columns.name.push(c.name);
          t_.schema_columns.type.push(c.type);
        }
        t_.schemas.hash.push_back(pool_.hash(o.schema));
        t_.schemas.column_offsets.push_back(t_.schema_columns.name.size());
      }
    }
    ob.schema.push_back(sid);
    t_.clusters.insert(t_.clusters.end(), om.clusters.begin(), om.clusters.end());
    ob.cluster_offsets.push_back(t_.clusters.size());
    ob.shape.push(om.shape);
    ob.maxshape.push(om.maxshape);
    ob.chunks.push(om.chunks);
    ob.dtype.push(om.dtype);
    ob.layout.push(om.layout);
    for (const auto& f : om.filters) {
      t_.filters.id.push_back(f.id);
      t_.filters.name.push(f.name);
      std::vector<std::uint32_t> params(f.params.begin(), f.params.end());
      t_.filters.params.push(params);
    }
    ob.filter_offsets.push_back(t_.filters.id.size());
    for (const auto& a : om.attributes) t_.attribute_name.push(a);
    ob.attribute_offsets.push_back(t_.attribute_name.size());
    ob.error_kind.push_back(static_cast<std::uint8_t>(om.error_kind));
    ob.error_message.push(om.error_message);
  }
  fi.object_offsets.push_back(ob.file.size());
}

Tables TablesBuilder::finish() {
  remap_.clear();
  return std::move(t_);
}

}  // namespace mpiprep::cache
