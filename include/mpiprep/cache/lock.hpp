// The commit lock (invariant 5): a lock file `<cache>.lock` created with O_CREAT|O_EXCL, which
// works on shared filesystems where flock/fcntl locks do not, holding who took it (user, host,
// pid, time) so a lock left by a killed job can be recognised as stale and broken.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "mpiprep/core/result.hpp"

namespace mpiprep::cache {

struct LockInfo {
  std::string user;
  std::string host;
  std::int64_t pid = 0;
  std::int64_t time_unix = 0;  // seconds since the epoch, when the lock was taken
  bool operator==(const LockInfo&) const = default;
};

struct LockOptions {
  std::chrono::seconds stale_after{600};
  std::chrono::milliseconds wait{std::chrono::minutes(2)};  // 0: try once
  std::chrono::milliseconds poll{100};                      // first retry delay (doubles, max 2 s)
};

// "<cache path>.lock"
std::string lock_path_for(const std::string& cache_path);

// Lock file text: "user=..\nhost=..\npid=..\ntime=..\n".
std::string format_lock(const LockInfo& info);
[[nodiscard]] Result<LockInfo> parse_lock(std::string_view text);
[[nodiscard]] Result<LockInfo> read_lock(const std::string& lock_path);
// This process, now.
LockInfo current_lock_info();

// A lock is stale when it is older than stale_after, or when it was taken on this host by a
// process that no longer exists. Unparsable content falls back to the file's mtime.
bool is_stale(const LockInfo& info, std::chrono::seconds stale_after, std::int64_t now_unix,
              std::string_view this_host);

// A held lock; released (file removed, if it is still ours) on destruction.
class CacheLock {
 public:
  CacheLock() = default;
  ~CacheLock();
  CacheLock(CacheLock&& other) noexcept;
  CacheLock& operator=(CacheLock&& other) noexcept;
  CacheLock(const CacheLock&) = delete;
  CacheLock& operator=(const CacheLock&) = delete;

  // Local. Creates `lock_path`, waiting up to opts.wait for a live holder and breaking a stale
  // lock. Errors: kTimeout (held by a live owner, named in the message), kPermission / kMissing
  // / kIo (the directory cannot be written).
  [[nodiscard]] static Result<CacheLock> acquire(const std::string& lock_path,
                                                 const LockOptions& opts = {});

  [[nodiscard]] bool held() const noexcept { return held_; }
  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  [[nodiscard]] const LockInfo& info() const noexcept { return info_; }
  // Removes the lock file if it still holds our content. Idempotent.
  void release() noexcept;

 private:
  std::string path_;
  LockInfo info_;
  bool held_ = false;
};

}  // namespace mpiprep::cache
