#include <gtest/gtest.h>
#include <mpi.h>

#include "mpiprep/comm/mpi_communicator.hpp"

int main(int argc, char** argv) {
  mpiprep::comm::MpiSession session(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  int local = RUN_ALL_TESTS();
  int global = 0;
  MPI_Allreduce(&local, &global, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (rank != 0 && local != 0) std::fprintf(stderr, "rank %d: tests failed\n", rank);
  return global;
}
