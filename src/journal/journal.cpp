#include "mpiprep/journal/journal.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "mpiprep/journal/serialization.hpp"

namespace mpiprep::journal {
namespace {

constexpr char kFileMagic[8] = {'M', 'P', 'J', 'R', 'N', 'L', '0', '1'};
constexpr std::uint32_t kRecordMagic = 0x524A504D;  // "MPJR" little-endian

void put_u32(std::byte* at, std::uint32_t v) { std::memcpy(at, &v, 4); }
void put_u64(std::byte* at, std::uint64_t v) { std::memcpy(at, &v, 8); }
std::uint32_t get_u32(const std::byte* at) {
  std::uint32_t v = 0;
  std::memcpy(&v, at, 4);
  return v;
}
std::uint64_t get_u64(const std::byte* at) {
  std::uint64_t v = 0;
  std::memcpy(&v, at, 8);
  return v;
}

std::uint64_t record_hash(const std::byte* payload, std::uint32_t len) {
  // Seeding with the length binds the header's length to the payload it describes.
  return XXH64(payload, len, len);
}

std::array<std::byte, kFileHeaderBytes> file_header() {
  std::array<std::byte, kFileHeaderBytes> h{};
  std::memcpy(h.data(), kFileMagic, 8);
  put_u32(h.data() + 8, wire::kWireVersion);
  put_u32(h.data() + 12, 0);
  return h;
}

std::string parent_dir(const std::string& path) {
  std::string p = std::filesystem::path(path).parent_path().string();
  return p.empty() ? std::string(".") : p;
}

std::string hostname_for_file() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof(buf) - 1) != 0) return "unknown";
  std::string h(buf);
  for (char& c : h) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_' || c == '.';
    if (!keep) c = '_';
  }
  return h.empty() ? std::string("unknown") : h;
}

Status fsync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io::errno_error(errno, "open directory", dir);
  int rc = 0;
  do {
    rc = ::fsync(fd);
  } while (rc != 0 && errno == EINTR);
  const int err = errno;
  ::close(fd);
  // Some filesystems (and some FUSE mounts) cannot fsync a directory; that is not our failure.
  if (rc != 0 && err != EINVAL && err != EROFS) return io::errno_error(err, "fsync directory", dir);
  return Status::success();
}

Status write_all(int fd, const std::byte* data, std::size_t n, const std::string& path) {
  while (n > 0) {
    const ssize_t w = ::write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return io::errno_error(errno, "write", path);
    }
    data += w;
    n -= static_cast<std::size_t>(w);
  }
  return Status::success();
}

}  // namespace

std::string journal_prefix(const std::string& cache_path) { return cache_path + ".journal."; }

// ---- Writer --------------------------------------------------------------------------------

Result<std::unique_ptr<Writer>> Writer::create(const std::string& cache_path, int rank,
                                               WriterOptions options) {
  if (options.metas_per_record == 0) options.metas_per_record = 1;
  const std::string base = journal_prefix(cache_path) + hostname_for_file() + "." +
                           std::to_string(::getpid()) + "." + std::to_string(rank);
  std::string path = base;
  int fd = -1;
  for (int n = 1;; ++n) {
    fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) break;
    // A leftover of an earlier process with the same pid (pid reuse, another job): keep it
    // for replay and take the next free name.
    if (errno != EEXIST || n > 1000) return io::errno_error(errno, "create journal", path);
    path = base + "." + std::to_string(n);
  }
  const auto header = file_header();
  if (Status s = write_all(fd, header.data(), header.size(), path); !s) {
    ::close(fd);
    ::unlink(path.c_str());
    return s.error();
  }
  if (::fdatasync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    ::unlink(path.c_str());
    return io::errno_error(err, "fdatasync", path);
  }
  if (Status s = fsync_dir(parent_dir(path)); !s) {
    ::close(fd);
    ::unlink(path.c_str());
    return s.error();
  }
  std::unique_ptr<Writer> w(new Writer(path, fd, options));
  w->stats_.bytes = header.size();
  if (options.background) w->flusher_ = std::thread([p = w.get()] { p->flusher_loop(); });
  return w;
}

Writer::Writer(std::string path, int fd, WriterOptions options)
    : path_(std::move(path)), options_(options), fd_(fd) {}

Writer::~Writer() { (void)close(); }

void Writer::frame_pending_locked() {
  if (pending_.empty()) return;
  const std::size_t at = encoded_.size();
  encoded_.resize(at + kRecordHeaderBytes);
  wire::encode_into(encoded_, pending_);
  const std::size_t len = encoded_.size() - at - kRecordHeaderBytes;
  if (len > kMaxRecordBytes) {
    // Replay would refuse it; dropping the batch silently would break invariant 2.
    encoded_.resize(at);
    error_ = make_error(ErrorKind::kInternal, "journal record of " + std::to_string(len) +
                                                  " bytes exceeds the record cap");
    pending_.clear();
    return;
  }
  const auto len32 = static_cast<std::uint32_t>(len);
  std::byte* h = encoded_.data() + at;
  put_u32(h, kRecordMagic);
  put_u32(h + 4, len32);
  put_u64(h + 8, record_hash(h + kRecordHeaderBytes, len32));
  pending_.clear();
  ++stats_.records;
}

Status Writer::append(const FileMeta& meta) { return append(std::span<const FileMeta>(&meta, 1)); }

Writer::Due Writer::due_locked(Clock::time_point now) const {
  auto after = [](Clock::time_point t, double s) {
    return t + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
  };
  Due d;
  d.next = Clock::time_point::max();
  if (has_unsynced_) {
    const auto sync_at = after(oldest_unsynced_, options_.flush_interval_s);
    if (now >= sync_at) d.sync = d.write = true;
    d.next = std::min(d.next, sync_at);
  }
  if (has_unwritten_) {
    const auto write_at = after(oldest_unwritten_, options_.write_interval_s);
    if (now >= write_at) d.write = true;
    d.next = std::min(d.next, write_at);
  }
  if (encoded_.size() >= options_.write_threshold_bytes) d.write = true;
  return d;
}

Status Writer::append(std::span<const FileMeta> metas) {
  Due due;
  {
    std::lock_guard lock(mu_);
    if (error_.kind != ErrorKind::kNone) return error_;
    if (closed_) return make_error(ErrorKind::kInternal, "journal " + path_ + " is closed");
    if (metas.empty()) return Status::success();
    for (const FileMeta& m : metas) {
      pending_.push_back(m);
      ++stats_.metas;
      if (pending_.size() >= options_.metas_per_record) frame_pending_locked();
    }
    const auto now = Clock::now();
    bool wake = false;
    // The flusher sleeps without a deadline while nothing is pending: give it one.
    if (!has_unsynced_) {
      has_unsynced_ = true;
      oldest_unsynced_ = now;
      wake = true;
    }
    if (!has_unwritten_) {
      has_unwritten_ = true;
      oldest_unwritten_ = now;
      wake = true;
    }
    due = due_locked(now);
    if (options_.background) {
      if (wake || due.write) cv_.notify_one();
      return Status::success();
    }
  }
  if (due.write) return write_out(due.sync);
  return Status::success();
}

Status Writer::write_out(bool sync) {
  std::lock_guard io(io_mu_);
  std::vector<std::byte> buf;
  {
    std::lock_guard lock(mu_);
    if (error_.kind != ErrorKind::kNone) return error_;
    frame_pending_locked();
    if (error_.kind != ErrorKind::kNone) return error_;
    buf.swap(encoded_);
    has_unwritten_ = false;
    if (sync) has_unsynced_ = false;
  }
  if (fd_ < 0) {
    if (buf.empty()) return Status::success();
    return make_error(ErrorKind::kInternal, "journal " + path_ + " written after close");
  }
  Status s = write_all(fd_, buf.data(), buf.size(), path_);
  bool synced = false;
  if (s && sync) {
    int rc = 0;
    do {
      rc = ::fdatasync(fd_);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) s = io::errno_error(errno, "fdatasync", path_);
    synced = rc == 0;
  }
  std::lock_guard lock(mu_);
  if (!s) {
    // Sticky: a record after a partial one would be unreachable on replay anyway.
    if (error_.kind == ErrorKind::kNone) error_ = s.error();
    return s;
  }
  stats_.bytes += buf.size();
  if (synced) ++stats_.syncs;
  return Status::success();
}

void Writer::flusher_loop() {
  std::unique_lock lock(mu_);
  while (!closed_ && error_.kind == ErrorKind::kNone) {
    const Due due = due_locked(Clock::now());
    if (due.write) {
      lock.unlock();
      (void)write_out(due.sync);  // an error is sticky and ends the loop
      lock.lock();
      continue;
    }
    if (due.next == Clock::time_point::max()) {
      cv_.wait(lock);
    } else {
      cv_.wait_until(lock, due.next);
    }
  }
}

Status Writer::flush() { return write_out(true); }

Status Writer::close() {
  {
    std::lock_guard lock(mu_);
    if (closed_ && fd_ < 0) {
      if (error_.kind != ErrorKind::kNone) return error_;
      return Status::success();
    }
    closed_ = true;
  }
  cv_.notify_all();
  if (flusher_.joinable()) flusher_.join();
  Status s = write_out(true);
  std::lock_guard io(io_mu_);
  if (fd_ >= 0 && ::close(fd_) != 0 && s) s = io::errno_error(errno, "close", path_);
  fd_ = -1;
  return s;
}

WriterStats Writer::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

// ---- Replay --------------------------------------------------------------------------------

Result<std::vector<std::string>> list_journals(const std::string& cache_path, io::FileSystem& fs) {
  const std::filesystem::path cache(cache_path);
  const std::string dir = parent_dir(cache_path);
  const std::string name_prefix = cache.filename().string() + ".journal.";
  auto names = fs.list_dir(dir);
  if (!names) {
    if (names.error().kind == ErrorKind::kMissing) return std::vector<std::string>{};
    return names.error();
  }
  std::vector<std::string> out;
  for (const std::string& n : *names) {
    if (n.size() <= name_prefix.size() || n.compare(0, name_prefix.size(), name_prefix) != 0)
      continue;
    out.push_back(cache.has_parent_path() ? (cache.parent_path() / n).string() : n);
  }
  std::sort(out.begin(), out.end());
  return out;
}

namespace {

// Replays one file into `metas`; fills `jf`.
void replay_file(io::FileSystem& fs, JournalFile& jf, std::vector<FileMeta>& metas) {
  auto opened = fs.open(jf.path);
  if (!opened) {
    jf.problem = opened.error().to_string();
    return;
  }
  io::RandomAccessFile& f = **opened;
  jf.size = f.size();
  const auto want = file_header();
  if (jf.size < kFileHeaderBytes) {
    // A crash between create and the first write: a torn header is an empty journal.
    auto head = f.read_exact(0, static_cast<std::size_t>(jf.size));
    if (!head) {
      jf.problem = head.error().to_string();
      return;
    }
    if (!std::equal(head->begin(), head->end(), want.begin())) {
      jf.problem = "not a journal (bad file header)";
      return;
    }
    jf.replayed = true;
    jf.bytes_dropped = jf.size;
    jf.problem = "torn file header";
    return;
  }
  auto head = f.read_exact(0, kFileHeaderBytes);
  if (!head) {
    jf.problem = head.error().to_string();
    return;
  }
  if (!std::equal(want.begin(), want.begin() + 8, head->begin())) {
    jf.problem = "not a journal (bad file header)";
    return;
  }
  if (const std::uint32_t v = get_u32(head->data() + 8); v != wire::kWireVersion) {
    jf.problem = "journal wire version " + std::to_string(v) + ", this build reads " +
                 std::to_string(wire::kWireVersion);
    return;  // left in place for a build that can read it
  }
  jf.replayed = true;
  std::uint64_t off = kFileHeaderBytes;
  std::vector<FileMeta> batch_metas;
  while (off < jf.size) {
    const std::uint64_t left = jf.size - off;
    if (left < kRecordHeaderBytes) {
      jf.problem = "torn record header at offset " + std::to_string(off);
      break;
    }
    auto rh = f.read_exact(off, kRecordHeaderBytes);
    if (!rh) {
      jf.problem = rh.error().to_string();
      break;
    }
    const std::uint32_t magic = get_u32(rh->data());
    const std::uint32_t len = get_u32(rh->data() + 4);
    const std::uint64_t hash = get_u64(rh->data() + 8);
    if (magic != kRecordMagic) {
      jf.problem = "bad record magic at offset " + std::to_string(off);
      break;
    }
    if (len > kMaxRecordBytes || len > left - kRecordHeaderBytes) {
      jf.problem = "record at offset " + std::to_string(off) + " claims " + std::to_string(len) +
                   " bytes, " + std::to_string(left - kRecordHeaderBytes) + " left";
      break;
    }
    auto payload = f.read_exact(off + kRecordHeaderBytes, len);
    if (!payload) {
      jf.problem = payload.error().to_string();
      break;
    }
    if (record_hash(payload->data(), len) != hash) {
      jf.problem = "checksum mismatch in record at offset " + std::to_string(off);
      break;
    }
    auto decoded = wire::decode(*payload);
    if (!decoded) {
      jf.problem = "record at offset " + std::to_string(off) + ": " + decoded.error().message;
      break;
    }
    jf.metas += decoded->size();
    ++jf.records;
    for (FileMeta& m : *decoded) metas.push_back(std::move(m));
    off += kRecordHeaderBytes + len;
  }
  jf.bytes_dropped = jf.size - off;
}

}  // namespace

Result<Replay> replay(const std::string& cache_path, io::FileSystem& fs) {
  auto files = list_journals(cache_path, fs);
  if (!files) return files.error();
  Replay out;
  for (const std::string& path : *files) {
    JournalFile jf;
    jf.path = path;
    replay_file(fs, jf, out.metas);
    out.bytes_dropped += jf.bytes_dropped;
    if (jf.replayed) out.files.push_back(path);
    out.details.push_back(std::move(jf));
  }
  return out;
}

Status remove_journals(const std::string& cache_path, const std::vector<std::string>& files) {
  const std::string prefix = journal_prefix(cache_path);
  // list_journals spells paths relative to the cache's spelling; accept both.
  const std::string alt_prefix =
      (std::filesystem::path(parent_dir(cache_path)) /
       (std::filesystem::path(cache_path).filename().string() + ".journal."))
          .string();
  bool any = false;
  for (const std::string& f : files) {
    const bool ours =
        (f.size() > prefix.size() && f.compare(0, prefix.size(), prefix) == 0) ||
        (f.size() > alt_prefix.size() && f.compare(0, alt_prefix.size(), alt_prefix) == 0);
    if (!ours)
      return make_error(ErrorKind::kInternal,
                        "refusing to remove " + f + ": not a journal of " + cache_path);
  }
  for (const std::string& f : files) {
    if (::unlink(f.c_str()) != 0) {
      if (errno == ENOENT) continue;
      return io::errno_error(errno, "unlink", f);
    }
    any = true;
  }
  if (any) return fsync_dir(parent_dir(cache_path));
  return Status::success();
}

}  // namespace mpiprep::journal
