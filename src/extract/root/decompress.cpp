// Block-by-block decoding of ROOT records. Each codec decodes straight into the caller's
// buffer at the block's position: no intermediate copies.
#include "mpiprep/extract/root/decompress.hpp"

#include <libdeflate.h>
#include <lz4.h>
#include <lzma.h>
#include <xxhash.h>
#include <zlib.h>
#include <zstd.h>

#include <cstring>
#include <string>

namespace mpiprep::extract::root {
namespace {

// xz streams written by ROOT use presets up to 9 (64 MiB dictionary); refuse anything that
// asks for more instead of allocating it.
constexpr std::uint64_t kLzmaMemLimit = 128ull << 20;

std::uint32_t le24(const std::byte* p) noexcept {
  return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
         (static_cast<std::uint32_t>(p[2]) << 16);
}

std::uint64_t be64(const std::byte* p) noexcept {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<std::uint64_t>(p[i]);
  return v;
}

Error corrupt(std::string what, std::uint64_t offset) {
  return make_error(ErrorKind::kCorrupt, std::move(what) + " (compressed block at file offset " +
                                             std::to_string(offset) + ")");
}

std::string magic_string(const BlockHeader& h) {
  std::string s;
  for (char c : h.magic) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) {
      s += c;
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      s += "\\x";
      s += kHex[u >> 4];
      s += kHex[u & 15];
    }
  }
  return s;
}

}  // namespace

BlockHeader parse_block_header(std::span<const std::byte> in) noexcept {
  BlockHeader h;
  h.magic[0] = static_cast<char>(in[0]);
  h.magic[1] = static_cast<char>(in[1]);
  h.method = static_cast<std::uint8_t>(in[2]);
  h.compressed = le24(in.data() + 3);
  h.uncompressed = le24(in.data() + 6);
  return h;
}

void write_block_header(std::span<std::byte> out, const char magic[2], std::uint8_t method,
                        std::uint32_t compressed, std::uint32_t uncompressed) noexcept {
  out[0] = static_cast<std::byte>(magic[0]);
  out[1] = static_cast<std::byte>(magic[1]);
  out[2] = static_cast<std::byte>(method);
  for (int i = 0; i < 3; ++i) {
    out[static_cast<std::size_t>(3 + i)] = static_cast<std::byte>((compressed >> (8 * i)) & 0xff);
    out[static_cast<std::size_t>(6 + i)] = static_cast<std::byte>((uncompressed >> (8 * i)) & 0xff);
  }
}

namespace {

// One decoder context per codec and thread, kept for the thread's lifetime: creating one per
// record cost more than decoding a small record (libdeflate clears ~11 KB of tables; zstd's
// one-shot ZSTD_decompress allocates and frees a ~95 KB context per call; liblzma allocates
// and initializes its probability tables and dictionary per stream). None keeps data between
// calls, so threads reading files concurrently share nothing.
template <typename T, void (*Free)(T*)>
struct ThreadContext {
  T* p = nullptr;
  ThreadContext() = default;
  ThreadContext(const ThreadContext&) = delete;
  ThreadContext& operator=(const ThreadContext&) = delete;
  ~ThreadContext() { reset(); }
  void reset() {
    if (p != nullptr) Free(p);
    p = nullptr;
  }
};

void free_zstd(ZSTD_DCtx* d) { ZSTD_freeDCtx(d); }
void free_lzma(lzma_stream* s) {
  lzma_end(s);
  delete s;
}

libdeflate_decompressor* thread_deflate() {
  thread_local ThreadContext<libdeflate_decompressor, libdeflate_free_decompressor> ctx;
  if (ctx.p == nullptr) ctx.p = libdeflate_alloc_decompressor();
  return ctx.p;
}

ZSTD_DCtx* thread_zstd() {
  thread_local ThreadContext<ZSTD_DCtx, free_zstd> ctx;
  if (ctx.p == nullptr) ctx.p = ZSTD_createDCtx();
  return ctx.p;
}

// A dictionary above this is not kept past its record (presets 7-9 ask for 16-64 MiB).
constexpr std::uint64_t kLzmaKeepBytes = 16ull << 20;

// One xz stream (ROOT writes exactly one per block) into exactly dst.size() bytes with a
// reused decoder: liblzma re-initializes a coder of the same kind in place and keeps its
// dictionary when the next stream asks for the same size.
Status xz_block(std::span<const std::byte> src, std::span<std::byte> dst) {
  thread_local ThreadContext<lzma_stream, free_lzma> ctx;
  if (ctx.p == nullptr) ctx.p = new lzma_stream(LZMA_STREAM_INIT);
  lzma_stream& s = *ctx.p;
  lzma_ret r = lzma_stream_decoder(&s, kLzmaMemLimit, 0);
  if (r == LZMA_OK) {
    s.next_in = reinterpret_cast<const std::uint8_t*>(src.data());
    s.avail_in = src.size();
    s.next_out = reinterpret_cast<std::uint8_t*>(dst.data());
    s.avail_out = dst.size();
    // lzma_code returns LZMA_OK while it makes progress and LZMA_BUF_ERROR once it cannot
    // (input or output exhausted before the end of the stream).
    do {
      r = lzma_code(&s, LZMA_FINISH);
    } while (r == LZMA_OK);
  }
  const std::size_t written = dst.size() - s.avail_out;
  if (lzma_memusage(&s) > kLzmaKeepBytes || (r != LZMA_STREAM_END && r != LZMA_OK)) ctx.reset();
  if (r != LZMA_STREAM_END || written != dst.size()) {
    return make_error(ErrorKind::kCorrupt,
                      r == LZMA_MEMLIMIT_ERROR ? std::string("xz stream needs more than 128 MiB")
                      : r == LZMA_STREAM_END
                          ? "xz stream inflates to " + std::to_string(written) + " bytes, header says " +
                                std::to_string(dst.size())
                          : "bad xz stream (lzma_ret " + std::to_string(r) + ")");
  }
  return {};
}

}  // namespace

Decompressor::Decompressor(ZlibImpl zlib) : zlib_(zlib) {}

Decompressor::~Decompressor() = default;

Status Decompressor::zlib_block(std::span<const std::byte> in, std::span<std::byte> out) {
  if (zlib_ == ZlibImpl::kLibdeflate) {
    libdeflate_decompressor* const deflate = thread_deflate();
    if (deflate == nullptr) return make_error(ErrorKind::kInternal, "libdeflate: out of memory");
    std::size_t actual = 0;
    const libdeflate_result r =
        libdeflate_zlib_decompress(deflate, in.data(), in.size(), out.data(), out.size(), &actual);
    if (r != LIBDEFLATE_SUCCESS || actual != out.size()) {
      return make_error(ErrorKind::kCorrupt,
                        r == LIBDEFLATE_SUCCESS || r == LIBDEFLATE_SHORT_OUTPUT
                            ? "zlib block inflates to " + std::to_string(actual) + " bytes, header says " +
                                  std::to_string(out.size())
                            : std::string("bad zlib stream"));
    }
    return {};
  }
  uLongf dest_len = static_cast<uLongf>(out.size());
  uLong src_len = static_cast<uLong>(in.size());
  const int r = uncompress2(reinterpret_cast<Bytef*>(out.data()), &dest_len,
                            reinterpret_cast<const Bytef*>(in.data()), &src_len);
  if (r != Z_OK || dest_len != out.size()) {
    return make_error(ErrorKind::kCorrupt, std::string("bad zlib stream (") + zError(r) + ")");
  }
  return {};
}

Status Decompressor::decompress(std::span<const std::byte> in, std::span<std::byte> out,
                                std::uint64_t file_offset) {
  std::size_t ipos = 0;
  std::size_t opos = 0;
  while (opos < out.size()) {
    const std::uint64_t block_offset = file_offset + ipos;
    if (in.size() - ipos < kBlockHeaderSize) {
      return corrupt("record ends inside a block header after " + std::to_string(opos) + " of " +
                         std::to_string(out.size()) + " bytes",
                     block_offset);
    }
    const BlockHeader h = parse_block_header(in.subspan(ipos, kBlockHeaderSize));
    ipos += kBlockHeaderSize;
    if (h.compressed > in.size() - ipos) {
      return corrupt("block claims " + std::to_string(h.compressed) + " compressed bytes, record has " +
                         std::to_string(in.size() - ipos),
                     block_offset);
    }
    if (h.uncompressed == 0 || h.uncompressed > out.size() - opos) {
      return corrupt("block claims " + std::to_string(h.uncompressed) +
                         " uncompressed bytes, record expects " + std::to_string(out.size() - opos) +
                         " more",
                     block_offset);
    }
    const auto src = in.subspan(ipos, h.compressed);
    const auto dst = out.subspan(opos, h.uncompressed);
    const char m0 = h.magic[0];
    const char m1 = h.magic[1];
    Status st;
    if (m0 == 'Z' && m1 == 'L') {
      st = zlib_block(src, dst);
    } else if (m0 == 'X' && m1 == 'Z') {
      st = xz_block(src, dst);
    } else if (m0 == 'L' && m1 == '4') {
      if (src.size() < 8) {
        st = make_error(ErrorKind::kCorrupt, "lz4 block shorter than its checksum");
      } else {
        const auto payload = src.subspan(8);
        const std::uint64_t want = be64(src.data());
        const std::uint64_t got = XXH64(payload.data(), payload.size(), 0);
        if (want != got) {
          st = make_error(ErrorKind::kCorrupt, "lz4 block checksum mismatch");
        } else {
          const int n = LZ4_decompress_safe(reinterpret_cast<const char*>(payload.data()),
                                            reinterpret_cast<char*>(dst.data()),
                                            static_cast<int>(payload.size()), static_cast<int>(dst.size()));
          if (n < 0 || static_cast<std::size_t>(n) != dst.size()) {
            st = make_error(ErrorKind::kCorrupt, "bad lz4 block");
          }
        }
      }
    } else if (m0 == 'Z' && m1 == 'S') {
      ZSTD_DCtx* const zstd = thread_zstd();
      const std::size_t n = zstd == nullptr
                                ? ZSTD_decompress(dst.data(), dst.size(), src.data(), src.size())
                                : ZSTD_decompressDCtx(zstd, dst.data(), dst.size(), src.data(), src.size());
      if (ZSTD_isError(n) != 0u || n != dst.size()) {
        st = make_error(ErrorKind::kCorrupt,
                        ZSTD_isError(n) != 0u ? std::string("bad zstd frame: ") + ZSTD_getErrorName(n)
                                              : std::string("zstd frame too short"));
      }
    } else if (m0 == 'C' && m1 == 'S') {
      return make_error(ErrorKind::kUnsupportedCompression,
                        "ROOT's old \"CS\" compression algorithm is not supported (block at file offset " +
                            std::to_string(block_offset) + ")");
    } else {
      return corrupt("unknown compression algorithm \"" + magic_string(h) + "\"", block_offset);
    }
    if (!st.ok()) return corrupt(st.error().message, block_offset);
    ipos += h.compressed;
    opos += h.uncompressed;
  }
  return {};
}

}  // namespace mpiprep::extract::root
