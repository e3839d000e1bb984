#include "mpiprep/output/steps.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "mpiprep/core/result.hpp"

namespace mpiprep::output {
namespace {

std::int64_t target_size(std::int64_t num_entries, std::optional<std::int64_t> step_size) {
  if (!step_size) return num_entries;
  if (*step_size < 1) {
    throw FatalError("step size must be at least 1, got " + std::to_string(*step_size));
  }
  return *step_size;
}

}  // namespace

std::int64_t python_round(double x) noexcept {
  // Independent of the FPU rounding mode: x - floor(x) is exact for every double.
  double fl = std::floor(x);
  double diff = x - fl;
  if (diff > 0.5) return static_cast<std::int64_t>(fl) + 1;
  if (diff < 0.5) return static_cast<std::int64_t>(fl);
  auto lo = static_cast<std::int64_t>(fl);
  return lo % 2 == 0 ? lo : lo + 1;
}

std::vector<Step> compute_steps(std::int64_t num_entries, std::optional<std::int64_t> step_size) {
  if (num_entries <= 0) return {Step{0, 0}};
  std::int64_t target = target_size(num_entries, step_size);
  // Python: num_entries / target and num_entries / n are float divisions (exact here for
  // N < 2^53, the same double Python computes).
  std::int64_t n = std::max<std::int64_t>(
      python_round(static_cast<double>(num_entries) / static_cast<double>(target)), 1);
  auto size = static_cast<std::int64_t>(
      std::ceil(static_cast<double>(num_entries) / static_cast<double>(n)));
  std::vector<Step> steps;
  steps.reserve(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i)
    steps.push_back(Step{i * size, std::min((i + 1) * size, num_entries)});
  return steps;
}

AlignedSteps compute_aligned_steps(std::int64_t num_entries,
                                   std::span<const std::int64_t> clusters,
                                   std::optional<std::int64_t> step_size, double safety_factor) {
  AlignedSteps out;
  if (num_entries <= 0) {
    out.steps.push_back(Step{0, 0});
    return out;
  }
  std::int64_t target = target_size(num_entries, step_size);
  const std::int64_t whole[] = {0, num_entries};
  if (clusters.empty()) clusters = whole;

  std::vector<std::int64_t> bounds{0};
  for (std::int64_t c : clusters)
    if (c >= bounds.back() + target) bounds.push_back(c);
  if (clusters.back() != bounds.back()) bounds.push_back(clusters.back());

  const double limit = (1.0 + safety_factor) * static_cast<double>(target);
  for (std::size_t i = 0; i + 1 < bounds.size(); ++i) {
    Step s{bounds[i], bounds[i + 1]};
    out.steps.push_back(s);
    if (static_cast<double>(s[1] - s[0]) > limit) out.oversized.push_back(s);
  }
  if (out.steps.empty()) out.steps.push_back(Step{0, 0});
  return out;
}

std::string oversized_steps_warning(std::string_view file, std::span<const Step> oversized,
                                    double safety_factor, std::int64_t target) {
  std::string list = "[";
  for (std::size_t i = 0; i < oversized.size(); ++i) {
    if (i > 0) list += ", ";
    list += fmt::format("[{}, {}]", oversized[i][0], oversized[i][1]);
  }
  list += "]";
  return fmt::format(
      "In file {}, steps: {} with align_clusters=True are {:.0f}% larger than target step size: "
      "{}!",
      file, list, safety_factor * 100.0, target);
}

}  // namespace mpiprep::output
