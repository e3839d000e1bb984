#include "mpiprep/output/coffea.hpp"

#include <unordered_map>

#include <fmt/format.h>

namespace mpiprep::output {
namespace {

using OrderedJson = nlohmann::ordered_json;

// Datasets named in an `inconsistent` message before it is cut short.
constexpr std::size_t kMaxNamedDatasets = 8;

std::string_view strip_slashes(std::string_view p) {
  while (!p.empty() && p.front() == '/') p.remove_prefix(1);
  while (!p.empty() && p.back() == '/') p.remove_suffix(1);
  return p;
}

bool is_direct_child(std::string_view group, std::string_view path) {
  group = strip_slashes(group);
  path = strip_slashes(path);
  if (!group.empty()) {
    if (path.size() <= group.size() + 1 || path.compare(0, group.size(), group) != 0 ||
        path[group.size()] != '/') {
      return false;
    }
    path.remove_prefix(group.size() + 1);
  }
  return !path.empty() && path.find('/') == std::string_view::npos;
}

std::optional<std::int64_t> first_dimension(const ObjectMeta& o) {
  if (!o.shape.empty()) return o.shape.front();
  return std::nullopt;  // scalar dataset
}

Error object_error(const ObjectMeta& o) {
  return make_error(o.error_kind, "object '" + o.path + "': " + o.error_message);
}

Result<std::int64_t> hdf5_group_entries(const FileMeta& meta, std::string_view group) {
  std::vector<std::pair<const ObjectMeta*, std::int64_t>> children;
  for (const auto& o : meta.objects) {
    if (o.kind != "dataset" || !is_direct_child(group, o.path)) continue;
    if (o.error_kind != ErrorKind::kNone) return object_error(o);
    if (auto dim = first_dimension(o)) children.emplace_back(&o, *dim);
  }
  const std::string name = group.empty() ? std::string("/") : std::string(group);
  if (children.empty()) {
    return make_error(ErrorKind::kNotFound,
                      "group '" + name + "' has no non-scalar datasets directly under it");
  }
  bool agree = true;
  for (const auto& c : children) agree = agree && c.second == children.front().second;
  if (agree) return children.front().second;
  std::string list;
  for (std::size_t i = 0; i < children.size() && i < kMaxNamedDatasets; ++i) {
    if (i > 0) list += ", ";
    list += fmt::format("{} ({})", children[i].first->path, children[i].second);
  }
  if (children.size() > kMaxNamedDatasets)
    list += fmt::format(", ... ({} datasets)", children.size());
  return make_error(ErrorKind::kInconsistent,
                    "datasets under group '" + name + "' disagree on their first dimension: " + list);
}

void set_steps(ResolvedFile& out, const ObjectMeta* obj, const fileset::FileSpec& spec,
               const StepOptions& options) {
  std::int64_t n = *out.num_entries;
  if (options.align_clusters && obj != nullptr && !obj->clusters.empty()) {
    auto aligned = compute_aligned_steps(n, obj->clusters, options.step_size, options.safety_factor);
    if (!aligned.oversized.empty()) {
      out.warnings.push_back(oversized_steps_warning(spec.path, aligned.oversized,
                                                     options.safety_factor,
                                                     options.step_size.value_or(n)));
    }
    out.steps = std::move(aligned.steps);
  } else {
    out.steps = compute_steps(n, options.step_size);
  }
}

Result<ResolvedFile> resolve_root(const fileset::FileSpec& spec, const FileMeta& meta,
                                  const StepOptions& options) {
  ResolvedFile out;
  out.uuid = meta.uuid;
  const ObjectMeta* obj = nullptr;
  if (spec.object_path) {
    obj = meta.find_object(*spec.object_path);
    if (obj == nullptr) {
      return make_error(ErrorKind::kNotFound, "object '" + *spec.object_path + "' not found");
    }
    if (obj->error_kind != ErrorKind::kNone) return object_error(*obj);
    if (obj->kind != "TTree" && obj->kind != "RNTuple") {
      return make_error(ErrorKind::kNotFound, "object '" + *spec.object_path + "' is a " +
                                                  obj->kind + ", not a TTree or RNTuple");
    }
    out.object_path = *spec.object_path;  // as the user wrote it, like coffea
  } else {
    obj = meta.first_tree();
    if (obj == nullptr) return make_error(ErrorKind::kNotFound, "no TTree or RNTuple in file");
    out.object_path = obj->path;
  }
  if (obj->num_entries < 0) {
    return make_error(ErrorKind::kInternal, "object '" + obj->path + "' has no entry count");
  }
  out.num_entries = obj->num_entries;
  set_steps(out, obj, spec, options);
  return out;
}

Result<ResolvedFile> resolve_hdf5(const fileset::FileSpec& spec, const FileMeta& meta,
                                  const StepOptions& options) {
  ResolvedFile out;
  out.uuid = meta.uuid;
  if (!spec.object_path) return out;  // nothing to count: nulls, as documented
  const std::string& want = *spec.object_path;
  const ObjectMeta* obj = meta.find_object(want);
  std::int64_t n = 0;
  if (obj == nullptr && !strip_slashes(want).empty()) {
    return make_error(ErrorKind::kNotFound, "object '" + want + "' not found");
  }
  if (obj != nullptr && obj->error_kind != ErrorKind::kNone) return object_error(*obj);
  if (obj == nullptr || obj->kind == "group") {  // the root group may not be listed
    auto entries = hdf5_group_entries(meta, want);
    if (!entries) return std::move(entries).error();
    n = *entries;
  } else if (obj->kind == "dataset") {
    auto dim = first_dimension(*obj);
    if (!dim) {
      return make_error(ErrorKind::kUnsupportedFormat,
                        "dataset '" + want + "' is scalar: no first dimension to split");
    }
    n = *dim;
  } else {
    return make_error(ErrorKind::kNotFound,
                      "object '" + want + "' is a " + obj->kind + ", not a dataset or group");
  }
  out.object_path = want;
  out.num_entries = n;
  set_steps(out, obj != nullptr && obj->kind == "dataset" ? obj : nullptr, spec, options);
  return out;
}

OrderedJson to_json(const ResolvedFile& f) {
  OrderedJson j = OrderedJson::object();
  j.get_ref<OrderedJson::object_t&>().reserve(4);  // no regrowth: its keys are copied on each
  j["object_path"] = f.object_path ? OrderedJson(*f.object_path) : OrderedJson(nullptr);
  if (f.steps) {
    OrderedJson steps = OrderedJson::array();
    for (const auto& s : *f.steps) steps.push_back(OrderedJson::array({s[0], s[1]}));
    j["steps"] = std::move(steps);
  } else {
    j["steps"] = nullptr;
  }
  j["num_entries"] = f.num_entries ? OrderedJson(*f.num_entries) : OrderedJson(nullptr);
  j["uuid"] = f.uuid;
  return j;
}

}  // namespace

Result<ResolvedFile> resolve(const fileset::FileSpec& spec, const FileMeta& meta,
                             const StepOptions& options) {
  if (!meta.ok()) return make_error(meta.error_kind, meta.error_message);
  switch (meta.format) {
    case FileFormat::kRoot:
      return resolve_root(spec, meta, options);
    case FileFormat::kHdf5:
      return resolve_hdf5(spec, meta, options);
    default:
      return make_error(ErrorKind::kUnsupportedFormat,
                        "format '" + std::string(format_name(meta.format)) + "' has no entries");
  }
}

namespace {

// The one walk over the fileset both outputs share: resolves every file, collects failures and
// warnings, and hands each dataset's successful files to `sink` (begin on the first one, file
// for each, end if there was one); datasets with none are dropped with a warning.
template <typename Sink>
void walk_preprocessed(const fileset::Fileset& fileset, const MetaLookup& lookup,
                       const StepOptions& options, Preprocessed& pre, Sink& sink) {
  for (const auto& ds : fileset.datasets) {
    std::size_t ok = 0;
    for (const auto& spec : ds.files) {
      const FileMeta* meta = lookup(spec);
      Result<ResolvedFile> r =
          meta != nullptr
              ? resolve(spec, *meta, options)
              : Result<ResolvedFile>(make_error(ErrorKind::kInternal, "no metadata for this file"));
      if (!r) {
        pre.failures.push_back(FileFailure{spec.path, spec.dataset, r.error().kind,
                                           r.error().message});
        continue;
      }
      for (auto& w : r->warnings) pre.warnings.push_back(std::move(w));
      if (ok++ == 0) sink.begin(ds);
      sink.file(spec, *r);
      ++pre.files_ok;
    }
    if (ok == 0) {
      pre.warnings.push_back("dataset '" + ds.name +
                             "': no file was preprocessed successfully; left out of the output");
      continue;
    }
    sink.end(ds);
  }
  for (const auto& rej : fileset.rejected)
    pre.failures.push_back(FileFailure{rej.entry, rej.dataset, rej.error.kind, rej.error.message});
}

// Builds the JSON document.
struct DomSink {
  OrderedJson& out;
  OrderedJson files;
  void begin(const fileset::Dataset& ds) {
    files = OrderedJson::object();
    // Reserved: ordered_json's storage is a vector of pair<const string, json>, whose const
    // key cannot be moved, so every reallocation copied all entries so far.
    files.get_ref<OrderedJson::object_t&>().reserve(ds.files.size());
  }
  void file(const fileset::FileSpec& spec, const ResolvedFile& r) {
    // Paths are unique after expansion: append instead of operator[], whose key search is
    // linear in ordered_json and made the output step O(N^2) (120-530 s at 10^5 files).
    files.get_ref<OrderedJson::object_t&>().emplace_back(spec.path, to_json(r));
  }
  void end(const fileset::Dataset& ds) {
    OrderedJson entry = OrderedJson::object();
    entry["files"] = std::move(files);
    entry["metadata"] = ds.metadata;
    entry["form"] = nullptr;
    out[ds.name] = std::move(entry);
  }
};

constexpr auto kReplace = OrderedJson::error_handler_t::replace;

// Writes the text the document's dump(1, ' ', false, replace) would be, without building the
// document: at 10^5 files the document's per-file objects, its dump and its destruction were
// half of a warm run's CPU.
struct TextSink {
  std::string& out;
  bool first_dataset = true;
  bool first_file = true;
  const TextFlush* flush = nullptr;  // set: `out` is handed over once it holds flush_bytes
  std::size_t flush_bytes = 0;

  void indent(unsigned n) {
    out.push_back('\n');
    out.append(n, ' ');
  }
  void str(std::string_view s) {
    bool plain = true;  // printable ASCII without quote or backslash is written as is
    for (const char ch : s) {
      const auto c = static_cast<unsigned char>(ch);
      if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
        plain = false;
        break;
      }
    }
    if (plain) {
      out.push_back('"');
      out.append(s);
      out.push_back('"');
    } else {
      out += OrderedJson(std::string(s)).dump(-1, ' ', false, kReplace);
    }
  }
  void num(std::int64_t v) {
    const fmt::format_int f(v);
    out.append(f.data(), f.size());
  }
  void begin(const fileset::Dataset& ds) {
    out.push_back(first_dataset ? '{' : ',');
    first_dataset = false;
    indent(1);
    str(ds.name);
    out += ": {";
    indent(2);
    out += "\"files\": {";
    first_file = true;
  }
  void file(const fileset::FileSpec& spec, const ResolvedFile& r) {
    if (!first_file) out.push_back(',');
    first_file = false;
    indent(3);
    str(spec.path);
    out += ": {";
    indent(4);
    out += "\"object_path\": ";
    if (r.object_path)
      str(*r.object_path);
    else
      out += "null";
    out.push_back(',');
    indent(4);
    out += "\"steps\": ";
    if (!r.steps) {
      out += "null";
    } else if (r.steps->empty()) {
      out += "[]";
    } else {
      out.push_back('[');
      for (std::size_t i = 0; i < r.steps->size(); ++i) {
        if (i > 0) out.push_back(',');
        indent(5);
        out.push_back('[');
        indent(6);
        num((*r.steps)[i][0]);
        out.push_back(',');
        indent(6);
        num((*r.steps)[i][1]);
        indent(5);
        out.push_back(']');
      }
      indent(4);
      out.push_back(']');
    }
    out.push_back(',');
    indent(4);
    out += "\"num_entries\": ";
    if (r.num_entries)
      num(*r.num_entries);
    else
      out += "null";
    out.push_back(',');
    indent(4);
    out += "\"uuid\": ";
    str(r.uuid);
    indent(3);
    out.push_back('}');
    if (flush != nullptr && out.size() >= flush_bytes) {
      (*flush)(out);
      out.clear();
    }
  }
  void end(const fileset::Dataset& ds) {
    indent(2);
    out += "},";
    indent(2);
    out += "\"metadata\": ";
    nlohmann::detail::serializer<OrderedJson> ser(
        nlohmann::detail::output_adapter<char, std::string>(out), ' ', kReplace);
    ser.dump(ds.metadata, true, false, 1, 2);
    out.push_back(',');
    indent(2);
    out += "\"form\": null";
    indent(1);
    out.push_back('}');
  }
  void finish() {
    if (first_dataset)
      out += "{}";
    else
      out += "\n}";
  }
};

}  // namespace

Preprocessed build_preprocessed(const fileset::Fileset& fileset, const MetaLookup& lookup,
                                const StepOptions& options) {
  Preprocessed pre;
  pre.fileset = OrderedJson::object();
  DomSink sink{pre.fileset, {}};
  walk_preprocessed(fileset, lookup, options, pre, sink);
  return pre;
}

Preprocessed render_preprocessed(const fileset::Fileset& fileset, const MetaLookup& lookup,
                                 const StepOptions& options, std::string& text) {
  return render_preprocessed(fileset, lookup, options, text, TextFlush{});
}

Preprocessed render_preprocessed(const fileset::Fileset& fileset, const MetaLookup& lookup,
                                 const StepOptions& options, std::string& text,
                                 const TextFlush& flush, std::size_t flush_bytes) {
  Preprocessed pre;
  text.clear();
  // Sized up front (an entry is its path, its uuid and ~130 bytes of keys and indentation;
  // steps come on top): growing the string by doubling touched and copied twice its final
  // size, 36 MB for a 10^5-file output. The +1 leaves room for write_outputs' newline.
  std::size_t estimate = 64 + 1;
  for (const auto& ds : fileset.datasets) estimate += ds.name.size() + 64;
  for (const auto& f : fileset.files) estimate += f.path.size() + 176;
  // Handed over in pieces: room for one piece and the entry that completes it.
  if (flush) estimate = std::min(estimate, flush_bytes + (std::size_t{64} << 10));
  text.reserve(estimate);
  TextSink sink{text};
  if (flush) {
    sink.flush = &flush;
    sink.flush_bytes = flush_bytes;
  }
  walk_preprocessed(fileset, lookup, options, pre, sink);
  sink.finish();
  return pre;
}

Preprocessed build_preprocessed(const fileset::Fileset& fileset, std::span<const FileMeta> metas,
                                const StepOptions& options) {
  std::unordered_map<std::string_view, const FileMeta*> by_path;
  by_path.reserve(metas.size());
  for (const auto& m : metas) by_path.emplace(m.path, &m);
  return build_preprocessed(
      fileset,
      [&](const fileset::FileSpec& spec) -> const FileMeta* {
        auto it = by_path.find(spec.path);
        return it == by_path.end() ? nullptr : it->second;
      },
      options);
}

nlohmann::ordered_json failures_json(std::span<const FileFailure> failures) {
  OrderedJson arr = OrderedJson::array();
  for (const auto& f : failures) {
    OrderedJson j = OrderedJson::object();
    j["path"] = f.path;
    j["dataset"] = f.dataset;
    j["kind"] = std::string(error_kind_name(f.kind));
    j["message"] = f.message;
    arr.push_back(std::move(j));
  }
  return arr;
}

}  // namespace mpiprep::output
