// Decompression of ROOT object records (and RNTuple envelopes, which use the same framing):
// a payload is a sequence of blocks, each with a 9-byte header (2-byte algorithm magic, method
// byte, 3-byte little-endian compressed and uncompressed sizes), decoded into a buffer whose
// size the key already told us (fObjlen). One Decompressor per thread; it holds codec state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "mpiprep/core/result.hpp"

namespace mpiprep::extract::root {

inline constexpr std::size_t kBlockHeaderSize = 9;
inline constexpr std::uint32_t kMaxBlockBytes = 0xFFFFFF;  // 3-byte size fields

enum class ZlibImpl : std::uint8_t {
  kLibdeflate,  // one-shot decompression into the known-size buffer (default: faster)
  kZlib,        // zlib's inflate, kept for comparison (bench) and as a reference in tests
};

struct BlockHeader {
  char magic[2] = {0, 0};
  std::uint8_t method = 0;
  std::uint32_t compressed = 0;
  std::uint32_t uncompressed = 0;
};

// Parses the 9-byte header at the start of `in` (in.size() >= kBlockHeaderSize).
BlockHeader parse_block_header(std::span<const std::byte> in) noexcept;
// Writes a 9-byte block header (for tests that build records).
void write_block_header(std::span<std::byte> out, const char magic[2], std::uint8_t method,
                        std::uint32_t compressed, std::uint32_t uncompressed) noexcept;

class Decompressor {
 public:
  explicit Decompressor(ZlibImpl zlib = ZlibImpl::kLibdeflate);
  ~Decompressor();
  Decompressor(const Decompressor&) = delete;
  Decompressor& operator=(const Decompressor&) = delete;

  // Decodes the blocks of `in` into exactly `out.size()` bytes. Every block's sizes are
  // checked against what remains of `in` and `out` before it is decoded; the result must
  // fill `out` exactly. `file_offset` (where `in` starts in the file) only feeds messages.
  // Errors: kCorrupt (bad sizes, bad stream, checksum mismatch, unknown magic),
  // kUnsupportedCompression (ROOT's old "CS" algorithm).
  [[nodiscard]] Status decompress(std::span<const std::byte> in, std::span<std::byte> out,
                                  std::uint64_t file_offset = 0);

  [[nodiscard]] ZlibImpl zlib_impl() const noexcept { return zlib_; }

 private:
  [[nodiscard]] Status zlib_block(std::span<const std::byte> in, std::span<std::byte> out);
  ZlibImpl zlib_;  // libdeflate: one decompressor per thread (decompress.cpp), not per object
};

}  // namespace mpiprep::extract::root
