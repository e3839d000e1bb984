#include "extract/hdf5/superblock.hpp"

#include <xxhash.h>

#include <array>
#include <vector>

namespace mpiprep::extract::hdf5 {
namespace {

std::uint64_t read_le(std::span<const std::byte> b, std::size_t at, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = n; i-- > 0;) v = (v << 8) | static_cast<std::uint8_t>(b[at + i]);
  return v;
}

bool valid_offset_size(std::size_t o) { return o == 2 || o == 4 || o == 8; }

void append_le(std::vector<std::byte>& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::byte>((v >> (8 * i)) & 0xffU));
}

}  // namespace

SuperblockInfo parse_superblock(std::span<const std::byte> sb) noexcept {
  // Layouts from the HDF5 File Format Specification, section II.A "Disk Format: Level 0A".
  SuperblockInfo info;
  if (sb.size() < 16) return info;
  const int version = static_cast<int>(sb[8]);
  std::size_t offsets = 0, addr_start = 0;
  if (version == 0 || version == 1) {
    offsets = static_cast<std::size_t>(sb[13]);
    addr_start = version == 0 ? 24 : 28;
    if (!valid_offset_size(offsets)) return info;
    // base, free-space, EOF, driver-info addresses; root symbol table entry (2 offsets + 24).
    info.length = addr_start + 4 * offsets + 2 * offsets + 24;
  } else if (version == 2 || version == 3) {
    offsets = static_cast<std::size_t>(sb[9]);
    addr_start = 12;
    if (!valid_offset_size(offsets)) return info;
    // base, superblock-extension, EOF, root object header addresses; checksum.
    info.length = addr_start + 4 * offsets + 4;
  } else {
    return info;
  }
  info.version = version;
  const std::size_t eof_at = addr_start + 2 * offsets;
  if (sb.size() >= eof_at + offsets) {
    // Unlike other addresses the stored EOF is absolute (it already includes a user block):
    // libhdf5 checks "eof + base_addr < stored_eof" with eof measured past the base.
    const std::uint64_t eof = read_le(sb, eof_at, offsets);
    const std::uint64_t undefined =
        offsets == 8 ? ~std::uint64_t{0} : (std::uint64_t{1} << (8 * offsets)) - 1;
    if (eof != undefined) info.end_of_file = eof;
  }
  return info;
}

std::string file_uuid(std::span<const std::byte> superblock, std::uint64_t file_size,
                      std::uint64_t root_address, std::span<const std::byte> tail) {
  std::vector<std::byte> buf(superblock.begin(), superblock.end());
  append_le(buf, file_size);
  append_le(buf, root_address);
  buf.insert(buf.end(), tail.begin(), tail.end());
  const XXH128_hash_t h = XXH3_128bits(buf.data(), buf.size());

  std::array<std::uint8_t, 16> b{};
  for (std::size_t i = 0; i < 8; ++i) {
    b[i] = static_cast<std::uint8_t>(h.high64 >> (56 - 8 * i));
    b[8 + i] = static_cast<std::uint8_t>(h.low64 >> (56 - 8 * i));
  }
  b[6] = static_cast<std::uint8_t>((b[6] & 0x0fU) | 0x80U);  // version 8: custom
  b[8] = static_cast<std::uint8_t>((b[8] & 0x3fU) | 0x80U);  // RFC variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  s.reserve(36);
  for (std::size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s += '-';
    s += kHex[b[i] >> 4];
    s += kHex[b[i] & 0x0fU];
  }
  return s;
}

}  // namespace mpiprep::extract::hdf5
