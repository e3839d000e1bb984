// Bounds-checked reader over a byte span with a sticky error: the first failure (read past the
// end, bad value) is recorded with its position, later reads return zeros and never move past
// the end, so a parser can run to its next check without branching on every field, and any
// failure anywhere makes the whole parse fail. Counts read from the data must still be
// checked against remaining() before they drive a loop or an allocation.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "mpiprep/core/result.hpp"

namespace mpiprep::extract::root {

class Cursor {
 public:
  // `file_offset`: where data[0] sits in the file (or 0 for decompressed buffers, where
  // `what` says which record it is); both only feed error messages.
  Cursor(std::span<const std::byte> data, std::string_view what, std::uint64_t file_offset = 0)
      : data_(data), limit_(data.size()), what_(what), file_offset_(file_offset) {}

  [[nodiscard]] bool ok() const noexcept { return kind_ == ErrorKind::kNone; }
  [[nodiscard]] ErrorKind error_kind() const noexcept { return kind_; }
  [[nodiscard]] const std::string& error_message() const noexcept { return message_; }
  [[nodiscard]] Error error() const { return make_error(kind_, message_); }

  [[nodiscard]] std::size_t pos() const noexcept { return pos_; }
  [[nodiscard]] std::size_t size() const noexcept { return data_.size(); }
  // 0 once failed.
  [[nodiscard]] std::size_t remaining() const noexcept { return limit_ - pos_; }
  [[nodiscard]] std::span<const std::byte> data() const noexcept { return data_; }

  // Records the first failure only; the position names where it happened.
  [[gnu::cold, gnu::noinline]] void fail(ErrorKind kind, std::string_view message) {
    if (kind_ != ErrorKind::kNone) return;
    kind_ = kind;
    message_.assign(message);
    message_ += " at byte ";
    message_ += std::to_string(pos_);
    message_ += " of ";
    message_ += what_;
    if (file_offset_ != 0) {
      message_ += " (file offset ";
      message_ += std::to_string(file_offset_ + pos_);
      message_ += ")";
    }
    // From now on every read of one or more bytes fails the bounds check (limit_ - pos_ == 0).
    limit_ = 0;
    pos_ = 0;
  }
  [[gnu::cold, gnu::noinline]] void fail_corrupt(std::string_view message) { fail(ErrorKind::kCorrupt, message); }
  [[gnu::cold, gnu::noinline]] void fail_short(std::size_t n) {
    fail_corrupt("need " + std::to_string(n) + " bytes, " + std::to_string(remaining()) + " left");
  }

  // Moves to an absolute position; past the end is a failure.
  [[gnu::always_inline]] void seek(std::size_t p) {
    if (p > limit_) [[unlikely]] return fail_seek(p);
    pos_ = p;
  }
  [[gnu::cold, gnu::noinline]] void fail_seek(std::size_t p) {
    fail_corrupt("jump to " + std::to_string(p) + " past the end (" + std::to_string(data_.size()) + " bytes)");
  }
  [[gnu::always_inline]] void skip(std::size_t n) {
    if (!need(n)) return;
    pos_ += n;
  }
  // True if n more bytes are available (else records the failure). The check is on every
  // field read, so the failure path stays out of line.
  [[gnu::always_inline]] bool need(std::size_t n) {
    if (n <= limit_ - pos_) [[likely]] return true;
    if (ok()) fail_short(n);
    return false;
  }

  // The next n bytes without moving, or nullptr (no failure recorded) when fewer remain.
  [[gnu::always_inline]] const std::byte* peek(std::size_t n) const noexcept {
    return n <= limit_ - pos_ ? data_.data() + pos_ : nullptr;
  }
  // Moves forward by n bytes that peek(n) has shown to be there.
  [[gnu::always_inline]] void advance(std::size_t n) noexcept { pos_ += n; }

  // The next n bytes (advancing past them), or nullptr after recording the failure: one
  // bounds check for a run of fixed-size fields, read with be16/be32/be64 below.
  [[gnu::always_inline]] const std::byte* take(std::size_t n) {
    if (!need(n)) return nullptr;
    const std::byte* p = data_.data() + pos_;
    pos_ += n;
    return p;
  }
  [[gnu::always_inline]] static std::uint16_t be16(const std::byte* p) noexcept {
    std::uint16_t v;
    std::memcpy(&v, p, 2);
    return std::endian::native == std::endian::little ? static_cast<std::uint16_t>(__builtin_bswap16(v)) : v;
  }
  [[gnu::always_inline]] static std::uint32_t be32(const std::byte* p) noexcept {
    std::uint32_t v;
    std::memcpy(&v, p, 4);
    return std::endian::native == std::endian::little ? __builtin_bswap32(v) : v;
  }
  [[gnu::always_inline]] static std::uint64_t be64(const std::byte* p) noexcept {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    return std::endian::native == std::endian::little ? __builtin_bswap64(v) : v;
  }

  [[gnu::always_inline]] std::uint8_t u8() { return get<std::uint8_t, true>(); }
  [[gnu::always_inline]] std::uint16_t u16() { return get<std::uint16_t, true>(); }
  [[gnu::always_inline]] std::uint32_t u32() { return get<std::uint32_t, true>(); }
  [[gnu::always_inline]] std::uint64_t u64() { return get<std::uint64_t, true>(); }
  [[gnu::always_inline]] std::int16_t i16() { return static_cast<std::int16_t>(u16()); }
  [[gnu::always_inline]] std::int32_t i32() { return static_cast<std::int32_t>(u32()); }
  [[gnu::always_inline]] std::int64_t i64() { return static_cast<std::int64_t>(u64()); }
  [[gnu::always_inline]] double f64() { return std::bit_cast<double>(u64()); }
  [[gnu::always_inline]] std::uint32_t peek_u32() {
    if (remaining() < 4) return 0;
    return load<std::uint32_t, true>(pos_);
  }

  // Little-endian, for RNTuple envelopes.
  std::uint16_t le16() { return get<std::uint16_t, false>(); }
  std::uint32_t le32() { return get<std::uint32_t, false>(); }
  std::uint64_t le64() { return get<std::uint64_t, false>(); }
  std::int32_t lei32() { return static_cast<std::int32_t>(le32()); }
  std::int64_t lei64() { return static_cast<std::int64_t>(le64()); }

  [[gnu::always_inline]] std::string_view bytes(std::size_t n) {
    if (!need(n)) return {};
    std::string_view s(reinterpret_cast<const char*>(data_.data() + pos_), n);
    pos_ += n;
    return s;
  }
  // ROOT TString: u8 length, 255 => i32 length follows.
  [[gnu::always_inline]] std::string_view tstring() {
    std::size_t n = u8();
    if (n == 255) {
      const std::int32_t big = i32();
      if (big < 0) [[unlikely]] {
        fail_corrupt("negative string length");
        return {};
      }
      n = static_cast<std::size_t>(big);
    }
    return bytes(n);
  }
  // NUL-terminated (class names after kNewClassTag), at most max_len characters.
  std::string_view cstring(std::size_t max_len) {
    if (!ok()) return {};
    const std::size_t limit = std::min(remaining(), max_len + 1);
    const auto* begin = data_.data() + pos_;
    const void* nul = std::memchr(begin, 0, limit);
    if (nul == nullptr) {
      fail_corrupt("unterminated class name");
      return {};
    }
    const auto n = static_cast<std::size_t>(static_cast<const std::byte*>(nul) - begin);
    std::string_view s(reinterpret_cast<const char*>(begin), n);
    pos_ += n + 1;
    return s;
  }

 private:
  template <typename T, bool kBig>
  [[gnu::always_inline]] T load(std::size_t at) const noexcept {
    T v;
    std::memcpy(&v, data_.data() + at, sizeof(T));
    if constexpr (kBig == (std::endian::native == std::endian::little)) {
      if constexpr (sizeof(T) == 2) v = static_cast<T>(__builtin_bswap16(v));
      if constexpr (sizeof(T) == 4) v = __builtin_bswap32(v);
      if constexpr (sizeof(T) == 8) v = __builtin_bswap64(v);
    }
    return v;
  }
  template <typename T, bool kBig>
  [[gnu::always_inline]] T get() {
    if (!need(sizeof(T))) return T{0};
    const T v = load<T, kBig>(pos_);
    pos_ += sizeof(T);
    return v;
  }

  std::span<const std::byte> data_;
  std::size_t limit_;  // data_.size(), or 0 after a failure (with pos_ == 0)
  std::size_t pos_ = 0;
  std::string_view what_;
  std::uint64_t file_offset_ = 0;
  ErrorKind kind_ = ErrorKind::kNone;
  std::string message_;
};

}  // namespace mpiprep::extract::root
