#include "posix.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <stdio.h>  // renameat2
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <ctime>
#include <random>

#include "mpiprep/io/file_system.hpp"

namespace mpiprep::cache::posix {
namespace {

Error os_error(int err, const std::string& op, const std::string& path) {
  return io::errno_error(err, op, path);
}

// Closes an fd on scope exit.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

std::string format_utc(std::int64_t unix_seconds, const char* fmt_str) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::size_t n = std::strftime(buf, sizeof buf, fmt_str, &tm);
  return std::string(buf, n);
}

}  // namespace

std::string parent_dir(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string hostname() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown-host";
  return buf;
}

std::string utc_stamp(std::int64_t unix_seconds) {
  return format_utc(unix_seconds, "%Y%m%dT%H%M%S");
}

std::string utc_iso(std::int64_t unix_seconds) {
  return format_utc(unix_seconds, "%Y-%m-%dT%H:%M:%SZ");
}

std::int64_t now_unix() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::uint64_t random_u64() {
  std::random_device rd;
  return (std::uint64_t{rd()} << 32) ^ std::uint64_t{rd()};
}

Status require_writable_dir(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return os_error(errno, "cache directory", dir);
  if (!S_ISDIR(st.st_mode))
    return make_error(ErrorKind::kMissing,
                      fmt::format("cache directory {} is not a directory", dir));
  if (::access(dir.c_str(), W_OK | X_OK) != 0)
    return os_error(errno, "write to cache directory", dir);
  return Status::success();
}

Status fsync_path(const std::string& path) {
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) return os_error(errno, "open for fsync", path);
  if (::fsync(f.fd) != 0) return os_error(errno, "fsync", path);
  return Status::success();
}

Status fsync_dir(const std::string& dir) {
  Fd f{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (f.fd < 0) return os_error(errno, "open directory for fsync", dir);
  // Some filesystems refuse fsync on a directory (EINVAL); the rename is then as durable as
  // that filesystem can make it.
  if (::fsync(f.fd) != 0 && errno != EINVAL) return os_error(errno, "fsync directory", dir);
  return Status::success();
}

Status rename_over(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) return os_error(errno, "rename to " + to, from);
  return Status::success();
}

Status rename_noreplace(const std::string& from, const std::string& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0)
    return Status::success();
  if (errno != EINVAL && errno != ENOSYS) return os_error(errno, "rename to " + to, from);
  struct stat st {};
  if (::lstat(to.c_str(), &st) == 0) return os_error(EEXIST, "rename to " + to, from);
  return rename_over(from, to);
}

void remove_quietly(const std::string& path) noexcept { ::unlink(path.c_str()); }

Result<std::string> move_aside(const std::string& path) {
  const std::string base = path + ".corrupt-" + utc_stamp(now_unix());
  for (int i = 0; i < 1000; ++i) {
    std::string target = i == 0 ? base : fmt::format("{}-{}", base, i);
    Status s = rename_noreplace(path, target);
    if (s.ok()) return target;
    // Only "target taken" is worth another name; anything else (e.g. another job moved the
    // file first) is final.
    struct stat st {};
    if (::lstat(target.c_str(), &st) != 0 || ::lstat(path.c_str(), &st) != 0) return s.error();
  }
  return make_error(ErrorKind::kIo, "no free name to move " + path + " aside");
}

}  // namespace mpiprep::cache::posix
