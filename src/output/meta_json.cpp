#include "mpiprep/output/meta_json.hpp"

#include <string>
#include <utility>

namespace mpiprep::output {
namespace {

using nlohmann::json;

json error_json(ErrorKind kind, const std::string& message) {
  return json{{"kind", std::string(error_kind_name(kind))}, {"message", message}};
}

json columns_json(const Columns& columns) {
  json a = json::array();
  for (const ColumnView c : columns)
    a.push_back(json{{"name", std::string(c.name)}, {"type", std::string(c.type)}});
  return a;
}

json object_json(const ObjectMeta& o) {
  json j;
  j["path"] = o.path;
  if (o.kind == "dataset") {
    j["kind"] = o.kind;
    j["shape"] = o.shape;
    j["maxshape"] = o.maxshape;
    j["dtype"] = o.dtype;
    j["layout"] = o.layout;
    // h5py's convention: chunks is None for a dataset that is not chunked.
    j["chunks"] = o.layout == "chunked" || !o.chunks.empty() ? json(o.chunks) : json(nullptr);
    json filters = json::array();
    for (const auto& f : o.filters)
      filters.push_back(json{{"id", f.id}, {"name", f.name}, {"params", f.params}});
    j["filters"] = std::move(filters);
    j["attributes"] = o.attributes;
    j["num_entries"] = o.num_entries;
  } else if (o.kind == "group") {
    j["kind"] = o.kind;
    j["attributes"] = o.attributes;
  } else if (o.kind == "datatype") {
    j["kind"] = o.kind;
    j["dtype"] = o.dtype;
    j["attributes"] = o.attributes;
  } else if (o.kind == "TTree" || o.kind == "RNTuple") {
    const bool tree = o.kind == "TTree";
    j["cycle"] = o.cycle;
    j["kind"] = o.kind;
    j["title"] = o.title;
    j["num_entries"] = o.num_entries;
    j[tree ? "branches" : "fields"] = columns_json(o.columns);
    j[tree ? "n_branches_total" : "n_fields_total"] = o.n_columns_total;
    j["clusters"] = o.clusters;
  } else {
    j["cycle"] = o.cycle;
    j["kind"] = o.kind;
  }
  if (o.error_kind != ErrorKind::kNone) j["error"] = error_json(o.error_kind, o.error_message);
  return j;
}

template <typename T>
void read_if(const json& j, const char* key, T& out) {
  if (auto it = j.find(key); it != j.end() && !it->is_null()) out = it->get<T>();
}

void read_error(const json& j, ErrorKind& kind, std::string& message) {
  auto it = j.find("error");
  if (it == j.end() || it->is_null()) return;
  kind = error_kind_from_name(it->at("kind").get<std::string>());
  message = it->value("message", std::string());
}

ObjectMeta object_from_json(const json& j) {
  ObjectMeta o;
  read_if(j, "path", o.path);
  read_if(j, "kind", o.kind);
  read_if(j, "title", o.title);
  read_if(j, "cycle", o.cycle);
  read_if(j, "num_entries", o.num_entries);
  for (const char* key : {"branches", "fields"}) {
    if (auto it = j.find(key); it != j.end())
      for (const auto& c : *it)
        o.columns.add(c.at("name").get<std::string>(), c.at("type").get<std::string>());
  }
  read_if(j, "n_branches_total", o.n_columns_total);
  read_if(j, "n_fields_total", o.n_columns_total);
  read_if(j, "clusters", o.clusters);
  read_if(j, "shape", o.shape);
  read_if(j, "maxshape", o.maxshape);
  read_if(j, "chunks", o.chunks);
  read_if(j, "dtype", o.dtype);
  read_if(j, "layout", o.layout);
  if (auto it = j.find("filters"); it != j.end())
    for (const auto& f : *it)
      o.filters.push_back(Filter{f.at("id").get<int>(), f.value("name", std::string()),
                                 f.value("params", std::vector<unsigned>())});
  read_if(j, "attributes", o.attributes);
  read_error(j, o.error_kind, o.error_message);
  return o;
}

}  // namespace

json to_json(const FileMeta& meta) {
  json j;
  j["path"] = meta.path;
  j["format"] = std::string(format_name(meta.format));
  j["size"] = meta.size;
  j["uuid"] = meta.uuid;
  if (meta.format == FileFormat::kRoot || !meta.compression.empty())
    j["compression"] = meta.compression;
  json objects = json::array();
  for (const auto& o : meta.objects) objects.push_back(object_json(o));
  j["objects"] = std::move(objects);
  if (!meta.ok()) j["error"] = error_json(meta.error_kind, meta.error_message);
  return j;
}

FileMeta file_meta_from_json(const json& j) {
  FileMeta meta;
  read_if(j, "path", meta.path);
  if (auto it = j.find("format"); it != j.end())
    meta.format = format_from_name(it->get<std::string>());
  read_if(j, "size", meta.size);
  read_if(j, "uuid", meta.uuid);
  read_if(j, "compression", meta.compression);
  if (auto it = j.find("objects"); it != j.end())
    for (const auto& o : *it) meta.objects.push_back(object_from_json(o));
  read_error(j, meta.error_kind, meta.error_message);
  return meta;
}

}  // namespace mpiprep::output
