#include "tables_v1.hpp"

#include <fmt/format.h>
#include <xxhash.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <unordered_set>

#include "table_checks.hpp"

namespace mpiprep::cache::v1 {
namespace {

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

using namespace table_checks;  // NOLINT(google-build-using-namespace): shared helpers

}  // namespace

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
  std::vector<Columns> schema_cols(ns);
  for (std::size_t s = 0; s < ns; ++s) {
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
  std::unordered_set<std::string_view> paths;
  paths.reserve(nf);
  for (std::size_t i = 0; i < nf; ++i)
    if (!paths.insert(fi.path.at(i)).second)
      return structure(fmt::format("files/path[{}] '{}' appears twice", i, fi.path.at(i)));
  return Status::success();
}

#undef MPIPREP_TRY

// ---- upgrade to version 2 -------------------------------------------------------------------

namespace {

// Row `row` of a v1 table as a record (schema ids as stored in t).
FileRec row_to_rec(const Tables& t, std::size_t row) {
  const auto& fi = t.files;
  FileRec r;
  FileMeta& m = r.meta;
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
  r.options_hash = fi.options_hash[row];
  r.extractor_version = fi.extractor_version[row];
  const auto& ob = t.objects;
  for (auto j = fi.object_offsets[row]; j < fi.object_offsets[row + 1]; ++j) {
    ObjectRec& o = r.objects.emplace_back();
    ObjectMeta& om = o.meta;
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

}  // namespace

cache::Tables upgrade(const Tables& t) {
  // v1 schema row i is pool id i (validate() ruled out duplicates), as in a v2 load.
  SchemaPool pool;
  fill_pool(t.schemas, t.schema_columns, pool);
  TablesBuilder b(pool);
  for (std::size_t i = 0; i < t.files.rows(); ++i) b.add(row_to_rec(t, i));
  return b.finish();
}

}  // namespace mpiprep::cache::v1
