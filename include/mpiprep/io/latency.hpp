// Latency emulation, a testing and benchmarking aid: a FileSystem wrapper that sleeps before
// every open and every pread, so a laptop behaves like a parallel filesystem (3-5 dependent
// round trips per file) and stragglers are reproducible. Configured by the environment
// variable MPIPREP_SIM_LATENCY, e.g. `open:2ms,read:0.5ms,slow:*big*:100`.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "mpiprep/core/result.hpp"
#include "mpiprep/io/file_system.hpp"

namespace mpiprep::io {

inline constexpr const char* kSimLatencyEnv = "MPIPREP_SIM_LATENCY";

struct LatencySpec {
  double open_s = 0.0;  // added before every open
  double read_s = 0.0;  // added before every pread
  struct Slow {
    std::string pattern;  // fnmatch(3) glob on the path as opened ('*' also matches '/')
    double factor = 1.0;
  };
  std::vector<Slow> slow;  // every matching pattern multiplies the delays of a path

  // Product of the factors of every pattern matching `path` (1 when none does).
  [[nodiscard]] double factor_for(const std::string& path) const;
  // Human-readable, for the log: "open 2 ms, read 0.5 ms, slow *big* x100".
  [[nodiscard]] std::string describe() const;
};

// Strict parser of the MPIPREP_SIM_LATENCY syntax: comma-separated items
//   open:DURATION   read:DURATION   slow:PATTERN:FACTOR (repeatable)
// DURATION is a non-negative decimal number with a unit `us`, `ms` or `s` (unit required);
// FACTOR is a positive decimal number; PATTERN may contain ':' (the factor is after the last
// one) but not ','. Empty items, unknown keys, repeated open/read, and `slow` without any
// open or read delay are kCorrupt errors whose message names the variable and the offending
// item. An empty value is an error too (callers treat an unset variable as "off").
[[nodiscard]] Result<LatencySpec> parse_latency_spec(std::string_view text);

// Sleeps spec.open_s * factor before each open and spec.read_s * factor before each pread of
// a file (factor from spec.slow for the path), then forwards to `base`. Thread-safe.
// Everything else (stat, listing, writes) is forwarded without delay.
class LatencyFileSystem final : public ForwardingFileSystem {
 public:
  LatencyFileSystem(FileSystem& base, LatencySpec spec)
      : ForwardingFileSystem(base), spec_(std::move(spec)) {}
  Result<std::unique_ptr<RandomAccessFile>> open(const std::string& path) override;
  [[nodiscard]] const LatencySpec& spec() const { return spec_; }

 private:
  const LatencySpec spec_;
};

}  // namespace mpiprep::io
