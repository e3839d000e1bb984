#include "mpiprep/schedule/cost_model.hpp"

#include <algorithm>
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

}  // namespace mpiprep::schedule
