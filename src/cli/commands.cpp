#include "mpiprep/cli/commands.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "mpiprep/cache/cache.hpp"
#include "mpiprep/extract/extractor.hpp"
#include "mpiprep/output/meta_json.hpp"

namespace mpiprep::cli {

int run_inspect(io::FileSystem& fs, const std::vector<std::string>& files, bool json,
                std::ostream& out) {
  int rc = 0;
  extract::ExtractOptions eo;
  for (const auto& f : files) {
    FileMeta m = extract::extract_file(fs, io::absolute_path(f), eo);
    if (!m.ok()) rc = 1;
    if (json) {
      out << output::to_json(m).dump() << '\n';
      continue;
    }
    out << fmt::format("{}  [{}, {} bytes]", m.path, format_name(m.format), m.size);
    if (!m.uuid.empty()) out << "  uuid " << m.uuid;
    if (!m.compression.empty()) out << "  " << m.compression;
    out << '\n';
    if (!m.ok()) {
      out << fmt::format("  error {}: {}\n", error_kind_name(m.error_kind), m.error_message);
      continue;
    }
    for (const auto& o : m.objects) {
      std::string line = fmt::format("  {:<8} {}", o.kind, o.path);
      if (o.cycle > 0) line += fmt::format(";{}", o.cycle);
      if (o.num_entries >= 0) line += fmt::format("  entries={}", o.num_entries);
      if (!o.columns.empty() || o.n_columns_total > 0)
        line += fmt::format("  columns={} (total {})", o.columns.size(), o.n_columns_total);
      if (!o.dtype.empty()) line += "  dtype=" + o.dtype;
      if (!o.shape.empty()) line += fmt::format("  shape=({})", fmt::join(o.shape, ","));
      if (!o.layout.empty()) line += "  " + o.layout;
      if (o.error_kind != ErrorKind::kNone)
        line += fmt::format("  error {}: {}", error_kind_name(o.error_kind), o.error_message);
      out << line << '\n';
    }
  }
  return rc;
}

int run_cache_show(const std::string& path, bool json, std::ostream& out, std::ostream& err) {
  auto s = cache::summary(path);
  if (!s.ok()) {
    err << "mpiprep cache show: " << path << ": " << s.error().to_string() << '\n';
    return 1;
  }
  if (json) {
    nlohmann::ordered_json j = {
        {"path", s->path},
        {"file_bytes", s->file_bytes},
        {"format_version", s->format_version},
        {"generation", s->generation},
        {"writer_version", s->writer_version},
        {"created_utc", s->created_utc},
        {"checksum", fmt::format("{:016x}", s->checksum)},
        {"files", s->files},
        {"objects", s->objects},
        {"schemas", s->schemas},
        {"schema_columns", s->schema_columns},
        {"clusters", s->clusters},
        {"by_format", s->by_format},
        {"failures_by_kind", s->failures_by_kind},
    };
    out << j.dump(2) << '\n';
  } else {
    out << cache::format_summary(*s);
  }
  return 0;
}

int run_cache_verify(const std::string& path, std::ostream& out, std::ostream& err) {
  auto s = cache::verify(path);
  if (!s.ok()) {
    err << "mpiprep cache verify: " << path << ": INVALID: " << s.error().to_string() << '\n';
    return 1;
  }
  out << path << ": OK\n";
  return 0;
}

}  // namespace mpiprep::cli
