// Journal replay fuzzer: the input is written as a journal file beside a cache path in a
// private temporary directory and replayed. Any crash, sanitizer report, leak or hang is a
// bug; a dropped tail is fine. For inputs of odd size the harness recomputes each record's
// checksum first (as a writer would), so mutations reach the payload decoder. Seeds: journals written by journal::Writer (fuzz/corpus/journal).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <xxhash.h>

#include "mpiprep/journal/journal.hpp"

using namespace mpiprep;

namespace {
const std::string& cache_path() {
  static const std::string path = [] {
    char dir[] = "/tmp/mpiprep-journal-fuzz-XXXXXX";
    if (mkdtemp(dir) == nullptr) std::abort();
    return std::string(dir) + "/cache.h5";
  }();
  return path;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string jpath = journal::journal_prefix(cache_path()) + "fuzzhost.1.0";
  std::vector<std::uint8_t> bytes(data, data + size);
  if (size % 2 == 1) {
    // Records after the 16-byte file header: u32 magic | u32 length | u64 xxh64(payload, length).
    std::size_t off = journal::kFileHeaderBytes;
    while (off + journal::kRecordHeaderBytes <= size) {
      std::uint32_t len = 0;
      std::memcpy(&len, bytes.data() + off + 4, 4);
      if (len > size - off - journal::kRecordHeaderBytes) break;
      const std::uint64_t h = XXH64(bytes.data() + off + journal::kRecordHeaderBytes, len, len);
      std::memcpy(bytes.data() + off + 8, &h, 8);
      off += journal::kRecordHeaderBytes + len;
    }
  }
  std::FILE* f = std::fopen(jpath.c_str(), "wb");
  if (f == nullptr) std::abort();
  if (size > 0 && std::fwrite(bytes.data(), 1, size, f) != size) std::abort();
  std::fclose(f);
  auto r = journal::replay(cache_path());
  if (r.ok()) {
    for (const auto& d : r->details) {
      if (d.replayed && d.bytes_dropped > d.size) __builtin_trap();
    }
  }
  ::unlink(jpath.c_str());
  return 0;
}
