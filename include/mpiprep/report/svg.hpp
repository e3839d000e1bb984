// The report's figures as plain SVG 1.1 (no scripts, no external resources: readable in any
// browser and from a batch node): a per-rank timeline of the extracted files (Gantt) and a
// histogram of per-file extraction times on a log scale. Tooltips are <title> elements.
#pragma once

#include <string>
#include <string_view>

#include "mpiprep/core/meta.hpp"
#include "mpiprep/report/report.hpp"

namespace mpiprep::report {

// One row per rank (a <g class="rank" id="rank-N">), one <rect class="bar"> per file that has
// a start and end, x proportional to its start and width to its duration on a shared axis in
// seconds since the run start; coloured by format, failures outlined in red with a marker.
[[nodiscard]] std::string render_timeline_svg(const RunInfo& info, const RunTimings& t);

// Per-file extraction time histogram: 5 bins per decade, bars stacked by format
// (<rect class="hbar">, whose <title> starts with the number of files).
[[nodiscard]] std::string render_histogram_svg(const RunInfo& info, const RunTimings& t);

// Text for XML character data and attribute values: &, <, >, " and ' escaped, control
// characters XML 1.0 forbids and invalid UTF-8 bytes replaced by U+FFFD.
[[nodiscard]] std::string xml_escape(std::string_view s);

// Fill colour of a format in both figures ("#1f77b4" for root, ...).
[[nodiscard]] std::string_view format_colour(FileFormat f) noexcept;

}  // namespace mpiprep::report
