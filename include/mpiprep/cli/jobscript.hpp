// `mpiprep jobscript`: renders the Slurm or Grid Engine template shipped in jobs/ (embedded in
// the binary at build time, so the two cannot drift) with validated values. Local, no MPI.
// Every value passes a character whitelist and is single-quoted: no option can inject shell.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mpiprep/core/result.hpp"

namespace mpiprep::cli {

enum class Scheduler { kSlurm, kUge };

// Values as typed on the command line; render_jobscript validates them all.
struct JobScriptOptions {
  Scheduler scheduler = Scheduler::kSlurm;
  std::string ranks = "4";
  std::string time = "01:00:00";           // [H]H:MM:SS, hours may exceed 24
  std::optional<std::string> nodes;          // Slurm --nodes
  std::optional<std::string> cpus_per_task;  // Slurm --cpus-per-task
  std::optional<std::string> mem;            // per CPU (Slurm) / per slot (Grid Engine): 2G
  std::optional<std::string> job_name;
  std::optional<std::string> mpiprep;        // path of the binary in the job
  std::optional<std::string> cache;
  std::optional<std::string> output;         // output directory (fileset.pre.json, failures)
  std::optional<std::string> reports;        // reports/<jobid>/ go here
  std::optional<std::string> launcher;       // srun | mpirun
  std::vector<std::string> scan_args;        // options passed to `mpiprep scan`
  std::vector<std::string> inputs;           // empty: the job takes them from its arguments
};

// The shipped template text (jobs/slurm/mpiprep.sbatch or jobs/uge/mpiprep.qsub).
[[nodiscard]] std::string_view job_template(Scheduler s) noexcept;
[[nodiscard]] std::string_view template_path(Scheduler s) noexcept;

// The rendered script, or an Error (kind kInconsistent) naming the option and the reason.
[[nodiscard]] Result<std::string> render_jobscript(const JobScriptOptions& opts);

// Validators (exposed for tests). Walltime: seconds; count: 1..max, decimal digits only;
// path/word: whitelisted characters, never starting with '-'.
[[nodiscard]] Result<long> parse_walltime(std::string_view option, std::string_view value);
[[nodiscard]] Result<long> parse_count(std::string_view option, std::string_view value, long max);
[[nodiscard]] Result<std::string> check_path(std::string_view option, std::string_view value);
[[nodiscard]] Result<std::string> check_scan_arg(std::string_view value);
// 'value' for bash (callers pass validated values; a ' inside is still escaped correctly).
[[nodiscard]] std::string shell_quote(std::string_view value);

// `mpiprep jobscript ...`: writes the script to `out`; errors to `err`. 0, or 2 on a bad value.
int run_jobscript(const JobScriptOptions& opts, const std::string& output_file, std::ostream& out,
                  std::ostream& err);

}  // namespace mpiprep::cli
