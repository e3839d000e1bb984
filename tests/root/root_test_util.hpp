// Helpers shared by the ROOT reader tests: test-file paths and in-memory files.
#pragma once

#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "mpiprep/extract/root/reader.hpp"
#include "mpiprep/io/file_system.hpp"
#include "root_tree_dump.hpp"

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

}  // namespace mpiprep::extract::root
