// `mpiprep inspect --json`: one FileMeta as a JSON object, and back. Keys depend on the object
// kind (HDF5 dataset/group, ROOT TTree/RNTuple, any other ROOT class) so the output shows what
// each format actually has instead of a union of empty fields.
#pragma once

#include <nlohmann/json.hpp>

#include "mpiprep/core/meta.hpp"

namespace mpiprep::output {

// Local, no I/O. The object for one file:
//   {"path", "format", "size", "uuid", ["compression" (ROOT)], "objects": [...],
//    ["error": {"kind", "message"}]}
// objects by kind:
//   "dataset":  {"path", "kind", "shape", "maxshape", "dtype", "layout", "chunks" (null unless
//                chunked), "filters": [{"id", "name", "params"}], "attributes", "num_entries"}
//   "group":    {"path", "kind", "attributes"}
//   "datatype": {"path", "kind", "dtype", "attributes"}   (HDF5 committed datatype)
//   "TTree":    {"path", "cycle", "kind", "title", "num_entries", "branches": [{"name","type"}],
//                "n_branches_total", "clusters"}
//   "RNTuple":  as TTree with "fields" and "n_fields_total" for "branches"/"n_branches_total"
//   other:      {"path", "cycle", "kind"}
// and any object that failed to decode carries "error": {"kind", "message"}. Error kinds and
// formats are their stable names (error_kind_name, format_name).
[[nodiscard]] nlohmann::json to_json(const FileMeta& meta);

// Local. The inverse of to_json for every field it writes (missing keys keep their defaults;
// extract_seconds, bytes_read, mtime_ns and rank are not part of inspect JSON). Throws
// nlohmann::json::exception when a present key has the wrong type.
[[nodiscard]] FileMeta file_meta_from_json(const nlohmann::json& j);

}  // namespace mpiprep::output
