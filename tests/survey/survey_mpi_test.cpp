// survey() over the real MPI communicator (mpiexec -n 1, 2, 4) on the test files: sizes match
// expected.json, input order is kept, missing files are values.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "mpiprep/comm/mpi_communicator.hpp"
#include "mpiprep/survey/survey.hpp"

namespace mpiprep::survey {
namespace {

TEST(SurveyMpi, TestFilesInInputOrder) {
  auto comm = comm::make_mpi_world_communicator();
  const std::string dir = MPIPREP_TEST_DATA_DIR;
  std::vector<std::string> paths;
  std::vector<std::int64_t> sizes;
  if (comm->rank() == 0) {
    std::ifstream in(dir + "/expected.json");
    const auto j = nlohmann::json::parse(in);
    // Twice, interleaved with missing paths, so every rank gets some of each.
    for (int round = 0; round < 2; ++round) {
      for (const auto& [name, f] : j.at("files").items()) {
        paths.push_back(dir + "/" + name);
        sizes.push_back(f.at("size").get<std::int64_t>());
        paths.push_back(dir + "/missing-" + std::to_string(round) + "-" + name);
        sizes.push_back(-1);
      }
    }
  }
  for (bool strided : {false, true}) {
    SurveyStats stats;
    auto out = survey(*comm, paths, io::default_file_system(), SurveyOptions{strided, 2}, &stats);
    if (comm->rank() != 0) {
      EXPECT_TRUE(out.empty());
      continue;
    }
    ASSERT_EQ(out.size(), paths.size());
    for (std::size_t i = 0; i < paths.size(); ++i) {
      EXPECT_EQ(out[i].path, paths[i]);
      if (sizes[i] < 0) {
        EXPECT_FALSE(out[i].ok);
        EXPECT_EQ(out[i].error.kind, ErrorKind::kMissing) << out[i].error.to_string();
      } else {
        ASSERT_TRUE(out[i].ok) << paths[i] << ": " << out[i].error.to_string();
        EXPECT_EQ(out[i].stat.size, sizes[i]) << paths[i];
        EXPECT_TRUE(out[i].stat.is_regular);
      }
    }
    ASSERT_EQ(stats.stats.size(), static_cast<std::size_t>(comm->size()));
    std::int64_t total = 0;
    for (auto n : stats.stats) total += n;
    EXPECT_EQ(total, static_cast<std::int64_t>(paths.size()));
  }
}

}  // namespace
}  // namespace mpiprep::survey
