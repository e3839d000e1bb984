// Internal: the pieces of ROOT's object streaming (TBufferFile) shared by the decoders:
// version headers with byte counts, TObject/TNamed, read_object_any's class tags and
// references, TObjArray headers. Positions are record offsets; streamed references count
// from the key's first byte (record offset + fKeylen + kMapOffset).
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "extract/root/cursor.hpp"

namespace mpiprep::extract::root {

constexpr std::uint32_t kByteCountMask = 0x40000000;
constexpr std::uint32_t kNewClassTag = 0xFFFFFFFF;
constexpr std::uint32_t kClassMask = 0x80000000;
constexpr std::uint32_t kMapOffset = 2;
constexpr std::uint16_t kMemberWise = 0x4000;
constexpr std::uint32_t kIsReferenced = 1u << 4;
constexpr int kMaxDepth = 64;
constexpr std::size_t kMaxClassName = 1024;
constexpr std::size_t kNoEnd = static_cast<std::size_t>(-1);

// A big-endian signed integer of 4 or 8 bytes (bounds already checked by the caller).
inline std::int64_t load_be(std::span<const std::byte> b) {
  if (b.size() == 8) {
    std::uint64_t v;
    std::memcpy(&v, b.data(), 8);
    if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap64(v);
    return static_cast<std::int64_t>(v);
  }
  if (b.size() == 4) {
    std::uint32_t v;
    std::memcpy(&v, b.data(), 4);
    if constexpr (std::endian::native == std::endian::little) v = __builtin_bswap32(v);
    return static_cast<std::int32_t>(v);
  }
  std::uint64_t v = 0;
  for (const std::byte x : b) v = (v << 8) | static_cast<std::uint64_t>(x);
  return static_cast<std::int64_t>(v);
}

struct VersionHeader {
  std::int16_t version = 0;
  std::size_t start = 0;     // where the object's header begins in the record
  std::size_t end = kNoEnd;  // one past the object, when it has a byte count
};

// What read_object_any found: nothing, a reference to an earlier object, or a new object of
// class `cls` spanning [start, end).
struct ObjectTag {
  enum Kind : std::uint8_t { kNull, kRef, kNew } kind = kNull;
  std::string_view cls;
  std::size_t start = 0;
  std::size_t end = kNoEnd;
  std::uint32_t ref = 0;
};

class ObjectStream {
 public:
  ObjectStream(Cursor& c, std::uint32_t keylen) : c_(c), keylen_(keylen) {}

 protected:
  [[gnu::always_inline]] VersionHeader version_header(std::string_view cls) {
    // Fast path: byte count and version in one bounds check.
    if (const std::byte* p = c_.peek(6)) [[likely]] {
      const std::uint32_t w = Cursor::be32(p);
      const std::size_t start = c_.pos();
      const std::size_t count = w & ~kByteCountMask;
      if ((w & kByteCountMask) != 0 && count >= 2 && count <= c_.size() - start - 4) [[likely]] {
        VersionHeader h;
        h.start = start;
        h.end = start + 4 + count;
        h.version = static_cast<std::int16_t>(Cursor::be16(p + 4));
        c_.advance(6);
        if ((static_cast<std::uint16_t>(h.version) & kMemberWise) != 0) [[unlikely]] member_wise(cls);
        return h;
      }
    }
    return version_header_slow(cls);
  }

  [[gnu::noinline]] VersionHeader version_header_slow(std::string_view cls) {
    VersionHeader h;
    const std::size_t start = c_.pos();
    h.start = start;
    const std::uint32_t w = c_.peek_u32();
    if ((w & kByteCountMask) != 0) {
      c_.skip(4);
      const std::size_t count = w & ~kByteCountMask;
      if (count < 2 || count > c_.size() - start - 4) [[unlikely]] {
        bad_byte_count(count, cls);
        return h;
      }
      h.end = start + 4 + count;
    } else [[unlikely]] {
      no_byte_count(cls);
      return h;
    }
    h.version = c_.i16();
    if ((static_cast<std::uint16_t>(h.version) & kMemberWise) != 0) [[unlikely]] member_wise(cls);
    return h;
  }

  [[gnu::cold, gnu::noinline]] void bad_byte_count(std::size_t count, std::string_view cls) {
    c_.fail_corrupt("byte count " + std::to_string(count) + " of " + std::string(cls) + " does not fit the record");
  }
  [[gnu::cold, gnu::noinline]] void no_byte_count(std::string_view cls) {
    c_.fail(ErrorKind::kUnsupportedVersion, std::string(cls) + " streamed without a byte count (pre-ROOT-3 format)");
  }
  [[gnu::cold, gnu::noinline]] void member_wise(std::string_view cls) {
    c_.fail(ErrorKind::kUnsupportedVersion, std::string(cls) + " streamed member-wise");
  }
  [[gnu::cold, gnu::noinline]] void overran(const VersionHeader& h) {
    c_.fail_corrupt("object overran its byte count (end " + std::to_string(h.end) + ")");
  }

  // (After a failure the cursor sits at 0 with nothing left, so the seek is a no-op.)
  [[gnu::always_inline]] void end_object(const VersionHeader& h) {
    if (h.end == kNoEnd) return;
    if (c_.pos() > h.end) [[unlikely]] return overran(h);
    c_.seek(h.end);
  }

  [[gnu::cold, gnu::noinline]] void unsupported(std::string_view cls, const VersionHeader& h) {
    c_.fail(ErrorKind::kUnsupportedVersion, std::string(cls) + " class version " + std::to_string(h.version) +
                                                " is not supported (object at byte " + std::to_string(h.start) +
                                                " of the record)");
  }

  [[gnu::always_inline]] void tobject() {
    if (const std::byte* p = c_.peek(10)) [[likely]] {
      if ((Cursor::be16(p) & kByteCountMask >> 16) == 0) [[likely]] {
        c_.advance(10);
        if ((Cursor::be32(p + 6) & kIsReferenced) != 0) c_.skip(2);  // process id
        return;
      }
    }
    tobject_slow();
  }
  [[gnu::noinline]] void tobject_slow() {
    const auto version = c_.u16();
    if ((version & kByteCountMask >> 16) != 0) c_.skip(4);
    c_.skip(4);  // fUniqueID
    const std::uint32_t bits = c_.u32();
    if ((bits & kIsReferenced) != 0) c_.skip(2);  // process id
  }

  [[gnu::always_inline]] void tnamed(std::string_view& name, std::string_view& title) {
    const VersionHeader h = version_header("TNamed");
    if (!c_.ok()) return;
    tobject();
    name = c_.tstring();
    title = c_.tstring();
    end_object(h);
  }

  // TAttLine / TAttFill / TAttMarker: nothing we need, skipped by byte count.
  [[gnu::always_inline]] void skip_versioned(std::string_view cls) {
    const VersionHeader h = version_header(cls);
    end_object(h);
  }

  // An int64 counter that ROOT 4 stored as a double (Stat_t).
  std::int64_t double_count(std::string_view what) {
    const double d = c_.f64();
    if (!c_.ok()) return 0;
    if (!std::isfinite(d) || d < 0 || d > 9.0e15 || d != std::floor(d)) [[unlikely]] {
      not_a_count(what, d);
      return 0;
    }
    return static_cast<std::int64_t>(d);
  }

  [[gnu::cold, gnu::noinline]] void not_a_count(std::string_view what, double d) {
    c_.fail_corrupt(std::string(what) + " is not a count (" + std::to_string(d) + ")");
  }
  [[gnu::cold, gnu::noinline]] void fail_message(ErrorKind kind, const char* message) { c_.fail(kind, message); }
  [[gnu::cold, gnu::noinline]] void bad_object_count(std::size_t count) {
    c_.fail_corrupt("object byte count " + std::to_string(count) + " does not fit the record");
  }
  [[gnu::cold, gnu::noinline]] void unknown_class_tag(std::uint32_t ref) {
    c_.fail_corrupt("reference to an unknown class tag " + std::to_string(ref));
  }
  [[gnu::cold, gnu::noinline]] void bad_array_count(std::int32_t n) {
    c_.fail_corrupt("TObjArray of " + std::to_string(n) + " elements does not fit the record");
  }

  std::uint32_t map_key(std::size_t pos) const {
    return static_cast<std::uint32_t>(pos + keylen_ + kMapOffset);
  }

  // TBufferFile::ReadObjectAny, as uproot's read_object_any: byte count, then a class tag
  // (new class name or reference to an earlier one) or an object reference.
  [[gnu::always_inline]] ObjectTag object_tag() {
    ObjectTag t;
    t.start = c_.pos();
    // Fast path, the usual case inside a tree: a byte count, then a reference to a class
    // met before that the cache holds; the same checks as below, in one bounds check.
    if (const std::byte* p = c_.peek(8)) [[likely]] {
      const std::uint32_t w = Cursor::be32(p);
      const std::uint32_t tag = Cursor::be32(p + 4);
      const std::size_t count = w & ~kByteCountMask;
      if ((w & kByteCountMask) != 0 && w != kNewClassTag && count >= 4 && count <= c_.size() - t.start - 4 &&
          (tag & kClassMask) != 0 && tag != kNewClassTag) [[likely]] {
        const ClassSlot& slot = class_cache_[class_slot(tag & ~kClassMask)];
        if (slot.ref == (tag & ~kClassMask)) [[likely]] {
          t.kind = ObjectTag::kNew;
          t.cls = slot.cls;
          t.end = t.start + 4 + count;
          c_.advance(8);
          return t;
        }
      }
    }
    const std::uint32_t w = c_.u32();
    if (!c_.ok()) return t;
    std::uint32_t tag = w;
    std::size_t tag_pos = t.start;
    bool counted = false;
    if ((w & kByteCountMask) != 0 && w != kNewClassTag) {
      counted = true;
      const std::size_t count = w & ~kByteCountMask;
      if (count < 4 || count > c_.size() - t.start - 4) [[unlikely]] {
        bad_object_count(count);
        return t;
      }
      t.end = t.start + 4 + count;
      tag_pos = c_.pos();
      tag = c_.u32();
    }
    if ((tag & kClassMask) == 0) {
      t.kind = tag == 0 ? ObjectTag::kNull : ObjectTag::kRef;
      t.ref = tag;
      return t;
    }
    if (!counted) [[unlikely]] {
      fail_message(ErrorKind::kUnsupportedVersion, "object without a byte count (pre-ROOT-3 streaming)");
      return t;
    }
    if (tag == kNewClassTag) {
      t.cls = c_.cstring(kMaxClassName);
      if (!c_.ok()) return t;
      const std::uint32_t key = map_key(tag_pos);
      if (classes_.empty() || classes_.back().first < key) classes_.emplace_back(key, t.cls);
    } else {
      const std::uint32_t ref = tag & ~kClassMask;
      ClassSlot& slot = class_cache_[class_slot(ref)];
      if (slot.ref == ref) [[likely]] {
        t.cls = slot.cls;
      } else {
        t.cls = find_class(ref);
        if (!c_.ok()) return t;
      }
    }
    t.kind = ObjectTag::kNew;
    return t;
  }

  // A class tag reference not in the cache: binary search, then cached. Entries of classes_
  // are never removed or changed, so a cached (ref, class) pair stays true.
  [[gnu::noinline]] std::string_view find_class(std::uint32_t ref) {
    auto it = std::lower_bound(classes_.begin(), classes_.end(), ref,
                               [](const auto& p, std::uint32_t k) { return p.first < k; });
    if (it == classes_.end() || it->first != ref) [[unlikely]] {
      unknown_class_tag(ref);
      return {};
    }
    class_cache_[class_slot(ref)] = {ref, it->second};
    return it->second;
  }
  static std::size_t class_slot(std::uint32_t ref) { return (ref ^ (ref >> 4) ^ (ref >> 8)) & (kClassSlots - 1); }

  // Moves past an object found by object_tag() (no-op for null and plain references).
  [[gnu::always_inline]] void skip_object(const ObjectTag& t) {
    if (c_.ok() && t.end != kNoEnd) c_.seek(t.end);
  }

  // Header of a TObjArray (or a TList-less collection): returns its element count.
  [[gnu::always_inline]] std::size_t obj_array_header(VersionHeader& h) {
    h = version_header("TObjArray");
    if (!c_.ok()) return 0;
    if (h.version > 2) tobject();
    if (h.version > 1) (void)c_.tstring();
    const std::int32_t n = c_.i32();
    (void)c_.i32();  // fLowerBound
    if (!c_.ok()) return 0;
    if (n < 0 || static_cast<std::size_t>(n) > c_.remaining() / 4) [[unlikely]] {
      bad_array_count(n);
      return 0;
    }
    return static_cast<std::size_t>(n);
  }

 protected:
  Cursor& c_;
  std::uint32_t keylen_;
  // Class tags met so far, keyed by offset from the key start + kMapOffset. Offsets only grow
  // while decoding, so a sorted vector with binary search does.
  std::vector<std::pair<std::uint32_t, std::string_view>> classes_;
  // Class tag references resolved so far, direct-mapped: a tree's branches and leaves refer to
  // a handful of classes over and over. A reference has its top bit clear, so kNoClass marks
  // an empty slot.
  static constexpr std::uint32_t kNoClass = 0xFFFFFFFF;
  struct ClassSlot {
    std::uint32_t ref = kNoClass;
    std::string_view cls;
  };
  static constexpr std::size_t kClassSlots = 16;
  ClassSlot class_cache_[kClassSlots] = {};
};

}  // namespace mpiprep::extract::root
