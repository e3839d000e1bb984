#include "mpiprep/core/meta.hpp"

#include <array>
#include <charconv>
#include <ostream>
#include <stdexcept>
#include <string>

namespace mpiprep {
namespace {
constexpr std::array<std::string_view, 5> kFormatNames = {"unknown", "root", "hdf5", "netcdf3",
                                                          "parquet"};

std::string_view strip_slashes(std::string_view p) {
  while (!p.empty() && p.front() == '/') p.remove_prefix(1);
  while (!p.empty() && p.back() == '/') p.remove_suffix(1);
  return p;
}
}  // namespace

ColumnView Columns::at(std::size_t i) const {
  if (i >= size())
    throw std::out_of_range("Columns::at: index " + std::to_string(i) + " >= size " +
                           std::to_string(size()));
  return (*this)[i];
}

std::ostream& operator<<(std::ostream& os, const ColumnView& c) {
  return os << "{\"" << c.name << "\", \"" << c.type << "\"}";
}

void Columns::too_long(std::size_t have, std::size_t add) {
  throw std::length_error("Columns: " + std::to_string(have) + " + " + std::to_string(add) +
                          " bytes of names and types exceed the table's 4 GiB limit");
}

std::string_view format_name(FileFormat f) noexcept {
  auto i = static_cast<std::size_t>(f);
  return i < kFormatNames.size() ? kFormatNames[i] : kFormatNames[0];
}

FileFormat format_from_name(std::string_view name) noexcept {
  for (std::size_t i = 0; i < kFormatNames.size(); ++i)
    if (kFormatNames[i] == name) return static_cast<FileFormat>(i);
  return FileFormat::kUnknown;
}

const ObjectMeta* FileMeta::find_object(std::string_view object_path) const {
  std::string_view want = strip_slashes(object_path);
  int want_cycle = -1;
  if (auto semi = want.rfind(';'); semi != std::string_view::npos) {
    int c = 0;
    auto tail = want.substr(semi + 1);
    if (std::from_chars(tail.data(), tail.data() + tail.size(), c).ec == std::errc()) {
      want_cycle = c;
      want = want.substr(0, semi);
    }
  }
  const ObjectMeta* best = nullptr;
  for (const auto& o : objects) {
    if (strip_slashes(o.path) != want) continue;
    if (want_cycle >= 0) {
      if (o.cycle == want_cycle) return &o;
      continue;
    }
    if (best == nullptr || o.cycle > best->cycle) best = &o;
  }
  return best;
}

const ObjectMeta* FileMeta::first_tree() const {
  for (const auto& o : objects)
    if (o.kind == "TTree" && o.error_kind == ErrorKind::kNone) return &o;
  for (const auto& o : objects)
    if (o.kind == "RNTuple" && o.error_kind == ErrorKind::kNone) return &o;
  return nullptr;
}

bool object_needed_for(std::optional<std::string_view> object_path, std::string_view path,
                       std::string_view kind) noexcept {
  if (!object_path) return kind == "TTree" || kind == "RNTuple";
  const std::string_view want = strip_slashes(*object_path);
  if (want.empty()) return true;  // the root group: all of it
  // find_object() drops a ";cycle" suffix; an HDF5 name may really contain ';': keep both.
  std::string_view bare = want;
  if (auto semi = want.rfind(';'); semi != std::string_view::npos) bare = want.substr(0, semi);
  const std::string_view p = strip_slashes(path);
  auto within = [&p](std::string_view w) {
    return p == w || (p.size() > w.size() && p.compare(0, w.size(), w) == 0 && p[w.size()] == '/');
  };
  return within(want) || within(bare);
}

}  // namespace mpiprep
