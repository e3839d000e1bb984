// Helpers shared by the extract tests: a temporary directory, whole-file I/O, expected.json.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace mpiprep::testing_support {

inline std::string data_path(const std::string& name) {
  return std::string(MPIPREP_TEST_DATA_DIR) + "/" + name;
}

inline const nlohmann::json& expected_json() {
  static const nlohmann::json j = [] {
    std::ifstream in(data_path("expected.json"));
    if (!in) throw std::runtime_error("cannot open expected.json");
    return nlohmann::json::parse(in);
  }();
  return j;
}

// Names of the files whose expected.json entry has this format ("hdf5", "root", ...).
inline std::vector<std::string> files_of_format(const std::string& format) {
  std::vector<std::string> out;
  for (const auto& [name, v] : expected_json().at("files").items())
    if (v.at("format") == format) out.push_back(name);
  return out;
}

inline std::vector<char> read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_all(const std::string& path, const std::vector<char>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

// A fresh directory under the system temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "mpiprep-extract-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace mpiprep::testing_support
