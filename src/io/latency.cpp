#include "mpiprep/io/latency.hpp"

#include <fmt/format.h>
#include <fnmatch.h>

#include <charconv>
#include <chrono>
#include <cmath>
#include <thread>

namespace mpiprep::io {
namespace {

Error bad(std::string_view item, const std::string& why) {
  return make_error(ErrorKind::kCorrupt,
                    fmt::format("{}: bad item '{}': {} (expected e.g. "
                                "'open:2ms,read:0.5ms,slow:*big*:100'; units us, ms, s)",
                                kSimLatencyEnv, item, why));
}

// A plain non-negative decimal: digits with at most one '.', no sign, no exponent, no spaces.
bool parse_decimal(std::string_view s, double& out) {
  if (s.empty()) return false;
  int dots = 0, digits = 0;
  for (char c : s) {
    if (c == '.') {
      ++dots;
    } else if (c >= '0' && c <= '9') {
      ++digits;
    } else {
      return false;
    }
  }
  if (dots > 1 || digits == 0) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), out, std::chars_format::fixed);
  return r.ec == std::errc() && r.ptr == s.data() + s.size() && std::isfinite(out);
}

Result<double> parse_duration(std::string_view item, std::string_view v) {
  double scale = 0;
  std::string_view num;
  if (v.size() > 2 && v.substr(v.size() - 2) == "us") {
    scale = 1e-6;
    num = v.substr(0, v.size() - 2);
  } else if (v.size() > 2 && v.substr(v.size() - 2) == "ms") {
    scale = 1e-3;
    num = v.substr(0, v.size() - 2);
  } else if (v.size() > 1 && v.back() == 's') {
    scale = 1.0;
    num = v.substr(0, v.size() - 1);
  } else {
    return bad(item, "duration '" + std::string(v) + "' needs a unit (us, ms or s)");
  }
  double x = 0;
  if (!parse_decimal(num, x))
    return bad(item, "'" + std::string(num) + "' is not a non-negative decimal number");
  if (x * scale > 3600.0) return bad(item, "a delay of more than an hour is not a latency");
  return x * scale;
}

void sleep_for(double s) {
  if (s > 0) std::this_thread::sleep_for(std::chrono::duration<double>(s));
}

class LatencyFile final : public RandomAccessFile {
 public:
  LatencyFile(std::unique_ptr<RandomAccessFile> base, double read_s)
      : base_(std::move(base)), read_s_(read_s) {}
  Result<std::size_t> pread(std::uint64_t offset, std::span<std::byte> buf) override {
    sleep_for(read_s_);
    return base_->pread(offset, buf);
  }
  std::uint64_t size() const override { return base_->size(); }
  const std::string& path() const override { return base_->path(); }

 private:
  std::unique_ptr<RandomAccessFile> base_;
  const double read_s_;
};

std::string format_seconds(double s) {
  if (s >= 1.0) return fmt::format("{:g} s", s);
  if (s >= 1e-3) return fmt::format("{:g} ms", s * 1e3);
  return fmt::format("{:g} us", s * 1e6);
}

}  // namespace

double LatencySpec::factor_for(const std::string& path) const {
  double f = 1.0;
  for (const auto& s : slow)
    if (::fnmatch(s.pattern.c_str(), path.c_str(), 0) == 0) f *= s.factor;
  return f;
}

std::string LatencySpec::describe() const {
  std::string out = fmt::format("open {}, read {}", format_seconds(open_s), format_seconds(read_s));
  for (const auto& s : slow) out += fmt::format(", slow {} x{:g}", s.pattern, s.factor);
  return out;
}

Result<LatencySpec> parse_latency_spec(std::string_view text) {
  LatencySpec spec;
  bool have_open = false, have_read = false;
  if (text.empty()) return bad(text, "empty value");
  std::size_t pos = 0;
  for (;;) {
    const std::size_t comma = text.find(',', pos);
    const std::string_view item =
        text.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    const std::size_t colon = item.find(':');
    if (item.empty()) return bad(item, "empty item (stray comma?)");
    if (colon == std::string_view::npos) return bad(item, "expected KEY:VALUE");
    const std::string_view key = item.substr(0, colon);
    const std::string_view value = item.substr(colon + 1);
    if (key == "open" || key == "read") {
      bool& seen = key == "open" ? have_open : have_read;
      if (seen) return bad(item, "'" + std::string(key) + "' given twice");
      seen = true;
      auto d = parse_duration(item, value);
      if (!d) return d.error();
      (key == "open" ? spec.open_s : spec.read_s) = *d;
    } else if (key == "slow") {
      const std::size_t last = value.rfind(':');
      if (last == std::string_view::npos) return bad(item, "expected slow:PATTERN:FACTOR");
      const std::string_view pattern = value.substr(0, last);
      const std::string_view factor = value.substr(last + 1);
      if (pattern.empty()) return bad(item, "empty PATTERN");
      double f = 0;
      if (!parse_decimal(factor, f) || !(f > 0))
        return bad(item, "FACTOR '" + std::string(factor) + "' is not a positive number");
      spec.slow.push_back({std::string(pattern), f});
    } else {
      return bad(item, "unknown key '" + std::string(key) + "' (open, read or slow)");
    }
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  if (!spec.slow.empty() && !have_open && !have_read)
    return bad(text, "slow:PATTERN:FACTOR multiplies the open and read delays, but none is set");
  return spec;
}

Result<std::unique_ptr<RandomAccessFile>> LatencyFileSystem::open(const std::string& path) {
  const double factor = spec_.factor_for(path);
  sleep_for(spec_.open_s * factor);
  auto f = base_.open(path);
  if (!f.ok()) return f.error();
  if (spec_.read_s <= 0) return f;
  return std::unique_ptr<RandomAccessFile>(
      std::make_unique<LatencyFile>(std::move(f).value(), spec_.read_s * factor));
}

}  // namespace mpiprep::io
