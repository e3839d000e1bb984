// The `jobscript` subcommand's CLI11 definition, kept out of main.cpp (the executable only).
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "mpiprep/cli/jobscript.hpp"

namespace mpiprep::cli {

struct JobScriptCommand {
  CLI::App* app = nullptr;
  JobScriptOptions opts;
  std::string output_file;
  std::string scheduler;
  std::vector<std::string> extra_scan_args;  // --scan-option
};

// Adds `jobscript` to `app`; after parsing, run it when command.app->parsed().
void add_jobscript_command(CLI::App& app, JobScriptCommand& command);
// Finishes the options CLI11 cannot express (scan options in order) and renders.
int run_jobscript_command(JobScriptCommand& command);

}  // namespace mpiprep::cli
