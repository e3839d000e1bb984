// What the scheduler schedules (WorkItem) and how it guesses what each item costs. The
// prediction only has to order files well (largest first) and size batches; it is not a
// performance model.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "mpiprep/core/meta.hpp"

namespace mpiprep::schedule {

struct WorkItem {
  std::string path;
  std::int64_t size = 0;  // bytes, from the survey
  std::int64_t mtime_ns = 0;
  FileFormat hint = FileFormat::kUnknown;  // from the extension or the cache; may be wrong
};

// Predicted seconds = base[format] + per_mib[format] * size / MiB.
//   base: the dependent reads every file needs (open, header, key list or superblock and root
//   group): 3-5 round trips, a few ms on a parallel filesystem.
//   per_mib: metadata grows with the file. ROOT: the TTree record lists every basket of every
//   branch and must be inflated (nano_dy.root: 855 KB inflated in ~3 ms); a 2 GiB NanoAOD file
//   costs ~20 ms more than a tiny one. HDF5: object headers are small and chunk indexes are not
//   read, so size barely matters.
//   Unknown formats are sniffed and rejected quickly.
// A caller with history (the previous extract_seconds from the cache) can pass its own
// predictor to run_schedule instead (ScheduleOptions::predict).
struct CostModel {
  double root_base_s = 4e-3;
  double root_per_mib_s = 1e-5;
  double hdf5_base_s = 3e-3;
  double hdf5_per_mib_s = 2e-6;
  double other_base_s = 1e-3;
  double other_per_mib_s = 0.0;

  [[nodiscard]] double predict(const WorkItem& item) const;
};

using Predictor = std::function<double(const WorkItem&)>;

// Local, pure. Indices of `items` by decreasing predicted cost; ties keep input order.
[[nodiscard]] std::vector<std::size_t> largest_first(const std::vector<WorkItem>& items,
                                                     const Predictor& predict);

}  // namespace mpiprep::schedule
