// Builds ROOT-style compressed records with the codecs' own APIs (zlib, liblzma, liblz4 with
// the xxhash64 prefix, libzstd), for the decompressor and synthetic-file tests.
#pragma once

#include <lz4.h>
#include <lzma.h>
#include <xxhash.h>
#include <zlib.h>
#include <zstd.h>

#include <cstdint>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "mpiprep/extract/root/decompress.hpp"

namespace mpiprep::extract::root {

enum class Algorithm { kZlib, kLzma, kLz4, kZstd, kNone };

inline std::string_view algorithm_label(Algorithm a) {
  switch (a) {
    case Algorithm::kZlib: return "zlib";
    case Algorithm::kLzma: return "lzma";
    case Algorithm::kLz4: return "lz4";
    case Algorithm::kZstd: return "zstd";
    case Algorithm::kNone: return "none";
  }
  return "?";
}

// Compressible but not trivial: words from a small vocabulary picked by an LCG.
inline std::vector<std::byte> sample_data(std::size_t n, std::uint32_t seed) {
  static constexpr std::string_view kWords[] = {"Jet_pt ", "Muon_eta ", "nElectron ", "\x01\x02\x03",
                                                "TBranch ", "float[] ", "\xff\xfe", "event "};
  std::vector<std::byte> out;
  out.reserve(n);
  std::uint32_t x = seed * 2654435761u + 1;
  while (out.size() < n) {
    x = x * 1664525u + 1013904223u;
    const auto w = kWords[(x >> 24) % 8];
    for (const char c : w) {
      if (out.size() == n) break;
      out.push_back(static_cast<std::byte>(c));
    }
    if ((x & 0xff) < 40 && out.size() < n) out.push_back(static_cast<std::byte>(x >> 8));
  }
  return out;
}

inline std::vector<std::byte> compress_block(std::span<const std::byte> in, Algorithm alg) {
  std::vector<std::byte> body;
  const char* magic = "ZL";
  std::uint8_t method = 8;
  switch (alg) {
    case Algorithm::kZlib: {
      uLongf n = compressBound(static_cast<uLong>(in.size()));
      body.resize(n);
      if (compress2(reinterpret_cast<Bytef*>(body.data()), &n, reinterpret_cast<const Bytef*>(in.data()),
                    static_cast<uLong>(in.size()), 1) != Z_OK) {
        throw std::runtime_error("compress2");
      }
      body.resize(n);
      break;
    }
    case Algorithm::kLzma: {
      magic = "XZ";
      method = 0;
      body.resize(lzma_stream_buffer_bound(in.size()));
      std::size_t pos = 0;
      if (lzma_easy_buffer_encode(4, LZMA_CHECK_CRC32, nullptr, reinterpret_cast<const std::uint8_t*>(in.data()),
                                  in.size(), reinterpret_cast<std::uint8_t*>(body.data()), &pos,
                                  body.size()) != LZMA_OK) {
        throw std::runtime_error("lzma");
      }
      body.resize(pos);
      break;
    }
    case Algorithm::kLz4: {
      magic = "L4";
      method = 1;
      const int bound = LZ4_compressBound(static_cast<int>(in.size()));
      body.resize(8 + static_cast<std::size_t>(bound));
      const int n = LZ4_compress_default(reinterpret_cast<const char*>(in.data()),
                                         reinterpret_cast<char*>(body.data() + 8), static_cast<int>(in.size()),
                                         bound);
      if (n <= 0) throw std::runtime_error("lz4");
      body.resize(8 + static_cast<std::size_t>(n));
      const std::uint64_t h = XXH64(body.data() + 8, static_cast<std::size_t>(n), 0);
      for (int i = 0; i < 8; ++i) body[static_cast<std::size_t>(i)] = static_cast<std::byte>(h >> (56 - 8 * i));
      break;
    }
    case Algorithm::kZstd: {
      magic = "ZS";
      method = 1;
      body.resize(ZSTD_compressBound(in.size()));
      const std::size_t n = ZSTD_compress(body.data(), body.size(), in.data(), in.size(), 5);
      if (ZSTD_isError(n) != 0u) throw std::runtime_error("zstd");
      body.resize(n);
      break;
    }
    case Algorithm::kNone: throw std::logic_error("no block for uncompressed data");
  }
  std::vector<std::byte> out(kBlockHeaderSize);
  write_block_header(out, magic, method, static_cast<std::uint32_t>(body.size()),
                     static_cast<std::uint32_t>(in.size()));
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

// A record: `data` cut into blocks of at most block_size bytes, each compressed.
inline std::vector<std::byte> make_record(std::span<const std::byte> data, Algorithm alg, std::size_t block_size) {
  std::vector<std::byte> out;
  for (std::size_t p = 0; p < data.size(); p += block_size) {
    const auto block = compress_block(data.subspan(p, std::min(block_size, data.size() - p)), alg);
    out.insert(out.end(), block.begin(), block.end());
  }
  return out;
}

inline std::size_t count_blocks(std::span<const std::byte> record) {
  std::size_t n = 0;
  for (std::size_t p = 0; p + kBlockHeaderSize <= record.size(); ++n) {
    p += kBlockHeaderSize + parse_block_header(record.subspan(p)).compressed;
  }
  return n;
}

}  // namespace mpiprep::extract::root
