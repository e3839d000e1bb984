// Text helpers shared by the report renderers (private to the report module): numbers with
// thousands separators independent of the user's locale, aligned tables, section rules.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <locale>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

namespace mpiprep::report::detail {

constexpr std::size_t kRuleWidth = 72;
constexpr double kMiB = 1024.0 * 1024.0;

// "1,234,567.8" regardless of the user's environment: a private locale, never the global one.
struct Thousands : std::numpunct<char> {
  char do_thousands_sep() const override { return ','; }
  std::string do_grouping() const override { return "\3"; }
};

class Numbers {
 public:
  Numbers() : loc_(std::locale::classic(), new Thousands) {}
  [[nodiscard]] std::string integer(std::int64_t v) const { return fmt::format(loc_, "{:L}", v); }
  [[nodiscard]] std::string fixed(double v, int decimals) const {
    return fmt::format(loc_, "{:.{}Lf}", v, decimals);
  }
  // Milliseconds: one decimal below 1,000, whole numbers above (STYLE.md: "151.4", "1,910").
  [[nodiscard]] std::string millis(double v) const { return fixed(v, v < 999.95 ? 1 : 0); }

 private:
  std::locale loc_;
};

inline std::string rule(std::string_view title) {
  std::string s = "@--- ";
  s += title;
  s += ' ';
  if (s.size() < kRuleWidth) s.append(kRuleWidth - s.size(), '-');
  return s;
}

// Column 0 (and any column listed in `left`) left-aligned, the others right-aligned, two spaces
// apart, widths from the content; no trailing spaces.
inline std::string table(const std::vector<std::vector<std::string>>& rows,
                  const std::vector<std::size_t>& left = {}) {
  std::vector<std::size_t> width;
  for (const auto& row : rows) {
    width.resize(std::max(width.size(), row.size()), 0);
    for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c) {
      const bool is_left = c == 0 || std::find(left.begin(), left.end(), c) != left.end();
      if (c > 0) line += "  ";
      if (is_left) {
        line += fmt::format("{:<{}}", row[c], width[c]);
      } else {
        line += fmt::format("{:>{}}", row[c], width[c]);
      }
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line;
    out += '\n';
  }
  return out;
}

inline std::string format_time(std::chrono::system_clock::time_point tp, bool utc, const char* fmt_str) {
  std::time_t t = std::chrono::system_clock::to_time_t(tp);
  std::tm tm{};
  if (utc) {
    gmtime_r(&t, &tm);
  } else {
    localtime_r(&t, &tm);
  }
  char buf[64];
  std::size_t n = std::strftime(buf, sizeof buf, fmt_str, &tm);
  return std::string(buf, n);
}

}  // namespace mpiprep::report::detail
