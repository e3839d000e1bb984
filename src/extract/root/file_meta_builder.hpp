// Internal: the FileMeta built straight from the reader's decoded parts (extract()'s path), so
// that the keys, trees and records can live in the reader's scratch memory instead of a
// RootFileInfo of their own (no heap allocation, copy or free for what only dies with it).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "mpiprep/core/meta.hpp"
#include "mpiprep/extract/root/model.hpp"
#include "mpiprep/extract/root/reader.hpp"

namespace mpiprep::extract::root {

// A key of extract()'s path: KeyInfo's fields, its strings viewed in the reader's scratch
// memory (the key list as read; a subdirectory key's path built there), so that they are
// copied once, into the FileMeta.
struct KeyView {
  std::string_view path;
  std::string_view name;
  std::string_view title;
  std::string_view class_name;
  int cycle = 0;
  std::int16_t version = 0;
  std::int32_t nbytes = 0;
  std::int32_t objlen = 0;
  std::int16_t keylen = 0;
  std::int64_t seek_key = 0;
  std::int64_t seek_pdir = 0;
  int depth = 0;

  [[nodiscard]] bool compressed() const noexcept { return nbytes - keylen != objlen; }
  [[nodiscard]] bool is_directory() const noexcept {
    return class_name == std::string_view("TDirectory") || class_name == std::string_view("TDirectoryFile");
  }
};

// What build_file_meta() reads of a decoded file.
struct ModelParts {
  const FileHeader& header;
  const CompressionSetting& compression;
  std::uint64_t bytes_read = 0;
  std::span<const KeyView> keys;
  std::span<const TreeInfo> trees;
  std::span<const RNTupleInfo> rntuples;
  std::span<const ObjectError> object_errors;
};

// to_file_meta() over the parts, into `m` (default-constructed). (One function for both
// paths: to_file_meta() views a RootFileInfo's keys; the compiler keeps the column work
// inlined in a single copy.)
void build_file_meta(const ModelParts& parts, bool clusters, FileMeta& m);

// read_root_file() + to_file_meta() in one go, the decoded model kept in the reader's scratch
// memory until the FileMeta is built: `meta` gets everything to_file_meta() gives (not the
// path and size). On failure `meta` is to be discarded.
[[nodiscard]] Status read_root_file_meta(io::RandomAccessFile& file, const ReadOptions& opts, bool clusters,
                                         FileMeta& meta);

}  // namespace mpiprep::extract::root
