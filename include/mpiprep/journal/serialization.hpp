// Wire format of metadata records: Boost.Serialization binary archives, used for the journal
// (on disk) and for the messages between ranks. `encode`/`decode` frame a batch of FileMeta
// with a magic and version; decoding never trusts a count or a length it reads (see below).
//
// Format notes. Binary archives are not portable across endianness or type widths, which is
// fine for messages inside one job and for journals replayed on the same cluster; every count
// and integer is written at a fixed width (std::uint64_t/std::int64_t/std::int32_t) so the
// layout does not depend on `std::size_t`. Classes are `object_serializable`/`track_never`:
// no per-class version info in the stream; the version lives in the batch header
// (kWireVersion), bump it when any serialize function below changes.
//
// Untrusted input (invariant 6): a torn journal or a corrupt message must give an Error, not a
// crash and not a huge allocation. Counts and lengths are capped (kMaxWireCount), and
// containers grow as elements are actually read (strings in chunks), so memory is bounded by a
// small multiple of the input size whatever the counts claim; reading past the end throws
// boost::archive::archive_exception, which decode() turns into ErrorKind::kCorrupt.
#pragma once

#include <boost/archive/binary_iarchive.hpp>
#include <boost/archive/binary_oarchive.hpp>
#include <boost/serialization/level.hpp>
#include <boost/serialization/tracking.hpp>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <stdexcept>
#include <streambuf>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "mpiprep/core/meta.hpp"
#include "mpiprep/core/result.hpp"

namespace mpiprep::wire {

// Version of the record layout below (batch header). Decoders reject other versions.
inline constexpr std::uint32_t kWireVersion = 1;
// Upper bound on any count or string length read from the wire.
inline constexpr std::uint64_t kMaxWireCount = std::uint64_t{1} << 31;

// Thrown by the load helpers on an impossible value; decode() turns it into an Error.
class WireError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {

// Output streambuf appending to a byte vector (avoids the copy out of a stringstream).
class VectorSink final : public std::streambuf {
 public:
  explicit VectorSink(std::vector<std::byte>& out) : out_(out) {}

 protected:
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    const auto* b = reinterpret_cast<const std::byte*>(s);
    out_.insert(out_.end(), b, b + n);
    return n;
  }
  int_type overflow(int_type ch) override {
    if (traits_type::eq_int_type(ch, traits_type::eof())) return traits_type::not_eof(ch);
    out_.push_back(static_cast<std::byte>(static_cast<unsigned char>(ch)));
    return ch;
  }

 private:
  std::vector<std::byte>& out_;
};

// Input streambuf over a byte span; reports how much is left so decoders can reject trailing
// bytes.
class SpanSource final : public std::streambuf {
 public:
  explicit SpanSource(std::span<const std::byte> in) {
    // std::streambuf wants char* even for reading; the buffer is never written through it.
    char* b = const_cast<char*>(reinterpret_cast<const char*>(in.data()));
    setg(b, b, b + in.size());
  }
  [[nodiscard]] std::size_t remaining() const { return static_cast<std::size_t>(egptr() - gptr()); }
};

}  // namespace detail

// ---- Field helpers for serialize functions (any Boost archive) -----------------------------

// One field, saved or loaded: Boost's `ar & v`, in one place because formatters take the `&`
// for a reference declarator.
// clang-format off
template <class Archive, class T>
void io(Archive& ar, T& v) {
  ar & v;
}
// clang-format on

template <class Archive>
void io_count(Archive& ar, std::uint64_t& n) {
  wire::io(ar, n);
  if constexpr (Archive::is_loading::value) {
    if (n > kMaxWireCount) throw WireError("count " + std::to_string(n) + " exceeds the cap");
  }
}

template <class Archive>
void io_string(Archive& ar, std::string& s) {
  std::uint64_t n = s.size();
  io_count(ar, n);
  if constexpr (Archive::is_loading::value) {
    // Grow in chunks as bytes actually arrive: a lying length fails at the end of the input
    // after at most one chunk of allocation beyond what the input holds.
    constexpr std::uint64_t kChunk = 64 * 1024;
    s.clear();
    while (n > 0) {
      const std::uint64_t take = n < kChunk ? n : kChunk;
      const std::size_t old = s.size();
      s.resize(old + static_cast<std::size_t>(take));
      ar.load_binary(s.data() + old, static_cast<std::size_t>(take));
      n -= take;
    }
  } else {
    if (n > 0) ar.save_binary(s.data(), static_cast<std::size_t>(n));
  }
}

// A string saved from a view: the same bytes as io_string (u64 length, then the bytes).
template <class Archive>
void save_string(Archive& ar, std::string_view s) {
  static_assert(!Archive::is_loading::value);
  std::uint64_t n = s.size();
  wire::io(ar, n);
  if (n > 0) ar.save_binary(s.data(), static_cast<std::size_t>(n));
}

// A column table, as the count and the (name, type) string pairs that io_vector wrote for the
// std::vector<Column> it replaced: the wire bytes did not change.
template <class Archive>
void io_columns(Archive& ar, Columns& c) {
  std::uint64_t n = c.size();
  io_count(ar, n);
  if constexpr (Archive::is_loading::value) {
    c.clear();
    // Grows as columns actually arrive (a lying count fails at the end of the input).
    c.reserve(static_cast<std::size_t>(n < 1024 ? n : 1024), 0);
    std::string name, type;
    for (std::uint64_t i = 0; i < n; ++i) {
      io_string(ar, name);
      io_string(ar, type);
      c.add(name, type);
    }
  } else {
    for (const ColumnView v : c) {
      save_string(ar, v.name);
      save_string(ar, v.type);
    }
  }
}

// Raw bytes (an embedded blob, e.g. an encoded batch inside a message), loaded like strings.
template <class Archive>
void io_bytes(Archive& ar, std::vector<std::byte>& b) {
  std::uint64_t n = b.size();
  io_count(ar, n);
  if constexpr (Archive::is_loading::value) {
    constexpr std::uint64_t kChunk = 64 * 1024;
    b.clear();
    while (n > 0) {
      const std::uint64_t take = n < kChunk ? n : kChunk;
      const std::size_t old = b.size();
      b.resize(old + static_cast<std::size_t>(take));
      ar.load_binary(b.data() + old, static_cast<std::size_t>(take));
      n -= take;
    }
  } else {
    if (n > 0) ar.save_binary(b.data(), static_cast<std::size_t>(n));
  }
}

// Integers and enums at a fixed width W. Enums are range-checked against `max_value` on load.
template <class W, class Archive, class T>
void io_as(Archive& ar, T& v, W max_value = std::numeric_limits<W>::max()) {
  W w{};
  if constexpr (!Archive::is_loading::value) w = static_cast<W>(v);
  wire::io(ar, w);
  if constexpr (Archive::is_loading::value) {
    if (w > max_value) throw WireError("value out of range");
    v = static_cast<T>(w);
  }
}

// A vector whose elements are serialized by `elem(ar, element)`.
template <class Archive, class T, class Elem>
void io_vector(Archive& ar, std::vector<T>& v, Elem elem) {
  std::uint64_t n = v.size();
  io_count(ar, n);
  if constexpr (Archive::is_loading::value) {
    v.clear();
    v.reserve(static_cast<std::size_t>(n < 1024 ? n : 1024));
    for (std::uint64_t i = 0; i < n; ++i) {
      T t{};
      elem(ar, t);
      v.push_back(std::move(t));
    }
  } else {
    for (auto& t : v) elem(ar, t);
  }
}

template <class Archive, class T>
void io_vector(Archive& ar, std::vector<T>& v) {
  io_vector(ar, v, [](Archive& a, T& t) { wire::io(a, t); });
}

// ---- Whole values as bytes -----------------------------------------------------------------

// Serializes any Boost-serializable value (header-less binary archive) into `out` (appended).
template <class T>
void append_archive(std::vector<std::byte>& out, const T& value) {
  detail::VectorSink sink(out);
  boost::archive::binary_oarchive ar(sink, boost::archive::no_header);
  ar << value;
}

// Reads a value written by append_archive; all bytes must be consumed. Never throws.
template <class T>
[[nodiscard]] Result<T> read_archive(std::span<const std::byte> in, std::string_view what) {
  try {
    detail::SpanSource src(in);
    T value{};
    {
      boost::archive::binary_iarchive ar(src, boost::archive::no_header);
      ar >> value;
    }
    if (src.remaining() != 0)
      return make_error(ErrorKind::kCorrupt, std::string(what) + ": " +
                                                 std::to_string(src.remaining()) +
                                                 " trailing bytes after the record");
    return value;
  } catch (const std::exception& e) {
    return make_error(ErrorKind::kCorrupt, std::string(what) + ": undecodable (" + e.what() + ")");
  }
}

// ---- FileMeta batches ----------------------------------------------------------------------

// Header: magic "MPW1" (little-endian u32), wire version (u32), then the archive: count and
// records.
std::vector<std::byte> encode(std::span<const FileMeta> metas);
inline std::vector<std::byte> encode(const std::vector<FileMeta>& metas) {
  return encode(std::span<const FileMeta>(metas));
}
// Appends the encoding of `metas` to `out` (for framing without an extra copy).
void encode_into(std::vector<std::byte>& out, std::span<const FileMeta> metas);

// Never throws: a torn, truncated, foreign or corrupt input is ErrorKind::kCorrupt naming why.
[[nodiscard]] Result<std::vector<FileMeta>> decode(std::span<const std::byte> bytes);

}  // namespace mpiprep::wire

// ---- serialize functions (found by ADL; all fields) ------------------------------------------

namespace mpiprep {

template <class Archive>
void serialize(Archive& ar, Filter& f, const unsigned /*version*/) {
  wire::io_as<std::int32_t>(ar, f.id);
  wire::io_string(ar, f.name);
  wire::io_vector(ar, f.params, [](Archive& a, unsigned& p) { wire::io_as<std::uint32_t>(a, p); });
}

template <class Archive>
void serialize(Archive& ar, ObjectMeta& o, const unsigned /*version*/) {
  auto i64s = [](Archive& a, std::int64_t& x) { wire::io(a, x); };
  auto strs = [](Archive& a, std::string& s) { wire::io_string(a, s); };
  wire::io_string(ar, o.path);
  wire::io_string(ar, o.kind);
  wire::io_string(ar, o.title);
  wire::io_as<std::int32_t>(ar, o.cycle);
  wire::io(ar, o.num_entries);
  wire::io_columns(ar, o.columns);
  wire::io(ar, o.n_columns_total);
  wire::io_vector(ar, o.clusters, i64s);
  wire::io_vector(ar, o.shape, i64s);
  wire::io_vector(ar, o.maxshape, i64s);
  wire::io_vector(ar, o.chunks, i64s);
  wire::io_string(ar, o.dtype);
  wire::io_string(ar, o.layout);
  wire::io_vector(ar, o.filters);
  wire::io_vector(ar, o.attributes, strs);
  wire::io_as<std::uint8_t>(ar, o.error_kind, static_cast<std::uint8_t>(ErrorKind::kInternal));
  wire::io_string(ar, o.error_message);
}

template <class Archive>
void serialize(Archive& ar, FileMeta& m, const unsigned /*version*/) {
  wire::io_string(ar, m.path);
  wire::io(ar, m.size);
  wire::io(ar, m.mtime_ns);
  wire::io_as<std::uint8_t>(ar, m.format, static_cast<std::uint8_t>(FileFormat::kParquet));
  wire::io_string(ar, m.uuid);
  wire::io_string(ar, m.compression);
  wire::io_vector(ar, m.objects);
  wire::io_as<std::uint8_t>(ar, m.error_kind, static_cast<std::uint8_t>(ErrorKind::kInternal));
  wire::io_string(ar, m.error_message);
  wire::io(ar, m.extract_seconds);
  wire::io(ar, m.bytes_read);
  wire::io_as<std::int32_t>(ar, m.rank);
}

}  // namespace mpiprep

// No class headers, no object tracking: plain values, versioned by kWireVersion.
BOOST_CLASS_IMPLEMENTATION(mpiprep::Filter, boost::serialization::object_serializable)
BOOST_CLASS_TRACKING(mpiprep::Filter, boost::serialization::track_never)
BOOST_CLASS_IMPLEMENTATION(mpiprep::ObjectMeta, boost::serialization::object_serializable)
BOOST_CLASS_TRACKING(mpiprep::ObjectMeta, boost::serialization::track_never)
BOOST_CLASS_IMPLEMENTATION(mpiprep::FileMeta, boost::serialization::object_serializable)
BOOST_CLASS_TRACKING(mpiprep::FileMeta, boost::serialization::track_never)
