#include "jobscript_command.hpp"

#include <iostream>
#include <vector>

namespace mpiprep::cli {
namespace {

// Scan options the job passes on, with a value or as a flag; more with --scan-option.
struct PassThrough {
  const char* name;
  const char* help;
  bool flag;
};
constexpr PassThrough kScanOptions[] = {
    {"--step-size", "scan --step-size in the job", false},
    {"--one-step", "scan --one-step in the job", true},
    {"--align-clusters", "scan --align-clusters in the job", true},
    {"--dataset", "scan --dataset in the job", false},
    {"--glob", "scan --glob in the job", false},
    {"--threads", "scan --threads in the job", false},
    {"--timeout", "scan --timeout in the job", false},
    {"--cache-io", "scan --cache-io in the job", false},
    {"--prune", "scan --prune in the job", true},
    {"--no-cache", "scan --no-cache in the job", true},
};

}  // namespace

void add_jobscript_command(CLI::App& app, JobScriptCommand& c) {
  auto* js = app.add_subcommand(
      "jobscript",
      "Print a Slurm or Grid Engine job script for a scan (the jobs/ template, filled in)");
  c.app = js;
  auto& o = c.opts;
  js->add_option("--scheduler", c.scheduler, "slurm or uge (Grid Engine)")
      ->required()
      ->check(CLI::IsMember({"slurm", "uge"}));
  js->add_option("--ranks", o.ranks, "MPI ranks (Slurm tasks, Grid Engine slots)")
      ->capture_default_str();
  js->add_option("--time", o.time, "Walltime HH:MM:SS; mpiprep is told to stop 2 min before")
      ->capture_default_str();
  js->add_option("--nodes", o.nodes, "Slurm nodes");
  js->add_option("--cpus-per-task", o.cpus_per_task, "Slurm CPUs per rank (threads per rank)");
  js->add_option("--mem", o.mem, "Memory per CPU (Slurm) or per slot (Grid Engine h_vmem), e.g. 2G");
  js->add_option("--job-name", o.job_name, "Job name");
  js->add_option("--mpiprep", o.mpiprep, "Path of the mpiprep binary in the job");
  js->add_option("--cache", o.cache, "Cache file on a shared filesystem");
  js->add_option("--output", o.output, "Output directory (fileset.pre.json, failures.json)");
  js->add_option("--reports", o.reports, "Directory of per-job report directories");
  js->add_option("--launcher", o.launcher, "srun (Slurm default) or mpirun");
  js->add_option("-o,--output-file", c.output_file, "Write the script here instead of stdout");
  for (const auto& p : kScanOptions) {
    const std::string name = p.name;
    if (p.flag) {
      js->add_flag_callback(name, [&o, name] { o.scan_args.push_back(name); }, p.help);
    } else {
      js->add_option_function<std::string>(
          name, [&o, name](const std::string& v) {
            o.scan_args.push_back(name);
            o.scan_args.push_back(v);
          },
          p.help);
    }
  }
  js->add_option("--scan-option", c.extra_scan_args,
                 "Any other scan option, verbatim, one word each (repeatable): "
                 "--scan-option=--io-depth=8")
      ->expected(1)
      ->allow_extra_args(false);
  js->add_option("inputs", o.inputs,
                 "Fileset JSON, @list, directories or files (none: the job's arguments)");
}

int run_jobscript_command(JobScriptCommand& c) {
  c.opts.scheduler = c.scheduler == "uge" ? Scheduler::kUge : Scheduler::kSlurm;
  c.opts.scan_args.insert(c.opts.scan_args.end(), c.extra_scan_args.begin(),
                          c.extra_scan_args.end());
  return run_jobscript(c.opts, c.output_file, std::cout, std::cerr);
}

}  // namespace mpiprep::cli
