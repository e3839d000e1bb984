// Dynamic scheduler: rank 0 orders the files to extract by predicted cost (largest first) and
// hands them out on demand; every rank, rank 0 included, extracts. Workers pull, keep one
// request in flight so they never wait a round trip, and get small files in batches; all
// results come back to rank 0 (Boost.Serialization batches, see protocol.hpp).
//
// Threads. Each rank's main thread does all communication (MPI is initialized FUNNELED);
// `threads_per_rank` extraction threads run ExtractFn from a local queue. With
// threads_per_rank = 0 the main thread extracts itself, one file between two polls for
// messages (no timeout possible, and rank 0 answers requests only between files).
//
// Stragglers. Rank 0 feeds its own threads straight from the pool, one queued item per thread
// beyond the running one. Any rank whose every thread has been on one file for
// `requeue_after_s` gives its queued, unstarted items back to the pool for the others (a
// worker in its next request) and takes no more until a thread frees up; so at most one
// prefetched batch can wait behind a slow file, and only for requeue_after_s. With `timeout_s`, a
// watchdog on the main thread gives up on a file after that long: the file gets ErrorKind::kTimeout
// and a fresh thread replaces the stuck one.
//
// Abandoned threads (timeout) are detached, not killed: C++ cannot cancel a thread blocked in
// a read. Such a thread owns a copy of the ExtractFn and of the queue state it touches, so it
// never dereferences anything run_schedule owned; its late result is discarded. Whatever the
// ExtractFn itself refers to (a FileSystem, an Extractor) must therefore outlive the process
// or be owned by the function (shared_ptr captures). ScheduleStats counts them, so the caller
// can exit with std::quick_exit instead of running static destructors under a live thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "mpiprep/comm/communicator.hpp"
#include "mpiprep/core/meta.hpp"
#include "mpiprep/schedule/cost_model.hpp"

namespace mpiprep::journal {
class Writer;
}

namespace mpiprep::schedule {

// Extracts one file. Must not throw (an exception becomes a kInternal FileMeta), must be
// thread-safe when threads_per_rank > 1. Fields left empty are filled in: path, size and
// mtime_ns from the item when path is empty, extract_seconds when 0, rank always.
using ExtractFn = std::function<FileMeta(const WorkItem&)>;

// Rank 0's view of the run at one turn of its dispatch loop (ScheduleOptions::on_progress).
struct DispatchProgress {
  std::size_t total = 0;        // items
  std::size_t done = 0;         // with a result (any rank), failed ones included
  std::size_t failed = 0;       // of `done`, results that are not ok()
  std::size_t not_started = 0;  // dropped by a stop request (ScheduleStats::not_run so far)
};

struct ScheduleOptions {
  int threads_per_rank = 1;  // extraction threads per rank; 0 = on the main thread
  double timeout_s = 0.0;    // per file; 0 = none (needs threads_per_rank >= 1)
  // Abandoned threads are bounded: once a rank has abandoned this many, it stops starting
  // extractions (the filesystem is most likely hung): every file it is handed afterwards is
  // recorded as kTimeout without being opened, so the run ends instead of piling up stuck
  // threads. At most max_abandoned_threads + threads_per_rank threads are ever abandoned.
  int max_abandoned_threads = 16;

  // Benchmark baseline, not for production: rank r extracts exactly the r-th contiguous slice
  // of `items` (input order, sizes differing by at most one item), as a naive script would.
  // Same messages and results as the dynamic schedule; no cost ordering, no sharing.
  bool static_split = false;

  CostModel cost_model;
  Predictor predict;  // overrides cost_model when set (e.g. from cache history)

  // Batching: a worker's batch collects items, largest first, until their predicted cost
  // reaches batch_cost_s per wanted item (at most max_batch_items). Near the end batches
  // shrink (guided self-scheduling: at most half a fair share of what is left), so the last
  // files spread over all ranks.
  double batch_cost_s = 0.05;
  std::size_t max_batch_items = 64;

  // A worker sends results without needing work when this many are waiting or the oldest has
  // waited this long (rank 0 learns progress, memory stays bounded).
  std::size_t results_per_message = 256;
  double result_flush_s = 0.5;

  double requeue_after_s = 0.25;  // 0 = never give queued items back
  double poll_interval_s = 2e-4;  // main-thread message polling while waiting on a reply

  // Optional sinks, called on the main thread of the rank that extracted the file, before the
  // result leaves the rank. Each rank passes its own journal writer.
  journal::Writer* journal = nullptr;
  std::function<void(const FileMeta&)> on_result;

  // Graceful stop (each rank its own flag, normally stop::flag()). Once rank 0 sees it set it
  // hands out nothing more: items still in its pool are not run (ScheduleStats::not_run).
  // A worker that sees it gives its queued, unstarted items back and asks for no more. Files
  // already running finish (or time out); run_schedule returns when every handed-out item has
  // a result.
  const std::atomic<bool>* stop = nullptr;
  // Like on_result, with when the file's extraction started and ended on this rank's steady
  // clock (the per-file timeline of the report).
  std::function<void(const FileMeta&, std::chrono::steady_clock::time_point start,
                     std::chrono::steady_clock::time_point end)>
      on_result_span;
  // Rank 0 only: called on the main thread at every turn of the dispatch loop, after requests
  // were answered, with where the run stands (the last call has the final counts). Must be
  // cheap: it sits between two polls for requests.
  std::function<void(const DispatchProgress&)> on_progress;
};

struct RankStats {
  int rank = 0;
  int threads = 0;
  double wall_s = 0;        // run_schedule from start to the final gather
  double busy_s = 0;        // thread-seconds inside ExtractFn
  double idle_s = 0;        // thread-seconds waiting for work (includes the tail at the end)
  std::int64_t files = 0;   // results produced by this rank
  std::int64_t failed = 0;  // of which !ok()
  std::int64_t timeouts = 0;
  std::int64_t bytes = 0;       // sum of WorkItem::size of those files
  std::int64_t bytes_read = 0;  // sum of FileMeta::bytes_read
  std::int64_t messages_sent = 0;
  std::int64_t messages_received = 0;
  std::int64_t bytes_sent = 0;
  std::int64_t bytes_received = 0;
  std::int64_t batches = 0;   // work batches received (rank 0: self-assignments)
  std::int64_t requeued = 0;  // items given back (worker) / taken back (rank 0)
  std::int64_t abandoned_threads = 0;
  std::string journal_error;  // first journal append failure, if any
};

struct ScheduleStats {
  std::vector<RankStats> ranks;  // rank 0: one per rank; other ranks: their own only
  // Rank 0 only.
  std::int64_t decode_errors = 0;           // undecodable messages or result batches
  std::vector<std::string> problems;        // what went wrong with messages, in order
  std::vector<std::size_t> dispatch_order;  // item indices in the order first handed out
  // Items never extracted because of a stop request (their results are empty FileMeta).
  std::vector<std::size_t> not_run;
  bool stopped = false;  // rank 0 saw the stop flag
};

// Collective. Extracts every item exactly once over all ranks of `comm`. `items` is read on
// rank 0 only. Returns, on rank 0, one FileMeta per item in input order (results[i] is
// items[i]'s, whoever extracted it); on other ranks an empty vector. Per-file failures are
// FileMeta with an error kind; a corrupt result message from a worker turns its files into
// kInternal errors naming the problem (counted in stats->decode_errors). Throws FatalError on
// a corrupt message from rank 0 (the caller aborts the communicator).
[[nodiscard]] std::vector<FileMeta> run_schedule(comm::Communicator& comm,
                                                 const std::vector<WorkItem>& items,
                                                 const ExtractFn& fn,
                                                 const ScheduleOptions& options = {},
                                                 ScheduleStats* stats = nullptr);

}  // namespace mpiprep::schedule
