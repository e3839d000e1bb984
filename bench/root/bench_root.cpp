// bench_root [--repeat N] [--profile N] [FILE...]: per file, the native reader's extraction time (best of N, one
// process, warm page cache) and bytes read, beside the physical bound: replaying exactly the
// reader's preads plus decompressing exactly the records it decompresses, with no parsing.
// Also compares libdeflate with zlib on those records, and shows the parse floor: the same
// extraction over an in-memory copy of the file (no system calls) minus the decompression, i.e.
// what the reader costs beyond the bound. Both the extraction and the bound run on a file
// opened (and fstat'ed) once before timing; neither includes open or close.
// --cold: before every timed extraction and bound run, the file's pages are dropped from the page
// cache (posix_fadvise DONTNEED, untimed), so both read from the device: the first-touch case of
// a scan over files nobody read since they were written. The warm ratio stays the target.
// Default files: tests/data/*.root.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include "mpiprep/extract/extractor.hpp"
#include "mpiprep/extract/root/decompress.hpp"
#include "mpiprep/extract/root/reader.hpp"

using namespace mpiprep;
using namespace mpiprep::extract::root;
using Clock = std::chrono::steady_clock;

namespace {

int kRepetitions = 30;  // --repeat N

// Forwards to a real file and logs every pread.
class RecordingFile final : public io::RandomAccessFile {
 public:
  explicit RecordingFile(io::RandomAccessFile& base) : base_(base) {}
  Result<std::size_t> pread(std::uint64_t offset, std::span<std::byte> buf) override {
    log_.emplace_back(offset, buf.size());
    return base_.pread(offset, buf);
  }
  std::uint64_t size() const override { return base_.size(); }
  const std::string& path() const override { return base_.path(); }
  const std::vector<std::pair<std::uint64_t, std::size_t>>& log() const { return log_; }

 private:
  io::RandomAccessFile& base_;
  std::vector<std::pair<std::uint64_t, std::size_t>> log_;
};

template <typename F>
double best_us(F&& f) {
  double best = 1e30;
  for (int i = 0; i < kRepetitions; ++i) {
    const auto t0 = Clock::now();
    f();
    const auto t1 = Clock::now();
    best = std::min(best, std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  return best;
}

// `before` runs untimed ahead of each timed call (--cold: evict the file's pages).
template <typename F, typename G, typename B>
std::pair<double, double> best_us_pair(F&& f, G&& g, B&& before) {
  double best_f = 1e30;
  double best_g = 1e30;
  for (int i = 0; i < kRepetitions; ++i) {
    before();
    auto t0 = Clock::now();
    f();
    auto t1 = Clock::now();
    best_f = std::min(best_f, std::chrono::duration<double, std::micro>(t1 - t0).count());
    before();
    t0 = Clock::now();
    g();
    t1 = Clock::now();
    best_g = std::min(best_g, std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  return {best_f, best_g};
}

struct Compressed {
  std::vector<std::byte> in;
  std::size_t out = 0;
};

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> files;
  long profile_loops = 0;  // --profile N: only extract, N times per file (for perf)
  bool breakdown = false;  // --breakdown: keys only / full read / to_file_meta, per file
  bool cold = false;       // --cold: evict the file's pages before every timed run
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--profile" && i + 1 < argc) {
      profile_loops = std::atol(argv[++i]);
    } else if (std::string(argv[i]) == "--cold") {
      cold = true;
    } else if (std::string(argv[i]) == "--breakdown") {
      breakdown = true;
    } else if (std::string(argv[i]) == "--repeat" && i + 1 < argc) {
      kRepetitions = std::max(1, std::atoi(argv[++i]));
    } else {
      files.emplace_back(argv[i]);
    }
  }
  if (files.empty()) {
    for (const auto& e : std::filesystem::directory_iterator(MPIPREP_BENCH_DATA_DIR)) {
      if (e.path().extension() == ".root") files.push_back(e.path().string());
    }
    std::sort(files.begin(), files.end());
  }
  io::PosixFileSystem fs;
  if (breakdown) {
    // Where the extraction time goes: keys only, full decode, FileMeta condensation.
    for (const std::string& path : files) {
      auto file = fs.open(path);
      if (!file.ok()) return 1;
      ReadOptions keys_only;
      keys_only.trees = false;
      keys_only.rntuples = false;
      const double t_keys = best_us([&] { (void)read_root_file(**file, keys_only); });
      const double t_read = best_us([&] { (void)read_root_file(**file); });
      auto info = read_root_file(**file);
      if (!info.ok()) return 1;
      const double t_meta = best_us([&] { (void)to_file_meta(*info, true); });
      const double t_meta_nc = best_us([&] { (void)to_file_meta(*info, false); });
      std::printf("%-40s keys %8.1f  read %8.1f  meta %8.1f (no clusters %8.1f)\n",
                  std::filesystem::path(path).filename().c_str(), t_keys, t_read, t_meta, t_meta_nc);
    }
    return 0;
  }
  if (profile_loops > 0) {
    const extract::ExtractOptions opts;
    for (const std::string& path : files) {
      auto file = fs.open(path);
      if (!file.ok()) return 1;
      for (long i = 0; i < profile_loops; ++i) {
        if (!extract::root::extract(**file, opts).ok()) return 1;
      }
    }
    return 0;
  }
  std::printf("%-40s %5s %9s %11s %11s %6s %12s %10s %8s %9s\n", "file", "reads", "bytes", "extract(us)",
              "bound(us)", "ratio", "libdeflate(us)", "zlib(us)", "mem(us)", "parse(us)");
  double sum_parse = 0;
  double sum_extract = 0, sum_bound = 0;
  for (const std::string& path : files) {
    auto file = fs.open(path);
    if (!file.ok()) {
      std::printf("%s: %s\n", path.c_str(), file.error().to_string().c_str());
      continue;
    }
    // One recorded run: which preads, which records get decompressed.
    RecordingFile rec(**file);
    auto info = read_root_file(rec);
    if (!info.ok()) {
      std::printf("%-40s error: %s\n", std::filesystem::path(path).filename().c_str(), info.error().to_string().c_str());
      continue;
    }
    std::vector<Compressed> records;
    auto add = [&](std::uint64_t seek, std::size_t nbytes, std::size_t len) {
      if (nbytes == len) return;
      Compressed c;
      c.in.resize(nbytes);
      (void)(*file)->pread(seek, c.in);
      c.out = len;
      records.push_back(std::move(c));
    };
    for (const TreeInfo& t : info->trees) {
      const KeyInfo& k = info->keys[t.key_index];
      if (k.compressed()) {
        add(static_cast<std::uint64_t>(k.seek_key + k.keylen), static_cast<std::size_t>(k.nbytes - k.keylen),
            static_cast<std::size_t>(k.objlen));
      }
    }
    for (const RNTupleInfo& nt : info->rntuples) {
      const KeyInfo& k = info->keys[nt.key_index];
      if (k.compressed()) {
        add(static_cast<std::uint64_t>(k.seek_key + k.keylen), static_cast<std::size_t>(k.nbytes - k.keylen),
            static_cast<std::size_t>(k.objlen));
      }
      add(nt.seek_header, nt.nbytes_header, nt.len_header);
      add(nt.seek_footer, nt.nbytes_footer, nt.len_footer);
    }

    const extract::ExtractOptions opts;
    auto run_extract = [&] {
      auto meta = extract::root::extract(**file, opts);
      if (!meta.ok()) std::abort();
    };
    std::vector<std::byte> scratch;
    std::vector<std::byte> out;
    auto replay = [&] {
      for (const auto& [off, len] : rec.log()) {
        scratch.resize(len);
        (void)(*file)->pread(off, scratch);
      }
    };
    auto inflate = [&](Decompressor& dec) {
      for (const Compressed& c : records) {
        out.resize(c.out);
        if (!dec.decompress(c.in, out).ok()) std::abort();
      }
    };
    Decompressor fast(ZlibImpl::kLibdeflate);
    Decompressor slow(ZlibImpl::kZlib);
    // Extraction and bound alternate, so that both see the same machine load.
    const int evict_fd = cold ? ::open(path.c_str(), O_RDONLY | O_CLOEXEC) : -1;
    if (cold && evict_fd < 0) {
      std::printf("%s: cannot open for eviction\n", path.c_str());
      return 1;
    }
    const auto evict = [&] {
      if (evict_fd >= 0 && ::posix_fadvise(evict_fd, 0, 0, POSIX_FADV_DONTNEED) != 0) std::abort();
    };
    const auto [extract_us, bound_us] = best_us_pair(
        run_extract,
        [&] {
          replay();
          inflate(fast);
        },
        evict);
    if (evict_fd >= 0) ::close(evict_fd);
    const double deflate_us = best_us([&] { inflate(fast); });
    const double zlib_us = best_us([&] { inflate(slow); });
    // The parse floor: extraction with the file in memory (preads are memcpys) minus the
    // decompression of the same records.
    io::MemoryFileSystem mem_fs;
    {
      std::vector<std::byte> all((*file)->size());
      (void)(*file)->pread(0, all);
      mem_fs.add(path, std::move(all));
    }
    auto mem_file = mem_fs.open(path);
    if (!mem_file.ok()) std::abort();
    const double mem_us = best_us([&] {
      if (!extract::root::extract(**mem_file, opts).ok()) std::abort();
    });
    const double parse_us = std::max(0.0, mem_us - deflate_us);
    sum_extract += extract_us;
    sum_bound += bound_us;
    sum_parse += parse_us;
    std::printf("%-40s %5u %9llu %11.1f %11.1f %6.2f %12.1f %10.1f %8.1f %9.1f\n",
                std::filesystem::path(path).filename().c_str(), info->reads,
                static_cast<unsigned long long>(info->bytes_read), extract_us, bound_us,
                bound_us > 0 ? extract_us / bound_us : 0.0, deflate_us, zlib_us, mem_us, parse_us);
  }
  std::printf("%-40s %5s %9s %11.1f %11.1f %6.2f %12s %10s %8s %9.1f\n", "total", "", "", sum_extract, sum_bound,
              sum_bound > 0 ? sum_extract / sum_bound : 0.0, "", "", "", sum_parse);
  return 0;
}
