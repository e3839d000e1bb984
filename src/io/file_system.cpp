#include "mpiprep/io/file_system.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>
#include <utility>

namespace mpiprep::io {
namespace {

constexpr int kTransientErrnos[] = {EINTR, EAGAIN, EIO, ESTALE};

class PosixFile final : public RandomAccessFile {
 public:
  PosixFile(int fd, std::string path, std::uint64_t size)
      : fd_(fd), path_(std::move(path)), size_(size) {}
  ~PosixFile() override { ::close(fd_); }
  PosixFile(const PosixFile&) = delete;
  PosixFile& operator=(const PosixFile&) = delete;

  Result<std::size_t> pread(std::uint64_t offset, std::span<std::byte> buf) override {
    std::size_t done = 0;
    while (done < buf.size()) {
      ssize_t n = ::pread(fd_, buf.data() + done, buf.size() - done,
                          static_cast<off_t>(offset + done));
      if (n < 0) {
        int err = errno;
        if (err == EINTR) continue;
        return errno_error(err, "read", path_);
      }
      if (n == 0) break;  // end of file
      done += static_cast<std::size_t>(n);
    }
    return done;
  }
  std::uint64_t size() const override { return size_; }
  const std::string& path() const override { return path_; }

 private:
  int fd_;
  std::string path_;
  std::uint64_t size_;
};

class MemoryFile final : public RandomAccessFile {
 public:
  MemoryFile(std::shared_ptr<const std::vector<std::byte>> data, std::string path)
      : data_(std::move(data)), path_(std::move(path)) {}
  Result<std::size_t> pread(std::uint64_t offset, std::span<std::byte> buf) override {
    if (offset >= data_->size()) return std::size_t{0};
    std::size_t n = std::min<std::size_t>(buf.size(), data_->size() - offset);
    std::memcpy(buf.data(), data_->data() + offset, n);
    return n;
  }
  std::uint64_t size() const override { return data_->size(); }
  const std::string& path() const override { return path_; }

 private:
  std::shared_ptr<const std::vector<std::byte>> data_;
  std::string path_;
};

class CountingFile final : public RandomAccessFile {
 public:
  CountingFile(std::unique_ptr<RandomAccessFile> base, IoCounters& c)
      : base_(std::move(base)), c_(c) {}
  Result<std::size_t> pread(std::uint64_t offset, std::span<std::byte> buf) override {
    c_.preads.fetch_add(1, std::memory_order_relaxed);
    auto r = base_->pread(offset, buf);
    if (r.ok()) c_.bytes_read.fetch_add(*r, std::memory_order_relaxed);
    return r;
  }
  std::uint64_t size() const override { return base_->size(); }
  const std::string& path() const override { return base_->path(); }

 private:
  std::unique_ptr<RandomAccessFile> base_;
  IoCounters& c_;
};

class FailingFile final : public RandomAccessFile {
 public:
  explicit FailingFile(std::unique_ptr<RandomAccessFile> base) : base_(std::move(base)) {}
  Result<std::size_t> pread(std::uint64_t, std::span<std::byte>) override {
    return errno_error(EIO, "read", base_->path());
  }
  std::uint64_t size() const override { return base_->size(); }
  const std::string& path() const override { return base_->path(); }

 private:
  std::unique_ptr<RandomAccessFile> base_;
};

class TransientFaultFile final : public RandomAccessFile {
 public:
  TransientFaultFile(std::unique_ptr<RandomAccessFile> base, FaultInjectingFileSystem& fs)
      : base_(std::move(base)), fs_(fs) {}
  Result<std::size_t> pread(std::uint64_t offset, std::span<std::byte> buf) override {
    if (int err = fs_.take_fault(base_->path(), FaultInjectingFileSystem::Op::kRead); err != 0)
      return errno_error(err, "read", base_->path());
    return base_->pread(offset, buf);
  }
  std::uint64_t size() const override { return base_->size(); }
  const std::string& path() const override { return base_->path(); }

 private:
  std::unique_ptr<RandomAccessFile> base_;
  FaultInjectingFileSystem& fs_;
};

// Runs op() until it succeeds, fails for good, or the policy's retries are spent.
template <class Op>
auto with_retries(const RetryPolicy& policy, std::atomic<std::uint64_t>& count, Op&& op)
    -> decltype(op()) {
  double backoff = policy.first_backoff_s;
  for (int attempt = 0;; ++attempt) {
    auto r = op();
    if (r.ok() || attempt >= policy.max_retries || !is_transient(r.error())) return r;
    count.fetch_add(1, std::memory_order_relaxed);
    if (backoff > 0) std::this_thread::sleep_for(std::chrono::duration<double>(backoff));
    backoff = std::min(backoff * 2, policy.max_backoff_s);
  }
}

class RetryingFile final : public RandomAccessFile {
 public:
  RetryingFile(std::unique_ptr<RandomAccessFile> base, RetryPolicy policy,
               std::shared_ptr<std::atomic<std::uint64_t>> count)
      : base_(std::move(base)), policy_(policy), count_(std::move(count)) {}
  Result<std::size_t> pread(std::uint64_t offset, std::span<std::byte> buf) override {
    return with_retries(policy_, *count_, [&] { return base_->pread(offset, buf); });
  }
  std::uint64_t size() const override { return base_->size(); }
  const std::string& path() const override { return base_->path(); }

 private:
  std::unique_ptr<RandomAccessFile> base_;
  const RetryPolicy policy_;
  std::shared_ptr<std::atomic<std::uint64_t>> count_;
};

}  // namespace

bool is_transient(const Error& e) {
  return e.sys_errno != 0 && std::find(std::begin(kTransientErrnos), std::end(kTransientErrnos),
                                       e.sys_errno) != std::end(kTransientErrnos);
}

Result<std::vector<std::byte>> RandomAccessFile::read_exact(std::uint64_t offset, std::size_t n) {
  if (offset > size() || n > size() - offset) {
    return make_error(ErrorKind::kTruncated,
                      "need " + std::to_string(n) + " bytes at offset " + std::to_string(offset) +
                          ", file has " + std::to_string(size()));
  }
  std::vector<std::byte> buf(n);
  auto r = pread(offset, buf);
  if (!r.ok()) return r.error();
  if (*r != n) {
    return make_error(ErrorKind::kTruncated, "short read at offset " + std::to_string(offset) +
                                                 ": got " + std::to_string(*r) + " of " +
                                                 std::to_string(n) + " bytes");
  }
  return buf;
}

Error errno_error(int err, const std::string& op, const std::string& path) {
  ErrorKind kind = ErrorKind::kIo;
  if (err == ENOENT || err == ENOTDIR) kind = ErrorKind::kMissing;
  if (err == EACCES || err == EPERM) kind = ErrorKind::kPermission;
  Error e = make_error(kind, op + " " + path + ": " + std::strerror(err));
  e.sys_errno = err;
  return e;
}

// ---- Writing: defaults --------------------------------------------------------------------

namespace {
Error unsupported(const std::string& op, const std::string& path) {
  return make_error(ErrorKind::kInternal, op + " " + path + ": not supported by this file system");
}
}  // namespace

Result<std::unique_ptr<WritableFile>> FileSystem::create_exclusive(const std::string& path) {
  return unsupported("create", path);
}
Status FileSystem::rename(const std::string& from, const std::string&) {
  return unsupported("rename", from);
}
Status FileSystem::sync_dir(const std::string& dir) { return unsupported("fsync directory", dir); }
Status FileSystem::unlink(const std::string& path) { return unsupported("unlink", path); }

std::string absolute_path(const std::string& path) {
  std::filesystem::path p(path);
  if (p.is_relative()) p = std::filesystem::current_path() / p;
  auto s = p.lexically_normal().string();
  if (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

// ---- Posix ---------------------------------------------------------------------------------

namespace {
FileStat to_file_stat(const struct ::stat& st) {
  FileStat fs;
  fs.size = static_cast<std::int64_t>(st.st_size);
  fs.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  fs.is_directory = S_ISDIR(st.st_mode);
  fs.is_regular = S_ISREG(st.st_mode);
  return fs;
}
}  // namespace


Result<FileStat> PosixFileSystem::stat(const std::string& path) {
  struct ::stat st {};
  while (::stat(path.c_str(), &st) != 0) {
    int err = errno;
    if (err == EINTR) continue;
    return errno_error(err, "stat", path);
  }
  return to_file_stat(st);
}

Result<std::unique_ptr<RandomAccessFile>> PosixFileSystem::open(const std::string& path) {
  int fd = -1;
  // O_NONBLOCK: opening a FIFO without a writer must not block the rank (for regular files
  // it changes nothing); anything that is not a regular file is refused below.
  while ((fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0) {
    int err = errno;
    if (err == EINTR) continue;
    return errno_error(err, "open", path);
  }
  struct ::stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return errno_error(err, "fstat", path);
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    return make_error(ErrorKind::kIo, "open " + path + ": is a directory");
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return make_error(ErrorKind::kUnsupportedFormat,
                      "open " + path + ": not a regular file (device, socket or pipe)");
  }
  return std::unique_ptr<RandomAccessFile>(
      std::make_unique<PosixFile>(fd, path, static_cast<std::uint64_t>(st.st_size)));
}

Result<std::vector<std::string>> PosixFileSystem::list_dir(const std::string& path) {
  DIR* d = ::opendir(path.c_str());
  if (d == nullptr) return errno_error(errno, "opendir", path);
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string_view n(e->d_name);
    if (n == "." || n == "..") continue;
    names.emplace_back(n);
  }
  ::closedir(d);
  return names;
}

Result<std::vector<DirEntry>> PosixFileSystem::list_dir_typed(const std::string& path) {
  return list_dir_stat(path, nullptr);
}

Result<std::vector<DirEntry>> PosixFileSystem::list_dir_stat(const std::string& path,
                                                             const StatSelector& want) {
  DIR* d = ::opendir(path.c_str());
  if (d == nullptr) return errno_error(errno, "opendir", path);
  const int dfd = ::dirfd(d);
  // Sized like this thread's previous listing: sibling directories of a tree tend to hold as
  // many entries, and growing by doubling touched (and faulted in) twice the memory.
  static thread_local std::size_t last_count = 0;
  std::vector<DirEntry> entries;
  entries.reserve(last_count);
  while (dirent* e = ::readdir(d)) {
    std::string_view n(e->d_name);
    if (n == "." || n == "..") continue;
    // Symlinks stay unknown: the caller's stat follows them, as it always did.
    const EntryType type = e->d_type == DT_REG   ? EntryType::kFile
                           : e->d_type == DT_DIR ? EntryType::kDirectory
                                                 : EntryType::kUnknown;
    DirEntry& de = entries.emplace_back(DirEntry{std::string(n), type, std::nullopt});
    if (!want || !want(n, type)) continue;
    // Relative to the directory's descriptor: one component to resolve, not the whole path.
    // Flags 0 follow a symlink, as stat(2) does. A failure (the entry vanished, EACCES, EINTR)
    // leaves `stat` empty: the caller's stat(path) then reports it in the usual words.
    struct ::stat st {};
    if (::fstatat(dfd, e->d_name, &st, 0) == 0) de.stat = to_file_stat(st);
  }
  ::closedir(d);
  last_count = entries.size();
  return entries;
}

Result<std::vector<DirEntry>> FileSystem::list_dir_stat(const std::string& path,
                                                        const StatSelector& /*want*/) {
  return list_dir_typed(path);
}

Result<std::vector<DirEntry>> FileSystem::list_dir_typed(const std::string& path) {
  auto names = list_dir(path);
  if (!names.ok()) return names.error();
  std::vector<DirEntry> entries;
  entries.reserve(names->size());
  for (auto& n : *names) entries.push_back(DirEntry{std::move(n), EntryType::kUnknown});
  return entries;
}

namespace {
class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) ::close(fd_);
  }
  PosixWritableFile(const PosixWritableFile&) = delete;
  PosixWritableFile& operator=(const PosixWritableFile&) = delete;

  Status write(std::uint64_t offset, std::span<const std::byte> data) override {
    std::size_t done = 0;
    while (done < data.size()) {
      const ssize_t n = ::pwrite(fd_, data.data() + done, data.size() - done,
                                 static_cast<off_t>(offset + done));
      if (n < 0) {
        const int err = errno;
        if (err == EINTR) continue;
        return errno_error(err, "write", path_);
      }
      if (n == 0) return errno_error(ENOSPC, "write", path_);  // no progress: treat as full
      done += static_cast<std::size_t>(n);
    }
    return Status::success();
  }
  Status sync() override {
    if (::fsync(fd_) != 0) return errno_error(errno, "fsync", path_);
    return Status::success();
  }
  Status close() override {
    const int fd = std::exchange(fd_, -1);
    // close(2) can report a deferred write error (NFS); EINTR leaves the fd closed on Linux.
    if (fd >= 0 && ::close(fd) != 0 && errno != EINTR) return errno_error(errno, "close", path_);
    return Status::success();
  }
  const std::string& path() const override { return path_; }

 private:
  int fd_;
  std::string path_;
};
}  // namespace

Result<std::unique_ptr<WritableFile>> PosixFileSystem::create_exclusive(const std::string& path) {
  int fd = -1;
  while ((fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0) {
    const int err = errno;
    if (err == EINTR) continue;
    return errno_error(err, "create", path);
  }
  return std::unique_ptr<WritableFile>(std::make_unique<PosixWritableFile>(fd, path));
}

Status PosixFileSystem::rename(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) return errno_error(errno, "rename to " + to, from);
  return Status::success();
}

Status PosixFileSystem::sync_dir(const std::string& dir) {
  int fd = -1;
  while ((fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
    const int err = errno;
    if (err == EINTR) continue;
    return errno_error(err, "open directory for fsync", dir);
  }
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  // Some filesystems refuse fsync on a directory (EINVAL); a rename there is as durable as
  // that filesystem can make it.
  if (rc != 0 && err != EINVAL) return errno_error(err, "fsync directory", dir);
  return Status::success();
}

Status PosixFileSystem::unlink(const std::string& path) {
  if (::unlink(path.c_str()) != 0) return errno_error(errno, "unlink", path);
  return Status::success();
}

// ---- Memory --------------------------------------------------------------------------------

void MemoryFileSystem::add(const std::string& path, std::vector<std::byte> content,
                           std::int64_t mtime_ns) {
  std::lock_guard lock(mu_);
  files_[path] = Entry{std::make_shared<const std::vector<std::byte>>(std::move(content)),
                       mtime_ns};
}

void MemoryFileSystem::remove(const std::string& path) {
  std::lock_guard lock(mu_);
  files_.erase(path);
}

Result<FileStat> MemoryFileSystem::stat(const std::string& path) {
  std::lock_guard lock(mu_);
  auto it = files_.find(path);
  if (it != files_.end()) {
    FileStat st;
    st.size = static_cast<std::int64_t>(it->second.data->size());
    st.mtime_ns = it->second.mtime_ns;
    st.is_regular = true;
    return st;
  }
  // A directory is any prefix of a stored path.
  std::string prefix = path.empty() || path.back() == '/' ? path : path + "/";
  auto lb = files_.lower_bound(prefix);
  if (lb != files_.end() && lb->first.compare(0, prefix.size(), prefix) == 0) {
    FileStat st;
    st.is_directory = true;
    return st;
  }
  return errno_error(ENOENT, "stat", path);
}

Result<std::unique_ptr<RandomAccessFile>> MemoryFileSystem::open(const std::string& path) {
  std::lock_guard lock(mu_);
  auto it = files_.find(path);
  if (it == files_.end()) return errno_error(ENOENT, "open", path);
  return std::unique_ptr<RandomAccessFile>(std::make_unique<MemoryFile>(it->second.data, path));
}

Result<std::vector<std::string>> MemoryFileSystem::list_dir(const std::string& path) {
  std::lock_guard lock(mu_);
  std::string prefix = path.empty() || path.back() == '/' ? path : path + "/";
  std::vector<std::string> names;
  for (auto it = files_.lower_bound(prefix);
       it != files_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
    std::string rest = it->first.substr(prefix.size());
    std::string name = rest.substr(0, rest.find('/'));
    if (names.empty() || names.back() != name) names.push_back(name);
  }
  if (names.empty()) return errno_error(ENOENT, "opendir", path);
  return names;
}

// ---- Counting ------------------------------------------------------------------------------

Result<FileStat> CountingFileSystem::stat(const std::string& path) {
  counters_.stats.fetch_add(1, std::memory_order_relaxed);
  return base_.stat(path);
}

Result<std::unique_ptr<RandomAccessFile>> CountingFileSystem::open(const std::string& path) {
  counters_.opens.fetch_add(1, std::memory_order_relaxed);
  auto f = base_.open(path);
  if (!f.ok()) return f.error();
  return std::unique_ptr<RandomAccessFile>(
      std::make_unique<CountingFile>(std::move(f).value(), counters_));
}

Result<std::vector<DirEntry>> CountingFileSystem::list_dir_stat(const std::string& path,
                                                                const StatSelector& want) {
  // Counted after the fact from what came back, so a base that stats nothing counts nothing;
  // a stat that failed is not seen here and is counted when the caller re-stats the path.
  auto r = base_.list_dir_stat(path, want);
  if (r.ok()) {
    std::uint64_t n = 0;
    for (const auto& e : *r)
      if (e.stat) ++n;
    counters_.stats.fetch_add(n, std::memory_order_relaxed);
  }
  return r;
}

// ---- Fault injecting -----------------------------------------------------------------------

void FaultInjectingFileSystem::fail_reads(const std::string& path) {
  std::lock_guard lock(mu_);
  failing_.push_back(path);
}

void FaultInjectingFileSystem::fail_transient(const std::string& path, Op op, int err,
                                              int times) {
  std::lock_guard lock(mu_);
  transient_.push_back(Transient{path, op, err, times});
}

int FaultInjectingFileSystem::take_fault(const std::string& path, Op op) {
  std::lock_guard lock(mu_);
  for (auto& t : transient_) {
    if (t.left > 0 && t.op == op && t.path == path) {
      --t.left;
      injected_.fetch_add(1);
      return t.err;
    }
  }
  return 0;
}

Result<std::unique_ptr<RandomAccessFile>> FaultInjectingFileSystem::open(const std::string& path) {
  if (int err = take_fault(path, Op::kOpen); err != 0) return errno_error(err, "open", path);
  auto f = base_.open(path);
  if (!f.ok()) return f.error();
  bool fail = false, transient = false;
  {
    std::lock_guard lock(mu_);
    fail = std::find(failing_.begin(), failing_.end(), path) != failing_.end();
    for (const auto& t : transient_) transient = transient || (t.path == path && t.op == Op::kRead);
  }
  if (fail)
    return std::unique_ptr<RandomAccessFile>(std::make_unique<FailingFile>(std::move(f).value()));
  if (transient)
    return std::unique_ptr<RandomAccessFile>(
        std::make_unique<TransientFaultFile>(std::move(f).value(), *this));
  return f;
}

void FaultInjectingFileSystem::fail_mutation(std::uint64_t n, int err) {
  std::lock_guard lock(mu_);
  fail_mutation_at_ = mutations_.load() + n;
  fail_mutation_errno_ = err;
}

int FaultInjectingFileSystem::take_mutation_fault() {
  std::lock_guard lock(mu_);
  const std::uint64_t k = ++mutations_;
  if (k != fail_mutation_at_) return 0;
  injected_.fetch_add(1);
  return fail_mutation_errno_;
}

namespace {
class FaultInjectingWritableFile final : public WritableFile {
 public:
  FaultInjectingWritableFile(std::unique_ptr<WritableFile> base, FaultInjectingFileSystem& fs)
      : base_(std::move(base)), fs_(fs) {}
  Status write(std::uint64_t offset, std::span<const std::byte> data) override {
    if (int err = fs_.take_mutation_fault(); err != 0) {
      // A full disk typically takes part of the write first.
      (void)base_->write(offset, data.first(data.size() / 2));
      return errno_error(err, "write", base_->path());
    }
    return base_->write(offset, data);
  }
  Status sync() override {
    if (int err = fs_.take_mutation_fault(); err != 0)
      return errno_error(err, "fsync", base_->path());
    return base_->sync();
  }
  Status close() override { return base_->close(); }
  const std::string& path() const override { return base_->path(); }

 private:
  std::unique_ptr<WritableFile> base_;
  FaultInjectingFileSystem& fs_;
};
}  // namespace

Result<std::unique_ptr<WritableFile>> FaultInjectingFileSystem::create_exclusive(
    const std::string& path) {
  if (int err = take_mutation_fault(); err != 0) return errno_error(err, "create", path);
  auto f = base_.create_exclusive(path);
  if (!f.ok()) return f.error();
  return std::unique_ptr<WritableFile>(
      std::make_unique<FaultInjectingWritableFile>(std::move(f).value(), *this));
}

Status FaultInjectingFileSystem::rename(const std::string& from, const std::string& to) {
  if (int err = take_mutation_fault(); err != 0) return errno_error(err, "rename to " + to, from);
  return base_.rename(from, to);
}

Status FaultInjectingFileSystem::sync_dir(const std::string& dir) {
  if (int err = take_mutation_fault(); err != 0) return errno_error(err, "fsync directory", dir);
  return base_.sync_dir(dir);
}

// ---- Retrying --------------------------------------------------------------------------------

Result<FileStat> RetryingFileSystem::stat(const std::string& path) {
  return with_retries(policy_, *retries_, [&] { return base_.stat(path); });
}

Result<std::unique_ptr<RandomAccessFile>> RetryingFileSystem::open(const std::string& path) {
  auto f = with_retries(policy_, *retries_, [&] { return base_.open(path); });
  if (!f.ok()) return f.error();
  return std::unique_ptr<RandomAccessFile>(
      std::make_unique<RetryingFile>(std::move(f).value(), policy_, retries_));
}

Result<std::vector<std::string>> RetryingFileSystem::list_dir(const std::string& path) {
  return with_retries(policy_, *retries_, [&] { return base_.list_dir(path); });
}

Result<std::vector<DirEntry>> RetryingFileSystem::list_dir_typed(const std::string& path) {
  return with_retries(policy_, *retries_, [&] { return base_.list_dir_typed(path); });
}

Result<std::vector<DirEntry>> RetryingFileSystem::list_dir_stat(const std::string& path,
                                                                const StatSelector& want) {
  return with_retries(policy_, *retries_, [&] { return base_.list_dir_stat(path, want); });
}

FileSystem& default_file_system() {
  static PosixFileSystem posix;
  static RetryingFileSystem fs(posix);
  return fs;
}

}  // namespace mpiprep::io
