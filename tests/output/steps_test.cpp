// Steps against coffea's own algorithm: hand-derived cases, and thousands of generated cases
// checked against the get_steps arithmetic run by the Python interpreter itself (Python's
// round() and math.ceil, not a C++ re-implementation).
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include "mpiprep/core/result.hpp"
#include "mpiprep/output/steps.hpp"

namespace mpiprep::output {
namespace {

using Steps = std::vector<Step>;

TEST(PythonRound, HalfToEven) {
  EXPECT_EQ(python_round(0.5), 0);
  EXPECT_EQ(python_round(1.5), 2);
  EXPECT_EQ(python_round(2.5), 2);
  EXPECT_EQ(python_round(3.5), 4);
  EXPECT_EQ(python_round(2.4999999), 2);
  EXPECT_EQ(python_round(2.5000001), 3);
  EXPECT_EQ(python_round(7.0), 7);
  EXPECT_EQ(python_round(0.0), 0);
}

TEST(Steps, HandDerivedCases) {
  // N=0: a single empty step, whatever the step size.
  EXPECT_EQ(compute_steps(0, 100), (Steps{{0, 0}}));
  EXPECT_EQ(compute_steps(0, std::nullopt), (Steps{{0, 0}}));
  // No step size: one step covering the file.
  EXPECT_EQ(compute_steps(2421, std::nullopt), (Steps{{0, 2421}}));
  // 2421 / 1000 = 2.421 -> 2 steps of ceil(1210.5) = 1211.
  EXPECT_EQ(compute_steps(2421, 1000), (Steps{{0, 1211}, {1211, 2421}}));
  // Fewer entries than a step: one step.
  EXPECT_EQ(compute_steps(40, 100000), (Steps{{0, 40}}));
  // 25 / 10 = 2.5 rounds to 2 (banker's), not 3: steps of 13.
  EXPECT_EQ(compute_steps(25, 10), (Steps{{0, 13}, {13, 25}}));
  // 35 / 10 = 3.5 rounds to 4: steps of 9.
  EXPECT_EQ(compute_steps(35, 10), (Steps{{0, 9}, {9, 18}, {18, 27}, {27, 35}}));
  // 100 / 7 = 14.29 -> 14 steps of ceil(7.14) = 8: coffea overshoots and emits an inverted
  // last step [104, 100]; reproduced on purpose.
  auto s = compute_steps(100, 7);
  ASSERT_EQ(s.size(), 14u);
  EXPECT_EQ(s[11], (Step{88, 96}));
  EXPECT_EQ(s[12], (Step{96, 100}));
  EXPECT_EQ(s[13], (Step{104, 100}));
}

TEST(Steps, BadStepSizeIsFatal) {
  EXPECT_THROW((void)compute_steps(10, 0), FatalError);
  EXPECT_THROW((void)compute_aligned_steps(10, {}, -3), FatalError);
}

TEST(AlignedSteps, HandDerivedCases) {
  const std::vector<std::int64_t> clusters = {0, 30, 60, 90, 100};
  // Target 50: cut at the first offset >= 0 + 50 (60), then >= 110: none, close with 100.
  auto a = compute_aligned_steps(100, clusters, 50);
  EXPECT_EQ(a.steps, (Steps{{0, 60}, {60, 100}}));
  EXPECT_TRUE(a.oversized.empty());
  // Target 20: every cluster is a cut.
  EXPECT_EQ(compute_aligned_steps(100, clusters, 20).steps,
            (Steps{{0, 30}, {30, 60}, {60, 90}, {90, 100}}));
  // Target 10 with 30-entry clusters: 30 > 1.5 * 10, flagged.
  auto big = compute_aligned_steps(100, clusters, 10);
  EXPECT_EQ(big.oversized, (Steps{{0, 30}, {30, 60}, {60, 90}}));
  auto msg = oversized_steps_warning("/d/f.root", big.oversized, 0.5, 10);
  EXPECT_EQ(msg,
            "In file /d/f.root, steps: [[0, 30], [30, 60], [60, 90]] with align_clusters=True "
            "are 50% larger than target step size: 10!");
  // No step size: target = N, a single step.
  EXPECT_EQ(compute_aligned_steps(100, clusters, std::nullopt).steps, (Steps{{0, 100}}));
  // N = 0 and missing cluster information.
  EXPECT_EQ(compute_aligned_steps(0, {}, 10).steps, (Steps{{0, 0}}));
  auto whole = compute_aligned_steps(100, {}, 30);
  EXPECT_EQ(whole.steps, (Steps{{0, 100}}));
  EXPECT_EQ(whole.oversized, (Steps{{0, 100}}));
}

// coffea's get_steps arithmetic, verbatim in structure, run by python3.
constexpr const char* kCoffeaOracle = R"PY(
import json, math, sys
out = []
for c in json.load(sys.stdin):
    num_entries, step_size = c["n"], c["step"]
    target_step_size = num_entries if step_size is None else step_size
    if num_entries == 0:
        out.append({"steps": [[0, 0]], "oversized": []})
        continue
    clusters = c.get("clusters")
    oversized = []
    if clusters is not None:
        o = [0]
        for cl in clusters:
            if cl >= o[-1] + target_step_size:
                o.append(cl)
        if clusters[-1] != o[-1]:
            o.append(clusters[-1])
        steps = [[o[i], o[i + 1]] for i in range(len(o) - 1)]
        oversized = [s for s in steps if s[1] - s[0] > (1 + 0.5) * target_step_size]
    else:
        n_steps_target = max(round(num_entries / target_step_size), 1)
        actual_step_size = math.ceil(num_entries / n_steps_target)
        steps = [[i * actual_step_size, min((i + 1) * actual_step_size, num_entries)]
                 for i in range(n_steps_target)]
    if len(steps) == 0:
        steps = [[0, 0]]
    out.append({"steps": steps, "oversized": oversized})
sys.stdout.write(json.dumps(out))
)PY";

nlohmann::json run_python(const nlohmann::json& cases) {
  auto dir = std::filesystem::temp_directory_path() /
             ("mpiprep-steps-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "oracle.py") << kCoffeaOracle;
  std::ofstream(dir / "cases.json") << cases.dump();
  std::string cmd = "python3 " + (dir / "oracle.py").string() + " < " +
                    (dir / "cases.json").string() + " > " + (dir / "out.json").string();
  int rc = std::system(cmd.c_str());
  std::ifstream in(dir / "out.json");
  std::stringstream text;
  text << in.rdbuf();
  std::filesystem::remove_all(dir);
  if (rc != 0) throw std::runtime_error("python3 oracle failed: " + cmd);
  return nlohmann::json::parse(text.str());
}

Steps as_steps(const nlohmann::json& j) {
  Steps s;
  for (const auto& p : j) s.push_back(Step{p[0].get<std::int64_t>(), p[1].get<std::int64_t>()});
  return s;
}

TEST(Steps, MatchCoffeaOnGeneratedCases) {
  nlohmann::json cases = nlohmann::json::array();
  for (std::int64_t n = 0; n <= 260; ++n) {
    cases.push_back({{"n", n}, {"step", nullptr}});
    for (std::int64_t step = 1; step <= 45; ++step) cases.push_back({{"n", n}, {"step", step}});
  }
  std::mt19937_64 rng(12345);
  for (int i = 0; i < 1500; ++i) {
    auto n = static_cast<std::int64_t>(rng() % 50'000'000);
    // At most a few thousand steps per case, so the oracle stays fast.
    auto step = std::max<std::int64_t>(static_cast<std::int64_t>(1 + rng() % 2'000'000),
                                       n / 400 + 1);
    cases.push_back({{"n", n}, {"step", step}});
    // Exact halves, where banker's rounding differs from rounding half up.
    auto k = static_cast<std::int64_t>(rng() % 400);
    auto t = static_cast<std::int64_t>(2 * (1 + rng() % 50'000));
    cases.push_back({{"n", k * t + t / 2}, {"step", t}});
  }
  nlohmann::json expected = run_python(cases);
  ASSERT_EQ(expected.size(), cases.size());
  std::size_t halves_with_even_rounding = 0;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    auto n = cases[i]["n"].get<std::int64_t>();
    std::optional<std::int64_t> step;
    if (!cases[i]["step"].is_null()) step = cases[i]["step"].get<std::int64_t>();
    ASSERT_EQ(compute_steps(n, step), as_steps(expected[i]["steps"]))
        << "N=" << n << " step=" << (step ? std::to_string(*step) : "None");
    if (step && n % *step == *step / 2 && *step % 2 == 0 && (n / *step) % 2 == 0)
      ++halves_with_even_rounding;
  }
  EXPECT_GT(halves_with_even_rounding, 100u);  // the banker's cases were really exercised
}

TEST(AlignedSteps, MatchCoffeaOnGeneratedCases) {
  std::mt19937_64 rng(777);
  nlohmann::json cases = nlohmann::json::array();
  std::vector<std::vector<std::int64_t>> all_clusters;
  for (int i = 0; i < 2000; ++i) {
    auto n = static_cast<std::int64_t>(1 + rng() % 100'000);
    std::vector<std::int64_t> clusters{0};
    while (clusters.back() < n) {
      auto len = static_cast<std::int64_t>(1 + rng() % static_cast<std::uint64_t>(1 + n / 5));
      clusters.push_back(std::min(n, clusters.back() + len));
    }
    nlohmann::json c = {{"n", n}, {"clusters", clusters}};
    if (i % 10 == 0) {
      c["step"] = nullptr;
    } else {
      c["step"] = static_cast<std::int64_t>(1 + rng() % static_cast<std::uint64_t>(n));
    }
    cases.push_back(c);
    all_clusters.push_back(std::move(clusters));
  }
  nlohmann::json expected = run_python(cases);
  ASSERT_EQ(expected.size(), cases.size());
  std::size_t with_oversized = 0;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    auto n = cases[i]["n"].get<std::int64_t>();
    std::optional<std::int64_t> step;
    if (!cases[i]["step"].is_null()) step = cases[i]["step"].get<std::int64_t>();
    auto got = compute_aligned_steps(n, all_clusters[i], step);
    ASSERT_EQ(got.steps, as_steps(expected[i]["steps"])) << "case " << i;
    ASSERT_EQ(got.oversized, as_steps(expected[i]["oversized"])) << "case " << i;
    if (!got.oversized.empty()) ++with_oversized;
  }
  EXPECT_GT(with_oversized, 10u);
}

}  // namespace
}  // namespace mpiprep::output
