#include <gtest/gtest.h>
#include <cstdlib>
#include "cache_v1_fixture.hpp"
#include "mpiprep/comm/communicator.hpp"
namespace mpiprep::cache {
TEST(V1Fixture, Write) {
  const char* out = std::getenv("MPIPREP_WRITE_V1_FIXTURE");
  if (out == nullptr) GTEST_SKIP();
  std::remove(out);
  Cache c(&testing::test_versions);
  for (auto& m : testing::v1_fixture_metas()) c.put(m, testing::kV1Options);
  comm::SerialCommunicator comm;
  auto rep = commit(comm, c, out);
  EXPECT_EQ(rep.files, 16u);
}
}
