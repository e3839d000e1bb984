// The coffea-compatible preprocessed fileset (what coffea.dataset_tools.preprocess returns as
// its first value, "available" files only) and the failures list, built on rank 0 from the
// expanded Fileset and each file's FileMeta. coffea and uproot users load the JSON directly.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "mpiprep/core/meta.hpp"
#include "mpiprep/core/result.hpp"
#include "mpiprep/fileset/fileset.hpp"
#include "mpiprep/output/steps.hpp"

namespace mpiprep::output {

// One entry of the coffea output: {"object_path", "steps", "num_entries", "uuid"}.
struct ResolvedFile {
  std::optional<std::string> object_path;  // null for HDF5 files given without an object path
  std::optional<std::int64_t> num_entries;  // null when object_path is null
  std::optional<std::vector<Step>> steps;   // null when object_path is null
  std::string uuid;
  std::vector<std::string> warnings;  // oversized aligned steps
};

// Local, no I/O. Resolves one FileSpec against its metadata:
//   ROOT, object_path given: FileMeta::find_object; missing -> not_found; a non-tree object
//     (e.g. a histogram) -> not_found; an object the extractor could not decode -> its error.
//   ROOT, no object_path: FileMeta::first_tree() (its path is the output object_path).
//   HDF5, object_path names a dataset: num_entries = its first dimension.
//   HDF5, object_path names a group: the common first dimension of its direct child datasets;
//     inconsistent (naming them) if they disagree, not_found if it has none.
//   HDF5, no object_path: object_path, num_entries and steps are null.
// A failed FileMeta yields its own error. With align_clusters, steps follow the object's
// clusters when it has any (ROOT trees), else the plain coffea steps.
[[nodiscard]] Result<ResolvedFile> resolve(const fileset::FileSpec& spec, const FileMeta& meta,
                                           const StepOptions& options);

// A file left out of the output, as written to the failures file.
struct FileFailure {
  std::string path;
  std::string dataset;
  ErrorKind kind = ErrorKind::kInternal;
  std::string message;
};

struct Preprocessed {
  // {dataset: {"files": {path: ResolvedFile}, "metadata": ..., "form": null}} in input order.
  nlohmann::ordered_json fileset;
  std::vector<FileFailure> failures;  // failed files in input order, then rejected entries
  std::vector<std::string> warnings;  // oversized steps, datasets left empty
  std::size_t files_ok = 0;
};

// Metadata for one input file, or nullptr if the caller has none (reported as internal).
using MetaLookup = std::function<const FileMeta*(const fileset::FileSpec&)>;

// Local. Builds coffea's output: failed files are left out (coffea's skip_bad_files) and
// listed in `failures`, together with the fileset's rejected entries; a dataset left with no
// file is dropped with a warning (coffea's allow_empty_datasets=True).
[[nodiscard]] Preprocessed build_preprocessed(const fileset::Fileset& fileset,
                                              const MetaLookup& lookup,
                                              const StepOptions& options);
// Same, with the metadata matched by FileMeta::path (exact, absolute).
[[nodiscard]] Preprocessed build_preprocessed(const fileset::Fileset& fileset,
                                              std::span<const FileMeta> metas,
                                              const StepOptions& options);

// Local. The same as build_preprocessed, but the fileset is rendered straight into `text` (the
// bytes write_outputs writes: the document's dump(1, ' ', false, replace)) and `fileset` is
// left null: no JSON document of every file is built (half of a warm 10^5-file run's CPU).
[[nodiscard]] Preprocessed render_preprocessed(const fileset::Fileset& fileset,
                                               const MetaLookup& lookup,
                                               const StepOptions& options, std::string& text);
// The same, handing the text over in pieces: whenever `text` holds `flush_bytes` or more after
// a file's entry, flush(text) is called and `text` cleared; what is left at the end stays in
// `text`. The pieces concatenated are the text above, and the whole is never in memory (18 MB
// at 10^5 files, each page of it a page fault).
using TextFlush = std::function<void(std::string_view)>;
[[nodiscard]] Preprocessed render_preprocessed(const fileset::Fileset& fileset,
                                               const MetaLookup& lookup,
                                               const StepOptions& options, std::string& text,
                                               const TextFlush& flush,
                                               std::size_t flush_bytes = std::size_t{1} << 20);

// [{"path", "dataset", "kind" (error_kind_name), "message"}, ...]
[[nodiscard]] nlohmann::ordered_json failures_json(std::span<const FileFailure> failures);

// Local. Writes `bytes` to a unique temporary file in the target's directory, fsyncs it,
// renames it over `path` and fsyncs the directory: readers see the old file or the new one.
// The temporary is removed on failure. Errors name the path and the failing call.
[[nodiscard]] Status write_file_atomic(const std::string& path, std::string_view bytes);

// Local. write_file_atomic() in pieces: create() makes the unique temporary beside `path`,
// append() writes to it, commit() fsyncs it, renames it over `path` and fsyncs the directory.
// Destroyed uncommitted (after a failure, say), it removes the temporary. Same errors, naming
// the same paths and calls, as write_file_atomic.
class AtomicFile {
 public:
  [[nodiscard]] static Result<AtomicFile> create(const std::string& path);
  AtomicFile(AtomicFile&& other) noexcept;
  AtomicFile& operator=(AtomicFile&&) = delete;
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile();
  [[nodiscard]] Status append(std::string_view bytes);
  [[nodiscard]] Status commit();

 private:
  AtomicFile(int fd, std::string path, std::string tmp, std::string dir);
  int fd_ = -1;
  std::string path_, tmp_, dir_;
};

// Local. The failures array to `failures_path`, atomically (the second half of write_outputs).
[[nodiscard]] Status write_failures(const Preprocessed& pre, const std::string& failures_path);

// Local. Writes the preprocessed fileset (indented JSON) to `fileset_path` and, unless
// `failures_path` is empty, the failures array to `failures_path`, both atomically.
[[nodiscard]] Status write_outputs(const Preprocessed& pre, const std::string& fileset_path,
                                   const std::string& failures_path);
// The same with the fileset already rendered (render_preprocessed's text, without newline).
[[nodiscard]] Status write_outputs(const Preprocessed& pre, std::string text,
                                   const std::string& fileset_path,
                                   const std::string& failures_path);

}  // namespace mpiprep::output
