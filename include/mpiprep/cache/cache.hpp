// The persistent metadata cache: one HDF5 file holding every file's FileMeta, keyed by
// (absolute path, size, mtime_ns) plus the extraction options hash and the extractor version,
// so a warm run opens only the files that changed (invariant 7) and a killed job never leaves a
// half-written cache behind (invariant 1).
//
// File layout (format "mpiprep-cache", version 2; full description with h5py recipes in
// src/cache/LAYOUT.md). Every table is a group of 1-D datasets of equal length (columnar, little
// endian). A string column `x` is two datasets: `x_chars` (uint8, all strings concatenated,
// UTF-8) and `x_offsets` (uint64, n+1 entries, string i = chars[offsets[i]:offsets[i+1]]).
// A ragged column uses the same offsets convention into a value array. Enum columns (format,
// error_kind) are HDF5 enum types over uint8, so their names travel with the file.
//
//   [user block]     512 bytes before the HDF5 superblock: magic "mpiprep-cache", file length
//                    and an xxh64 of everything after it, checked before libhdf5 parses a byte
//   /                attrs: format="mpiprep-cache", format_version, generation, writer_version,
//                           checksum (xxh64 over every dataset's xxh64, see LAYOUT.md),
//                           checksum_algorithm, created_utc
//   /files/          path, size, mtime_ns, format, error_kind, error_message, uuid, compression,
//                    extract_seconds, bytes_read, rank, options_hash, extractor_version,
//                    object_set (row in /object_sets, -1 = none), value_offsets (n+1: the
//                    file's run in /object_values/data)
//   /object_sets/    hash, object_offsets (into /objects): distinct object structures, shared
//                    by every file that has the same one (as /schemas share column lists)
//   /objects/        set, path, kind, title, cycle, n_columns_total, schema (-1 = no columns),
//                    shape_rank, maxshape_rank, chunks (_values + _offsets), dtype, layout,
//                    filter_offsets (into /filters), attribute_offsets (into /attributes),
//                    error_kind, error_message
//   /object_values/  data: per file, per object of its set: num_entries, shape, maxshape,
//                    cluster count, clusters (int64); data_xxh64: its hash. Read on first use.
//   /filters/        id, name, param_offsets + params (uint32)
//   /attributes/     name (attribute names of all objects, concatenated)
//   /schemas/        hash (xxh64 of the column list), column_offsets (into /schema_columns)
//   /schema_columns/ name, type
//
// A version-1 cache (one /objects row per object of every file) is still read, upgraded in
// memory, and rewritten as version 2 by the next commit.
//
// Strings are a blob + offsets rather than HDF5 variable-length strings because parallel HDF5
// cannot write variable-length data collectively, and because one contiguous read is much
// faster: reading 10^5 paths from h5py took 9 ms as blob + offsets against 59 ms as vlen
// strings on the development machine.
//
// Who calls what: rank 0 loads and classifies (local calls), every rank calls commit()
// (collective). The HDF5 library is not thread-safe in this build: do not run cache calls
// concurrently with HDF5 extraction in another thread of the same process.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mpiprep/comm/communicator.hpp"
#include "mpiprep/core/meta.hpp"
#include "mpiprep/core/result.hpp"

namespace mpiprep::io {
class FileSystem;
}

namespace mpiprep::cache {

inline constexpr std::string_view kDefaultCacheName = ".mpiprep-cache.h5";
inline constexpr std::string_view kFormatName = "mpiprep-cache";
inline constexpr std::int32_t kFormatVersion = 2;

// Version string written into the writer_version attribute ("mpiprep 0.1.0").
std::string_view writer_version() noexcept;

// One surveyed file: what stat() said about it this run.
struct SurveyEntry {
  std::string path;  // absolute
  std::int64_t size = 0;
  std::int64_t mtime_ns = 0;
};

// The same as a view: the caller keeps the path alive (no copy of every surveyed path).
struct SurveyKey {
  std::string_view path;
  std::int64_t size = 0;
  std::int64_t mtime_ns = 0;
};

// Why a file is (not) served from the cache. Misses are re-extracted.
enum class Verdict : std::uint8_t {
  kHit = 0,
  kMissNew,           // path not in the cache
  kMissChangedSize,   // size differs
  kMissChangedMtime,  // same size, different mtime_ns
  kMissOptions,       // extracted with other options (options hash differs)
  kMissVersion,       // extracted by another extractor version for its format
  kMissRetry,         // a cached failure of a transient kind (io, permission, timeout, ...)
};
inline constexpr std::size_t kNumVerdicts = 7;
// Stable names: "hit", "miss_new", "miss_changed_size", "miss_changed_mtime", "miss_options",
// "miss_version", "miss_retry".
std::string_view verdict_name(Verdict v) noexcept;

// Transient failures (missing, permission, io, timeout, internal) are retried on the next run;
// permanent ones (corrupt, truncated, unsupported_*, not_found, inconsistent) are cache hits.
bool is_transient(ErrorKind kind) noexcept;

// The cache row a survey entry matched (an opaque handle, valid until the cache is next
// modified), for lookup_brief_row: the path is hashed once per file per run.
using RowRef = std::int64_t;
inline constexpr RowRef kNoRow = INT64_MIN;

struct Classification {
  std::vector<Verdict> verdicts;     // one per survey entry, in the same order
  std::vector<RowRef> rows;          // one per survey entry: its row, or kNoRow (new path)
  std::vector<std::string> removed;  // cached paths absent from the survey, sorted
  std::array<std::size_t, kNumVerdicts> counts{};

  [[nodiscard]] std::size_t count(Verdict v) const { return counts[static_cast<std::size_t>(v)]; }
  [[nodiscard]] std::size_t hits() const { return count(Verdict::kHit); }
  [[nodiscard]] std::size_t misses() const { return verdicts.size() - hits(); }
};

// The key fields and cost history of a cached row, without materializing its FileMeta (for
// the scheduler's cost model and for reports).
struct RowInfo {
  std::int64_t size = 0;
  std::int64_t mtime_ns = 0;
  FileFormat format = FileFormat::kUnknown;
  ErrorKind error_kind = ErrorKind::kNone;
  double extract_seconds = 0.0;
  std::uint64_t bytes_read = 0;
  std::uint64_t options_hash = 0;
  std::int32_t extractor_version = 0;
  std::size_t n_objects = 0;
};

// Returns the extractor version for a format; the default is extract::extractor_version.
// Injectable so tests can simulate an extractor upgrade.
using ExtractorVersionFn = int (*)(FileFormat) noexcept;

enum class LoadStatus : std::uint8_t {
  kLoaded,   // read, structure and checksum verified
  kMissing,  // no file: a cold run, not an error
  kCorrupt,  // unreadable, truncated, structure wrong or checksum mismatch: moved aside
  kForeign,  // an HDF5 file that is not ours, or a newer format version: moved aside
};
std::string_view load_status_name(LoadStatus s) noexcept;

struct LoadReport {
  LoadStatus status = LoadStatus::kMissing;
  std::string reason;    // why a cache was rejected (empty when loaded or missing)
  std::string moved_to;  // where a rejected cache was moved ("" if not moved)
  std::uint64_t file_bytes = 0;
  std::uint64_t generation = 0;
  double seconds = 0.0;
};

struct LoadOptions {
  // Move a corrupt or foreign cache aside (to <path>.corrupt-<UTC>) so the commit does not
  // overwrite it blindly. Off only for inspection tools.
  bool move_aside = true;
  // Upper bound on the bytes of any one table (invariant 6: sizes in the file are untrusted).
  std::uint64_t max_table_bytes = std::uint64_t{16} << 30;
};

// In-memory cache: the loaded tables plus the rows put during this run. Not copyable (its
// index points into its own storage); movable. Const member functions may be called from
// several threads at once; put/erase/commit may not run concurrently with anything else.
class Cache {
 public:
  explicit Cache(ExtractorVersionFn extractor_version = nullptr);  // nullptr: extract's
  ~Cache();
  Cache(Cache&&) noexcept;
  Cache& operator=(Cache&&) noexcept;
  Cache(const Cache&) = delete;
  Cache& operator=(const Cache&) = delete;

  struct Loaded;
  // Local. Loads `path`. Never throws for a bad cache file: a missing file gives an empty
  // cache (kMissing); a corrupt or foreign one is reported, moved aside (LoadOptions) and an
  // empty cache returned, so the run proceeds cold (invariant 4).
  static Loaded load(const std::string& path, const LoadOptions& opts = {},
                     ExtractorVersionFn extractor_version = nullptr);
  // Point to point. load() split across two ranks (a warm run's cache load taken off rank 0's
  // core by an idle rank of its node): send_loaded, on the helper, reads, verifies and decodes
  // the file as load() does, never moves it aside, and sends the tables (and the file image
  // their object values are read from later) to `dest`; receive_loaded, on `dest`, adopts them
  // without reading, inflating or checksumming anything. A cache that is not kLoaded arrives
  // as its status and reason only: the receiver then calls load() itself, which moves a bad
  // one aside. Every message of one transfer uses `tag`, which nothing else may use meanwhile.
  // receive_loaded throws std::runtime_error on a malformed transfer (an infrastructure
  // failure); `loaded_path`, if given, receives the path the helper read.
  static void send_loaded(comm::Communicator& comm, int dest, int tag, const std::string& path,
                          const LoadOptions& opts = {});
  static Loaded receive_loaded(comm::Communicator& comm, int source, int tag,
                               const LoadOptions& opts = {},
                               ExtractorVersionFn extractor_version = nullptr,
                               std::string* loaded_path = nullptr);

  // Local. Hash lookup, no I/O. The verdict for one file.
  [[nodiscard]] Verdict check(std::string_view path, std::int64_t size, std::int64_t mtime_ns,
                              std::uint64_t options_hash) const;
  // Local. The cached FileMeta on a hit (including permanent failures), else nullopt.
  // Materializing copies the object's columns out of the shared schema table.
  [[nodiscard]] std::optional<FileMeta> lookup(std::string_view path, std::int64_t size,
                                               std::int64_t mtime_ns,
                                               std::uint64_t options_hash) const;
  // Local. Like lookup(), but the FileMeta holds only the objects `keep(path, kind)` accepts,
  // and those without their columns, filters and attributes (n_columns_total is kept): what the
  // coffea output needs (object_needed_for), at a small fraction of a full materialization's
  // cost. The warm path calls this once per hit.
  using ObjectFilter = bool (*)(const void* ctx, std::string_view path, std::string_view kind);
  [[nodiscard]] std::optional<FileMeta> lookup_brief(std::string_view path, std::int64_t size,
                                                     std::int64_t mtime_ns,
                                                     std::uint64_t options_hash,
                                                     ObjectFilter keep, const void* ctx) const;
  // Local. lookup_brief() of the row classify() matched for an entry whose verdict was kHit,
  // without hashing its path again; nullopt if the row's values cannot be read (a miss).
  // `row` must come from classify() on this cache with no put/erase since.
  [[nodiscard]] std::optional<FileMeta> lookup_brief_row(RowRef row, ObjectFilter keep,
                                                         const void* ctx) const;
  // Per object set, whether an ObjectFilter keeps any of its objects: lets many rows with the
  // same filter meaning (e.g. every entry without an object_path) skip asking it again. One
  // memo per meaning of (keep, ctx) and per cache content (no put/erase/commit since).
  struct BriefMemo {
    std::vector<std::int8_t> wanted;  // -1 unknown, 0 none kept, 1 some kept
  };
  // Local. Whether lookup_brief_row(row, keep, ctx) would give a FileMeta (the row's values
  // are readable if it needs them), without materializing it.
  [[nodiscard]] bool brief_row_available(RowRef row, ObjectFilter keep, const void* ctx,
                                         BriefMemo* memo = nullptr) const;
  // Local. lookup_brief_row() into `out`, reusing its storage (a caller rendering hits one at
  // a time allocates nothing per hit). False, `out` unspecified, where lookup_brief_row gives
  // nullopt.
  [[nodiscard]] bool lookup_brief_row_into(RowRef row, ObjectFilter keep, const void* ctx,
                                           FileMeta& out, BriefMemo* memo = nullptr) const;
  // Local. Verdict for every surveyed file plus the cached paths the survey did not see. A
  // survey sorted by path is merged against the cache's sorted rows (no hash index is built).
  [[nodiscard]] Classification classify(std::span<const SurveyEntry> entries,
                                        std::uint64_t options_hash) const;
  [[nodiscard]] Classification classify(std::span<const SurveyKey> entries,
                                        std::uint64_t options_hash) const;

  // Local. The cached row for a path whatever its key (inspection), or nullopt.
  [[nodiscard]] std::optional<FileMeta> get(std::string_view path) const;
  [[nodiscard]] std::optional<RowInfo> info(std::string_view path) const;
  [[nodiscard]] bool contains(std::string_view path) const;

  // Local. Records an extraction result (success or failure) made with `options_hash`; it
  // replaces any row for meta.path. The extractor version is taken for meta.format.
  void put(FileMeta meta, std::uint64_t options_hash);
  // Local. Drops rows (e.g. Classification::removed when the caller prunes). Returns how many
  // existed. Rows of files not seen in a run are otherwise kept: a cache serves many filesets.
  std::size_t erase(std::span<const std::string> paths);

  [[nodiscard]] std::size_t size() const noexcept;          // live rows
  // Loaded from a cache of an older format version (read and upgraded in memory): the next
  // commit rewrites it in the current version, so a caller commits even with nothing put.
  [[nodiscard]] bool outdated() const noexcept;
  [[nodiscard]] std::size_t put_count() const noexcept;     // rows put since load/commit
  [[nodiscard]] std::uint64_t generation() const noexcept;  // of the file loaded/committed
  [[nodiscard]] std::vector<std::string> paths() const;     // sorted

  struct Impl;  // private; defined in src/cache

 private:
  friend struct CacheAccess;
  std::unique_ptr<Impl> impl_;
};

struct Cache::Loaded {
  Cache cache;
  LoadReport report;
};

// ---- commit -----------------------------------------------------------------------------

enum class CacheIo : std::uint8_t {
  kParallel,  // parallel HDF5 (MPI-IO, collective transfers) when the communicator is MPI
  kSerial,    // rank 0 builds the file in memory and writes it through io::FileSystem: for
              // filesystems where MPI-IO fails, and whenever the communicator is not MPI
};

struct CommitOptions {
  CacheIo io = CacheIo::kParallel;
  bool compress = true;  // shuffle + deflate on tables of 16 KiB and more
  // Lock (<cache>.lock): a lock older than this, or whose pid is dead on this host, is stale.
  std::chrono::seconds lock_stale_after{600};
  // How long to wait for a live lock before giving up (FatalError).
  std::chrono::milliseconds lock_wait{std::chrono::minutes(2)};
  // Merge rows committed by another job since this run loaded the cache (invariant 5).
  bool merge_concurrent = true;
  // Where the serial path creates, writes and fsyncs the temp file, and where both paths
  // rename it into place, fsync the directory and remove a failed temp file (nullptr:
  // io::default_file_system()). Tests pass fault-injecting and power-loss wrappers.
  io::FileSystem* fs = nullptr;
  // The serial path writes the file image in pieces of this size.
  std::size_t write_chunk_bytes = std::size_t{8} << 20;
};

struct CommitReport {
  std::string path;
  std::uint64_t generation = 0;
  std::uint64_t checksum = 0;
  std::uint64_t file_bytes = 0;
  std::size_t files = 0, objects = 0, schemas = 0;
  bool parallel = false;        // written with MPI-IO
  bool low_space = false;       // parallel asked for, serial used: too little free space
  bool merged = false;          // a newer cache on disk was merged in
  std::size_t merged_rows = 0;  // rows taken from it
  std::string merge_note;       // e.g. the on-disk cache was corrupt and moved aside
  double seconds = 0.0;
  double write_seconds = 0.0;
};

// Collective over comm. Writes rank 0's `cache` atomically to `path`: lock, merge with a newer
// cache on disk, write a unique temp file in the same directory (parallel HDF5 or serial per
// opts.io), fsync, re-open and verify, rename over `path`, fsync the directory. A failure
// after the rename (the directory fsync) also throws: the new cache is then in place but may
// not survive a power loss. Other ranks
// pass any Cache (it is ignored). On success rank 0's cache holds the committed content and
// generation; every rank returns the same report. Throws FatalError (exit code 2) on every rank
// when the cache cannot be written (directory missing or read-only, lock not obtained, write
// or verification failed); the temp file is removed and the previous cache left intact.
CommitReport commit(comm::Communicator& comm, Cache& cache, const std::string& path,
                    const CommitOptions& opts = {});

// ---- inspection ---------------------------------------------------------------------------

// Local. Structure and checksum of a cache file; never moves it. OK, or an Error with kind
// kMissing (no file), kCorrupt (unreadable, wrong structure, checksum mismatch) or
// kUnsupportedVersion / kUnsupportedFormat (newer format / not an mpiprep cache).
[[nodiscard]] Status verify(const std::string& path);

struct CacheSummary {
  std::string path;
  std::uint64_t file_bytes = 0;
  std::int32_t format_version = 0;
  std::uint64_t generation = 0;
  std::string writer_version;
  std::string created_utc;
  std::uint64_t checksum = 0;
  std::size_t files = 0, objects = 0, schemas = 0, schema_columns = 0, clusters = 0;
  std::size_t object_sets = 0, object_rows = 0;  // distinct object structures and their rows
  std::map<std::string, std::size_t> by_format;         // format name -> files
  std::map<std::string, std::size_t> failures_by_kind;  // error kind name -> files
};
// Local. Reads and verifies a cache (as verify) and counts its content, for `cache show`.
[[nodiscard]] Result<CacheSummary> summary(const std::string& path);
// Human-readable multi-line rendering of a summary.
std::string format_summary(const CacheSummary& s);

}  // namespace mpiprep::cache
