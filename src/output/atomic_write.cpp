// Atomic publish of output files (RocksDB SetCurrentFile style): unique temporary in the same
// directory, write, fsync, rename, fsync the directory; the temporary is removed on failure.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <random>

#include <fmt/format.h>

#include "mpiprep/io/file_system.hpp"
#include "mpiprep/output/coffea.hpp"

namespace mpiprep::output {
namespace {

// Closes the descriptor and, unless released, unlinks the temporary file.
class TempFile {
 public:
  TempFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  [[nodiscard]] int fd() const { return fd_; }
  int close() {
    int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }
  void release() { path_.clear(); }

 private:
  int fd_;
  std::string path_;
};

Status fsync_directory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io::errno_error(errno, "open directory", dir);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  // Some file systems refuse fsync on a directory; the rename itself has been done.
  if (rc != 0 && err != EINVAL && err != EROFS) return io::errno_error(err, "fsync", dir);
  return {};
}

}  // namespace

AtomicFile::AtomicFile(int fd, std::string path, std::string tmp, std::string dir)
    : fd_(fd), path_(std::move(path)), tmp_(std::move(tmp)), dir_(std::move(dir)) {}

AtomicFile::AtomicFile(AtomicFile&& other) noexcept
    : fd_(other.fd_), path_(std::move(other.path_)), tmp_(std::move(other.tmp_)),
      dir_(std::move(other.dir_)) {
  other.fd_ = -1;
  other.tmp_.clear();
}

AtomicFile::~AtomicFile() {
  TempFile cleanup(fd_, tmp_);  // closes, and removes the temporary unless committed
}

Result<AtomicFile> AtomicFile::create(const std::string& path) {
  std::filesystem::path target(path);
  std::string dir = target.parent_path().empty() ? std::string(".") : target.parent_path().string();
  std::random_device rd;
  int fd = -1;
  std::string tmp;
  for (int attempt = 0; attempt < 16 && fd < 0; ++attempt) {
    tmp = fmt::format("{}/.{}.tmp.{}.{:08x}", dir, target.filename().string(), ::getpid(), rd());
    // 0666 minus the umask, like a plain create; O_EXCL makes the name ours alone.
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && errno != EEXIST) return io::errno_error(errno, "create", tmp);
  }
  if (fd < 0) return io::errno_error(EEXIST, "create", tmp);
  return AtomicFile(fd, path, std::move(tmp), std::move(dir));
}

Status AtomicFile::append(std::string_view bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return io::errno_error(errno, "write", tmp_);
    }
    done += static_cast<std::size_t>(n);
  }
  return {};
}

Status AtomicFile::commit() {
  if (::fsync(fd_) != 0) return io::errno_error(errno, "fsync", tmp_);
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) return io::errno_error(errno, "close", tmp_);
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) return io::errno_error(errno, "rename", path_);
  tmp_.clear();
  return fsync_directory(dir_);
}

Status write_file_atomic(const std::string& path, std::string_view bytes) {
  auto file = AtomicFile::create(path);
  if (!file) return std::move(file).error();
  if (auto s = file->append(bytes); !s) return s;
  return file->commit();
}

Status write_failures(const Preprocessed& pre, const std::string& failures_path) {
  constexpr auto kReplace = nlohmann::ordered_json::error_handler_t::replace;
  std::string failures = failures_json(pre.failures).dump(1, ' ', false, kReplace);
  failures += '\n';
  return write_file_atomic(failures_path, failures);
}

Status write_outputs(const Preprocessed& pre, const std::string& fileset_path,
                     const std::string& failures_path) {
  // File names are bytes: invalid UTF-8 is replaced rather than failing the whole output.
  constexpr auto kReplace = nlohmann::ordered_json::error_handler_t::replace;
  return write_outputs(pre, pre.fileset.dump(1, ' ', false, kReplace), fileset_path,
                       failures_path);
}

Status write_outputs(const Preprocessed& pre, std::string text, const std::string& fileset_path,
                     const std::string& failures_path) {
  text += '\n';
  if (auto s = write_file_atomic(fileset_path, text); !s) return s;
  if (failures_path.empty()) return {};
  return write_failures(pre, failures_path);
}

}  // namespace mpiprep::output
