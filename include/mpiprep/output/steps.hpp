// Entry-range "steps" exactly as coffea's preprocessor computes them
// (coffea/dataset_tools/preprocess.py, get_steps), so a coffea user gets the same work units
// from mpiprep as from coffea, including coffea's edge cases (see compute_steps).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mpiprep::output {

using Step = std::array<std::int64_t, 2>;  // [start, stop)

struct StepOptions {
  // Target entries per step; nullopt = one step per file (coffea's step_size=None). Must be
  // >= 1 when set (the CLI validates it; compute_* throw FatalError otherwise).
  std::optional<std::int64_t> step_size;
  // Snap step boundaries to the object's common cluster boundaries (ObjectMeta::clusters).
  bool align_clusters = false;
  // coffea's step_size_safety_factor: with align_clusters, a step longer than
  // (1 + factor) * step_size produces a warning.
  double safety_factor = 0.5;
};

// Python's round() on a double: round half to even ("banker's rounding").
[[nodiscard]] std::int64_t python_round(double x) noexcept;

// coffea without align_clusters, for num_entries >= 0:
//   N == 0 -> [[0, 0]]
//   t = step_size or N;  n = max(round(N / t), 1);  size = ceil(N / n)   (float division)
//   steps = [[i*size, min((i+1)*size, N)] for i in range(n)]
// Reproduced as is: when n*size overshoots N by more than one size (e.g. N=100, t=7 -> n=14,
// size=8) coffea emits trailing empty or inverted steps ([96,100],[104,100]); so do we.
[[nodiscard]] std::vector<Step> compute_steps(std::int64_t num_entries,
                                              std::optional<std::int64_t> step_size);

struct AlignedSteps {
  std::vector<Step> steps;
  std::vector<Step> oversized;  // steps longer than (1 + safety_factor) * target
};

// coffea with align_clusters: walk the cluster offsets `clusters` (0 ... N), start a new step
// at the first offset >= previous boundary + target, and close with the last offset:
//   out = [0]; for c in clusters: if c >= out[-1] + t: out.append(c)
//   if clusters[-1] != out[-1]: out.append(clusters[-1])
// N == 0 gives [[0, 0]], as does an empty result. An empty `clusters` is treated as [0, N].
[[nodiscard]] AlignedSteps compute_aligned_steps(std::int64_t num_entries,
                                                 std::span<const std::int64_t> clusters,
                                                 std::optional<std::int64_t> step_size,
                                                 double safety_factor = 0.5);

// coffea's warning text for oversized aligned steps:
// "In file F, steps: [[a, b], ...] with align_clusters=True are 50% larger than target step
// size: T!"
[[nodiscard]] std::string oversized_steps_warning(std::string_view file,
                                                  std::span<const Step> oversized,
                                                  double safety_factor, std::int64_t target);

}  // namespace mpiprep::output
