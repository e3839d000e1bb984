// All file access goes through FileSystem, so tests can count, fake and break it
// (RocksDB-style stackable wrappers): Posix for real runs, Memory for unit tests, Counting to
// prove a warm scan opens no file, FaultInjecting to simulate EIO and short reads.
// Writing is limited to what an atomic publication needs (the cache commit): create a new file
// exclusively, write it, fsync it, rename it over the target, fsync the directory, unlink.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "mpiprep/core/result.hpp"

namespace mpiprep::io {

struct FileStat {
  std::int64_t size = 0;
  std::int64_t mtime_ns = 0;
  bool is_directory = false;
  bool is_regular = false;
};

// An open file, read with positional reads only (thread-safe by construction).
class RandomAccessFile {
 public:
  virtual ~RandomAccessFile() = default;
  // Reads up to buf.size() bytes at offset; returns the count (short only at end of file).
  virtual Result<std::size_t> pread(std::uint64_t offset, std::span<std::byte> buf) = 0;
  virtual std::uint64_t size() const = 0;
  virtual const std::string& path() const = 0;

  // Reads exactly n bytes or fails with kTruncated naming the offset.
  Result<std::vector<std::byte>> read_exact(std::uint64_t offset, std::size_t n);
};

// A directory entry with its type when listing the directory told it (readdir's d_type) and
// kUnknown when it did not or the entry is something else (a symlink, a device): a caller that
// needs to know then stats it.
enum class EntryType : std::uint8_t { kUnknown, kFile, kDirectory };
struct DirEntry {
  std::string name;
  EntryType type = EntryType::kUnknown;
  // Set by list_dir_stat for the entries it was asked to stat and could (stat(2) semantics:
  // symlinks followed); empty otherwise.
  std::optional<FileStat> stat;
};

// Which entries list_dir_stat stats: called with the name and the listed type of each entry.
using StatSelector = std::function<bool(std::string_view name, EntryType type)>;

// A new file being written (see FileSystem::create_exclusive). Not thread-safe.
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  // Writes all of `data` at `offset` (short writes are continued; a failure is an Error with
  // sys_errno, e.g. ENOSPC).
  [[nodiscard]] virtual Status write(std::uint64_t offset, std::span<const std::byte> data) = 0;
  // fsync: the data written so far survives a power loss once this succeeds.
  [[nodiscard]] virtual Status sync() = 0;
  // Closes the file (also done by the destructor, which ignores errors).
  [[nodiscard]] virtual Status close() = 0;
  virtual const std::string& path() const = 0;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;
  virtual Result<FileStat> stat(const std::string& path) = 0;
  virtual Result<std::unique_ptr<RandomAccessFile>> open(const std::string& path) = 0;
  // Immediate entries of a directory (names, not paths), unsorted.
  virtual Result<std::vector<std::string>> list_dir(const std::string& path) = 0;
  // The same with entry types, which saves a directory walk one stat per regular file on
  // filesystems that report them. The default says kUnknown for every entry.
  virtual Result<std::vector<DirEntry>> list_dir_typed(const std::string& path);
  // The same, and stats the entries `want` selects relative to the open directory (POSIX:
  // fstatat on its descriptor, as find does, instead of resolving every full path from the
  // root). A selected entry whose stat fails (it vanished meanwhile) keeps an empty `stat`:
  // the caller stats its path and gets the ordinary error. The default stats nothing (every
  // `stat` empty), so callers must handle that; it is what test doubles and wrappers that
  // must see each stat (latency, faults) get.
  virtual Result<std::vector<DirEntry>> list_dir_stat(const std::string& path,
                                                      const StatSelector& want);

  // Writing (used by the cache commit). The defaults fail with kInternal "not supported", so
  // read-only doubles (MemoryFileSystem, test fakes) need not implement them; Posix and the
  // wrappers in this header do.
  // Creates `path` (mode 0644 less umask), failing with EEXIST if it exists.
  virtual Result<std::unique_ptr<WritableFile>> create_exclusive(const std::string& path);
  // rename(2): atomically replaces `to`. Durable only after sync_dir of its directory.
  [[nodiscard]] virtual Status rename(const std::string& from, const std::string& to);
  // fsync of a directory: creations, renames and unlinks in it survive a power loss. A
  // filesystem that refuses fsync on directories (EINVAL) counts as success.
  [[nodiscard]] virtual Status sync_dir(const std::string& dir);
  [[nodiscard]] virtual Status unlink(const std::string& path);
};

// Base of the stackable wrappers: forwards every operation to `base`, so a wrapper overrides
// only the operations it changes (and a new FileSystem operation is forwarded by all of them).
class ForwardingFileSystem : public FileSystem {
 public:
  explicit ForwardingFileSystem(FileSystem& base) : base_(base) {}
  Result<FileStat> stat(const std::string& path) override { return base_.stat(path); }
  Result<std::unique_ptr<RandomAccessFile>> open(const std::string& path) override {
    return base_.open(path);
  }
  Result<std::vector<std::string>> list_dir(const std::string& path) override {
    return base_.list_dir(path);
  }
  Result<std::vector<DirEntry>> list_dir_typed(const std::string& path) override {
    return base_.list_dir_typed(path);
  }
  // Forwarded too, so its stats bypass this wrapper's stat(): a wrapper that changes or
  // observes stat() must override this as well (Counting does).
  Result<std::vector<DirEntry>> list_dir_stat(const std::string& path,
                                              const StatSelector& want) override {
    return base_.list_dir_stat(path, want);
  }
  Result<std::unique_ptr<WritableFile>> create_exclusive(const std::string& path) override {
    return base_.create_exclusive(path);
  }
  Status rename(const std::string& from, const std::string& to) override {
    return base_.rename(from, to);
  }
  Status sync_dir(const std::string& dir) override { return base_.sync_dir(dir); }
  Status unlink(const std::string& path) override { return base_.unlink(path); }

 protected:
  FileSystem& base_;
};

// The real thing. EINTR is retried at once; other errors are returned (default_file_system()
// wraps it in a RetryingFileSystem for the transient ones).
class PosixFileSystem final : public FileSystem {
 public:
  Result<FileStat> stat(const std::string& path) override;
  Result<std::unique_ptr<RandomAccessFile>> open(const std::string& path) override;
  Result<std::vector<std::string>> list_dir(const std::string& path) override;
  Result<std::vector<DirEntry>> list_dir_typed(const std::string& path) override;
  Result<std::vector<DirEntry>> list_dir_stat(const std::string& path,
                                              const StatSelector& want) override;
  Result<std::unique_ptr<WritableFile>> create_exclusive(const std::string& path) override;
  Status rename(const std::string& from, const std::string& to) override;
  Status sync_dir(const std::string& dir) override;
  Status unlink(const std::string& path) override;
};

// Files held in memory; paths are exact strings. For unit tests and the fuzzer.
class MemoryFileSystem final : public FileSystem {
 public:
  void add(const std::string& path, std::vector<std::byte> content, std::int64_t mtime_ns = 0);
  void remove(const std::string& path);
  Result<FileStat> stat(const std::string& path) override;
  Result<std::unique_ptr<RandomAccessFile>> open(const std::string& path) override;
  Result<std::vector<std::string>> list_dir(const std::string& path) override;

 private:
  struct Entry {
    std::shared_ptr<const std::vector<std::byte>> data;
    std::int64_t mtime_ns;
  };
  std::mutex mu_;
  std::map<std::string, Entry> files_;
};

struct IoCounters {
  std::atomic<std::uint64_t> stats{0};
  std::atomic<std::uint64_t> opens{0};
  std::atomic<std::uint64_t> preads{0};
  std::atomic<std::uint64_t> bytes_read{0};
};

// Counts stats, opens, reads and bytes; forwards everything to `base`.
class CountingFileSystem final : public ForwardingFileSystem {
 public:
  explicit CountingFileSystem(FileSystem& base) : ForwardingFileSystem(base) {}
  Result<FileStat> stat(const std::string& path) override;
  Result<std::unique_ptr<RandomAccessFile>> open(const std::string& path) override;
  // Counts every entry it asks `base` to stat as one stat.
  Result<std::vector<DirEntry>> list_dir_stat(const std::string& path,
                                              const StatSelector& want) override;
  IoCounters& counters() { return counters_; }

 private:
  IoCounters counters_;
};

// Fails chosen operations: paths whose reads always return EIO, or whose opens/reads fail
// with a given errno a number of times before they succeed (transient errors). Thread-safe.
class FaultInjectingFileSystem final : public ForwardingFileSystem {
 public:
  enum class Op { kOpen, kRead };
  explicit FaultInjectingFileSystem(FileSystem& base) : ForwardingFileSystem(base) {}
  void fail_reads(const std::string& path);
  // The next `times` opens (or preads) of `path` fail with `err` (e.g. ESTALE), then pass.
  void fail_transient(const std::string& path, Op op, int err, int times);
  // Faults injected so far by fail_transient.
  [[nodiscard]] std::uint64_t injected() const { return injected_.load(); }
  Result<std::unique_ptr<RandomAccessFile>> open(const std::string& path) override;
  // Write side: creates, writes, fsyncs, renames and directory fsyncs are counted (from 1),
  // and the one numbered `n` fails with `err` (ENOSPC, EIO, ...) without reaching `base`.
  // unlink is never failed (it is the cleanup) and close is not counted.
  void fail_mutation(std::uint64_t n, int err);
  [[nodiscard]] std::uint64_t mutations() const { return mutations_.load(); }
  Result<std::unique_ptr<WritableFile>> create_exclusive(const std::string& path) override;
  Status rename(const std::string& from, const std::string& to) override;
  Status sync_dir(const std::string& dir) override;
  // Internal (used by the injected writable files): counts one mutation, returns the errno
  // to fail it with, or 0.
  int take_mutation_fault();

  struct Transient {
    std::string path;
    Op op;
    int err;
    int left;
  };
  // Internal (used by the injected files): consumes one planned fault, returns its errno or 0.
  int take_fault(const std::string& path, Op op);

 private:
  std::mutex mu_;
  std::vector<std::string> failing_;
  std::vector<Transient> transient_;
  std::atomic<std::uint64_t> injected_{0};
  std::atomic<std::uint64_t> mutations_{0};
  std::uint64_t fail_mutation_at_ = 0;
  int fail_mutation_errno_ = 0;
};

// Retries transient errors (EINTR, EAGAIN, EIO, ESTALE: see is_transient) of open, stat and
// pread up to `max_retries` times, sleeping `first_backoff_s`, then twice as long each time
// (capped at `max_backoff_s`). A parallel filesystem's ESTALE or EIO during a server failover
// usually clears within tens of milliseconds; a persistent EIO costs at most the sum of the
// back-offs (default 5+10+20+40 ms) before it becomes the file's kIo error.
struct RetryPolicy {
  int max_retries = 4;
  double first_backoff_s = 5e-3;
  double max_backoff_s = 0.1;
};

class RetryingFileSystem final : public ForwardingFileSystem {
 public:
  explicit RetryingFileSystem(FileSystem& base, RetryPolicy policy = {})
      : ForwardingFileSystem(base), policy_(policy) {}
  Result<FileStat> stat(const std::string& path) override;
  Result<std::unique_ptr<RandomAccessFile>> open(const std::string& path) override;
  Result<std::vector<std::string>> list_dir(const std::string& path) override;
  Result<std::vector<DirEntry>> list_dir_typed(const std::string& path) override;
  // The listing is retried; a failed stat of one entry is left to the caller's stat(), which
  // is retried there.
  Result<std::vector<DirEntry>> list_dir_stat(const std::string& path,
                                              const StatSelector& want) override;
  // Writes are not retried: after a failed fsync the kernel may have dropped the dirty pages
  // and marked them clean, so a second fsync can succeed without the data being on disk
  // ("fsyncgate"). The commit instead fails and starts again from scratch next run, so the
  // write operations are forwarded as they are.
  // Retries done so far (all operations, all threads).
  [[nodiscard]] std::uint64_t retries() const { return retries_->load(); }

 private:
  const RetryPolicy policy_;
  std::shared_ptr<std::atomic<std::uint64_t>> retries_ =
      std::make_shared<std::atomic<std::uint64_t>>(0);
};

// True for an Error made by errno_error from a transient errno (EINTR, EAGAIN, EIO, ESTALE):
// errno_error is the io layer's single choke point for system errors and records the errno in
// Error::sys_errno.
[[nodiscard]] bool is_transient(const Error& e);

// Process-wide default: Posix with transient errors retried (RetryingFileSystem); main may
// wrap it in a CountingFileSystem and a LatencyFileSystem.
FileSystem& default_file_system();

// Turns an errno into an Error naming the operation and path (sys_errno = err).
Error errno_error(int err, const std::string& op, const std::string& path);

// Absolute, lexically normalized path (no symlink resolution, no I/O).
std::string absolute_path(const std::string& path);

}  // namespace mpiprep::io
