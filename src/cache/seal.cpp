#include "seal.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <new>
#include <vector>

#include "mpiprep/io/file_system.hpp"

namespace mpiprep::cache {
namespace {

// Layout of the user block, little endian (LAYOUT.md):
//   0  char[16] magic     24 u64 file_bytes   40 u64 generation   56 u64 xxh64 of bytes [0,56)
//   16 u32 seal version   32 u64 body xxh64   48 u64 checksum     64 text note, zero padded
constexpr char kMagic[16] = {'m', 'p', 'i', 'p', 'r', 'e', 'p', '-',
                             'c', 'a', 'c', 'h', 'e', 0,   0,   0};
constexpr std::uint32_t kSealVersion = 1;
constexpr std::size_t kHeaderBytes = 56;
constexpr const char* kNote =
    "mpiprep metadata cache: an HDF5 file follows this 512-byte user block "
    "(layout: src/cache/LAYOUT.md)\n";
constexpr unsigned char kHdf5Signature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

template <typename T>
void put(std::array<unsigned char, kUserBlockSize>& b, std::size_t at, T v) {
  std::memcpy(b.data() + at, &v, sizeof v);  // little-endian host (static_assert in tables.cpp)
}
template <typename T>
T get(const std::array<unsigned char, kUserBlockSize>& b, std::size_t at) {
  T v{};
  std::memcpy(&v, b.data() + at, sizeof v);
  return v;
}

bool read_full(int fd, void* buf, std::size_t n, std::uint64_t off) {
  auto* p = static_cast<unsigned char*>(buf);
  while (n > 0) {
    ssize_t got = ::pread(fd, p, n, static_cast<off_t>(off));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    p += got;
    n -= static_cast<std::size_t>(got);
    off += static_cast<std::uint64_t>(got);
  }
  return true;
}

// xxh64 of [from, to) of an open file, streamed in 1 MiB blocks.
Result<std::uint64_t> hash_range(int fd, std::uint64_t from, std::uint64_t to,
                                 const std::string& path) {
  std::unique_ptr<XXH64_state_t, XXH_errorcode (*)(XXH64_state_t*)> st(XXH64_createState(),
                                                                       &XXH64_freeState);
  if (!st) throw std::bad_alloc();
  XXH64_reset(st.get(), 0);
  std::vector<unsigned char> buf(std::size_t{1} << 20);
  for (std::uint64_t off = from; off < to;) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), to - off));
    if (!read_full(fd, buf.data(), n, off))
      return make_error(ErrorKind::kTruncated, fmt::format("{}: short read at {}", path, off));
    XXH64_update(st.get(), buf.data(), n);
    off += n;
  }
  return XXH64_digest(st.get());
}


// The user block for a body of file_bytes bytes hashing to body_hash.
std::array<unsigned char, kUserBlockSize> make_block(std::uint64_t file_bytes,
                                                     std::uint64_t body_hash,
                                                     std::uint64_t generation,
                                                     std::uint64_t checksum) {
  std::array<unsigned char, kUserBlockSize> block{};
  std::memcpy(block.data(), kMagic, sizeof kMagic);
  put<std::uint32_t>(block, 16, kSealVersion);
  put<std::uint32_t>(block, 20, static_cast<std::uint32_t>(kUserBlockSize));
  put<std::uint64_t>(block, 24, file_bytes);
  put<std::uint64_t>(block, 32, body_hash);
  put<std::uint64_t>(block, 40, generation);
  put<std::uint64_t>(block, 48, checksum);
  put<std::uint64_t>(block, 56, XXH64(block.data(), kHeaderBytes, 0));
  std::memcpy(block.data() + 64, kNote, std::strlen(kNote));
  return block;
}

}  // namespace

Status seal_image(std::span<std::byte> image, std::uint64_t generation, std::uint64_t checksum) {
  if (image.size() < kUserBlockSize)
    return make_error(ErrorKind::kInternal, "seal: image shorter than the user block");
  for (std::size_t i = 0; i < kUserBlockSize; ++i)
    if (image[i] != std::byte{0})
      return make_error(ErrorKind::kInternal, "seal: user block of the image is not empty");
  const auto block = make_block(image.size(),
                                XXH64(image.data() + kUserBlockSize,
                                      image.size() - kUserBlockSize, 0),
                                generation, checksum);
  std::memcpy(image.data(), block.data(), block.size());
  return Status::success();
}

Status seal_file(const std::string& path, std::uint64_t generation, std::uint64_t checksum) {
  Fd f{::open(path.c_str(), O_RDWR | O_CLOEXEC)};
  if (f.fd < 0) return io::errno_error(errno, "open to seal", path);
  const off_t end = ::lseek(f.fd, 0, SEEK_END);
  if (end < static_cast<off_t>(kUserBlockSize)) return io::errno_error(EINVAL, "seal", path);
  const auto file_bytes = static_cast<std::uint64_t>(end);
  // HDF5 leaves the user block zeroed; anything else means we would overwrite its data.
  std::array<unsigned char, kUserBlockSize> block{};
  if (!read_full(f.fd, block.data(), block.size(), 0)) return io::errno_error(EIO, "seal", path);
  for (auto c : block)
    if (c != 0) return make_error(ErrorKind::kInternal, path + ": user block is not empty");
  auto body = hash_range(f.fd, kUserBlockSize, file_bytes, path);
  if (!body.ok()) return body.error();
  block = make_block(file_bytes, *body, generation, checksum);
  if (::pwrite(f.fd, block.data(), block.size(), 0) != static_cast<ssize_t>(block.size()))
    return io::errno_error(errno, "write seal", path);
  return Status::success();
}

SealCheck check_seal(const std::string& path, std::uint64_t file_bytes) {
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) {
    SealCheck out;
    out.reason = fmt::format("cannot open: {}", std::strerror(errno));
    return out;
  }
  return check_seal(f.fd, file_bytes, path);
}

namespace {

// The seal check over any byte source: `read(buf, n, off)` reads exactly n bytes at off,
// `hash(from, to)` hashes a range.
template <typename Read, typename Hash>
SealCheck check_seal_with(Read&& read, Hash&& hash, std::uint64_t file_bytes) {
  SealCheck out;
  std::array<unsigned char, kUserBlockSize> block{};
  const bool whole = file_bytes >= kUserBlockSize && read(block.data(), block.size(), 0);
  if (!whole || std::memcmp(block.data(), kMagic, sizeof kMagic) != 0) {
    // Not sealed by us. An HDF5 signature at 0, 512, 1024, ... (where HDF5 looks) makes it
    // someone else's HDF5 file; otherwise it is damage or garbage.
    for (std::uint64_t off = 0; off + 8 <= file_bytes; off = off == 0 ? 512 : off * 2) {
      unsigned char sig[8];
      if (read(sig, sizeof sig, off) && std::memcmp(sig, kHdf5Signature, 8) == 0) {
        out.verdict = SealVerdict::kForeign;
        out.reason = "an HDF5 file that is not an mpiprep cache (no mpiprep user block)";
        return out;
      }
    }
    out.reason = whole
                     ? "not an mpiprep cache (bad magic)"
                     : fmt::format("truncated: {} bytes, shorter than the user block", file_bytes);
    return out;
  }
  if (get<std::uint64_t>(block, 56) != XXH64(block.data(), kHeaderBytes, 0)) {
    out.reason = "user block header is damaged";
    return out;
  }
  if (get<std::uint32_t>(block, 16) != kSealVersion ||
      get<std::uint32_t>(block, 20) != kUserBlockSize) {
    out.reason = fmt::format("unknown seal version {}", get<std::uint32_t>(block, 16));
    return out;
  }
  out.info.file_bytes = get<std::uint64_t>(block, 24);
  out.info.body_hash = get<std::uint64_t>(block, 32);
  out.info.generation = get<std::uint64_t>(block, 40);
  out.info.checksum = get<std::uint64_t>(block, 48);
  if (out.info.file_bytes != file_bytes) {
    out.reason = fmt::format("{}: the file has {} bytes, its seal says {}",
                             file_bytes < out.info.file_bytes ? "truncated" : "extended",
                             file_bytes, out.info.file_bytes);
    return out;
  }
  Result<std::uint64_t> body = hash(kUserBlockSize, file_bytes);
  if (!body.ok()) {
    out.reason = body.error().message;
    return out;
  }
  if (*body != out.info.body_hash) {
    out.reason = fmt::format("file checksum mismatch: sealed {:016x}, computed {:016x}",
                             out.info.body_hash, *body);
    return out;
  }
  out.verdict = SealVerdict::kOk;
  return out;
}

}  // namespace

SealCheck check_seal(int fd, std::uint64_t file_bytes, const std::string& path) {
  return check_seal_with(
      [fd](void* buf, std::size_t n, std::uint64_t off) { return read_full(fd, buf, n, off); },
      [fd, &path](std::uint64_t from, std::uint64_t to) { return hash_range(fd, from, to, path); },
      file_bytes);
}

SealCheck check_seal(std::span<const char> bytes) {
  const std::uint64_t size = bytes.size();
  return check_seal_with(
      [bytes, size](void* buf, std::size_t n, std::uint64_t off) {
        if (off > size || n > size - off) return false;
        std::memcpy(buf, bytes.data() + off, n);
        return true;
      },
      [bytes](std::uint64_t from, std::uint64_t to) -> Result<std::uint64_t> {
        return XXH64(bytes.data() + from, static_cast<std::size_t>(to - from), 0);
      },
      size);
}

}  // namespace mpiprep::cache
