#include "mpiprep/core/result.hpp"

#include <array>

namespace mpiprep {
namespace {
constexpr std::array<std::string_view, 13> kNames = {
    "none",      "missing",      "permission",          "io",
    "truncated", "corrupt",      "unsupported_format",  "unsupported_version",
    "unsupported_compression",   "not_found",           "inconsistent",
    "timeout",   "internal",
};
}  // namespace

std::string_view error_kind_name(ErrorKind kind) noexcept {
  auto i = static_cast<std::size_t>(kind);
  return i < kNames.size() ? kNames[i] : std::string_view("internal");
}

ErrorKind error_kind_from_name(std::string_view name) noexcept {
  for (std::size_t i = 0; i < kNames.size(); ++i)
    if (kNames[i] == name) return static_cast<ErrorKind>(i);
  return ErrorKind::kInternal;
}

std::string Error::to_string() const {
  std::string s(error_kind_name(kind));
  s += ": ";
  s += message;
  return s;
}

}  // namespace mpiprep
