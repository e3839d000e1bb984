// Input expansion (rank 0): turns command-line inputs (coffea fileset JSON, `@list` files,
// directories, plain paths) into an ordered list of datasets and a flat FileSpec list, with
// duplicates and unusable entries (remote URLs) reported as data, not as failures of the run.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "mpiprep/core/result.hpp"
#include "mpiprep/io/file_system.hpp"

namespace mpiprep::fileset {

// One file to preprocess. `path` is absolute and lexically normalized (no "..", no "//", no
// trailing slash); `object_path` is the tree/dataset named by the input, if any.
struct FileSpec {
  std::string dataset;
  std::string path;
  std::optional<std::string> object_path;
  bool operator==(const FileSpec&) const = default;
};

struct Dataset {
  std::string name;
  // The dataset's "metadata" from a fileset JSON, carried through unchanged (key order kept);
  // null when the input had none (lists, directories, plain paths, or no "metadata" key).
  nlohmann::ordered_json metadata;
  std::vector<FileSpec> files;  // input order, duplicates removed
};

// The same absolute path listed more than once. Only the first occurrence is kept; one record
// per duplicated path, naming the dataset of the first and of the second occurrence.
struct Duplicate {
  std::string path;
  std::string first_dataset;
  std::string dataset;  // dataset of the second occurrence
  int occurrences = 2;  // total times the path was listed
};

// An input entry that names no usable local file (e.g. "root://..." URLs). Not fatal: the CLI
// lists it with the per-file failures.
struct Rejected {
  std::string dataset;
  std::string entry;  // as written in the input
  Error error;
};

struct Fileset {
  std::vector<Dataset> datasets;  // order of first appearance
  std::vector<FileSpec> files;    // flat, order of appearance across all inputs
  // What the directory walk's stat said about files[i], when it took one (directory inputs
  // on a filesystem that reports it): the survey then has nothing left to do for that file.
  // Empty optional, or i beyond the end (lists, fileset JSON, hand-made Filesets): not
  // statted yet.
  std::vector<std::optional<io::FileStat>> walk_stats;
  std::vector<Duplicate> duplicates;
  std::vector<Rejected> rejected;
  std::vector<std::string> warnings;  // e.g. conflicting metadata, directory with no match

  [[nodiscard]] const Dataset* find_dataset(std::string_view name) const;
  [[nodiscard]] const io::FileStat* walk_stat(std::size_t i) const {
    return i < walk_stats.size() && walk_stats[i] ? &*walk_stats[i] : nullptr;
  }
};

struct ExpandOptions {
  // Dataset for list files, directories and plain paths (fileset JSON names its own).
  std::string dataset = "default";
  // fnmatch(3) pattern on the file name for directory walks ("*.root"); empty = every file.
  std::string glob;
  // Base for relative inputs and for relative paths inside a fileset JSON (coffea resolves
  // those against the current directory). Empty = the process's current directory.
  std::string cwd;
  // Directory recursion limit: guards against symlink loops (stat follows links).
  int max_depth = 64;
  // Threads walking the subdirectories of a directory input concurrently (each lists a
  // directory and stats its matching files): on Lustre/GPFS every stat is a metadata-server
  // round trip, so concurrent ones are what makes a large tree fast. The FileSystem must be
  // thread-safe (all of io's are). The result does not depend on it.
  int threads = 1;
};

// Local. Expands `inputs` in order:
//   - "@list.txt": one path a line, blank lines and '#' comments ignored; relative lines are
//     relative to the list file's directory. Entries are not stat'ed (survey does that).
//   - a file that is a fileset JSON (".json" suffix, or content that parses as a JSON object):
//     {"ds": {"files": {"path": "tree" | null | {"object_path": ...}}, "metadata": {...}}},
//     {"ds": {"files": ["path", ...]}}, {"ds": ["path", ...]}, {"ds": {"path": "tree"}}.
//   - a directory: recursive walk, files whose name matches `glob`, sorted by path; each
//     file's stat, taken relative to its directory while listing it, goes to walk_stats
//     (FileSystem::list_dir_stat; a file whose stat failed there has none: the survey
//     stats it and reports why).
//   - any other existing file: itself.
// "scheme://" entries become `Rejected` (file:// is accepted as a local path). Errors (fatal
// for the run, the CLI exits 2): unreadable or malformed JSON, missing list file, missing or
// unreadable input path or subdirectory; the message names the input and the reason.
[[nodiscard]] Result<Fileset> expand(std::span<const std::string> inputs,
                                     const ExpandOptions& options, io::FileSystem& fs);

// Local. Parses a fileset JSON document (already read) into `out`-style datasets; `source` names
// the input in messages. Relative paths resolve against `cwd` (absolute). Exposed for tests and
// for callers that hold the JSON in memory.
[[nodiscard]] Result<Fileset> parse_fileset_json(std::string_view text, std::string_view source,
                                                 const std::string& cwd);

// Local, no I/O. `path` made absolute against `base` (an absolute directory) and lexically
// normalized; no trailing slash except for "/".
[[nodiscard]] std::string normalize_path(std::string_view path, std::string_view base);

// True for "scheme://..." (root://, https://, file://, ...).
[[nodiscard]] bool is_url(std::string_view entry) noexcept;

}  // namespace mpiprep::fileset
