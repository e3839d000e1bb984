// HDF5 cache loader fuzzer: the input is written to a temporary file and loaded with
// Cache::load (inspection mode: nothing moved aside). Any crash, sanitizer report, leak or
// hang is a bug; a rejected cache is fine. The seal (an xxh64 over the whole file, checked
// before libhdf5 parses a byte) rejects every mutation of a real cache, so this exercises the
// seal and header checks; set MPIPREP_FUZZ_RESEAL=1 to reseal each input first and reach
// libhdf5 and the table checks (libhdf5 1.10 itself can crash on damaged object headers, which
// is why the seal exists). Seeds: small caches written by the commit (fuzz/corpus/cache).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "cache/seal.hpp"
#include "mpiprep/cache/cache.hpp"

using namespace mpiprep;

namespace {
const std::string& temp_path() {
  static const std::string path = [] {
    char dir[] = "/tmp/mpiprep-cache-fuzz-XXXXXX";
    if (mkdtemp(dir) == nullptr) std::abort();
    return std::string(dir) + "/cache.h5";
  }();
  return path;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool reseal = std::getenv("MPIPREP_FUZZ_RESEAL") != nullptr;
  const std::string& path = temp_path();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  if (reseal && size > cache::kUserBlockSize) {
    const cache::SealCheck s = cache::check_seal(path, size);
    (void)cache::seal_file(path, s.info.generation, s.info.checksum);
  }
  cache::LoadOptions opts;
  opts.move_aside = false;
  opts.max_table_bytes = 64u << 20;
  auto l = cache::Cache::load(path, opts);
  if (l.report.status == cache::LoadStatus::kLoaded) {
    for (const std::string& p : l.cache.paths()) (void)l.cache.get(p);
  }
  ::unlink(path.c_str());
  return 0;
}
