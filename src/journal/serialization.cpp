#include "mpiprep/journal/serialization.hpp"

#include <cstring>

namespace mpiprep::wire {
namespace {

constexpr std::uint32_t kBatchMagic = 0x3157504D;  // "MPW1" little-endian
constexpr std::size_t kHeaderBytes = 8;
// Smallest possible encoding of one FileMeta: 5 lengths/counts (path, uuid, compression,
// objects, error_message; 8 bytes each), size, mtime, extract_seconds and bytes_read (8 each),
// rank (4), format and error kind (1 each). Tested by Wire.RoundTripDefaultsAndEmpty.
constexpr std::uint64_t kMinFileMetaBytes = 5 * 8 + 4 * 8 + 4 + 2;

void put_u32(std::vector<std::byte>& out, std::uint32_t v) {
  std::byte b[4];
  std::memcpy(b, &v, 4);
  out.insert(out.end(), b, b + 4);
}

std::uint32_t get_u32(std::span<const std::byte> in, std::size_t at) {
  std::uint32_t v = 0;
  std::memcpy(&v, in.data() + at, 4);
  return v;
}

}  // namespace

void encode_into(std::vector<std::byte>& out, std::span<const FileMeta> metas) {
  put_u32(out, kBatchMagic);
  put_u32(out, kWireVersion);
  detail::VectorSink sink(out);
  boost::archive::binary_oarchive ar(sink, boost::archive::no_header);
  std::uint64_t n = metas.size();
  io_count(ar, n);
  for (const FileMeta& m : metas) ar << m;
}

std::vector<std::byte> encode(std::span<const FileMeta> metas) {
  std::vector<std::byte> out;
  encode_into(out, metas);
  return out;
}

Result<std::vector<FileMeta>> decode(std::span<const std::byte> bytes) {
  if (bytes.size() < kHeaderBytes)
    return make_error(ErrorKind::kCorrupt, "record batch: " + std::to_string(bytes.size()) +
                                               " bytes, shorter than its header");
  if (get_u32(bytes, 0) != kBatchMagic)
    return make_error(ErrorKind::kCorrupt, "record batch: bad magic");
  if (const std::uint32_t v = get_u32(bytes, 4); v != kWireVersion)
    return make_error(ErrorKind::kUnsupportedVersion, "record batch: wire version " +
                                                          std::to_string(v) + ", expected " +
                                                          std::to_string(kWireVersion));
  try {
    detail::SpanSource src(bytes.subspan(kHeaderBytes));
    std::vector<FileMeta> metas;
    {
      boost::archive::binary_iarchive ar(src, boost::archive::no_header);
      std::uint64_t n = 0;
      io_count(ar, n);
      // A count the remaining bytes cannot hold is a lie; checked before reserving.
      if (n > src.remaining() / kMinFileMetaBytes)
        return make_error(ErrorKind::kCorrupt, "record batch: claims " + std::to_string(n) +
                                                   " records in " +
                                                   std::to_string(src.remaining()) + " bytes");
      metas.reserve(static_cast<std::size_t>(n));
      for (std::uint64_t i = 0; i < n; ++i) {
        FileMeta m;
        ar >> m;
        metas.push_back(std::move(m));
      }
    }
    if (src.remaining() != 0)
      return make_error(ErrorKind::kCorrupt,
                        "record batch: " + std::to_string(src.remaining()) + " trailing bytes");
    return metas;
  } catch (const std::exception& e) {
    return make_error(ErrorKind::kCorrupt,
                      std::string("record batch: undecodable (") + e.what() + ")");
  }
}

}  // namespace mpiprep::wire
