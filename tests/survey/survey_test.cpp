#include "mpiprep/survey/survey.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

namespace mpiprep::survey {
namespace {

// Counts stats per path, so "each path statted exactly once in total" is checked per path,
// not just as a total.
class PerPathCountingFs final : public io::ForwardingFileSystem {
 public:
  explicit PerPathCountingFs(io::FileSystem& base) : io::ForwardingFileSystem(base) {}
  Result<io::FileStat> stat(const std::string& path) override {
    {
      std::lock_guard lock(mu_);
      ++counts_[path];
    }
    return base_.stat(path);
  }
  std::map<std::string, int> counts() {
    std::lock_guard lock(mu_);
    return counts_;
  }

 private:
  std::mutex mu_;
  std::map<std::string, int> counts_;
};

TEST(Survey, ShareOfCoversEveryIndexOnce) {
  for (std::size_t n : {0u, 1u, 5u, 7u, 64u, 1001u}) {
    for (int size : {1, 2, 3, 4, 7}) {
      for (bool strided : {false, true}) {
        std::vector<int> seen(n, 0);
        std::size_t max_share = 0, min_share = n;
        for (int r = 0; r < size; ++r) {
          auto idx = share_of(n, r, size, strided);
          max_share = std::max(max_share, idx.size());
          min_share = std::min(min_share, idx.size());
          for (std::size_t i : idx) ++seen[i];
          if (!strided) {
            for (std::size_t k = 1; k < idx.size(); ++k) EXPECT_EQ(idx[k], idx[k - 1] + 1);
          }
        }
        for (std::size_t i = 0; i < n; ++i) EXPECT_EQ(seen[i], 1) << n << " " << size;
        EXPECT_LE(max_share - min_share, 1u);
      }
    }
  }
}

struct Case {
  int ranks;
  bool strided;
  int threads;
};
void PrintTo(const Case& c, std::ostream* os) {
  *os << c.ranks << " ranks, " << (c.strided ? "strided" : "contiguous") << ", " << c.threads
      << " threads";
}

class SurveyRanks : public ::testing::TestWithParam<Case> {};

TEST_P(SurveyRanks, InputOrderExactlyOnceAndErrorsAsValues) {
  const Case c = GetParam();
  io::MemoryFileSystem mem;
  std::vector<std::string> paths;
  std::map<std::string, std::int64_t> size_of;
  for (int i = 0; i < 103; ++i) {
    const std::string p = "/data/d" + std::to_string(i % 5) + "/f" + std::to_string(i) + ".root";
    if (i % 10 == 3) {
      paths.push_back(p);  // never added: missing
      continue;
    }
    const std::size_t n = static_cast<std::size_t>(i * 37 % 1000);
    mem.add(p, std::vector<std::byte>(n), 1'000'000'000LL * i + 7);
    size_of[p] = static_cast<std::int64_t>(n);
    paths.push_back(p);
  }
  PerPathCountingFs counting(mem);
  SurveyOptions opt;
  opt.strided = c.strided;
  opt.threads = c.threads;
  std::vector<SurveyEntry> result;
  SurveyStats stats;
  comm::run_in_threads(c.ranks, [&](comm::Communicator& comm) {
    // Only rank 0's list counts: the others pass garbage to prove it is ignored.
    const std::vector<std::string> bogus = {"/not/used"};
    auto out = survey(comm, comm.rank() == 0 ? paths : bogus, counting, opt,
                      comm.rank() == 0 ? &stats : nullptr);
    if (comm.rank() == 0) {
      result = std::move(out);
    } else {
      EXPECT_TRUE(out.empty());
    }
  });
  ASSERT_EQ(result.size(), paths.size());
  for (std::size_t i = 0; i < paths.size(); ++i) {
    const SurveyEntry& e = result[i];
    EXPECT_EQ(e.path, paths[i]);
    auto it = size_of.find(paths[i]);
    if (it == size_of.end()) {
      EXPECT_FALSE(e.ok);
      EXPECT_EQ(e.error.kind, ErrorKind::kMissing);
    } else {
      ASSERT_TRUE(e.ok) << e.path << ": " << e.error.to_string();
      EXPECT_EQ(e.stat.size, it->second);
      EXPECT_TRUE(e.stat.is_regular);
      const std::int64_t i_file = std::stoll(paths[i].substr(paths[i].rfind("/f") + 2));
      EXPECT_EQ(e.stat.mtime_ns, 1'000'000'000LL * i_file + 7);
    }
  }
  const auto counts = counting.counts();
  EXPECT_EQ(counts.size(), paths.size());
  for (const auto& p : paths) EXPECT_EQ(counts.at(p), 1) << p;
  EXPECT_EQ(counts.count("/not/used"), 0u);
  ASSERT_EQ(stats.stats.size(), static_cast<std::size_t>(c.ranks));
  std::int64_t total = 0, failed = 0;
  for (int r = 0; r < c.ranks; ++r) {
    total += stats.stats[static_cast<std::size_t>(r)];
    failed += stats.failures[static_cast<std::size_t>(r)];
    EXPECT_GE(stats.stats[static_cast<std::size_t>(r)], 103 / c.ranks);
  }
  EXPECT_EQ(total, 103);
  EXPECT_EQ(failed, static_cast<std::int64_t>(paths.size() - size_of.size()));
}

INSTANTIATE_TEST_SUITE_P(Ranks, SurveyRanks,
                         ::testing::Values(Case{1, false, 1}, Case{2, false, 1}, Case{4, false, 1},
                                           Case{4, true, 1}, Case{2, false, 3}, Case{4, true, 4},
                                           Case{1, false, 8}));

TEST(Survey, EmptyListAndMoreRanksThanPaths) {
  io::MemoryFileSystem mem;
  mem.add("/a", std::vector<std::byte>(3));
  for (const std::vector<std::string>& paths :
       {std::vector<std::string>{}, std::vector<std::string>{"/a", "/b"}}) {
    std::vector<SurveyEntry> result;
    comm::run_in_threads(4, [&](comm::Communicator& comm) {
      auto out = survey(comm, paths, mem);
      if (comm.rank() == 0) result = std::move(out);
    });
    ASSERT_EQ(result.size(), paths.size());
    if (!paths.empty()) {
      EXPECT_TRUE(result[0].ok);
      EXPECT_EQ(result[0].stat.size, 3);
      EXPECT_FALSE(result[1].ok);
    }
  }
}

// Real files on disk, sizes checked against expected.json (independent oracle).
TEST(Survey, RealTestFilesMatchExpectedSizes) {
  const std::string dir = MPIPREP_TEST_DATA_DIR;
  std::ifstream in(dir + "/expected.json");
  const auto j = nlohmann::json::parse(in);
  std::vector<std::string> paths;
  std::vector<std::int64_t> sizes;
  for (const auto& [name, f] : j.at("files").items()) {
    paths.push_back(dir + "/" + name);
    sizes.push_back(f.at("size").get<std::int64_t>());
  }
  paths.push_back(dir + "/does-not-exist.root");
  std::vector<SurveyEntry> result;
  comm::run_in_threads(2, [&](comm::Communicator& comm) {
    auto out = survey(comm, paths, io::default_file_system(), SurveyOptions{true, 2});
    if (comm.rank() == 0) result = std::move(out);
  });
  ASSERT_EQ(result.size(), paths.size());
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    ASSERT_TRUE(result[i].ok) << paths[i];
    EXPECT_EQ(result[i].stat.size, sizes[i]) << paths[i];
    EXPECT_GT(result[i].stat.mtime_ns, 0);
  }
  EXPECT_FALSE(result.back().ok);
  EXPECT_EQ(result.back().error.kind, ErrorKind::kMissing);
}

}  // namespace
}  // namespace mpiprep::survey
