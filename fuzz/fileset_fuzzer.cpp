// Fileset parser fuzzer: the first byte picks the input kind (JSON fileset or list file), the
// rest is its text, expanded through a MemoryFileSystem that also holds a few data files and
// a directory. Any crash, sanitizer report, leak or hang is a bug; an Error is fine.
// Seeds: examples/fileset.json and small list files (fuzz/corpus/fileset).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "mpiprep/fileset/fileset.hpp"
#include "mpiprep/io/file_system.hpp"

using namespace mpiprep;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const bool json = (data[0] & 1) == 0;
  std::vector<std::byte> text(size - 1);
  for (std::size_t i = 1; i < size; ++i) text[i - 1] = static_cast<std::byte>(data[i]);
  io::MemoryFileSystem fs;
  for (const char* p : {"/data/a.root", "/data/b.root", "/data/sub/c.root", "/work/tests/data/nano_dy.root"}) {
    fs.add(p, std::vector<std::byte>(16, std::byte{1}));
  }
  const std::string input = json ? "/work/fileset.json" : "/work/files.txt";
  fs.add(input, std::move(text));
  const std::vector<std::string> inputs{input};
  fileset::ExpandOptions opts;
  auto r = fileset::expand(inputs, opts, fs);
  if (r.ok()) {
    // Every accepted path is absolute and normalized, as the scan relies on.
    for (const auto& f : r->files) {
      if (f.path.empty() || f.path[0] != '/' || f.path.find("//") != std::string::npos) __builtin_trap();
    }
  }
  return 0;
}
