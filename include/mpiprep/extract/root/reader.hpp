// Entry points of the native ROOT reader: read_root_file() decodes a file into the rich model
// (model.hpp) with a handful of coalesced positional reads, to_file_meta() condenses it into
// the shared FileMeta. Pure C++, no global state: any number of files may be read concurrently.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "mpiprep/core/meta.hpp"
#include "mpiprep/extract/root/decompress.hpp"
#include "mpiprep/extract/root/model.hpp"
#include "mpiprep/io/file_system.hpp"

namespace mpiprep::extract::root {

struct ReadOptions {
  bool trees = true;     // decode TTree records (else they are listed as keys only)
  bool rntuples = true;  // decode RNTuple anchors and envelopes
  ZlibImpl zlib = ZlibImpl::kLibdeflate;
  // Class versions without a hand-written layout are decoded from the file's StreamerInfo
  // (one more read, only when needed). force_streamer_info uses it for every version (tests).
  bool streamer_info_fallback = true;
  bool force_streamer_info = false;
  // Plain TBranches (no sub-branches, plain leaves) are decoded by a fast path; off, only by
  // the general decoder (tests require identical results).
  bool fast_paths = true;
  // Reads whose gap is at most this many bytes are merged into one pread.
  std::uint64_t coalesce_gap = 64 * 1024;
  // Caps on what the file may make us allocate or walk (invariant 6).
  std::uint64_t max_record_bytes = 256ull << 20;  // one uncompressed object record
  std::uint64_t max_keys = 1u << 20;              // keys over all directories
  int max_directory_depth = 64;
};

// Decodes the header, every directory's keys, and the TTree/RNTuple records. File-level
// problems (not ROOT, truncated, corrupt structures) are the returned Error; an object the
// reader cannot decode (unknown class version, unsupported compression) is listed in
// RootFileInfo::object_errors and the rest of the file is still read.
[[nodiscard]] Result<RootFileInfo> read_root_file(io::RandomAccessFile& file,
                                                  const ReadOptions& opts = {});
// The same into `info` (default-constructed), without moving the model into a Result
// (extract() uses it); on failure `info` holds whatever was decoded and is to be discarded.
[[nodiscard]] Status read_root_file(io::RandomAccessFile& file, const ReadOptions& opts,
                                    RootFileInfo& info);

// Readable type of one leaf per the Column convention in core/meta.hpp: "int32_t", "float",
// "uint32_t" (fIsUnsigned), "bool", "char*", "Float16_t", ...; "[]" for a variable-length
// leaf (fLeafCount), "[N]" (or "[N][M]") for fixed dimensions. For a TLeafElement the type
// comes from its streamer type code; when that is not a basic type, `branch_class` is used.
[[nodiscard]] std::string leaf_type_name(const LeafInfo& leaf, std::string_view branch_class = {});

// Readable type of a branch: TBranchElement/TBranchObject → fClassName (or its leaf's type
// when the class name is empty); one leaf → that leaf's type; several leaves →
// "struct{x:float,n:int32_t}"; no leaf → "".
[[nodiscard]] std::string branch_type_name(const TreeInfo& tree, const BranchInfo& branch);

// Common cluster boundaries, as coffea/uproot's common_entry_offsets: the intersection over
// every branch (any depth) of its entry offsets, always starting with 0 and ending with the
// tree's entry count. Branches without any basket (e.g. the top branch of a split object,
// whose data live in its sub-branches) impose no boundary.
[[nodiscard]] std::vector<std::int64_t> common_entry_offsets(const TreeInfo& tree);

// The shared model: one ObjectMeta per key (depth-first, key-list order), trees and RNTuples
// with entries, top-level columns, total column count and (when `clusters`) the common
// cluster boundaries; objects in info.object_errors carry their error.
[[nodiscard]] FileMeta to_file_meta(const RootFileInfo& info, bool clusters);
// The same (kept for callers that hand the model over; the strings are copied either way).
// extract() does not use these: it builds its FileMeta from the reader's scratch memory,
// with no RootFileInfo (read_root_file_meta in src/extract/root/file_meta_builder.hpp).
[[nodiscard]] FileMeta to_file_meta(RootFileInfo&& info, bool clusters);
// The same into `out` (default-constructed).
void to_file_meta(RootFileInfo&& info, bool clusters, FileMeta& out);

}  // namespace mpiprep::extract::root
