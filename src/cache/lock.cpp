#include "mpiprep/cache/lock.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <thread>

#include "mpiprep/core/log.hpp"
#include "mpiprep/io/file_system.hpp"
#include "posix.hpp"

namespace mpiprep::cache {
namespace {

constexpr std::size_t kMaxLockBytes = 4096;  // a lock file is a few lines; cap what we read

std::string user_name() {
  if (const char* u = std::getenv("USER"); u != nullptr && *u != '\0') return u;
  struct passwd pw {};
  struct passwd* res = nullptr;
  char buf[1024];
  if (getpwuid_r(::getuid(), &pw, buf, sizeof buf, &res) == 0 && res != nullptr) return pw.pw_name;
  return std::to_string(::getuid());
}

Result<std::string> read_small(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io::errno_error(errno, "open lock", path);
  std::string text(kMaxLockBytes, '\0');
  ssize_t n = ::read(fd, text.data(), text.size());
  int err = errno;
  ::close(fd);
  if (n < 0) return io::errno_error(err, "read lock", path);
  text.resize(static_cast<std::size_t>(n));
  return text;
}

// Seconds since the lock file was last modified, or -1.
std::int64_t file_age(const std::string& path, std::int64_t now) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return -1;
  return now - static_cast<std::int64_t>(st.st_mtim.tv_sec);
}

bool pid_alive(std::int64_t pid) {
  if (pid <= 0) return false;
  if (::kill(static_cast<pid_t>(pid), 0) == 0) return true;
  return errno == EPERM;  // exists, owned by someone else
}

}  // namespace

std::string lock_path_for(const std::string& cache_path) { return cache_path + ".lock"; }

std::string format_lock(const LockInfo& info) {
  return fmt::format("user={}\nhost={}\npid={}\ntime={}\n", info.user, info.host, info.pid,
                     info.time_unix);
}

Result<LockInfo> parse_lock(std::string_view text) {
  LockInfo info;
  bool have_host = false, have_pid = false, have_time = false;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    auto eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    auto key = line.substr(0, eq), value = line.substr(eq + 1);
    auto parse_int = [](std::string_view v, std::int64_t& out) {
      return std::from_chars(v.data(), v.data() + v.size(), out).ec == std::errc();
    };
    if (key == "user") info.user = std::string(value);
    if (key == "host") {
      info.host = std::string(value);
      have_host = true;
    }
    if (key == "pid") have_pid = parse_int(value, info.pid);
    if (key == "time") have_time = parse_int(value, info.time_unix);
  }
  if (!have_host || !have_pid || !have_time)
    return make_error(ErrorKind::kCorrupt, "lock file lacks host, pid or time");
  return info;
}

Result<LockInfo> read_lock(const std::string& lock_path) {
  auto text = read_small(lock_path);
  if (!text.ok()) return text.error();
  return parse_lock(*text);
}

LockInfo current_lock_info() {
  return LockInfo{user_name(), posix::hostname(), static_cast<std::int64_t>(::getpid()),
                  posix::now_unix()};
}

bool is_stale(const LockInfo& info, std::chrono::seconds stale_after, std::int64_t now_unix,
              std::string_view this_host) {
  if (now_unix - info.time_unix > stale_after.count()) return true;
  return info.host == this_host && !pid_alive(info.pid);
}

CacheLock::~CacheLock() { release(); }

CacheLock::CacheLock(CacheLock&& other) noexcept
    : path_(std::move(other.path_)),
      info_(std::move(other.info_)),
      held_(std::exchange(other.held_, false)) {}

CacheLock& CacheLock::operator=(CacheLock&& other) noexcept {
  if (this != &other) {
    release();
    path_ = std::move(other.path_);
    info_ = std::move(other.info_);
    held_ = std::exchange(other.held_, false);
  }
  return *this;
}

void CacheLock::release() noexcept {
  if (!held_) return;
  held_ = false;
  // Remove it only if it is still ours: a holder judged stale (e.g. after a long stall) may
  // have had its lock broken and taken by someone else.
  auto text = read_small(path_);
  if (text.ok() && *text == format_lock(info_)) ::unlink(path_.c_str());
}

Result<CacheLock> CacheLock::acquire(const std::string& lock_path, const LockOptions& opts) {
  const auto deadline = std::chrono::steady_clock::now() + opts.wait;
  auto delay = std::max(opts.poll, std::chrono::milliseconds(1));
  const std::string host = posix::hostname();
  auto next_notice = std::chrono::steady_clock::now();
  for (;;) {
    LockInfo me = current_lock_info();
    // The content is written and fsynced under a unique name first, then link()ed to the lock
    // name (atomic, fails with EEXIST if held; the classic NFS-safe lock): a process killed
    // midway never leaves a lock file without its owner in it (found by the random-kill test:
    // an empty lock judged by its mtime blocked the next commit for stale_after).
    const std::string fresh =
        fmt::format("{}.new-{}-{}-{:x}", lock_path, host, ::getpid(), posix::random_u64());
    int fd = ::open(fresh.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return io::errno_error(errno, "create lock", fresh);
    {
      const std::string text = format_lock(me);
      ssize_t n = ::write(fd, text.data(), text.size());
      int err = errno;
      bool synced = ::fsync(fd) == 0;
      ::close(fd);
      if (n != static_cast<ssize_t>(text.size()) || !synced) {
        ::unlink(fresh.c_str());
        return io::errno_error(n < 0 ? err : EIO, "write lock", fresh);
      }
    }
    int linked = ::link(fresh.c_str(), lock_path.c_str());
    int link_err = linked == 0 ? 0 : errno;
    if (linked != 0 && (link_err == EPERM || link_err == ENOTSUP || link_err == EMLINK)) {
      // No hard links on this filesystem: a rename that refuses to replace does the same.
      Status moved = posix::rename_noreplace(fresh, lock_path);
      linked = moved.ok() ? 0 : -1;
      link_err = moved.ok() ? 0 : (::access(lock_path.c_str(), F_OK) == 0 ? EEXIST : EIO);
    }
    ::unlink(fresh.c_str());
    if (linked == 0) {
      CacheLock lock;
      lock.path_ = lock_path;
      lock.info_ = std::move(me);
      lock.held_ = true;
      return lock;
    }
    if (link_err != EEXIST) return io::errno_error(link_err, "create lock", lock_path);

    // Held. Stale? A lock file that cannot be parsed (e.g. its writer died between create and
    // write) is judged by its mtime alone.
    const std::int64_t now = posix::now_unix();
    auto text = read_small(lock_path);
    if (!text.ok()) {
      if (text.error().kind == ErrorKind::kMissing) continue;  // released meanwhile: retry now
      return text.error();
    }
    auto holder = parse_lock(*text);
    bool stale = holder.ok() ? is_stale(*holder, opts.stale_after, now, host)
                             : file_age(lock_path, now) > opts.stale_after.count();
    if (stale) {
      // Break it by renaming it to a unique name first: of several breakers only one rename
      // succeeds. If what we moved is not the content we judged (a fresh lock appeared in
      // between), put it back.
      const std::string grave =
          fmt::format("{}.stale-{}-{}-{:x}", lock_path, host, ::getpid(), posix::random_u64());
      if (::rename(lock_path.c_str(), grave.c_str()) == 0) {
        auto moved = read_small(grave);
        if (moved.ok() && *moved == *text) {
          ::unlink(grave.c_str());
        } else if (!posix::rename_noreplace(grave, lock_path).ok()) {
          ::unlink(grave.c_str());
        }
        continue;
      }
      if (errno == ENOENT) continue;  // another breaker was faster
      // Stale but not ours to remove (e.g. a sticky directory): wait for it like a live one.
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      std::string who = holder.ok()
                            ? fmt::format("{}@{} pid {} since {}", holder->user, holder->host,
                                          holder->pid, posix::utc_iso(holder->time_unix))
                            : std::string("an unreadable owner");
      return make_error(ErrorKind::kTimeout,
                        fmt::format("cache lock {} is held by {}", lock_path, who));
    }
    if (std::chrono::steady_clock::now() >= next_notice) {
      // Say who we wait for, now and every 30 s: a job that seems stuck should say why.
      std::string who = holder.ok()
                            ? fmt::format("{}@{} pid {} since {}", holder->user, holder->host,
                                          holder->pid, posix::utc_iso(holder->time_unix))
                            : std::string("an unreadable owner");
      log::warn("cache", fmt::format("waiting for cache lock {} held by {} (stale after {} s, "
                                     "giving up after {} s)",
                                     lock_path, who, opts.stale_after.count(),
                                     std::chrono::duration_cast<std::chrono::seconds>(opts.wait)
                                         .count()));
      next_notice = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    std::this_thread::sleep_for(std::clamp(delay, std::chrono::milliseconds(1), left));
    delay = std::min(delay * 2, std::chrono::milliseconds(2000));
  }
}

}  // namespace mpiprep::cache
