// `mpiprep report REPORT.json [MORE.json ...] [--svg DIR]`: re-renders one run's timing report
// (text, and the figures into DIR), or compares several runs side by side with a history table
// sorted by start time. Local: no MPI.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace mpiprep::cli {

// 0 when every report was read (and every figure written), 1 when some reports could not be
// read (they are named on `err` and left out), 2 when none could, or a figure not be written.
int run_report(const std::vector<std::string>& reports, const std::string& svg_dir,
               std::ostream& out, std::ostream& err);

}  // namespace mpiprep::cli
