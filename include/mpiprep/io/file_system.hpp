// All file access goes through FileSystem, so tests can count, fake and break it
// (RocksDB-style stackable wrappers): Posix for real runs, Memory for unit tests, Counting to
// prove a warm scan opens no file, FaultInjecting to simulate EIO and short reads.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
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

class FileSystem {
 public:
  virtual ~FileSystem() = default;
  virtual Result<FileStat> stat(const std::string& path) = 0;
  virtual Result<std::unique_ptr<RandomAccessFile>> open(const std::string& path) = 0;
  // Immediate entries of a directory (names, not paths), unsorted.
  virtual Result<std::vector<std::string>> list_dir(const std::string& path) = 0;
};

// The real thing. Transient errors (EINTR, EAGAIN, EIO, ESTALE) are retried a bounded number
// of times before they become kIo.
class PosixFileSystem final : public FileSystem {
 public:
  Result<FileStat> stat(const std::string& path) override;
  Result<std::unique_ptr<RandomAccessFile>> open(const std::string& path) override;
  Result<std::vector<std::string>> list_dir(const std::string& path) override;
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
class CountingFileSystem final : public FileSystem {
 public:
  explicit CountingFileSystem(FileSystem& base) : base_(base) {}
  Result<FileStat> stat(const std::string& path) override;
  Result<std::unique_ptr<RandomAccessFile>> open(const std::string& path) override;
  Result<std::vector<std::string>> list_dir(const std::string& path) override;
  IoCounters& counters() { return counters_; }

 private:
  FileSystem& base_;
  IoCounters counters_;
};

// Fails chosen operations: paths whose reads return EIO, or reads cut short after a byte limit.
class FaultInjectingFileSystem final : public FileSystem {
 public:
  explicit FaultInjectingFileSystem(FileSystem& base) : base_(base) {}
  void fail_reads(const std::string& path) { failing_.push_back(path); }
  Result<FileStat> stat(const std::string& path) override;
  Result<std::unique_ptr<RandomAccessFile>> open(const std::string& path) override;
  Result<std::vector<std::string>> list_dir(const std::string& path) override;

 private:
  FileSystem& base_;
  std::vector<std::string> failing_;
};

// Process-wide default (Posix); main may wrap it in a CountingFileSystem.
FileSystem& default_file_system();

// Turns an errno into an Error naming the operation and path.
Error errno_error(int err, const std::string& op, const std::string& path);

// Absolute, lexically normalized path (no symlink resolution, no I/O).
std::string absolute_path(const std::string& path);

}  // namespace mpiprep::io
