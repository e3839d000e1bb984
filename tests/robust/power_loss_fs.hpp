// A FileSystem wrapper for power-loss tests (RocksDB's FaultInjectionTestFS idea): it forwards
// everything to a real file system and records every write-side operation on the files of one
// directory, so that the directory's state after a crash right after any recorded operation
// can be rebuilt in another directory:
//   kPowerLoss   only what was made durable survives: file data as of its last fsync (a file
//                never fsynced is empty), and directory entries (creations, renames, unlinks)
//                as of the directory's last fsync;
//   kNamesAhead  the directory's current entries but only fsynced data (a filesystem whose
//                journal committed the rename before the data reached the disk);
//   kProcess     everything (the process died, the kernel kept its page cache).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "mpiprep/io/file_system.hpp"

namespace mpiprep::testing {

class PowerLossFileSystem final : public io::ForwardingFileSystem {
 public:
  enum class Crash { kPowerLoss, kNamesAhead, kProcess };

  // Tracks the regular files directly in `dir` (an absolute path); their contents now are the
  // durable starting state.
  PowerLossFileSystem(io::FileSystem& base, std::string dir);

  // Reads go straight to `base`; the write side is recorded.
  Result<std::unique_ptr<io::WritableFile>> create_exclusive(const std::string& path) override;
  Status rename(const std::string& from, const std::string& to) override;
  Status sync_dir(const std::string& dir) override;
  Status unlink(const std::string& path) override;

  // Operations recorded so far.
  [[nodiscard]] std::size_t ops() const;
  // "write cache.h5.tmp-... @0 +65536", for messages.
  [[nodiscard]] std::string describe(std::size_t i) const;
  // Fills the (existing, empty) directory `out_dir` with the tracked directory's files as a
  // crash right after the first `n` recorded operations would leave them.
  void materialize(std::size_t n, Crash mode, const std::string& out_dir) const;

  // Internal (the recording writable file).
  enum class Type { kCreate, kWrite, kSync, kRename, kSyncDir, kUnlink };
  void record(Type type, std::size_t inode, std::string name, std::string name2 = {},
              std::uint64_t offset = 0, std::vector<std::byte> data = {});

 private:
  struct Op {
    Type type;
    std::size_t inode;
    std::string name, name2;  // file names within the directory
    std::uint64_t offset;
    std::vector<std::byte> data;
  };
  // The name of `path` in the tracked directory, or "" if it is elsewhere.
  [[nodiscard]] std::string tracked_name(const std::string& path) const;

  const std::string dir_;
  std::vector<std::pair<std::string, std::vector<std::byte>>> initial_;
  mutable std::mutex mu_;
  std::vector<Op> ops_;
  std::map<std::string, std::size_t> inode_of_;  // current names -> inode (for rename)
  std::size_t next_inode_ = 0;
};

const char* crash_name(PowerLossFileSystem::Crash c);

}  // namespace mpiprep::testing
