#include "mpiprep/schedule/cost_model.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace mpiprep::schedule {

double CostModel::predict(const WorkItem& item) const {
  const double mib = static_cast<double>(std::max<std::int64_t>(item.size, 0)) / (1024.0 * 1024.0);
  switch (item.hint) {
    case FileFormat::kRoot:
      return root_base_s + root_per_mib_s * mib;
    case FileFormat::kHdf5:
      return hdf5_base_s + hdf5_per_mib_s * mib;
    default:
      return other_base_s + other_per_mib_s * mib;
  }
}

std::vector<std::size_t> largest_first(const std::vector<WorkItem>& items,
                                       const Predictor& predict) {
  std::vector<double> cost(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    cost[i] = predict(items[i]);
    // A NaN would break the sort's strict weak ordering; negative costs mean nothing.
    if (!(cost[i] > 0.0)) cost[i] = 0.0;
  }
  std::vector<std::size_t> order(items.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return cost[a] > cost[b]; });
  return order;
}

double LinearFit::at(std::int64_t size) const {
  return latency_s + per_byte_s * static_cast<double>(std::max<std::int64_t>(size, 0));
}

LinearFit fit_linear(std::span<const HistoryRow> rows) {
  // Centered sums: sizes span decades, raw sums of squares would lose precision.
  double n = 0, mx = 0, my = 0;
  for (const auto& r : rows) {
    if (!(r.seconds > 0) || !std::isfinite(r.seconds)) continue;
    n += 1;
    mx += (static_cast<double>(r.size) - mx) / n;
    my += (r.seconds - my) / n;
  }
  LinearFit f;
  if (n == 0) return f;
  f.rows = static_cast<std::size_t>(n);
  double sxx = 0, sxy = 0, x2 = 0, xy = 0;
  for (const auto& r : rows) {
    if (!(r.seconds > 0) || !std::isfinite(r.seconds)) continue;
    const double x = static_cast<double>(std::max<std::int64_t>(r.size, 0));
    sxx += (x - mx) * (x - mx);
    sxy += (x - mx) * (r.seconds - my);
    x2 += x * x;
    xy += x * r.seconds;
  }
  double b = sxx > 0 ? sxy / sxx : 0.0;
  double a = my - b * mx;
  if (b <= 0) {  // time does not grow with size here: a flat cost
    b = 0;
    a = my;
  } else if (a < 0) {  // through the origin instead
    a = 0;
    b = x2 > 0 ? xy / x2 : 0.0;
  }
  f.latency_s = a;
  f.per_byte_s = b;
  return f;
}

void HistoryModel::fit(std::span<const HistoryRow> rows) {
  std::unordered_map<int, std::vector<HistoryRow>> by_format;
  for (const auto& r : rows) by_format[static_cast<int>(r.format)].push_back(r);
  fits_.clear();
  for (const auto& [format, list] : by_format) {
    LinearFit f = fit_linear(list);
    if (f.rows >= std::max<std::size_t>(1, min_rows_)) fits_[format] = f;
  }
}

void HistoryModel::add_file(const std::string& path, std::int64_t size, double seconds) {
  if (seconds > 0 && std::isfinite(seconds)) files_[path] = Past{size, seconds};
}

const LinearFit* HistoryModel::fit_for(FileFormat f) const {
  auto it = fits_.find(static_cast<int>(f));
  return it == fits_.end() ? nullptr : &it->second;
}

double HistoryModel::predict(const WorkItem& item) const {
  const LinearFit* fit = fit_for(item.hint);
  if (auto it = files_.find(item.path); it != files_.end()) {
    const Past& p = it->second;
    if (fit != nullptr) {
      const double then = fit->at(p.size);
      if (then > 0) return p.seconds * fit->at(item.size) / then;
    }
    return p.seconds;
  }
  if (fit != nullptr) return fit->at(item.size);
  return fallback_.predict(item);
}

std::string HistoryModel::describe() const {
  std::vector<int> formats;
  for (const auto& [f, fit] : fits_) formats.push_back(f);
  std::sort(formats.begin(), formats.end());
  std::string out;
  for (int f : formats) {
    const LinearFit& fit = fits_.at(f);
    if (!out.empty()) out += "; ";
    out += fmt::format("{}: {:.2f} ms + {:.2f} ms/MiB ({} rows)",
                       format_name(static_cast<FileFormat>(f)), fit.latency_s * 1e3,
                       fit.per_byte_s * 1048576.0 * 1e3, fit.rows);
  }
  return out.empty() ? "no format with enough history (static cost model)" : out;
}

}  // namespace mpiprep::schedule
