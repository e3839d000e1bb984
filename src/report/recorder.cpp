// Per-rank timers and file records, and their gathering on the root rank.
#include <algorithm>
#include <cstring>

#include "mpiprep/report/report.hpp"

namespace mpiprep::report {
namespace {

constexpr std::uint32_t kMagic = 0x5450524d;  // "MRPT"
constexpr std::uint32_t kVersion = 2;  // 2: per-file start and end
// Longest path accepted when decoding (PATH_MAX is 4096 on Linux; leave room).
constexpr std::uint32_t kMaxPath = 1 << 16;

class Writer {
 public:
  template <typename T>
  void put(const T& v) {
    auto at = out_.size();
    out_.resize(at + sizeof(T));
    std::memcpy(out_.data() + at, &v, sizeof(T));
  }
  void put_string(const std::string& s) {
    put(static_cast<std::uint32_t>(s.size()));
    auto at = out_.size();
    out_.resize(at + s.size());
    std::memcpy(out_.data() + at, s.data(), s.size());
  }
  comm::Bytes take() && { return std::move(out_); }

 private:
  comm::Bytes out_;
};

class Reader {
 public:
  explicit Reader(std::span<const std::byte> in) : in_(in) {}
  template <typename T>
  bool get(T& v) {
    if (in_.size() - pos_ < sizeof(T)) return false;
    std::memcpy(&v, in_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }
  bool get_string(std::string& s) {
    std::uint32_t n = 0;
    if (!get(n) || n > kMaxPath || in_.size() - pos_ < n) return false;
    s.assign(reinterpret_cast<const char*>(in_.data() + pos_), n);  // NOLINT
    pos_ += n;
    return true;
  }
  [[nodiscard]] std::size_t remaining() const { return in_.size() - pos_; }

 private:
  std::span<const std::byte> in_;
  std::size_t pos_ = 0;
};

// Smallest encoded file record: path length, format, error, seconds, bytes, rank, start, end.
constexpr std::size_t kMinFileRecord = 4 + 1 + 1 + 8 + 8 + 4 + 8 + 8;

Error corrupt(const std::string& what) {
  return make_error(ErrorKind::kCorrupt, "report record: " + what);
}

}  // namespace

std::string_view phase_name(Phase p) noexcept {
  switch (p) {
    case Phase::kSurvey: return "survey";
    case Phase::kLoadCache: return "load-cache";
    case Phase::kExtract: return "extract";
    case Phase::kIdle: return "idle";
    case Phase::kCommit: return "commit";
    case Phase::kOutput: return "output";
  }
  return "unknown";
}

std::string_view phase_label(Phase p) noexcept {
  return p == Phase::kSurvey ? std::string_view("survey (stat)") : phase_name(p);
}

ScopedTimer::ScopedTimer(Recorder& recorder, Phase phase)
    : recorder_(&recorder), phase_(phase), start_(std::chrono::steady_clock::now()) {}

ScopedTimer::ScopedTimer(ScopedTimer&& other) noexcept
    : recorder_(other.recorder_), phase_(other.phase_), start_(other.start_) {
  other.recorder_ = nullptr;
}

ScopedTimer::~ScopedTimer() { (void)stop(); }

double ScopedTimer::stop() {
  if (recorder_ == nullptr) return 0.0;
  std::chrono::duration<double> d = std::chrono::steady_clock::now() - start_;
  recorder_->add(phase_, d.count());
  recorder_ = nullptr;
  return d.count();
}

void Recorder::add(Phase phase, double seconds) {
  std::lock_guard lock(mu_);
  auto& p = phases_[static_cast<std::size_t>(phase)];
  p.seconds += seconds;
  ++p.entries;
}

void Recorder::record_file(FileTiming timing) {
  std::lock_guard lock(mu_);
  files_.push_back(std::move(timing));
}

void Recorder::record_file(const FileMeta& meta) {
  record_file(FileTiming{meta.path, meta.format, meta.extract_seconds, meta.bytes_read, meta.rank,
                         meta.error_kind});
}

void Recorder::record_file(const FileMeta& meta, Clock::time_point start, Clock::time_point end) {
  FileTiming t{meta.path, meta.format, meta.extract_seconds, meta.bytes_read, meta.rank,
               meta.error_kind};
  t.start = since_origin(start);
  t.end = std::max(t.start, since_origin(end));
  record_file(std::move(t));
}

void Recorder::set_origin(Clock::time_point t0) {
  std::lock_guard lock(mu_);
  origin_ = t0;
}

double Recorder::since_origin(Clock::time_point t) const {
  std::lock_guard lock(mu_);
  return std::chrono::duration<double>(t - origin_).count();
}

PhaseTimes Recorder::phases() const {
  std::lock_guard lock(mu_);
  return phases_;
}

std::vector<FileTiming> Recorder::files() const {
  std::lock_guard lock(mu_);
  return files_;
}

comm::Bytes encode(const PhaseTimes& phases, const std::vector<FileTiming>& files) {
  Writer w;
  w.put(kMagic);
  w.put(kVersion);
  for (const auto& p : phases) {
    w.put(p.seconds);
    w.put(p.entries);
  }
  w.put(static_cast<std::uint64_t>(files.size()));
  for (const auto& f : files) {
    w.put_string(f.path);
    w.put(static_cast<std::uint8_t>(f.format));
    w.put(static_cast<std::uint8_t>(f.error));
    w.put(f.seconds);
    w.put(f.bytes);
    w.put(static_cast<std::int32_t>(f.rank));
    w.put(f.start);
    w.put(f.end);
  }
  return std::move(w).take();
}

Result<std::pair<PhaseTimes, std::vector<FileTiming>>> decode(std::span<const std::byte> bytes) {
  Reader r(bytes);
  std::uint32_t magic = 0;
  std::uint32_t version = 0;
  if (!r.get(magic) || magic != kMagic) return corrupt("bad magic");
  if (!r.get(version) || version != kVersion) return corrupt("unknown version");
  PhaseTimes phases{};
  for (auto& p : phases)
    if (!r.get(p.seconds) || !r.get(p.entries)) return corrupt("truncated phases");
  std::uint64_t n = 0;
  if (!r.get(n)) return corrupt("truncated file count");
  if (n > r.remaining() / kMinFileRecord) return corrupt("file count exceeds the record size");
  std::vector<FileTiming> files(static_cast<std::size_t>(n));
  for (auto& f : files) {
    std::uint8_t format = 0;
    std::uint8_t error = 0;
    std::int32_t rank = 0;
    if (!r.get_string(f.path) || !r.get(format) || !r.get(error) || !r.get(f.seconds) ||
        !r.get(f.bytes) || !r.get(rank) || !r.get(f.start) || !r.get(f.end)) {
      return corrupt("truncated file record");
    }
    f.format = static_cast<FileFormat>(format);
    f.error = static_cast<ErrorKind>(error);
    f.rank = rank;
  }
  if (r.remaining() != 0) return corrupt("trailing bytes");
  return std::make_pair(phases, std::move(files));
}

// Collective: every rank sends its encoded timings to root through one gather.
RunTimings gather(comm::Communicator& comm, const Recorder& local, int root) {
  auto all = comm.gather(encode(local.phases(), local.files()), root);
  RunTimings out;
  if (comm.rank() != root) return out;
  out.ranks.resize(all.size());
  for (std::size_t rank = 0; rank < all.size(); ++rank) {
    auto decoded = decode(all[rank]);
    // Our own encoder on every rank produced these bytes: a failure is a bug, not bad input.
    if (!decoded) {
      throw FatalError("report gather from rank " + std::to_string(rank) + ": " +
                       decoded.error().message);
    }
    out.ranks[rank] = decoded->first;
    for (auto& f : decoded->second) {
      if (f.rank < 0) f.rank = static_cast<int>(rank);
      out.files.push_back(std::move(f));
    }
  }
  return out;
}

}  // namespace mpiprep::report
