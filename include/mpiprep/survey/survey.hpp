// Distributed stat: the survey phase. Rank 0 holds the input paths; every rank stats a share
// through io::FileSystem (on a parallel filesystem, metadata-server round trips dominate, so
// spreading them over ranks and threads is the point), and rank 0 gets one entry per input
// path, in input order. A failed stat is a value (ok = false, error), never an exception.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "mpiprep/comm/communicator.hpp"
#include "mpiprep/core/result.hpp"
#include "mpiprep/io/file_system.hpp"

namespace mpiprep::survey {

struct SurveyEntry {
  std::string path;
  bool ok = false;
  io::FileStat stat;                  // valid when ok
  Error error{ErrorKind::kNone, ""};  // set when !ok (kMissing, kPermission, kIo, ...)
};

struct SurveyOptions {
  // Contiguous shares (default) keep a directory's files on one rank, so the client's
  // directory-entry cache serves them; strided shares spread a slow directory over all ranks.
  bool strided = false;
  // Threads per rank issuing stats concurrently (latency-bound on Lustre/GPFS). The
  // FileSystem must be thread-safe (all of io's are).
  int threads = 1;
};

struct SurveyStats {
  // Rank 0 only, one entry per rank.
  std::vector<double> seconds;         // wall time of each rank's stat loop
  std::vector<std::int64_t> stats;     // paths statted by each rank
  std::vector<std::int64_t> failures;  // of which failed
};

// Local, pure. Indices of `n` items that `rank` of `size` handles: a contiguous block
// (sizes differ by at most one, lower ranks take the extra) or every size-th from `rank`.
std::vector<std::size_t> share_of(std::size_t n, int rank, int size, bool strided);

// Collective. `paths` is read on rank 0 only (others pass anything, typically {}). Returns, on
// rank 0, one entry per path in input order; on other ranks an empty vector. Every path is
// statted exactly once in total. Throws FatalError if a message between ranks is corrupt
// (infrastructure failure: the caller aborts the communicator).
[[nodiscard]] std::vector<SurveyEntry> survey(comm::Communicator& comm,
                                              const std::vector<std::string>& paths,
                                              io::FileSystem& fs, const SurveyOptions& options = {},
                                              SurveyStats* stats = nullptr);

}  // namespace mpiprep::survey
