// Helpers shared by the ROOT reader tests: test-file paths and in-memory files.
#pragma once

#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "mpiprep/extract/root/reader.hpp"
#include "mpiprep/io/file_system.hpp"

namespace mpiprep::extract::root {

inline std::string test_path(const std::string& name) {
  return std::string(MPIPREP_TEST_DATA_DIR) + "/" + name;
}

inline std::vector<std::byte> load_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> out(chars.size());
  for (std::size_t i = 0; i < chars.size(); ++i) out[i] = static_cast<std::byte>(chars[i]);
  return out;
}

inline Result<std::unique_ptr<io::RandomAccessFile>> open_test_file(const std::string& name) {
  static io::PosixFileSystem fs;
  return fs.open(test_path(name));
}

inline Result<RootFileInfo> read_test_file(const std::string& name, const ReadOptions& opts = {}) {
  auto f = open_test_file(name);
  if (!f.ok()) return f.error();
  return read_root_file(**f, opts);
}

// Reads `bytes` as a file through a MemoryFileSystem.
inline Result<RootFileInfo> read_bytes(std::vector<std::byte> bytes, const ReadOptions& opts = {}) {
  io::MemoryFileSystem fs;
  fs.add("/mem.root", std::move(bytes));
  auto f = fs.open("/mem.root");
  if (!f.ok()) return f.error();
  return read_root_file(**f, opts);
}

inline const std::vector<std::string>& root_test_files() {
  static const std::vector<std::string> files = {
      "nano_dy.root",
      "ntpl001_staff_rntuple_v1-0-0-0.root",
      "uproot-HZZ-lz4.root",
      "uproot-HZZ-lzma.root",
      "uproot-HZZ-uncompressed.root",
      "uproot-HZZ-zstd.root",
      "uproot-HZZ.root",
      "uproot-Zmumu-zstd.root",
      "uproot-Zmumu.root",
      "uproot-empty.root",
      "uproot-from-geant4.root",
      "uproot-issue261.root",
      "uproot-nesteddirs.root",
      "uproot-sample-5.23.02-zlib.root",
      "uproot-sample-6.20.04-zlib.root",
      "uproot-small-evnt-tree-fullsplit.root",
      "uproot-stl_containers.root",
  };
  return files;
}

// Every field the decoder fills in the trees (branches, leaves, pools, offsets), one line per
// object: two decodings of a file agree iff these dumps are equal.
inline std::string tree_dump(const RootFileInfo& info) {
  std::ostringstream o;
  for (const TreeInfo& t : info.trees) {
    o << "tree " << t.path << ";" << t.cycle << " " << t.class_name << " v" << t.version << " " << t.name << "|"
      << t.title << " e=" << t.entries << " tot=" << t.tot_bytes << " zip=" << t.zip_bytes
      << " af=" << t.auto_flush.value_or(-1) << " reach=" << t.all_branches_reachable << " ranges=";
    for (const auto x : t.cluster_range_end.value_or(std::vector<std::int64_t>{})) o << x << ",";
    o << " sizes=";
    for (const auto x : t.cluster_size.value_or(std::vector<std::int64_t>{})) o << x << ",";
    o << "\n top=";
    for (const auto x : t.top) o << x << ",";
    o << "\n children=";
    for (const auto x : t.child_index) o << x << ",";
    o << "\n leaf_index=";
    for (const auto x : t.leaf_index) o << x << ",";
    o << "\n offsets=";
    for (const auto x : t.entry_offsets_pool) o << x << ",";
    o << "\n";
    for (const BranchInfo& b : t.branches) {
      o << " B " << b.class_name << " " << b.name << "|" << b.title << " v" << b.version << "/" << b.base_version << " ec="
        << b.element_class << " pn=" << b.parent_name << " cn=" << b.clones_name << " id=" << b.element_id
        << " ty=" << b.element_type << " st=" << b.streamer_type << " c=" << b.compress << " wb=" << b.write_basket
        << " mb=" << b.max_baskets << " sl=" << b.split_level << " e=" << b.entries << " fe=" << b.first_entry
        << " tot=" << b.tot_bytes << " zip=" << b.zip_bytes << " nb=" << b.normal_baskets << "+" << b.embedded_baskets
        << " l=" << b.leaf_begin << "/" << b.leaf_count << " ch=" << b.child_begin << "/" << b.child_count
        << " o=" << b.offset_begin << "/" << b.offset_count << "\n";
    }
    for (const LeafInfo& l : t.leaves) {
      o << " L " << l.class_name << " " << l.name << "|" << l.title << " v" << l.version << " len=" << l.len
        << " lt=" << l.len_type << " r=" << l.is_range << " u=" << l.is_unsigned << " cnt=" << l.has_leaf_count
        << ":" << l.leaf_count_name << " id=" << l.element_id << " ty=" << l.element_type << "\n";
    }
  }
  for (const ObjectError& e : info.object_errors) {
    o << "error " << e.key_index << " " << static_cast<int>(e.kind) << " " << e.message << "\n";
  }
  return o.str();
}

}  // namespace mpiprep::extract::root
