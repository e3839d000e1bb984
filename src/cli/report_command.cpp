#include "mpiprep/cli/report_command.hpp"

#include <filesystem>
#include <set>

#include <fmt/format.h>

#include "mpiprep/output/coffea.hpp"
#include "mpiprep/report/report.hpp"
#include "mpiprep/report/svg.hpp"

namespace mpiprep::cli {
namespace {

// Writes DIR/<prefix>timeline.svg and DIR/<prefix>histogram.svg; false (named on err) on failure.
bool write_figures(const report::LoadedReport& r, const std::string& dir, const std::string& prefix,
                   std::ostream& out, std::ostream& err) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    err << fmt::format("mpiprep report: cannot create {}: {}\n", dir, ec.message());
    return false;
  }
  const std::filesystem::path base(dir);
  const std::pair<std::string, std::string> figures[] = {
      {(base / (prefix + "timeline.svg")).string(), report::render_timeline_svg(r.info, r.timings)},
      {(base / (prefix + "histogram.svg")).string(), report::render_histogram_svg(r.info, r.timings)}};
  for (const auto& [path, svg] : figures) {
    if (auto s = output::write_file_atomic(path, svg); !s.ok()) {
      err << "mpiprep report: " << s.error().to_string() << '\n';
      return false;
    }
    out << "wrote " << path << '\n';
  }
  return true;
}

}  // namespace

int run_report(const std::vector<std::string>& reports, const std::string& svg_dir,
               std::ostream& out, std::ostream& err) {
  std::vector<report::LoadedReport> runs;
  bool skipped = false;
  for (const auto& path : reports) {
    auto r = report::load_json_file(path);
    if (!r) {
      err << "mpiprep report: " << r.error().message << " (left out)\n";
      skipped = true;
      continue;
    }
    runs.push_back(std::move(r).value());
  }
  if (runs.empty()) {
    err << "mpiprep report: no readable report\n";
    return 2;
  }
  if (runs.size() == 1) {
    out << report::render_text(runs[0].info, runs[0].counts, runs[0].timings);
  } else {
    out << report::render_comparison(runs) << '\n' << report::render_history(runs);
  }
  if (!svg_dir.empty()) {
    std::set<std::string> used;
    for (std::size_t i = 0; i < runs.size(); ++i) {
      std::string prefix;
      if (runs.size() > 1) {
        // <stem>-timeline.svg, made unique when two reports share a file name (report.json in
        // different directories).
        std::string stem = std::filesystem::path(runs[i].source).stem().string();
        if (!used.insert(stem).second) stem += fmt::format("-{}", i + 1);
        used.insert(stem);
        prefix = stem + "-";
      }
      if (!write_figures(runs[i], svg_dir, prefix, out, err)) return 2;
    }
  }
  return skipped ? 1 : 0;
}

}  // namespace mpiprep::cli
