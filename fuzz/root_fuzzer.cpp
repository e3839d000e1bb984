// Whole-file fuzzer: arbitrary bytes through MemoryFileSystem into read_root_file and the
// FileMeta conversion, and through extract()'s scratch-memory path (read_root_file_meta),
// which must agree with them (a difference traps). Any crash, sanitizer report, leak or hang
// is a bug; errors are fine.
// Seeds: the ROOT files of tests/data. The harness sets fEND to the input size so that
// mutated files get past the header's truncation check and into the deeper structures.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "extract/root/file_meta_builder.hpp"
#include "mpiprep/extract/root/reader.hpp"

using namespace mpiprep;
using namespace mpiprep::extract::root;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::byte> bytes(size);
  if (size > 0) std::memcpy(bytes.data(), data, size);
  if (size >= 24 && std::memcmp(data, "root", 4) == 0) {
    const std::uint32_t version = (std::uint32_t{data[4]} << 24) | (std::uint32_t{data[5]} << 16) |
                                  (std::uint32_t{data[6]} << 8) | std::uint32_t{data[7]};
    const bool big = static_cast<std::int32_t>(version) >= 1000000;
    const std::uint64_t end = size;
    const int width = big ? 8 : 4;
    for (int i = 0; i < width; ++i) {
      bytes[static_cast<std::size_t>(12 + i)] = static_cast<std::byte>((end >> (8 * (width - 1 - i))) & 0xff);
    }
  }
  io::MemoryFileSystem fs;
  fs.add("/fuzz.root", std::move(bytes));
  auto file = fs.open("/fuzz.root");
  if (!file.ok()) return 0;
  ReadOptions opts;
  opts.max_record_bytes = 64u << 20;
  // Half of the inputs take the StreamerInfo-driven path for every tree class version.
  opts.force_streamer_info = (size & 1) != 0;
  auto info = read_root_file(**file, opts);
  FileMeta direct;
  const Status ds = read_root_file_meta(**file, opts, true, direct);
  if (ds.ok() != info.ok()) __builtin_trap();
  if (!info.ok()) {
    if (ds.error().kind != info.error().kind || ds.error().message != info.error().message) __builtin_trap();
    return 0;
  }
  FileMeta meta = to_file_meta(*info, true);
  if (direct.uuid != meta.uuid || direct.compression != meta.compression || direct.bytes_read != meta.bytes_read ||
      direct.objects.size() != meta.objects.size()) {
    __builtin_trap();
  }
  for (std::size_t i = 0; i < meta.objects.size(); ++i) {
    const ObjectMeta& a = direct.objects[i];
    const ObjectMeta& b = meta.objects[i];
    if (a.path != b.path || a.kind != b.kind || a.title != b.title || a.cycle != b.cycle ||
        a.num_entries != b.num_entries || a.n_columns_total != b.n_columns_total || a.clusters != b.clusters ||
        a.error_kind != b.error_kind || a.error_message != b.error_message || a.columns.size() != b.columns.size()) {
      __builtin_trap();
    }
    for (std::size_t j = 0; j < a.columns.size(); ++j) {
      if (a.columns[j].name != b.columns[j].name || a.columns[j].type != b.columns[j].type) __builtin_trap();
    }
  }
  // Touch every branch and leaf the way a consumer would.
  std::size_t n = meta.objects.size();
  for (const TreeInfo& t : info->trees) {
    for (const BranchInfo& b : t.branches) {
      n += branch_type_name(t, b).size();
      for (const std::uint32_t l : t.leaf_ids(b)) n += leaf_type_name(t.leaves[l], b.element_class).size();
      n += t.entry_offsets(b).size() + t.children(b).size();
    }
  }
  return n == static_cast<std::size_t>(-1) ? 1 : 0;
}
