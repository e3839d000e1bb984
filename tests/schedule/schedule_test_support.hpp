// Shared by the scheduler's unit tests: the scheduler run on in-process ranks (threads) and
// the results an extraction that always succeeds would return.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "mpiprep/comm/communicator.hpp"
#include "mpiprep/schedule/schedule.hpp"

namespace mpiprep::schedule::testing {

// Items are named "/t/<i>"; this parses i back.
inline std::size_t index_of(const WorkItem& w) { return std::stoul(w.path.substr(3)); }

// What a successful extraction of `w` returns.
inline FileMeta ok_meta(const WorkItem& w) {
  FileMeta m;
  m.path = w.path;
  m.size = w.size;
  m.mtime_ns = w.mtime_ns;
  m.format = w.hint;
  m.uuid = "uuid-" + w.path;
  m.bytes_read = 100;
  return m;
}

// Runs run_schedule on `ranks` threads; returns rank 0's results and stats. The other ranks
// must return nothing and report only themselves.
inline std::vector<FileMeta> run(int ranks, const std::vector<WorkItem>& items,
                                 const ExtractFn& fn, const ScheduleOptions& opt,
                                 ScheduleStats* stats = nullptr) {
  std::vector<FileMeta> out;
  comm::run_in_threads(ranks, [&](comm::Communicator& comm) {
    ScheduleStats local;
    const std::vector<WorkItem> none;
    auto r = run_schedule(comm, comm.rank() == 0 ? items : none, fn, opt, &local);
    if (comm.rank() == 0) {
      out = std::move(r);
      if (stats != nullptr) *stats = std::move(local);
    } else {
      EXPECT_TRUE(r.empty());
      EXPECT_EQ(local.ranks.size(), 1u);
    }
  });
  return out;
}

}  // namespace mpiprep::schedule::testing
