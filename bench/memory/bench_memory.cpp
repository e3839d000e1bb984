// bench_memory build <cache.h5> <N> [<from>]
//                                      adds files from..N-1 (3 trees each; "Events" has the
//                                      same 1,500 columns in every file) to the cache through
//                                      Cache::put and commit (SerialCommunicator)
// bench_memory load <cache.h5> <N>    in this fresh process: Cache::load + classify of the N
//                                      files as surveyed, then prints peak RSS (ru_maxrss)
//                                      as a ratio to the 1 GiB budget
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "mpiprep/cache/cache.hpp"
#include "mpiprep/comm/communicator.hpp"

namespace {

using namespace mpiprep;
using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

long max_rss_kib() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

std::string path_of(long i) { return "/store/mc/RunIISummer20UL18NanoAODv9/DYJets/NANOAODSIM/f" + std::to_string(i) + ".root"; }
std::int64_t size_of(long i) { return 1'000'000'000 + i * 7919; }
std::int64_t mtime_of(long i) { return 1'700'000'000'000'000'000 + i; }

ObjectMeta tree(const std::string& name, int columns, std::int64_t entries) {
  ObjectMeta o;
  o.path = name;
  o.kind = "TTree";
  o.title = name;
  o.cycle = 1;
  o.num_entries = entries;
  const auto n = static_cast<std::size_t>(columns);
  o.columns.reserve(n, n * (name.size() + 15));
  for (int c = 0; c < columns; ++c) {
    o.columns.add(name + "_branch_" + std::to_string(c),
                  c % 3 == 0 ? "float" : (c % 3 == 1 ? "int32_t" : "bool"));
  }
  o.n_columns_total = columns;
  return o;
}

FileMeta template_meta() {
  FileMeta m;
  m.format = FileFormat::kRoot;
  m.compression = "lzma:9";
  m.objects.push_back(tree("Events", 1500, 0));
  m.objects.push_back(tree("Runs", 12, 1));
  m.objects.push_back(tree("LuminosityBlocks", 6, 0));
  return m;
}

// Adds files [from, n) to the cache at cache_path (loading what is there first), so a cache
// can be built in rounds; rows put but not yet committed cost ~4 KiB each (schemas shared).
int build(const std::string& cache_path, long from, long n) {
  const auto t0 = Clock::now();
  cache::Cache c = std::move(cache::Cache::load(cache_path).cache);
  const FileMeta base = template_meta();
  for (long i = from; i < n; ++i) {
    FileMeta m = base;
    m.path = path_of(i);
    m.size = size_of(i);
    m.mtime_ns = mtime_of(i);
    m.uuid = "00000000-0000-0000-0000-" + std::to_string(100000000000 + i);
    const std::int64_t entries = 100'000 + (i % 1000) * 37;
    m.objects[0].num_entries = entries;
    m.objects[0].clusters = {0, entries / 3, 2 * (entries / 3), entries};
    m.objects[2].num_entries = 1 + i % 50;
    m.extract_seconds = 0.05;
    m.bytes_read = 400'000;
    c.put(std::move(m), 7);
    if ((i + 1) % 100000 == 0) std::fprintf(stderr, "  put %ld (%.0f s)\n", i + 1, since(t0));
  }
  const double put_s = since(t0);
  comm::SerialCommunicator comm;
  cache::CommitOptions opts;
  opts.io = cache::CacheIo::kSerial;
  const cache::CommitReport rep = cache::commit(comm, c, cache_path, opts);
  std::printf("build: %zu files, %zu schemas, %llu bytes on disk; put %.1f s, commit %.1f s; peak RSS %.0f MiB\n",
              rep.files, rep.schemas, static_cast<unsigned long long>(rep.file_bytes), put_s, rep.seconds,
              static_cast<double>(max_rss_kib()) / 1024.0);
  return rep.files == static_cast<std::size_t>(n) ? 0 : 1;
}

int load(const std::string& cache_path, long n) {
  const long base_kib = max_rss_kib();
  const auto t0 = Clock::now();
  auto loaded = cache::Cache::load(cache_path);
  const double load_s = since(t0);
  const long after_load_kib = max_rss_kib();
  if (loaded.report.status != cache::LoadStatus::kLoaded) {
    std::fprintf(stderr, "load failed: %s\n", loaded.report.reason.c_str());
    return 1;
  }
  std::vector<cache::SurveyEntry> survey;
  survey.reserve(static_cast<std::size_t>(n));
  for (long i = 0; i < n; ++i) survey.push_back(cache::SurveyEntry{path_of(i), size_of(i), mtime_of(i)});
  const auto t1 = Clock::now();
  const cache::Classification cls = loaded.cache.classify(survey, 7);
  const double classify_s = since(t1);
  const long peak_kib = max_rss_kib();
  const double budget_kib = 1024.0 * 1024.0;
  std::printf("load: %zu rows (%llu bytes) in %.2f s, classify %zu files (%zu hits) in %.2f s\n",
              loaded.cache.size(), static_cast<unsigned long long>(loaded.report.file_bytes), load_s,
              survey.size(), cls.hits(), classify_s);
  std::printf("max RSS: start %.0f MiB, after load %.0f MiB, after classify %.0f MiB = %.3f of the 1 GiB budget\n",
              static_cast<double>(base_kib) / 1024.0, static_cast<double>(after_load_kib) / 1024.0,
              static_cast<double>(peak_kib) / 1024.0, static_cast<double>(peak_kib) / budget_kib);
  return cls.hits() == static_cast<std::size_t>(n) ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4 && !(argc == 5 && std::string(argv[1]) == "build")) {
    std::fprintf(stderr, "usage: bench_memory build <cache.h5> <N> [<from>] | load <cache.h5> <N>\n");
    return 2;
  }
  const std::string mode = argv[1];
  const long n = std::atol(argv[3]);
  if (mode == "build") return build(argv[2], argc == 5 ? std::atol(argv[4]) : 0, n);
  if (mode == "load") return load(argv[2], n);
  std::fprintf(stderr, "unknown mode '%s'\n", mode.c_str());
  return 2;
}
