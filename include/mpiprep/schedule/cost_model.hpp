// What the scheduler schedules (WorkItem) and how it guesses what each item costs. The
// prediction only has to order files well (largest first) and size batches; it is not a
// performance model.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <unordered_map>
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

// One finished extraction of an earlier run (a cache row): what history learns from.
struct HistoryRow {
  FileFormat format = FileFormat::kUnknown;
  std::int64_t size = 0;  // file size then
  double seconds = 0.0;   // its extract_seconds
};

// seconds = latency_s + per_byte_s * size, fitted by least squares on one format's rows.
struct LinearFit {
  double latency_s = 0.0;
  double per_byte_s = 0.0;
  std::size_t rows = 0;
  [[nodiscard]] double at(std::int64_t size) const;
};

// Local, pure. Least-squares fit of seconds against size, constrained to non-negative
// coefficients (a negative slope becomes a flat mean, a negative intercept a line through the
// origin). Rows with seconds <= 0 or non-finite are ignored. rows = 0 when nothing is usable.
[[nodiscard]] LinearFit fit_linear(std::span<const HistoryRow> rows);

// The cost model refined by history (what run_scan passes as ScheduleOptions::predict):
//   - a file with its own earlier time (same path, changed size or mtime): that time, scaled
//     by the format's fit (fit(new size) / fit(old size)) when the format has one;
//   - a new file of a format with at least `min_rows` earlier rows: the format's fit;
//   - otherwise the static CostModel.
class HistoryModel {
 public:
  explicit HistoryModel(CostModel fallback = {}, std::size_t min_rows = 8)
      : fallback_(fallback), min_rows_(min_rows) {}
  // Fits one line per format over `rows` (successful extractions of earlier runs).
  void fit(std::span<const HistoryRow> rows);
  // The file at `path` took `seconds` at `size` bytes last time.
  void add_file(const std::string& path, std::int64_t size, double seconds);

  [[nodiscard]] double predict(const WorkItem& item) const;
  // The format's fit if it has enough rows, else nullptr.
  [[nodiscard]] const LinearFit* fit_for(FileFormat f) const;
  [[nodiscard]] std::size_t files_with_history() const { return files_.size(); }
  // One line for the log: per-format fits ("root: 3.1 ms + 12.0 ms/GiB (1,234 rows)").
  [[nodiscard]] std::string describe() const;

 private:
  CostModel fallback_;
  std::size_t min_rows_;
  std::unordered_map<int, LinearFit> fits_;  // by FileFormat
  struct Past {
    std::int64_t size;
    double seconds;
  };
  std::unordered_map<std::string, Past> files_;
};

// Local, pure. Indices of `items` by decreasing predicted cost; ties keep input order.
[[nodiscard]] std::vector<std::size_t> largest_first(const std::vector<WorkItem>& items,
                                                     const Predictor& predict);

}  // namespace mpiprep::schedule
