#include "tables.hpp"

#include <fmt/format.h>
#include <xxhash.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <unordered_set>

#include "table_checks.hpp"

namespace mpiprep::cache {
namespace {

using namespace table_checks;  // NOLINT(google-build-using-namespace): shared helpers

// The canonical bytes of an object set's structure: what two files must share to share a set.
// Its xxh64 is the set's hash (LAYOUT.md: informational; readers need not recompute it).
class KeyWriter {
 public:
  void str(std::string_view s) {
    u64(s.size());
    out_.append(s.data(), s.size());
  }
  template <typename T>
  void pod(T v) {
    out_.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  void u64(std::uint64_t v) { pod(v); }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

std::string set_key(const std::vector<ObjectRec>& objs, const SchemaPool& pool) {
  KeyWriter k;
  k.u64(objs.size());
  for (const auto& o : objs) {
    const ObjectMeta& m = o.meta;
    k.str(m.path);
    k.str(m.kind);
    k.str(m.title);
    k.pod<std::int32_t>(m.cycle);
    k.pod<std::int64_t>(m.n_columns_total);
    k.u64(o.schema >= 0 ? pool.hash(o.schema) : 0);
    k.u64(o.schema >= 0 ? pool.at(o.schema).size() : 0);
    k.u64(m.shape.size());
    k.u64(m.maxshape.size());
    k.u64(m.chunks.size());
    for (auto c : m.chunks) k.pod<std::int64_t>(c);
    k.str(m.dtype);
    k.str(m.layout);
    k.u64(m.filters.size());
    for (const auto& f : m.filters) {
      k.pod<std::int32_t>(f.id);
      k.str(f.name);
      k.u64(f.params.size());
      for (auto p : f.params) k.pod<std::uint32_t>(p);
    }
    k.u64(m.attributes.size());
    for (const auto& a : m.attributes) k.str(a);
    k.str(error_kind_name(m.error_kind));
    k.str(m.error_message);
  }
  return k.take();
}

}  // namespace

std::uint64_t schema_hash(const Columns& columns) noexcept {
  // The table's text is the hashed bytes already: one-shot, no copy.
  const std::string_view text = columns.text();
  return XXH64(text.data(), text.size(), 0);
}

std::uint64_t content_checksum(const Tables& t, std::int32_t format_version,
                               std::uint64_t generation) {
  // Datasets in order of their path (bytewise), so a reader can reproduce the checksum by
  // walking the file without knowing this catalogue (LAYOUT.md shows it in Python). Each
  // dataset enters as its own xxh64, so a dataset read later (the values) can be checked on
  // its own against the hash the checksum covered.
  struct Part {
    std::string name;
    std::uint64_t n;
    std::uint64_t hash;
  };
  std::vector<Part> parts;
  for_each_dataset(t, [&](const std::string& name, const auto& vec, ColumnKind) {
    using T = typename std::decay_t<decltype(vec)>::value_type;
    if (!t.values_loaded && name == kValuesDataset) {
      const std::uint64_t stored = t.values.data_xxh64.empty() ? 0 : t.values.data_xxh64[0];
      parts.push_back(Part{name, t.values_count, stored});
      return;
    }
    parts.push_back(Part{name, vec.size(), XXH64(vec.data(), vec.size() * sizeof(T), 0)});
  });
  std::sort(parts.begin(), parts.end(),
            [](const Part& a, const Part& b) { return a.name < b.name; });
  std::string buf;
  for (const auto& p : parts) {
    buf += p.name;
    buf.push_back('\0');
    buf.append(reinterpret_cast<const char*>(&p.n), sizeof p.n);
    buf.append(reinterpret_cast<const char*>(&p.hash), sizeof p.hash);
  }
  buf.append(reinterpret_cast<const char*>(&format_version), sizeof format_version);
  buf.append(reinterpret_cast<const char*>(&generation), sizeof generation);
  return XXH64(buf.data(), buf.size(), 0);
}

#define MPIPREP_TRY(expr)    \
  do {                       \
    Status s_ = (expr);      \
    if (!s_.ok()) return s_; \
  } while (false)

Status validate(Tables& t) {
  const auto& fi = t.files;
  const std::size_t nf = fi.size.size();
  const std::size_t ns = t.object_sets.hash.size();
  const std::size_t no = t.objects.set.size();
  const std::uint64_t nv = t.values_loaded ? t.values.data.size() : t.values_count;
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
  MPIPREP_TRY(check_len(fi.object_set, nf, "files/object_set"));
  MPIPREP_TRY(check_offsets(fi.value_offsets, nf, static_cast<std::size_t>(nv),
                            "files/value_offsets"));

  MPIPREP_TRY(check_offsets(t.object_sets.object_offsets, ns, no, "object_sets/object_offsets"));

  const auto& ob = t.objects;
  MPIPREP_TRY(check_strings(ob.path, no, "objects/path"));
  MPIPREP_TRY(check_strings(ob.kind, no, "objects/kind"));
  MPIPREP_TRY(check_strings(ob.title, no, "objects/title"));
  MPIPREP_TRY(check_len(ob.cycle, no, "objects/cycle"));
  MPIPREP_TRY(check_len(ob.n_columns_total, no, "objects/n_columns_total"));
  MPIPREP_TRY(check_len(ob.schema, no, "objects/schema"));
  MPIPREP_TRY(check_len(ob.shape_rank, no, "objects/shape_rank"));
  MPIPREP_TRY(check_len(ob.maxshape_rank, no, "objects/maxshape_rank"));
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

  const std::size_t nsch = t.schemas.hash.size();
  if (t.schema_columns.name.offsets.empty()) return structure("schema_columns/name: no offsets");
  const std::size_t ncol = t.schema_columns.name.offsets.size() - 1;
  MPIPREP_TRY(check_strings(t.schema_columns.name, ncol, "schema_columns/name"));
  MPIPREP_TRY(check_strings(t.schema_columns.type, ncol, "schema_columns/type"));
  MPIPREP_TRY(check_offsets(t.schemas.column_offsets, nsch, ncol, "schemas/column_offsets"));
  if (t.values.data_xxh64.size() != 1)
    return structure(fmt::format("object_values/data_xxh64 has {} elements, not 1",
                                 t.values.data_xxh64.size()));

  // Cross references: each file names an existing set (or none, with an empty value run),
  // each object its set, each schema id exists, ranks are sane, paths are unique.
  for (std::size_t i = 0; i < nf; ++i) {
    const auto s = fi.object_set[i];
    if (s < -1 || s >= static_cast<std::int64_t>(ns))
      return structure(fmt::format("files/object_set[{}] = {} out of range", i, s));
    if (s == -1 && fi.value_offsets[i + 1] != fi.value_offsets[i])
      return structure(fmt::format("files[{}] has values but no object set", i));
  }
  for (std::size_t s = 0; s < ns; ++s) {
    const auto lo = t.object_sets.object_offsets[s], hi = t.object_sets.object_offsets[s + 1];
    if (lo == hi) return structure(fmt::format("object_sets[{}] is empty", s));
    for (auto j = lo; j < hi; ++j)
      if (ob.set[j] != static_cast<std::int64_t>(s))
        return structure(fmt::format("objects/set[{}] is {}, expected {}", j, ob.set[j], s));
  }
  for (std::size_t j = 0; j < no; ++j) {
    if (ob.schema[j] < -1 || ob.schema[j] >= static_cast<std::int64_t>(nsch))
      return structure(fmt::format("objects/schema[{}] = {} out of range", j, ob.schema[j]));
    if (ob.shape_rank[j] < 0 || ob.shape_rank[j] > 64 || ob.maxshape_rank[j] < 0 ||
        ob.maxshape_rank[j] > 64)
      return structure(fmt::format("objects[{}]: shape rank out of range", j));
  }
  // A schema's stored hash must match its columns (catches a mix-up the checksum cannot), and
  // a schema is stored once: ids are positions, so a duplicate would make two ids equal.
  std::unordered_multimap<std::uint64_t, std::size_t> seen_schemas;
  std::vector<Columns> schema_cols(nsch);
  for (std::size_t s = 0; s < nsch; ++s) {
    auto& cols = schema_cols[s];
    for (auto c = t.schemas.column_offsets[s]; c < t.schemas.column_offsets[s + 1]; ++c)
      cols.add(t.schema_columns.name.at(c), t.schema_columns.type.at(c));
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
  // Paths are unique: one pass when they are sorted (as mpiprep writes them), a hash set
  // otherwise (another writer's order).
  t.paths_sorted = strictly_sorted(fi.path);
  if (!t.paths_sorted) {
    std::unordered_set<std::string_view> paths;
    paths.reserve(nf);
    for (std::size_t i = 0; i < nf; ++i)
      if (!paths.insert(fi.path.at(i)).second)
        return structure(fmt::format("files/path[{}] '{}' appears twice", i, fi.path.at(i)));
  }
  if (!t.values_loaded) return Status::success();
  const auto& d = t.values.data;
  if (XXH64(d.data(), d.size() * sizeof(std::int64_t), 0) != t.values.data_xxh64[0])
    return structure("object_values/data_xxh64 does not match object_values/data");
  return validate_values(t);
}

Status validate_values(const Tables& t) {
  const auto& fi = t.files;
  const auto& ob = t.objects;
  const auto& v = t.values.data;
  for (std::size_t i = 0; i < fi.rows(); ++i) {
    std::uint64_t c = fi.value_offsets[i];
    const std::uint64_t end = fi.value_offsets[i + 1];
    const auto s = fi.object_set[i];
    if (s >= 0) {
      const auto ss = static_cast<std::size_t>(s);
      for (auto j = t.object_sets.object_offsets[ss]; j < t.object_sets.object_offsets[ss + 1];
           ++j) {
        const std::uint64_t fixed = 2 + static_cast<std::uint64_t>(ob.shape_rank[j]) +
                                    static_cast<std::uint64_t>(ob.maxshape_rank[j]);
        if (end - c < fixed)
          return structure(fmt::format("object_values of files[{}] end inside object {}", i, j));
        c += fixed;
        const std::int64_t nclusters = v[c - 1];
        if (nclusters < 0 || static_cast<std::uint64_t>(nclusters) > end - c)
          return structure(fmt::format("object_values of files[{}]: object {} claims {} clusters",
                                       i, j, nclusters));
        c += static_cast<std::uint64_t>(nclusters);
      }
    }
    if (c != end)
      return structure(fmt::format("object_values of files[{}]: {} values left over", i, end - c));
  }
  return Status::success();
}

#undef MPIPREP_TRY

// ---- schema pool ----------------------------------------------------------------------

std::int64_t SchemaPool::find(std::uint64_t h, const Columns& columns) const {
  auto [lo, hi] = by_hash_.equal_range(h);
  for (auto it = lo; it != hi; ++it)
    if (columns_[static_cast<std::size_t>(it->second)] == columns) return it->second;
  return -1;
}

std::int64_t SchemaPool::intern(Columns&& columns) {
  if (columns.empty()) return -1;
  const std::uint64_t h = schema_hash(columns);
  if (auto id = find(h, columns); id >= 0) return id;
  const auto id = static_cast<std::int64_t>(columns_.size());
  columns_.push_back(std::move(columns));
  columns_.back().shrink_to_fit();  // an extractor reserves generously; the pool keeps it long
  hashes_.push_back(h);
  by_hash_.emplace(h, id);
  return id;
}

std::int64_t SchemaPool::intern_copy(const Columns& columns) {
  if (columns.empty()) return -1;
  const std::uint64_t h = schema_hash(columns);
  if (auto id = find(h, columns); id >= 0) return id;
  return intern(Columns(columns));
}

const Columns& SchemaPool::at(std::int64_t id) const {
  return columns_.at(static_cast<std::size_t>(id));
}

void SchemaPool::clear() {
  columns_.clear();
  hashes_.clear();
  by_hash_.clear();
}

void fill_pool(const SchemasTable& schemas, const SchemaColumnsTable& sc, SchemaPool& pool) {
  pool.clear();
  for (std::size_t s = 0; s < schemas.hash.size(); ++s) {
    Columns cols;
    const auto lo = schemas.column_offsets[s], hi = schemas.column_offsets[s + 1];
    if (hi > lo)  // validated: within both string columns
      cols.reserve(static_cast<std::size_t>(hi - lo),
                   static_cast<std::size_t>(sc.name.offsets[hi] - sc.name.offsets[lo] +
                                            sc.type.offsets[hi] - sc.type.offsets[lo]));
    for (auto c = lo; c < hi; ++c) cols.add(sc.name.at(c), sc.type.at(c));
    // Stored schemas are distinct, so ids line up with table rows; a duplicate (a foreign
    // writer) would shift them, which validate() rules out by construction below.
    auto id = pool.intern(std::move(cols));
    if (id != static_cast<std::int64_t>(s))
      throw std::runtime_error(fmt::format("schemas: row {} duplicates schema {}", s, id));
  }
}

// ---- row <-> record ---------------------------------------------------------------------

bool strictly_sorted(const StringColumn& c) noexcept {
  for (std::size_t i = 1; i < c.size(); ++i)
    if (!(c.at(i - 1) < c.at(i))) return false;
  return true;
}

void read_file_fields(const Tables& t, std::size_t row, FileMeta& m) {
  const auto& fi = t.files;
  // assign(): a FileMeta reused from row to row keeps its strings' storage.
  m.path.assign(fi.path.at(row));
  m.size = fi.size[row];
  m.mtime_ns = fi.mtime_ns[row];
  m.format = static_cast<FileFormat>(fi.format[row]);
  m.error_kind = static_cast<ErrorKind>(fi.error_kind[row]);
  m.error_message.assign(fi.error_message.at(row));
  m.uuid.assign(fi.uuid.at(row));
  m.compression.assign(fi.compression.at(row));
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
  om.n_columns_total = ob.n_columns_total[j];
  auto ch = ob.chunks.at(j);
  om.chunks.assign(ch.begin(), ch.end());
  om.dtype = to_string(ob.dtype.at(j));
  om.layout = to_string(ob.layout.at(j));
  om.error_kind = static_cast<ErrorKind>(ob.error_kind[j]);
  om.error_message = to_string(ob.error_message.at(j));
}

void read_object_values(const Tables& t, std::size_t j, std::uint64_t& cursor, ObjectMeta& om) {
  const auto* v = t.values.data.data() + cursor;
  const auto sr = static_cast<std::size_t>(t.objects.shape_rank[j]);
  const auto mr = static_cast<std::size_t>(t.objects.maxshape_rank[j]);
  om.num_entries = v[0];
  om.shape.assign(v + 1, v + 1 + sr);
  om.maxshape.assign(v + 1 + sr, v + 1 + sr + mr);
  const auto nc = static_cast<std::size_t>(v[1 + sr + mr]);
  om.clusters.assign(v + 2 + sr + mr, v + 2 + sr + mr + nc);
  cursor += 2 + sr + mr + nc;
}

void skip_object_values(const Tables& t, std::size_t j, std::uint64_t& cursor) {
  const auto sr = static_cast<std::uint64_t>(t.objects.shape_rank[j]);
  const auto mr = static_cast<std::uint64_t>(t.objects.maxshape_rank[j]);
  const auto nc = static_cast<std::uint64_t>(t.values.data[cursor + 1 + sr + mr]);
  cursor += 2 + sr + mr + nc;
}

namespace {
// Object j's structure as a record (values left at their defaults; shape and maxshape sized
// to their ranks, for set_key), with filters, attributes and schema id.
ObjectRec object_structure(const Tables& t, std::size_t j) {
  const auto& ob = t.objects;
  ObjectRec o;
  ObjectMeta& om = o.meta;
  read_object_fields(t, j, om);
  o.schema = ob.schema[j];
  om.shape.assign(static_cast<std::size_t>(ob.shape_rank[j]), 0);
  om.maxshape.assign(static_cast<std::size_t>(ob.maxshape_rank[j]), 0);
  for (auto k = ob.filter_offsets[j]; k < ob.filter_offsets[j + 1]; ++k) {
    auto params = t.filters.params.at(k);
    om.filters.push_back(Filter{t.filters.id[k], to_string(t.filters.name.at(k)),
                                std::vector<unsigned>(params.begin(), params.end())});
  }
  for (auto k = ob.attribute_offsets[j]; k < ob.attribute_offsets[j + 1]; ++k)
    om.attributes.push_back(to_string(t.attribute_name.at(k)));
  return o;
}
}  // namespace

FileRec row_to_rec(const Tables& t, std::size_t row) {
  const auto& fi = t.files;
  FileRec r;
  read_file_fields(t, row, r.meta);
  r.options_hash = fi.options_hash[row];
  r.extractor_version = fi.extractor_version[row];
  const auto s = fi.object_set[row];
  if (s < 0) return r;
  const auto ss = static_cast<std::size_t>(s);
  std::uint64_t cursor = fi.value_offsets[row];
  for (auto j = t.object_sets.object_offsets[ss]; j < t.object_sets.object_offsets[ss + 1]; ++j) {
    ObjectRec& o = r.objects.emplace_back(object_structure(t, j));
    read_object_values(t, j, cursor, o.meta);
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
    Columns().swap(om.columns);
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

// ---- builder --------------------------------------------------------------------------------

std::int64_t TablesBuilder::schema_id(std::int64_t pool_id) {
  if (pool_id < 0) return -1;
  auto [it, fresh] = remap_.try_emplace(pool_id, static_cast<std::int64_t>(remap_.size()));
  if (fresh) {
    for (const ColumnView c : pool_.at(pool_id)) {
      t_.schema_columns.name.push(c.name);
      t_.schema_columns.type.push(c.type);
    }
    t_.schemas.hash.push_back(pool_.hash(pool_id));
    t_.schemas.column_offsets.push_back(t_.schema_columns.name.size());
  }
  return it->second;
}

std::int64_t TablesBuilder::intern_set(std::string&& key, std::uint64_t h,
                                       const std::vector<ObjectRec>& objs) {
  auto [lo, hi] = sets_.equal_range(h);
  for (auto it = lo; it != hi; ++it)
    if (it->second.first == key) return it->second.second;
  const auto id = static_cast<std::int64_t>(t_.object_sets.hash.size());
  sets_.emplace(h, std::make_pair(std::move(key), id));
  auto& ob = t_.objects;
  for (const auto& o : objs) {
    const ObjectMeta& om = o.meta;
    ob.set.push_back(id);
    ob.path.push(om.path);
    ob.kind.push(om.kind);
    ob.title.push(om.title);
    ob.cycle.push_back(om.cycle);
    ob.n_columns_total.push_back(om.n_columns_total);
    ob.schema.push_back(schema_id(o.schema));
    ob.shape_rank.push_back(static_cast<std::int32_t>(om.shape.size()));
    ob.maxshape_rank.push_back(static_cast<std::int32_t>(om.maxshape.size()));
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
  t_.object_sets.hash.push_back(h);
  t_.object_sets.object_offsets.push_back(ob.set.size());
  return id;
}

void TablesBuilder::add_file_fields(const FileMeta& m, std::uint64_t options_hash,
                                    std::int32_t version) {
  auto& fi = t_.files;
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
  fi.options_hash.push_back(options_hash);
  fi.extractor_version.push_back(version);
}

void TablesBuilder::add(const FileRec& rec) {
  add_file_fields(rec.meta, rec.options_hash, rec.extractor_version);
  auto& fi = t_.files;
  if (rec.objects.empty()) {
    fi.object_set.push_back(-1);
  } else {
    std::string key = set_key(rec.objects, pool_);
    const std::uint64_t h = XXH64(key.data(), key.size(), 0);
    fi.object_set.push_back(intern_set(std::move(key), h, rec.objects));
    auto& v = t_.values.data;
    for (const auto& o : rec.objects) {
      const ObjectMeta& om = o.meta;
      v.push_back(om.num_entries);
      v.insert(v.end(), om.shape.begin(), om.shape.end());
      v.insert(v.end(), om.maxshape.begin(), om.maxshape.end());
      v.push_back(static_cast<std::int64_t>(om.clusters.size()));
      v.insert(v.end(), om.clusters.begin(), om.clusters.end());
    }
  }
  fi.value_offsets.push_back(t_.values.data.size());
}

void TablesBuilder::add_row(const Tables& src, std::size_t row) {
  if (src_ != &src) {
    src_ = &src;
    src_sets_.clear();
  }
  const auto& sf = src.files;
  FileMeta m;
  read_file_fields(src, row, m);
  add_file_fields(m, sf.options_hash[row], sf.extractor_version[row]);
  auto& fi = t_.files;
  const auto s = sf.object_set[row];
  if (s < 0) {
    fi.object_set.push_back(-1);
  } else {
    auto it = src_sets_.find(s);
    if (it == src_sets_.end()) {
      const auto ss = static_cast<std::size_t>(s);
      std::vector<ObjectRec> objs;
      for (auto j = src.object_sets.object_offsets[ss]; j < src.object_sets.object_offsets[ss + 1];
           ++j)
        objs.push_back(object_structure(src, j));
      std::string key = set_key(objs, pool_);
      const std::uint64_t h = XXH64(key.data(), key.size(), 0);
      it = src_sets_.emplace(s, intern_set(std::move(key), h, objs)).first;
    }
    fi.object_set.push_back(it->second);
    const auto lo = static_cast<std::ptrdiff_t>(sf.value_offsets[row]);
    const auto hi = static_cast<std::ptrdiff_t>(sf.value_offsets[row + 1]);
    t_.values.data.insert(t_.values.data.end(), src.values.data.begin() + lo,
                          src.values.data.begin() + hi);
  }
  fi.value_offsets.push_back(t_.values.data.size());
}

Tables TablesBuilder::finish() {
  remap_.clear();
  sets_.clear();
  src_ = nullptr;
  src_sets_.clear();
  const auto& d = t_.values.data;
  t_.values.data_xxh64 = {XXH64(d.data(), d.size() * sizeof(std::int64_t), 0)};
  t_.values_loaded = true;
  t_.values_count = d.size();
  return std::move(t_);
}

}  // namespace mpiprep::cache
