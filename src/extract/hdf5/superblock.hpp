// Pure parsing of the HDF5 superblock bytes (no libhdf5): the superblock's length and stored
// end-of-file address, used to name truncation precisely and to derive a stable file id.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace mpiprep::extract::hdf5 {

struct SuperblockInfo {
  int version = -1;        // 0..3; -1 when the bytes are not a superblock we can parse
  std::size_t length = 0;  // bytes the superblock occupies (0 when unknown)
  // End of file the writer recorded (an absolute offset, user block included), when parseable.
  // libhdf5 refuses a file shorter than this; a longer one is fine (trailing bytes are ignored).
  std::optional<std::uint64_t> end_of_file;
};

// `sb` starts at the signature; it may be shorter than the superblock (truncated file).
SuperblockInfo parse_superblock(std::span<const std::byte> sb) noexcept;

// A stable identifier for an HDF5 file, which has no UUID of its own. The rule:
//   XXH3-128 over  superblock bytes (exactly `length` of them, or what the file holds)
//               || file size (8 bytes, little endian)
//               || root group object header address (8 bytes, little endian)
//               || the last min(4096, size) bytes of the file,
// printed as a lowercase hyphenated UUID with the RFC 9562 version nibble set to 8 (custom)
// and the variant bits to 10. The superblock holds the recorded EOF, the root address and for
// v2/v3 a checksum, so any rewrite that moves metadata changes it; the tail sample separates
// files of identical structure whose data differ (data usually sits at the end). The same
// bytes always give the same id, on every rank and every run.
std::string file_uuid(std::span<const std::byte> superblock, std::uint64_t file_size,
                      std::uint64_t root_address, std::span<const std::byte> tail);

inline constexpr std::size_t kSuperblockMaxBytes = 256;  // v1 with 16-byte offsets: 148
inline constexpr std::size_t kUuidTailBytes = 4096;

}  // namespace mpiprep::extract::hdf5
