// Crash-safe journal (DESIGN.md invariant 2: finished work is not lost). Each rank appends the
// FileMeta it extracted to its own append-only file beside the cache; a killed run leaves these
// files behind and the next run replays them instead of extracting those files again.
//
// File name: `<cache path>.journal.<host>.<pid>.<rank>` (plus `.<n>` if that name is taken), in
// the cache's directory, so every host of a job and every later run sees the same set.
// Layout (all integers little-endian, as written by the host):
//   file header, 16 bytes : "MPJRNL01" | u32 wire version | u32 zero
//   record, repeated      : u32 magic "MPJR" | u32 payload length | u64 XXH64(payload, seed =
//                           length) | payload = wire::encode(batch of FileMeta)
// Appends are written within WriterOptions::write_interval_s (survives SIGKILL) and fdatasynced
// within flush_interval_s (survives a node crash).
// A record is either entirely valid or the end of the file as far as replay is concerned: a
// torn tail (short header, short payload, bad magic, bad checksum, undecodable payload) stops
// the replay of that file, and its bytes are counted as dropped.
//
// Typical use (the CLI):
//   auto old = journal::replay(cache);                 // before extracting: reuse the records
//   auto w = journal::Writer::create(cache, rank);     // then each rank appends its results
//   ... w->append(meta) ...; w->close();
//   ... commit the cache (including old->metas) ...
//   journal::remove_journals(cache, old->files);       // only after the commit succeeded
//   journal::remove_journals(cache, {w->path()});
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "mpiprep/core/meta.hpp"
#include "mpiprep/core/result.hpp"
#include "mpiprep/io/file_system.hpp"

namespace mpiprep::journal {

inline constexpr std::size_t kFileHeaderBytes = 16;
inline constexpr std::size_t kRecordHeaderBytes = 16;
// Replay refuses records claiming more than this (a corrupt length, not a real batch).
inline constexpr std::uint32_t kMaxRecordBytes = 256u << 20;

struct WriterOptions {
  // Bound on how long an appended FileMeta may stay not durable (write + fdatasync): this is
  // how often a busy rank calls fdatasync, the expensive part on a parallel filesystem.
  double flush_interval_s = 10.0;
  // Bound on how long it may stay in this process's memory only. A write() without fdatasync
  // is cheap and already survives SIGKILL of the job (the common way runs die: Slurm time
  // limits, OOM killer); only a node crash needs the fdatasync above.
  double write_interval_s = 1.0;
  // FileMeta per journal record: a record is the unit that survives or is dropped whole.
  std::size_t metas_per_record = 64;
  // Encoded bytes waiting in memory that trigger an early write() (without fdatasync: the page
  // cache already survives SIGKILL of the process; fdatasync keeps the interval above).
  std::size_t write_threshold_bytes = std::size_t{4} << 20;
  // A flusher thread enforces flush_interval_s even when nobody calls append(). Without it,
  // the interval is checked on each append() only.
  bool background = true;
};

struct WriterStats {
  std::uint64_t metas = 0;    // FileMeta appended
  std::uint64_t records = 0;  // records framed
  std::uint64_t bytes = 0;    // bytes written to the file (header included)
  std::uint64_t syncs = 0;    // fdatasync calls
};

// One rank's journal file. Thread-safe: append() may be called from any thread. Errors (disk
// full, I/O) are sticky and returned by every later call; they never throw.
class Writer {
 public:
  // Local. Creates a new journal file beside `cache_path` (exclusive create, directory
  // fsynced so the file's existence is durable).
  [[nodiscard]] static Result<std::unique_ptr<Writer>> create(const std::string& cache_path,
                                                              int rank, WriterOptions options = {});
  ~Writer();  // close(); an error there is lost: call close() yourself to see it
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  [[nodiscard]] Status append(const FileMeta& meta);
  [[nodiscard]] Status append(std::span<const FileMeta> metas);
  // Everything appended so far is written and fdatasynced when this returns ok.
  [[nodiscard]] Status flush();
  // flush() and close the file; later appends fail. Idempotent.
  [[nodiscard]] Status close();

  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] WriterStats stats() const;

 private:
  using Clock = std::chrono::steady_clock;
  Writer(std::string path, int fd, WriterOptions options);
  void frame_pending_locked();  // pending_ -> one record in encoded_
  Status write_out(bool sync);  // encoded_ (and pending_) -> file
  void flusher_loop();
  // What is due at `now`: a write, a write + fdatasync, or nothing (and when next).
  struct Due {
    bool write = false;
    bool sync = false;
    Clock::time_point next{};
  };
  Due due_locked(Clock::time_point now) const;

  const std::string path_;
  const WriterOptions options_;
  int fd_ = -1;

  mutable std::mutex mu_;  // guards the fields below
  std::condition_variable cv_;
  std::vector<FileMeta> pending_;
  std::vector<std::byte> encoded_;
  Clock::time_point oldest_unsynced_{};
  bool has_unsynced_ = false;
  Clock::time_point oldest_unwritten_{};
  bool has_unwritten_ = false;
  bool closed_ = false;
  Error error_{ErrorKind::kNone, ""};
  WriterStats stats_;

  std::mutex io_mu_;  // serializes write()+fdatasync (held without mu_ during the syscalls)
  std::thread flusher_;
};

// What a replay found in one journal file.
struct JournalFile {
  std::string path;
  std::uint64_t size = 0;
  std::size_t records = 0;  // complete, valid records
  std::size_t metas = 0;
  std::uint64_t bytes_dropped = 0;  // torn tail or garbage after the last valid record
  std::string problem;              // why the tail was dropped / the file skipped; empty if clean
  bool replayed = false;            // false: unreadable or not a journal; left in place
};

struct Replay {
  std::vector<FileMeta> metas;     // every record of every replayed file, file by file in
                                   // name order, in append order within a file; a path may
                                   // appear more than once (the caller keeps the last or best)
  std::vector<std::string> files;  // the files replayed: pass to remove_journals after commit
  std::vector<JournalFile> details;
  std::uint64_t bytes_dropped = 0;
};

// Local. Journal files of `cache_path` (any host, pid, rank), sorted by name.
[[nodiscard]] Result<std::vector<std::string>> list_journals(
    const std::string& cache_path, io::FileSystem& fs = io::default_file_system());

// Local. Reads every journal of `cache_path`. A missing directory or no journal is an empty
// Replay; an unreadable or foreign file is skipped (reported in details, not in files). Only an
// unlistable directory is an Error. Note: a journal that another job is still writing is
// replayed too (its complete records are valid results).
[[nodiscard]] Result<Replay> replay(const std::string& cache_path,
                                    io::FileSystem& fs = io::default_file_system());

// Local. Unlinks the given journal files (refusing any path that is not a journal of
// `cache_path`), then fsyncs the directory. Already-missing files are not an error.
[[nodiscard]] Status remove_journals(const std::string& cache_path,
                                     const std::vector<std::string>& files);

// The path prefix of `cache_path`'s journals: "<cache path>.journal.".
std::string journal_prefix(const std::string& cache_path);

}  // namespace mpiprep::journal
