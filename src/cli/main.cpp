// mpiprep's entry point: the only place that initializes MPI (and only for `scan` started by an
// MPI launcher; inspect and cache subcommands, and a scan run as a plain process, run without
// MPI). Infrastructure failures end here: an error all ranks
// agreed on returns exit code 2 everywhere; anything else aborts the communicator so no rank
// is left waiting in a collective.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <malloc.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mpiprep/cli/commands.hpp"
#include "mpiprep/cli/report_command.hpp"
#include "mpiprep/cli/scan.hpp"
#include "mpiprep/comm/mpi_communicator.hpp"
#include "mpiprep/core/log.hpp"
#include "mpiprep/core/stop.hpp"
#include "mpiprep/io/file_system.hpp"
#include "mpiprep/io/latency.hpp"
#include "jobscript_command.hpp"

namespace {

constexpr int kExitFatal = 2;

// Whether to initialize MPI. Not when no MPI launcher started this process (mpirun/mpiexec:
// Open MPI sets OMPI_COMM_WORLD_SIZE; PMIx: PMIX_RANK; MPICH/Hydra and srun --mpi=pmi2:
// PMI_RANK, PMI_SIZE), and not when the launcher says the job is this one process
// (OMPI_COMM_WORLD_SIZE or PMI_SIZE = 1: `mpirun -n 1`): one rank has no one to talk to, and
// MPI would only add its start-up and teardown (MPI_Init plus MPI_Finalize: ~0.1 s under
// mpirun, ~0.35 s as a singleton, against a 0.3 s warm run of 100,000 files). The scan then
// runs on the SerialCommunicator, the same code as one rank, commits the cache through the
// serial path, and keeps the launcher's binding (hwloc reads the cpuset it was given).
// MPIPREP_SINGLETON_MPI=1 initializes MPI anyway (a singleton MPI job, or one rank of mpirun).
bool mpi_wanted() {
  const char* force = std::getenv("MPIPREP_SINGLETON_MPI");
  if (force != nullptr && std::string_view(force) == "1") return true;
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"}) {
    if (const char* x = std::getenv(v); x != nullptr && *x != '\0')
      return std::string_view(x) != "1";
  }
  for (const char* v : {"PMIX_RANK", "PMI_RANK"}) {
    if (const char* x = std::getenv(v); x != nullptr && *x != '\0') return true;
  }
  return false;
}

std::string command_line(int argc, char** argv) {
  std::vector<std::string_view> args(argv, argv + argc);
  return fmt::format("{}", fmt::join(args, " "));
}

int run_scan_command(int argc, char** argv, mpiprep::cli::ScanOptions opts, bool verbose) {
  using namespace mpiprep;
  std::optional<comm::MpiSession> session;
  std::unique_ptr<comm::Communicator> comm;
  if (mpi_wanted()) {
    session.emplace(&argc, &argv);
    comm = comm::make_mpi_world_communicator();
  } else {
    comm = std::make_unique<comm::SerialCommunicator>();
  }
  log::configure(comm->rank(), verbose);
  if (!session)
    log::info("main", "not started by an MPI launcher, or a job of one process: without MPI "
                      "(serial cache commit); MPIPREP_SINGLETON_MPI=1 initializes MPI anyway");
  // After MPI_Init: ours replace whatever the MPI library installed. A signal only sets a flag;
  // the scan stops taking work, commits what is finished and returns exit code 3.
  stop::install_signal_handlers();
  // The file system stack lives until the process ends (never destroyed): an extraction thread
  // abandoned by the timeout watchdog may still be inside it when run_scan returns.
  io::FileSystem* base = &io::default_file_system();
  if (const char* sim = std::getenv(io::kSimLatencyEnv); sim != nullptr) {
    auto spec = io::parse_latency_spec(sim);
    if (!spec.ok()) {  // every rank parses the same value, so every rank returns here
      if (comm->rank() == 0) log::error("main", spec.error().message);
      return kExitFatal;
    }
    static io::LatencyFileSystem latency(*base, *spec);
    base = &latency;
    if (comm->rank() == 0)
      log::info("io", fmt::format("latency emulation active ({}): {}; a testing aid, it slows "
                                  "every open and read on purpose",
                                  io::kSimLatencyEnv, latency.spec().describe()));
  }
  static io::CountingFileSystem fs(*base);
  try {
    opts.keep_memory_at_exit = true;  // the process ends when run_scan returns
    auto outcome = cli::run_scan(*comm, fs, opts);
    return outcome.exit_code;
  } catch (const cli::CollectiveFatalError& e) {
    if (comm->rank() == 0) log::error("main", e.what());
    return e.exit_code();
  } catch (const std::exception& e) {
    log::error("main", std::string("fatal: ") + e.what() + " (aborting all ranks)");
    comm->abort(kExitFatal);
  }
  return kExitFatal;  // not reached: abort() does not return
}

}  // namespace

int main(int argc, char** argv) {
  using namespace mpiprep;
  // A batch run allocates in bursts (the walk's paths, the cache tables, libhdf5's 1 MiB chunk
  // buffers, the output text) and frees most of it before the next: memory glibc keeps is
  // reused without a page fault, memory it returns to the kernel faults again on every reuse
  // (~2.5-3 us a page here; 5,000 of the 30,000 faults of a 10^5-file warm run). Neither
  // setting changes what is allocated, only when it is given back (at exit, at the latest).
  ::mallopt(M_MMAP_THRESHOLD, 32 << 20);
  ::mallopt(M_TRIM_THRESHOLD, 512 << 20);
  CLI::App app{"mpiprep: MPI-parallel metadata preprocessor for ROOT, HDF5 and NetCDF-4 filesets"};
  app.set_version_flag("--version", std::string("mpiprep ") + MPIPREP_VERSION);
  app.require_subcommand(1);
  bool verbose = false;
  app.add_flag("-v,--verbose", verbose, "Log info messages on every rank, not only rank 0");

  cli::ScanOptions scan;
  scan.command = command_line(argc, argv);
  std::string cache_io = "parallel";
  std::int64_t step_size = 100000;
  bool one_step = false;
  auto* sc = app.add_subcommand("scan", "Extract metadata of every input file (cached) and write "
                                        "the coffea preprocessed fileset");
  sc->add_option("inputs", scan.inputs,
                 "Fileset JSON (coffea), @list.txt (one path a line), directories, files")
      ->required();
  sc->add_option("--cache", scan.cache_path, "Cache file (HDF5) on a shared filesystem")
      ->capture_default_str();
  sc->add_flag("--no-cache", [&](std::int64_t) { scan.use_cache = false; },
               "Extract every file; read and write no cache");
  sc->add_option("--cache-io", cache_io,
                 "How the cache is written: parallel (MPI-IO, collective) or serial (rank 0, "
                 "POSIX) for filesystems where MPI-IO misbehaves")
      ->check(CLI::IsMember({"parallel", "serial"}))
      ->capture_default_str();
  sc->add_flag("--prune", scan.prune, "Drop cache rows of files that no longer exist");
  sc->add_option("-o,--output", scan.output_path, "coffea preprocessed fileset (JSON) to write");
  sc->add_option("--failures", scan.failures_path,
                 "Failures list (JSON: path, dataset, kind, message); default <output>.failures.json");
  sc->add_option("--report", scan.report_dir,
                 "Directory for the run's report: report.json, timeline.svg, histogram.svg "
                 "(created if missing)");
  sc->add_option("--report-json", scan.report_json_path,
                 "Timing report as JSON only (the same document as DIR/report.json)");
  sc->add_option("--progress", scan.progress,
                 "Progress on stderr (rank 0): auto = live bar on a terminal, a line every "
                 "--progress-interval seconds otherwise")
      ->check(CLI::IsMember({"auto", "bar", "lines", "none"}))
      ->capture_default_str();
  sc->add_option("--progress-interval", scan.progress_interval_s,
                 "Seconds between progress lines (batch logs)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  sc->add_flag("--no-report", [&](std::int64_t) { scan.text_report = false; },
               "Do not print the timing report on stdout");
  sc->add_option("--step-size", step_size, "Entries per step (coffea's step_size)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  sc->add_flag("--one-step", one_step, "One step per file (coffea's step_size=None)");
  sc->add_flag("--align-clusters", scan.align_clusters,
               "Snap step boundaries to the common cluster (basket) boundaries, as coffea does");
  sc->add_option("--dataset", scan.dataset,
                 "Dataset name for @lists, directories and plain paths")
      ->capture_default_str();
  sc->add_option("--glob", scan.glob, "File-name pattern for directory walks, e.g. '*.root'");
  sc->add_option_function<std::string>(
        "--threads",
        [&](const std::string& v) {
          if (v == "auto") {
            scan.threads = 0;
            return;
          }
          std::size_t used = 0;
          int n = -1;
          try {
            n = std::stoi(v, &used);
          } catch (const std::exception&) {
            used = 0;
          }
          if (used != v.size() || n < 0 || n > 4096)
            throw CLI::ValidationError("--threads", "expected 'auto' or a count 0..4096, got '" +
                                                        v + "'");
          scan.threads = n;  // 0 = auto as well
        },
        "Threads per rank: auto (default) = the cores of the rank's cpuset (hwloc), or a count")
      ->default_str("auto");
  sc->add_option("--io-depth", scan.io_depth,
                 "Files in flight per thread: a rank runs threads x io-depth extractions at once "
                 "(raise it on latency-bound parallel filesystems; HDF5 stays serialized)")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  std::string schedule_kind = "dynamic";
  sc->add_option("--schedule", schedule_kind,
                 "dynamic (largest predicted cost first, pulled on demand) or static (contiguous "
                 "split of the input list: the naive baseline, for benchmarks only)")
      ->check(CLI::IsMember({"dynamic", "static"}))
      ->capture_default_str();
  sc->add_option("--timeout", scan.timeout_s, "Per-file extraction timeout in seconds (0 = none)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  sc->add_option("--checkpoint-interval,--journal-interval", scan.journal_interval_s,
                 "Seconds within which a finished file is durable (fdatasynced) in the journal")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();

  sc->add_option("--lock-stale-after", scan.lock_stale_after_s,
                 "Seconds after which another job's commit lock is considered stale and broken "
                 "(also broken at once when its pid is dead on this host)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  sc->add_option("--lock-wait", scan.lock_wait_s,
                 "Seconds a commit waits for a live lock holder before giving up (exit 2)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();

  std::vector<std::string> inspect_files;
  bool inspect_json = false;
  auto* ins = app.add_subcommand("inspect", "Print one file's metadata (no MPI, no cache)");
  ins->add_option("files", inspect_files, "ROOT, HDF5 or NetCDF-4 files")->required();
  ins->add_flag("--json", inspect_json, "One JSON object per file and line");

  std::string cache_file;
  bool cache_json = false;
  auto* cc = app.add_subcommand("cache", "Inspect a cache file");
  cc->require_subcommand(1);
  auto* show = cc->add_subcommand("show", "Summary: files, formats, failures, generation");
  show->add_option("cache", cache_file, "Cache file")->required();
  show->add_flag("--json", cache_json, "As JSON");
  auto* verify = cc->add_subcommand("verify", "Check structure and checksum (exit 0 valid, 1 not)");
  verify->add_option("cache", cache_file, "Cache file")->required();

  cli::JobScriptCommand jobscript;
  cli::add_jobscript_command(app, jobscript);
  std::vector<std::string> report_files;
  std::string report_svg;
  auto* rp = app.add_subcommand(
      "report", "Re-render a run's report.json (text, --svg figures); with several, compare the "
                "runs side by side and list their history by start time");
  rp->add_option("reports", report_files, "report.json files written by scan --report")
      ->required();
  rp->add_option("--svg", report_svg,
                 "Write timeline.svg and histogram.svg here (<name>-timeline.svg ... per run "
                 "when several)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : kExitFatal;
  }

  try {
    if (sc->parsed()) {
      scan.serial_cache_io = cache_io == "serial";
      scan.static_schedule = schedule_kind == "static";
      scan.step_size = one_step ? std::nullopt : std::optional<std::int64_t>(step_size);
      return run_scan_command(argc, argv, scan, verbose);
    }
    log::configure(0, verbose);
    if (ins->parsed()) {
      io::CountingFileSystem fs(io::default_file_system());
      return cli::run_inspect(fs, inspect_files, inspect_json, std::cout);
    }
    if (show->parsed()) return cli::run_cache_show(cache_file, cache_json, std::cout, std::cerr);
    if (verify->parsed()) return cli::run_cache_verify(cache_file, std::cout, std::cerr);
    if (jobscript.app->parsed()) return cli::run_jobscript_command(jobscript);
    if (rp->parsed()) return cli::run_report(report_files, report_svg, std::cout, std::cerr);
  } catch (const FatalError& e) {
    std::cerr << "mpiprep: " << e.what() << '\n';
    return e.exit_code();
  } catch (const std::exception& e) {
    std::cerr << "mpiprep: internal error: " << e.what() << '\n';
    return kExitFatal;
  }
  return kExitFatal;
}
