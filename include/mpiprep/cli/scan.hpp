// `mpiprep scan`: the whole pipeline of DESIGN.md as one collective call, so the binary's main
// and the MPI end-to-end tests run exactly the same code: expand inputs (rank 0), survey
// (all ranks), classify against the cache (rank 0), extract the misses (all ranks, dynamic),
// journal, commit the cache (collective), write the coffea fileset and failures (rank 0), and
// gather the timing report.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mpiprep/comm/communicator.hpp"
#include "mpiprep/core/result.hpp"
#include "mpiprep/io/file_system.hpp"

namespace mpiprep::cli {

struct ScanOptions {
  std::vector<std::string> inputs;  // fileset JSON, @list files, directories, plain paths
  std::string dataset = "default";  // dataset for lists, directories and plain paths
  std::string glob;                 // file-name filter for directory walks
  std::string cache_path = ".mpiprep-cache.h5";
  bool use_cache = true;            // --no-cache: extract everything, write no cache
  bool serial_cache_io = false;     // --cache-io serial
  bool prune = false;               // drop cache rows of files that no longer exist
  std::string output_path;          // coffea preprocessed fileset; empty = none
  std::string failures_path;        // failures JSON; empty = <output>.failures.json or none
  std::string report_json_path;     // timing report JSON; empty = none
  std::string report_dir;           // --report DIR: report.json, timeline.svg, histogram.svg
  std::string progress = "auto";    // rank 0 on stderr: auto (bar on a terminal), bar, lines, none
  double progress_interval_s = 10.0;  // seconds between progress lines
  bool text_report = true;          // the timing table on stdout (rank 0)
  std::optional<std::int64_t> step_size = 100000;  // nullopt = one step per file
  bool align_clusters = false;
  int threads = 0;                  // threads per rank; 0 = auto (cores of the rank's cpuset)
  int io_depth = 1;                 // files in flight per thread: threads * io_depth extractions
  bool static_schedule = false;     // --schedule static: contiguous split (benchmark baseline)
  double timeout_s = 120.0;         // per-file extraction timeout; 0 = none
  double journal_interval_s = 10.0;  // --checkpoint-interval
  double lock_stale_after_s = 600.0;  // a commit lock older than this is broken
  double lock_wait_s = 120.0;         // how long a commit waits for a live lock holder
  std::string command;              // the command line, for the report
  // The process ends right after run_scan (main): leave the run's 10^5-entry structures
  // allocated instead of freeing them one by one (still reachable, so leak checkers stay
  // quiet). Set once per process at most.
  bool keep_memory_at_exit = false;
};

// What a scan did, on every rank (counts are global: reduced over ranks).
// Interrupted by a stop request (signal): finished files are committed, run again to finish.
inline constexpr int kExitInterrupted = 3;

struct ScanOutcome {
  int exit_code = 0;                // 0 ok, 1 some files failed, 2 fatal, 3 interrupted
  std::int64_t files = 0;           // after expansion and de-duplication
  std::int64_t hits = 0;
  std::int64_t misses = 0;
  std::int64_t failed = 0;          // files (and rejected entries) in the failures list
  std::int64_t replayed = 0;        // journal files of an earlier run replayed
  std::int64_t replayed_records = 0;  // FileMeta records taken from them (rank 0)
  std::int64_t interrupted = 0;     // files not extracted because of a stop request
  std::uint64_t opens = 0;          // data files opened through the io layer, all ranks
                                    // (after input expansion: fileset/list files not counted)
  std::uint64_t bytes_read = 0;     // bytes read from data files through the io layer
  std::uint64_t stats = 0;          // stat calls through the io layer, all ranks
  bool committed = false;           // a new cache generation was written
};

// A fatal error every rank raised together (after agreeing on it): main can return exit code 2
// on every rank without aborting the communicator. Any other exception aborts it.
class CollectiveFatalError : public FatalError {
 public:
  using FatalError::FatalError;
};

// Collective over comm. `fs` must be a CountingFileSystem-wrapped or plain file system; when it
// is a CountingFileSystem its counters feed ScanOutcome::opens etc. Never throws for per-file
// problems; throws CollectiveFatalError on every rank at once (bad input, cache unwritable),
// so no rank is left in a collective.
[[nodiscard]] ScanOutcome run_scan(comm::Communicator& comm, io::FileSystem& fs,
                                   const ScanOptions& options);

// The extraction-options hash stored with every cache row: what changes extracted content.
// The step size is deliberately not part of it: steps are recomputed from the cached entry
// counts and cluster boundaries on every run, so changing --step-size needs no re-extraction.
[[nodiscard]] std::uint64_t extraction_options_hash(bool collect_clusters);

}  // namespace mpiprep::cli
