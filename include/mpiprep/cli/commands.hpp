// The subcommands other than scan. Local (no communicator): they run without mpirun.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "mpiprep/io/file_system.hpp"

namespace mpiprep::cli {

// `mpiprep inspect [--json] FILE...`: one JSON object per file (one per line with --json,
// indented otherwise when stdout is for humans: a short text summary). Returns 0 when every
// file was read, 1 when some failed.
int run_inspect(io::FileSystem& fs, const std::vector<std::string>& files, bool json,
                std::ostream& out);

// `mpiprep cache show PATH`: summary (files, formats, failures, generation). 0, or 1 when the
// cache is missing or invalid.
int run_cache_show(const std::string& path, bool json, std::ostream& out, std::ostream& err);

// `mpiprep cache verify PATH`: structure + checksum. 0 valid, 1 not.
int run_cache_verify(const std::string& path, std::ostream& out, std::ostream& err);

}  // namespace mpiprep::cli
