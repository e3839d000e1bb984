// MPI implementation of Communicator. Construct after MPI_Init (only cli/main.cpp calls it);
// the communicator is duplicated, so library traffic never collides with anyone else's.
#pragma once

#include <memory>

#include "mpiprep/comm/communicator.hpp"

namespace mpiprep::comm {

// Wraps a duplicate of MPI_COMM_WORLD.
std::unique_ptr<Communicator> make_mpi_world_communicator();

// RAII owner of MPI_Init_thread/MPI_Finalize (for main and MPI test mains).
class MpiSession {
 public:
  MpiSession(int* argc, char*** argv);
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
};

}  // namespace mpiprep::comm
