// Rich model of a ROOT file's metadata as the native reader (no libROOT) decodes it: header,
// every key of every directory, TTrees with their full branch/leaf tree and basket boundaries,
// RNTuple anchors and schemas. extract::root::extract() condenses this into the shared FileMeta.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mpiprep/core/result.hpp"

namespace mpiprep::extract::root {

// The fixed-position file header ("root" magic at byte 0) plus the top directory record.
struct FileHeader {
  std::int32_t version = 0;  // fVersion, read signed (a negative one is a small-format file)
  std::int32_t begin = 0;    // fBEGIN: 64 in ROOT 3/4 files, 100 otherwise
  bool big_file = false;     // fVersion >= 1000000: 64-bit fEND, fSeekFree, fSeekInfo
  std::int64_t end = 0;
  std::int64_t seek_free = 0;
  std::int32_t nbytes_free = 0;
  std::int32_t nfree = 0;
  std::int32_t nbytes_name = 0;
  std::uint8_t units = 0;
  std::int32_t compress = 0;  // 100 * algorithm + level
  std::int64_t seek_info = 0;
  std::int32_t nbytes_info = 0;
  std::uint16_t uuid_version = 0;
  std::array<std::uint8_t, 16> uuid{};

  // Top directory record (at fBEGIN + fNbytesName).
  std::int16_t dir_version = 0;
  std::int32_t nbytes_keys = 0;
  std::int64_t seek_keys = 0;

  // 32 lowercase hex digits, as ROOT's TUUID stores them (expected.json's fUUID form).
  [[nodiscard]] std::string uuid_hex() const;
  // Lowercase hyphenated 8-4-4-4-12, as coffea prints it.
  [[nodiscard]] std::string uuid_string() const;
};

// fCompress decoded. Algorithm 0 ("use the global default") is zlib in every ROOT release.
struct CompressionSetting {
  int algorithm = 0;  // 0 global default, 1 zlib, 2 lzma, 3 old ROOT ("CS"), 4 lz4, 5 zstd
  int level = 0;      // 0 = uncompressed
  [[nodiscard]] static CompressionSetting from_fcompress(std::int32_t fcompress) noexcept;
  // "zlib", "lzma", "old", "lz4", "zstd", "unknown"; "none" when level is 0.
  [[nodiscard]] std::string_view algorithm_name() const noexcept;
  // "zlib:1", "lz4:4", "none:0", ...
  [[nodiscard]] std::string to_string() const;
};

// One TKey of one directory (the file's top directory or any TDirectory below it).
struct KeyInfo {
  std::string path;        // "one/two/tree": directory names joined with '/', no leading slash
  std::string name;        // fName (last path component)
  std::string title;       // fTitle
  std::string class_name;  // fClassName
  int cycle = 0;
  std::int16_t version = 0;  // key version; > 1000 means 64-bit fSeekKey/fSeekPdir
  std::int32_t nbytes = 0;   // record size on disk, key header included
  std::int32_t objlen = 0;   // uncompressed payload size
  std::int16_t keylen = 0;   // key header size
  std::int64_t seek_key = 0;
  std::int64_t seek_pdir = 0;
  int depth = 0;  // 0 for keys of the top directory

  [[nodiscard]] bool compressed() const noexcept { return nbytes - keylen != objlen; }
  [[nodiscard]] bool is_directory() const noexcept {
    // (As string_views: sizes compared first, no strlen + memcmp call per key.)
    const std::string_view c = class_name;
    return c == std::string_view("TDirectory") || c == std::string_view("TDirectoryFile");
  }
};

inline constexpr std::int32_t kUnknownInt = INT32_MIN;

// One leaf (TLeafI, TLeafF, TLeafElement, ...). String views point into TreeInfo::buffer.
struct LeafInfo {
  std::string_view class_name;  // concrete leaf class as streamed: "TLeafI", "TLeafElement"
  std::string_view name;
  std::string_view title;
  std::int16_t version = 0;
  std::int32_t len = 0;       // fLen: fixed number of elements (product of fixed dimensions)
  std::int32_t len_type = 0;  // fLenType: element size in bytes
  bool is_range = false;
  bool is_unsigned = false;
  bool has_leaf_count = false;         // fLeafCount != null: variable-length (jagged) leaf
  std::string_view leaf_count_name;    // the counter leaf's name when it could be resolved
  std::int32_t element_id = kUnknownInt;    // TLeafElement fID
  std::int32_t element_type = kUnknownInt;  // TLeafElement fType (TStreamerInfo type code)
};

// One branch (TBranch, TBranchElement, TBranchObject, ...) with indices into TreeInfo's pools.
struct BranchInfo {
  std::string_view class_name;  // "TBranch", "TBranchElement", ...
  std::string_view name;
  std::string_view title;
  std::int16_t version = 0;        // version of the concrete class
  std::int16_t base_version = 0;   // version of its TBranch base (== version for TBranch)

  // TBranchElement / TBranchObject members (empty or kUnknownInt otherwise).
  std::string_view element_class;  // fClassName
  std::string_view parent_name;    // fParentName
  std::string_view clones_name;    // fClonesName
  std::int32_t element_id = kUnknownInt;     // fID
  std::int32_t element_type = kUnknownInt;   // fType
  std::int32_t streamer_type = kUnknownInt;  // fStreamerType

  std::int32_t compress = 0;
  std::int32_t write_basket = 0;  // fWriteBasket: number of baskets written (+ open one)
  std::uint32_t max_baskets = 0;
  std::int32_t split_level = 0;
  std::int64_t entries = 0;
  std::int64_t first_entry = 0;
  std::int64_t tot_bytes = 0;
  std::int64_t zip_bytes = 0;
  std::uint32_t normal_baskets = 0;    // baskets written as their own keys
  std::uint32_t embedded_baskets = 0;  // baskets stored inside the TTree record (fBaskets)

  std::uint32_t leaf_begin = 0, leaf_count = 0;      // TreeInfo::leaf_index
  std::uint32_t child_begin = 0, child_count = 0;    // TreeInfo::child_index
  std::uint32_t offset_begin = 0, offset_count = 0;  // TreeInfo::entry_offsets_pool
};

// A TTree (or TNtuple/TNtupleD, which wrap one) record.
struct TreeInfo {
  std::size_t key_index = 0;    // into RootFileInfo::keys
  std::string path;             // as KeyInfo::path
  int cycle = 0;
  std::string class_name;       // key class: "TTree", "TNtuple", "TNtupleD"
  std::int16_t version = 0;     // TTree class version (5, 16..20)
  std::string_view name;
  std::string_view title;
  std::int64_t entries = 0;
  std::int64_t tot_bytes = 0;
  std::int64_t zip_bytes = 0;
  std::optional<std::int64_t> auto_flush;                   // TTree v18+
  std::optional<std::vector<std::int64_t>> cluster_range_end;  // TTree v19+
  std::optional<std::vector<std::int64_t>> cluster_size;       // TTree v19+

  std::vector<BranchInfo> branches;   // every branch of the tree, any depth
  std::vector<std::uint32_t> top;     // fBranches of the tree (indices into branches)
  std::vector<std::uint32_t> child_index;
  std::vector<LeafInfo> leaves;       // every leaf met while decoding (counters included)
  std::vector<std::uint32_t> leaf_index;
  // Per branch, as uproot's TBranch.entry_offsets: fBasketEntry of the baskets written as keys
  // (plus the following start), then one more boundary per embedded basket.
  std::vector<std::int64_t> entry_offsets_pool;
  std::uint64_t record_bytes = 0;  // uncompressed size of the TTree record
  bool used_streamer_info = false;  // decoded (partly) from the file's StreamerInfo
  // Set by the decoder when every branch in `branches` hangs under `top` (the usual case):
  // then counting and intersecting need no walk of the branch tree.
  bool all_branches_reachable = false;

  // Owns the bytes that the string views above (and `record`) point into.
  std::shared_ptr<const std::byte[]> buffer;
  std::span<const std::byte> record;  // the uncompressed record payload (after the key)

  [[nodiscard]] std::span<const std::uint32_t> children(const BranchInfo& b) const {
    return std::span(child_index).subspan(b.child_begin, b.child_count);
  }
  [[nodiscard]] std::span<const std::uint32_t> leaf_ids(const BranchInfo& b) const {
    return std::span(leaf_index).subspan(b.leaf_begin, b.leaf_count);
  }
  [[nodiscard]] std::span<const std::int64_t> entry_offsets(const BranchInfo& b) const {
    return std::span(entry_offsets_pool).subspan(b.offset_begin, b.offset_count);
  }
  // Number of branches at every depth (the tree's fBranches and all their sub-branches).
  [[nodiscard]] std::size_t count_all_branches() const;
};

struct FieldInfo {
  std::string name;
  std::string type_name;
  std::string type_alias;
  std::string description;
  std::uint32_t field_version = 0;
  std::uint32_t type_version = 0;
  std::uint32_t parent_id = 0;
  std::uint16_t role = 0;   // 0 leaf, 1 collection, 2 record, 3 variant, 4 streamer
  std::uint16_t flags = 0;  // 1 repetitive, 2 projected, 4 type checksum
  std::uint64_t array_size = 0;
  bool from_extension = false;  // declared in the footer's schema extension
};

// An RNTuple (ROOT::RNTuple anchor key) with its schema from the header/footer envelopes.
struct RNTupleInfo {
  std::size_t key_index = 0;
  std::string path;
  int cycle = 0;
  std::uint16_t version_epoch = 0, version_major = 0, version_minor = 0, version_patch = 0;
  std::uint64_t seek_header = 0, nbytes_header = 0, len_header = 0;
  std::uint64_t seek_footer = 0, nbytes_footer = 0, len_footer = 0;
  std::uint64_t max_key_size = 0;
  std::string name, description, writer;
  std::int64_t entries = 0;  // max over cluster groups of (minimum entry + entry span)
  std::uint64_t n_clusters = 0;
  std::uint64_t n_cluster_groups = 0;
  std::vector<FieldInfo> fields;  // header fields then schema-extension fields; id = index
  std::vector<std::uint32_t> top_fields;  // fields whose parent is themselves
};

// An object listed in the keys that the reader could not decode (unknown streamer version,
// unsupported compression): the file is fine, this one object is reported.
struct ObjectError {
  std::size_t key_index = 0;
  ErrorKind kind = ErrorKind::kInternal;
  std::string message;
};

struct RootFileInfo {
  FileHeader header;
  CompressionSetting compression;
  std::vector<KeyInfo> keys;  // depth-first: a directory's keys, each subdirectory's right after it
  std::vector<std::string> directories;  // paths of all TDirectory keys, same order
  std::vector<TreeInfo> trees;
  std::vector<RNTupleInfo> rntuples;
  std::vector<ObjectError> object_errors;
  bool streamer_info_read = false;  // the StreamerInfo record was needed and decoded
  std::string streamer_info_error;  // why it could not be, when it was needed
  std::uint64_t bytes_read = 0;  // through RandomAccessFile::pread
  std::uint32_t reads = 0;       // number of preads
};

}  // namespace mpiprep::extract::root
