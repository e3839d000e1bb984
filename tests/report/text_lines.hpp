// Helpers for tests that read the rendered text report: its lines, a line's whitespace
// separated fields, and the line starting with a prefix.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <sstream>
#include <string>
#include <vector>

namespace mpiprep::report::testing {

inline std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

inline std::vector<std::string> fields(const std::string& line) {
  std::vector<std::string> out;
  std::istringstream in(line);
  for (std::string f; in >> f;) out.push_back(f);
  return out;
}

// Index of the line starting with `prefix` (test failure if none).
inline std::size_t find_line(const std::vector<std::string>& ls, const std::string& prefix) {
  for (std::size_t i = 0; i < ls.size(); ++i)
    if (ls[i].rfind(prefix, 0) == 0) return i;
  ADD_FAILURE() << "no line starting with '" << prefix << "'";
  return 0;
}

}  // namespace mpiprep::report::testing
