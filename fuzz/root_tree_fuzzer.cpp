// TTree record fuzzer: the streamer decoder on raw (uncompressed) record payloads, where
// mutations reach the branch/leaf structures directly instead of breaking a compressed
// stream. Input: [keylen u16 BE][class selector u8][payload]. Seeds: corpus/root_tree, the
// test files' tree records up to 64 KiB (bench/root/root_dump FILE --dump-records DIR writes
// them in this format). Differential: every input is decoded with and without the fast path
// for TBranches and TBranchElements, which must agree exactly (same error, or the same model
// field by field); and the fast path must not claim a branch when it is off.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "../tests/root/root_tree_dump.hpp"
#include "extract/root/streamer.hpp"
#include "mpiprep/extract/root/reader.hpp"

using namespace mpiprep;
using namespace mpiprep::extract::root;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  const auto keylen = static_cast<std::uint32_t>((data[0] << 8) | data[1]);
  static constexpr const char* kClasses[] = {"TTree", "TNtuple", "TNtupleD"};
  const char* cls = kClasses[data[2] % 3];
  // Exactly the payload's size, so ASan sees any read past it.
  const std::size_t n_payload = size - 3;
  std::shared_ptr<std::byte[]> buffer(new std::byte[n_payload == 0 ? 1 : n_payload]);
  for (std::size_t i = 0; i < n_payload; ++i) buffer.get()[i] = static_cast<std::byte>(data[i + 3]);
  TreeInfo tree;
  const std::span<const std::byte> payload(buffer.get(), n_payload);
  const Status st = parse_tree(buffer, payload, keylen, cls, "fuzz record", tree);
  TreeParseOptions general;
  general.fast_paths = false;
  std::size_t claimed = 0;
  general.fast_branches = &claimed;
  TreeInfo slow;
  const Status st_slow = parse_tree(buffer, payload, keylen, cls, "fuzz record", slow, general);
  if (claimed != 0) __builtin_trap();
  if (st.ok() != st_slow.ok()) __builtin_trap();
  if (!st.ok()) {
    if (st.error().kind != st_slow.error().kind || st.error().message != st_slow.error().message) __builtin_trap();
    return 0;
  }
  if (tree_dump(std::vector<TreeInfo>{tree}) != tree_dump(std::vector<TreeInfo>{slow})) __builtin_trap();
  std::size_t n = tree.count_all_branches() + common_entry_offsets(tree).size();
  for (const BranchInfo& b : tree.branches) {
    n += branch_type_name(tree, b).size();
    for (const std::uint32_t l : tree.leaf_ids(b)) n += leaf_type_name(tree.leaves[l]).size();
  }
  return n == static_cast<std::size_t>(-1) ? 1 : 0;
}
