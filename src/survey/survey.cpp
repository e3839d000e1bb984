#include "mpiprep/survey/survey.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

#include "mpiprep/journal/serialization.hpp"

namespace mpiprep::survey {
namespace {

// What travels back to rank 0 for one path (the path itself stays on rank 0).
struct StatRecord {
  std::uint8_t ok = 0;
  io::FileStat stat;
  Error error{ErrorKind::kNone, ""};
};

struct PathList {
  std::vector<std::string> paths;
};

struct RankReport {
  double seconds = 0;
  std::vector<StatRecord> records;
};

template <class Archive>
void serialize(Archive& ar, StatRecord& r, const unsigned /*version*/) {
  wire::io(ar, r.ok);
  wire::io(ar, r.stat.size);
  wire::io(ar, r.stat.mtime_ns);
  std::uint8_t flags =
      static_cast<std::uint8_t>((r.stat.is_directory ? 1 : 0) | (r.stat.is_regular ? 2 : 0));
  wire::io(ar, flags);
  r.stat.is_directory = (flags & 1) != 0;
  r.stat.is_regular = (flags & 2) != 0;
  wire::io_as<std::uint8_t>(ar, r.error.kind, static_cast<std::uint8_t>(ErrorKind::kInternal));
  wire::io_string(ar, r.error.message);
}

template <class Archive>
void serialize(Archive& ar, PathList& p, const unsigned /*version*/) {
  wire::io_vector(ar, p.paths, [](Archive& a, std::string& s) { wire::io_string(a, s); });
}

template <class Archive>
void serialize(Archive& ar, RankReport& r, const unsigned /*version*/) {
  wire::io(ar, r.seconds);
  wire::io_vector(ar, r.records);
}

}  // namespace
}  // namespace mpiprep::survey

BOOST_CLASS_IMPLEMENTATION(mpiprep::survey::StatRecord, boost::serialization::object_serializable)
BOOST_CLASS_TRACKING(mpiprep::survey::StatRecord, boost::serialization::track_never)
BOOST_CLASS_IMPLEMENTATION(mpiprep::survey::PathList, boost::serialization::object_serializable)
BOOST_CLASS_TRACKING(mpiprep::survey::PathList, boost::serialization::track_never)
BOOST_CLASS_IMPLEMENTATION(mpiprep::survey::RankReport, boost::serialization::object_serializable)
BOOST_CLASS_TRACKING(mpiprep::survey::RankReport, boost::serialization::track_never)

namespace mpiprep::survey {

std::vector<std::size_t> share_of(std::size_t n, int rank, int size, bool strided) {
  std::vector<std::size_t> out;
  if (size <= 0 || rank < 0 || rank >= size) return out;
  const auto r = static_cast<std::size_t>(rank);
  const auto s = static_cast<std::size_t>(size);
  if (strided) {
    for (std::size_t i = r; i < n; i += s) out.push_back(i);
    return out;
  }
  const std::size_t base = n / s, extra = n % s;
  const std::size_t begin = r * base + std::min(r, extra);
  const std::size_t count = base + (r < extra ? 1 : 0);
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) out.push_back(begin + i);
  return out;
}

std::vector<SurveyEntry> survey(comm::Communicator& comm, const std::vector<std::string>& paths,
                                io::FileSystem& fs, const SurveyOptions& options,
                                SurveyStats* stats) {
  const int rank = comm.rank(), size = comm.size();

  // 1. Everyone learns the list (one bcast; a scatter would send less, but the list is also
  //    what rank 0 keeps, and 10^6 paths are ~100 MB at most).
  PathList list;
  if (size > 1) {
    comm::Bytes bytes;
    if (rank == 0) {
      list.paths = paths;
      wire::append_archive(bytes, list);
    }
    comm.bcast(bytes, 0);
    if (rank != 0) {
      auto decoded = wire::read_archive<PathList>(bytes, "survey path list");
      if (!decoded) throw FatalError(decoded.error().to_string());
      list = std::move(*decoded);
    }
  }
  const std::vector<std::string>& all = size > 1 ? list.paths : paths;

  // 2. Stat my share, with `threads` threads over contiguous sub-slices.
  const auto mine = share_of(all.size(), rank, size, options.strided);
  RankReport report;
  report.records.resize(mine.size());
  const auto t0 = std::chrono::steady_clock::now();
  auto stat_range = [&](std::size_t from, std::size_t to) {
    for (std::size_t k = from; k < to; ++k) {
      auto st = fs.stat(all[mine[k]]);
      StatRecord& rec = report.records[k];
      if (st) {
        rec.ok = 1;
        rec.stat = *st;
      } else {
        rec.error = st.error();
      }
    }
  };
  const std::size_t nthreads =
      std::min<std::size_t>(static_cast<std::size_t>(std::max(1, options.threads)),
                            std::max<std::size_t>(mine.size(), 1));
  if (nthreads <= 1) {
    stat_range(0, mine.size());
  } else {
    std::vector<std::thread> pool;
    const std::size_t per = (mine.size() + nthreads - 1) / nthreads;
    for (std::size_t t = 0; t < nthreads; ++t) {
      const std::size_t from = std::min(mine.size(), t * per);
      const std::size_t to = std::min(mine.size(), from + per);
      pool.emplace_back(stat_range, from, to);
    }
    for (auto& th : pool) th.join();
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  // 3. Gather on rank 0 and put the entries back in input order.
  comm::Bytes mine_bytes;
  std::vector<comm::Bytes> parts;
  if (size > 1) {
    wire::append_archive(mine_bytes, report);
    parts = comm.gather(mine_bytes, 0);
    if (rank != 0) return {};
  }

  std::vector<SurveyEntry> out(all.size());
  if (stats != nullptr) *stats = SurveyStats{};
  auto place = [&](int r, const RankReport& rep) {
    const auto idx = share_of(all.size(), r, size, options.strided);
    if (rep.records.size() != idx.size())
      throw FatalError("survey: rank " + std::to_string(r) + " returned " +
                       std::to_string(rep.records.size()) + " entries for a share of " +
                       std::to_string(idx.size()));
    std::int64_t failures = 0;
    for (std::size_t k = 0; k < idx.size(); ++k) {
      SurveyEntry& e = out[idx[k]];
      const StatRecord& rec = rep.records[k];
      e.path = all[idx[k]];
      e.ok = rec.ok != 0;
      e.stat = rec.stat;
      e.error = rec.error;
      if (!e.ok) ++failures;
    }
    if (stats != nullptr) {
      stats->seconds.push_back(rep.seconds);
      stats->stats.push_back(static_cast<std::int64_t>(idx.size()));
      stats->failures.push_back(failures);
    }
  };
  place(0, report);
  for (int r = 1; r < size; ++r) {
    const auto decoded = wire::read_archive<RankReport>(
        parts[static_cast<std::size_t>(r)], "survey results of rank " + std::to_string(r));
    if (!decoded.ok()) throw FatalError(decoded.error().to_string());
    place(r, decoded.value());
  }
  return out;
}

}  // namespace mpiprep::survey
