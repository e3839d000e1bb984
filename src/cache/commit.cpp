// Collective, atomic commit of the cache (invariants 1 and 5).
//
// Who writes: rank 0 holds the merged tables (results are gathered there). In parallel mode
// every rank opens the temp file with MPI-IO and creates the same datasets (parallel HDF5
// requires identical metadata calls everywhere, so rank 0 broadcasts the dataset sizes and
// attribute values, a few hundred bytes), then rank 0 writes all elements while the other
// ranks select none. The alternative, broadcasting the serialized tables so each rank writes
// an even slice, moves the whole cache over the network N-1 times to save nothing: the cache
// is tens of MB, one client writes that in well under a second, and MPI-IO's collective
// buffering funnels data through a few aggregators anyway. Rank-0-writes moves every byte
// exactly once and keeps the compression (parallel filtered writes) on one rank.
//
// The serial path (--cache-io serial, and any non-MPI communicator) writes every byte through
// io::FileSystem, so tests can fail any write, fsync or rename (fault injection) and cut the
// power after any operation (a wrapper that drops unsynced data and unsynced renames). libhdf5
// builds the file in memory (core driver, no backing store) and H5Fget_file_image hands over
// its bytes; the seal is computed on that image, and the image goes out in large sequential
// writes. The alternative, an HDF5 virtual file driver forwarding to io::WritableFile, would
// stream without holding the image, but a VFD is about twenty callbacks (and reads back what it
// wrote) against one call here. The price is one copy of the file in memory during the commit
// (the compressed file, smaller than the tables it is built from, which are in memory anyway).
#include <fmt/format.h>
#include <signal.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <span>
#include <vector>
#include <algorithm>
#include <stdexcept>

#include "cache_file.hpp"
#include "cache_impl.hpp"
#include "h5.hpp"
#include "mpiprep/cache/lock.hpp"
#include "mpiprep/io/file_system.hpp"
#include "posix.hpp"
#include "seal.hpp"

namespace mpiprep::cache {
namespace {

// Minimal byte (de)serializer for the two small broadcasts of a commit.
class Writer {
 public:
  void u64(std::uint64_t v) { raw(&v, sizeof v); }
  void i64(std::int64_t v) { raw(&v, sizeof v); }
  void f64(double v) { raw(&v, sizeof v); }
  void str(std::string_view s) {
    u64(s.size());
    raw(s.data(), s.size());
  }
  comm::Bytes take() { return std::move(b_); }

 private:
  void raw(const void* p, std::size_t n) {
    auto* c = static_cast<const std::byte*>(p);
    b_.insert(b_.end(), c, c + n);
  }
  comm::Bytes b_;
};

class Reader {
 public:
  explicit Reader(const comm::Bytes& b) : b_(b) {}
  std::uint64_t u64() { return pod<std::uint64_t>(); }
  std::int64_t i64() { return pod<std::int64_t>(); }
  double f64() { return pod<double>(); }
  std::string str() {
    auto n = u64();
    need(n);
    std::string s(reinterpret_cast<const char*>(b_.data() + pos_), static_cast<std::size_t>(n));
    pos_ += static_cast<std::size_t>(n);
    return s;
  }

 private:
  template <typename T>
  T pod() {
    need(sizeof(T));
    T v{};
    std::memcpy(&v, b_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  void need(std::uint64_t n) const {
    if (n > b_.size() - pos_) throw std::runtime_error("commit: truncated broadcast");
  }
  const comm::Bytes& b_;
  std::size_t pos_ = 0;
};

struct Plan {
  bool ok = true;
  std::string error;
  WritePlan write;
  CommitReport report;  // path, generation, checksum, counts, merge info
};

void put_report(Writer& w, const CommitReport& r) {
  w.str(r.path);
  w.u64(r.generation);
  w.u64(r.checksum);
  w.u64(r.file_bytes);
  w.u64(r.files);
  w.u64(r.objects);
  w.u64(r.schemas);
  w.u64(r.parallel ? 1 : 0);
  w.u64(r.low_space ? 1 : 0);
  w.u64(r.merged ? 1 : 0);
  w.u64(r.merged_rows);
  w.str(r.merge_note);
  w.f64(r.seconds);
  w.f64(r.write_seconds);
}

CommitReport get_report(Reader& rd) {
  CommitReport r;
  r.path = rd.str();
  r.generation = rd.u64();
  r.checksum = rd.u64();
  r.file_bytes = rd.u64();
  r.files = static_cast<std::size_t>(rd.u64());
  r.objects = static_cast<std::size_t>(rd.u64());
  r.schemas = static_cast<std::size_t>(rd.u64());
  r.parallel = rd.u64() != 0;
  r.low_space = rd.u64() != 0;
  r.merged = rd.u64() != 0;
  r.merged_rows = static_cast<std::size_t>(rd.u64());
  r.merge_note = rd.str();
  r.seconds = rd.f64();
  r.write_seconds = rd.f64();
  return r;
}

comm::Bytes encode(const Plan& p) {
  Writer w;
  w.u64(p.ok ? 1 : 0);
  w.str(p.error);
  const WritePlan& wp = p.write;
  w.str(wp.temp_path);
  w.u64(wp.sizes.size());
  for (auto s : wp.sizes) w.u64(s);
  w.str(wp.header.format);
  w.i64(wp.header.format_version);
  w.u64(wp.header.generation);
  w.str(wp.header.writer_version);
  w.str(wp.header.created_utc);
  w.u64(wp.header.checksum);
  w.u64(wp.compress ? 1 : 0);
  put_report(w, p.report);
  return w.take();
}

Plan decode(const comm::Bytes& b) {
  Reader rd(b);
  Plan p;
  p.ok = rd.u64() != 0;
  p.error = rd.str();
  WritePlan& wp = p.write;
  wp.temp_path = rd.str();
  auto n = rd.u64();
  if (n > 4096) throw std::runtime_error("commit: implausible plan");
  for (std::uint64_t i = 0; i < n; ++i) wp.sizes.push_back(rd.u64());
  wp.header.format = rd.str();
  wp.header.format_version = static_cast<std::int32_t>(rd.i64());
  wp.header.generation = rd.u64();
  wp.header.writer_version = rd.str();
  wp.header.created_utc = rd.str();
  wp.header.checksum = rd.u64();
  wp.compress = rd.u64() != 0;
  p.report = get_report(rd);
  return p;
}

// Crash-safety tests: MPIPREP_TEST_COMMIT_CRASH=<step> makes rank 0 SIGKILL itself at that
// step of the commit (locked, written, sealed, synced, verified, renamed, published), so a test
// can prove that every intermediate state on disk leaves a loadable cache. A getenv per step.
void crash_point(std::string_view step) {
  const char* want = std::getenv("MPIPREP_TEST_COMMIT_CRASH");
  if (want != nullptr && step == want) ::raise(SIGKILL);
}

// A failed io operation as an exception whose text carries the kind and the io layer's
// message (operation, path, errno text).
[[noreturn]] void io_fail(const Error& e) { throw std::runtime_error(e.to_string()); }

// Serial path: the sealed image into the temp file, fsynced.
void write_image(io::FileSystem& fs, const std::string& temp, std::span<const std::byte> image,
                 std::size_t chunk) {
  auto created = fs.create_exclusive(temp);
  if (!created.ok()) io_fail(created.error());
  io::WritableFile& f = **created;
  chunk = std::max<std::size_t>(chunk, 4096);
  for (std::size_t off = 0; off < image.size(); off += chunk) {
    const std::size_t n = std::min(chunk, image.size() - off);
    if (Status s = f.write(off, image.subspan(off, n)); !s.ok()) io_fail(s.error());
  }
  crash_point("written");
  crash_point("sealed");  // the seal is part of the image
  if (Status s = f.sync(); !s.ok()) io_fail(s.error());
  crash_point("synced");
  if (Status s = f.close(); !s.ok()) io_fail(s.error());
}

[[noreturn]] void fatal(const std::string& path, const std::string& why) {
  throw FatalError(fmt::format("cannot write cache {}: {}", path, why));
}

// Under the lock: temp files and broken-lock leftovers of killed commits on this host
// ("<name>.tmp-<host>-<pid>-<hex>", "<name>.lock.stale-<host>-<pid>-<hex>",
// "<name>.lock.new-<host>-<pid>-<hex>") whose pid is gone.
// Leftovers from other hosts are left alone: we cannot tell whether their writer is alive.
std::size_t remove_dead_leftovers(const std::string& path) {
  const std::string dir = posix::parent_dir(path);
  const std::string base = path.substr(path.find_last_of('/') + 1);
  const std::string host = posix::hostname();
  std::size_t removed = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename();
    std::string rest;
    for (const std::string& prefix : {base + ".tmp-", base + ".lock.stale-", base + ".lock.new-"})
      if (name.rfind(prefix, 0) == 0) rest = name.substr(prefix.size());
    if (rest.rfind(host + "-", 0) != 0) continue;
    rest = rest.substr(host.size() + 1);
    const auto dash = rest.find('-');
    if (dash == std::string::npos) continue;
    long pid = 0;
    try {
      pid = std::stol(rest.substr(0, dash));
    } catch (const std::exception&) {
      continue;
    }
    if (pid <= 0 || pid == ::getpid()) continue;
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM) continue;  // alive
    posix::remove_quietly(e.path());
    ++removed;
  }
  return removed;
}

// Rank 0: lock, reconcile with what is on disk now, build the tables and the plan.
Plan prepare(Cache::Impl& im, const std::string& path, const CommitOptions& opts, CacheLock& lock,
             Tables& tables) {
  Plan plan;
  CommitReport& rep = plan.report;
  rep.path = path;
  const std::string dir = posix::parent_dir(path);
  if (Status s = posix::require_writable_dir(dir); !s.ok()) fatal(path, s.error().message);

  LockOptions lo;
  lo.stale_after = opts.lock_stale_after;
  lo.wait = opts.lock_wait;
  auto got = CacheLock::acquire(lock_path_for(path), lo);
  if (!got.ok()) fatal(path, got.error().message);
  lock = std::move(*got);
  crash_point("locked");
  remove_dead_leftovers(path);

  // Under the lock: what is on disk now may be newer than what this run loaded.
  std::uint64_t disk_generation = 0;
  ReadOutcome head = read_cache_file(path, LoadOptions{}.max_table_bytes, /*header_only=*/true);
  if (head.status == LoadStatus::kLoaded) {
    disk_generation = head.header.generation;
    const bool same = im.from_file && head.header.generation == im.generation &&
                      head.header.checksum == im.checksum;
    if (!same && opts.merge_concurrent) {
      auto disk = Cache::load(path, LoadOptions{}, im.version_fn);
      if (disk.report.status == LoadStatus::kLoaded) {
        rep.merged_rows = im.merge_newer(std::move(CacheAccess::impl(disk.cache)));
        rep.merged = true;
      } else {
        rep.merge_note = fmt::format("the cache on disk is {} ({}), moved to {}",
                                     load_status_name(disk.report.status), disk.report.reason,
                                     disk.report.moved_to);
      }
    }
  } else if (head.status != LoadStatus::kMissing && head.movable) {
    // Invariant 4: a bad cache is kept aside, never overwritten blindly.
    auto moved = still_same_file(path, head.id)
                     ? posix::move_aside(path)
                     : Result<std::string>(make_error(ErrorKind::kIo, "it was replaced meanwhile"));
    rep.merge_note =
        fmt::format("the cache on disk is {} ({}), moved to {}", load_status_name(head.status),
                    head.reason, moved.ok() ? *moved : moved.error().message);
  }

  rep.generation = std::max(im.generation, disk_generation) + 1;
  tables = im.build_tables();
  rep.checksum = content_checksum(tables, kFormatVersion, rep.generation);
  rep.files = tables.files.rows();
  rep.objects = tables.objects.rows();
  rep.schemas = tables.schemas.hash.size();

  WritePlan& wp = plan.write;
  wp.temp_path =
      fmt::format("{}.tmp-{}-{}-{:016x}", path, posix::hostname(), ::getpid(), posix::random_u64());
  wp.sizes = dataset_sizes(tables);
  wp.header = Header{std::string(kFormatName),
                     kFormatVersion,
                     rep.generation,
                     std::string(writer_version()),
                     posix::utc_iso(posix::now_unix()),
                     rep.checksum};
  wp.compress = opts.compress;

  // A write error inside parallel HDF5 is not collective: the rank that gets ENOSPC leaves a
  // metadata flush while the others enter the next collective, and the job hangs (seen with a
  // nearly full tmpfs). The serial path fails cleanly on ENOSPC (its writes go through the io
  // layer), so when the directory has less free space than an upper bound of the file (8
  // bytes per element, uncompressed, plus 1 MiB), the commit takes the serial path.
  std::uint64_t elements = 0;
  for (auto n : wp.sizes) elements += n;
  struct statvfs sv {};
  if (opts.io == CacheIo::kParallel && ::statvfs(dir.c_str(), &sv) == 0) {
    const auto avail = static_cast<std::uint64_t>(sv.f_bavail) * sv.f_frsize;
    rep.low_space = avail < elements * 8 + (std::uint64_t{1} << 20);
  }
  return plan;
}

// Rank 0: make the temp file durable (the serial path writes `image` now; the parallel path
// wrote the file with MPI-IO and seals it here), prove it reads back as written, publish it,
// make the publication durable.
Tables publish(const Plan& plan, const std::string& path, io::FileSystem& fs,
               std::vector<std::byte>& image, bool parallel, std::size_t chunk,
               std::uint64_t& file_bytes) {
  const std::string& temp = plan.write.temp_path;
  if (parallel) {
    crash_point("written");
    if (Status s = seal_file(temp, plan.report.generation, plan.report.checksum); !s.ok())
      throw std::runtime_error(s.error().message);
    crash_point("sealed");
    if (Status s = posix::fsync_path(temp); !s.ok()) throw std::runtime_error(s.error().message);
    crash_point("synced");
  } else {
    write_image(fs, temp, image, chunk);
    std::vector<std::byte>().swap(image);
  }
  ReadOutcome back = read_cache_file(temp, LoadOptions{}.max_table_bytes, false);
  if (back.status != LoadStatus::kLoaded)
    throw std::runtime_error("verification of the written cache failed: " + back.reason);
  if (back.header.checksum != plan.report.checksum ||
      back.header.generation != plan.report.generation)
    throw std::runtime_error("verification of the written cache failed: header differs");
  file_bytes = back.file_bytes;
  crash_point("verified");
  if (Status s = fs.rename(temp, path); !s.ok()) io_fail(s.error());
  crash_point("renamed");
  if (Status s = fs.sync_dir(posix::parent_dir(path)); !s.ok())
    throw std::runtime_error(
        "the new cache is in place, but it may not survive a power loss: " +
        s.error().to_string());
  crash_point("published");
  return std::move(back.tables);
}

}  // namespace

CommitReport commit(comm::Communicator& comm, Cache& cache, const std::string& path,
                    const CommitOptions& opts) {
  const auto t0 = std::chrono::steady_clock::now();
  const bool root = comm.rank() == 0;
  bool parallel = opts.io == CacheIo::kParallel && comm.mpi_comm_handle() != nullptr;
  // Only ranks that call HDF5 touch its (process-global, unsynchronized) error settings: with
  // an in-process communicator the other ranks are threads of the same process.
  std::optional<h5::ErrorSilencer> quiet;
  if (root || parallel) quiet.emplace();
  const std::string abs = io::absolute_path(path);
  io::FileSystem& fs = opts.fs != nullptr ? *opts.fs : io::default_file_system();

  CacheLock lock;  // held by rank 0 until the new cache is published
  Tables tables;
  Plan plan;
  comm::Bytes wire;
  if (root) {
    try {
      plan = prepare(CacheAccess::impl(cache), abs, opts, lock, tables);
    } catch (const std::exception& e) {
      plan = Plan{};
      plan.ok = false;
      plan.error = e.what();
    }
    wire = encode(plan);
  }
  comm.bcast(wire, 0);
  if (!root) plan = decode(wire);
  if (!plan.ok) {
    lock.release();
    throw FatalError(plan.error);
  }
  if (plan.report.low_space) {
    if (parallel && !root) quiet.reset();  // only ranks that call HDF5 touch its error settings
    parallel = false;             // decided by rank 0, the same on every rank
  }

  // Write the temp file.
  const auto tw = std::chrono::steady_clock::now();
  std::string write_error;
  std::vector<std::byte> image;  // serial path: the whole file
  if (parallel) {
    try {
      h5::Handle fapl = h5::mpio_fapl(comm.mpi_comm_handle());
      write_cache_file(plan.write, root ? &tables : nullptr, fapl.get(), true);
    } catch (const std::exception& e) {
      write_error = e.what();
    }
    // Every rank learns whether any rank failed (the file is then unusable).
    if (comm.allreduce_sum(std::int64_t{write_error.empty() ? 0 : 1}) > 0 && write_error.empty())
      write_error = "another rank failed writing the cache";
  } else if (root) {
    try {
      image = write_cache_image(plan.write, tables);
      if (Status s = seal_image(image, plan.report.generation, plan.report.checksum); !s.ok())
        throw std::runtime_error(s.error().message);
    } catch (const std::exception& e) {
      write_error = e.what();
    }
  }
  const double write_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - tw).count();

  // Rank 0 verifies and publishes; everyone learns the outcome.
  comm::Bytes outcome;
  if (root) {
    Writer w;
    try {
      if (!write_error.empty()) throw std::runtime_error(write_error);
      tables = Tables{};  // the read-back copy replaces it
      std::uint64_t bytes = 0;
      Tables written =
          publish(plan, abs, fs, image, parallel, opts.write_chunk_bytes, bytes);
      Cache::Impl& im = CacheAccess::impl(cache);
      im.adopt(std::move(written), plan.report.generation, plan.report.checksum);
      lock.release();
      CommitReport rep = plan.report;
      rep.file_bytes = bytes;
      rep.parallel = parallel;
      rep.write_seconds = write_seconds;
      rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      w.u64(1);
      w.str("");
      put_report(w, rep);
    } catch (const std::exception& e) {
      // Gone already if the rename happened, never created if creating it failed.
      (void)fs.unlink(plan.write.temp_path);
      lock.release();
      w = Writer{};
      w.u64(0);
      w.str(fmt::format("cannot write cache {}: {}", abs, e.what()));
      put_report(w, plan.report);
    }
    outcome = w.take();
  }
  comm.bcast(outcome, 0);
  Reader rd(outcome);
  const bool ok = rd.u64() != 0;
  std::string error = rd.str();
  CommitReport rep = get_report(rd);
  if (!ok) throw FatalError(error);
  return rep;
}

}  // namespace mpiprep::cache
