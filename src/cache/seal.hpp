// The cache file's seal: a 512-byte HDF5 user block, written after the HDF5 file is closed,
// holding a magic string, the file's length and an xxh64 of every byte after the block.
// A load checks the seal before libhdf5 parses a single byte, because libhdf5 1.10 can crash
// (not just fail) on a damaged object header: damage is caught by the hash instead, so a bad
// cache stays a warning, never a crash (invariant 4). HDF5 readers such as h5py skip the user
// block by themselves.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "mpiprep/core/result.hpp"

namespace mpiprep::cache {

inline constexpr std::uint64_t kUserBlockSize = 512;

struct SealInfo {
  std::uint64_t file_bytes = 0;
  std::uint64_t body_hash = 0;   // xxh64 of bytes [512, file_bytes)
  std::uint64_t generation = 0;  // copies of the root attributes, for tools reading raw bytes
  std::uint64_t checksum = 0;
};

// Writes the user block of a closed cache file (and nothing else).
[[nodiscard]] Status seal_file(const std::string& path, std::uint64_t generation,
                               std::uint64_t checksum);
// The same for a whole file image in memory (the serial commit builds the file in memory).
// Fails if the image is shorter than the user block or its user block is not zeroed.
[[nodiscard]] Status seal_image(std::span<std::byte> image, std::uint64_t generation,
                                std::uint64_t checksum);

enum class SealVerdict : std::uint8_t {
  kOk,
  kForeign,  // no seal but an HDF5 signature: somebody else's HDF5 file
  kBroken,   // truncated, damaged, or not HDF5 at all
};
struct SealCheck {
  SealVerdict verdict = SealVerdict::kBroken;
  std::string reason;
  SealInfo info;
};
// Reads the user block and hashes the rest of the file (file_bytes from fstat of fd).
SealCheck check_seal(int fd, std::uint64_t file_bytes, const std::string& path);
SealCheck check_seal(const std::string& path, std::uint64_t file_bytes);
// The same check over a file's bytes already in memory.
SealCheck check_seal(std::span<const char> bytes);

}  // namespace mpiprep::cache
