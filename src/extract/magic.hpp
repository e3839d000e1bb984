// Magic numbers of the formats mpiprep recognizes, shared by the sniffer (extract/) and the HDF5
// extractor (which needs the superblock offset to derive a file id). Internal header: the
// public entry points are in include/mpiprep/extract/extractor.hpp.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "mpiprep/core/result.hpp"
#include "mpiprep/io/file_system.hpp"

namespace mpiprep::extract::magic {

inline constexpr std::array<unsigned char, 8> kHdf5 = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
inline constexpr std::array<unsigned char, 4> kRoot = {'r', 'o', 'o', 't'};
inline constexpr std::array<unsigned char, 4> kNetcdfClassic = {'C', 'D', 'F', 0x01};
inline constexpr std::array<unsigned char, 4> kNetcdf64BitOffset = {'C', 'D', 'F', 0x02};
inline constexpr std::array<unsigned char, 4> kNetcdfCdf5 = {'C', 'D', 'F', 0x05};
inline constexpr std::array<unsigned char, 4> kParquet = {'P', 'A', 'R', '1'};

// The HDF5 superblock sits at 0 or, after a user block, at 512, 1024, 2048, ... (HDF5 file
// format spec, "Format Signature"). The first candidate past 0.
inline constexpr std::uint64_t kHdf5FirstUserBlockOffset = 512;

template <std::size_t N>
[[nodiscard]] inline bool has_prefix(std::span<const std::byte> head,
                                     const std::array<unsigned char, N>& m) noexcept {
  if (head.size() < N) return false;
  return std::equal(m.begin(), m.end(), head.begin(), [](unsigned char a, std::byte b) {
    return a == static_cast<unsigned char>(b);
  });
}

// Where the HDF5 superblock starts, or nullopt when no signature is at any allowed offset from
// `from` (0 or a power of two >= 512) on. One 8-byte read per candidate: at most
// log2(size) - 8 reads past offset 0.
[[nodiscard]] inline Result<std::optional<std::uint64_t>> find_hdf5_superblock(
    io::RandomAccessFile& file, std::uint64_t from = 0) {
  const std::uint64_t size = file.size();
  std::array<std::byte, kHdf5.size()> buf{};
  for (std::uint64_t off = from; off + kHdf5.size() <= size;
       off = (off == 0 ? kHdf5FirstUserBlockOffset : off * 2)) {
    auto n = file.pread(off, buf);
    if (!n.ok()) return n.error();
    if (*n == buf.size() && has_prefix(buf, kHdf5)) return std::optional<std::uint64_t>(off);
  }
  return std::optional<std::uint64_t>();
}

}  // namespace mpiprep::extract::magic
