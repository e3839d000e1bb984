// RNTuple: the ROOT::RNTuple anchor (big-endian, a classic streamed object) and the header
// and footer envelopes (little-endian frames), per ROOT's RNTuple Binary Format
// Specification 1.0. The entry count comes from the footer's cluster groups (minimum entry
// + entry span), so the page lists never have to be read.
#include <xxhash.h>

#include <algorithm>
#include <string>

#include "extract/root/cursor.hpp"
#include "extract/root/streamer.hpp"

namespace mpiprep::extract::root {
namespace {

constexpr std::uint32_t kByteCountMask = 0x40000000;
constexpr std::size_t kAnchorFieldBytes = 4 * 2 + 7 * 8;
constexpr std::uint16_t kEnvelopeHeader = 1;
constexpr std::uint16_t kEnvelopeFooter = 2;
constexpr int kMaxFeatureWords = 16;

// Checks the envelope framing (type, length, trailing XXH3) and returns a cursor positioned
// after the envelope preamble, limited to the payload (checksum excluded).
Status open_envelope(std::span<const std::byte> env, std::uint16_t type, std::string_view what,
                     std::span<const std::byte>& payload) {
  if (env.size() < 16) {
    return make_error(ErrorKind::kCorrupt, std::string(what) + " envelope of " +
                                               std::to_string(env.size()) + " bytes is too short");
  }
  Cursor c(env, what);
  const std::uint64_t word = c.le64();
  const auto got_type = static_cast<std::uint16_t>(word & 0xffff);
  const std::uint64_t length = word >> 16;
  if (got_type != type || length != env.size()) {
    return make_error(ErrorKind::kCorrupt, std::string(what) + " envelope has type " +
                                               std::to_string(got_type) + " and length " +
                                               std::to_string(length) + ", expected type " +
                                               std::to_string(type) + " and length " +
                                               std::to_string(env.size()));
  }
  Cursor tail(env.subspan(env.size() - 8), what);
  const std::uint64_t want = tail.le64();
  const std::uint64_t got = XXH3_64bits(env.data(), env.size() - 8);
  if (want != got) {
    return make_error(ErrorKind::kCorrupt, std::string(what) + " envelope checksum mismatch");
  }
  payload = env.subspan(8, env.size() - 16);
  return {};
}

class EnvelopeReader {
 public:
  EnvelopeReader(Cursor& c, RNTupleInfo& nt) : c_(c), nt_(nt) {}

  std::string str() { return std::string(view()); }
  std::string_view view() {
    const std::uint32_t n = c_.le32();
    return c_.bytes(n);
  }

  void feature_flags() {
    for (int i = 0; i < kMaxFeatureWords && c_.ok(); ++i) {
      const std::uint64_t w = c_.le64();
      if ((w & ~(1ull << 63)) != 0) {
        c_.fail(ErrorKind::kUnsupportedVersion, "RNTuple uses feature flags this reader does not know");
        return;
      }
      if ((w >> 63) == 0) return;
    }
    c_.fail_corrupt("too many RNTuple feature flag words");
  }

  // Frame preamble: signed 64-bit size (negative for a list frame, which then has a 32-bit
  // item count). Returns the frame end; `items` gets the count of a list frame.
  std::size_t frame(bool list, std::uint32_t* items) {
    const std::size_t start = c_.pos();
    const std::int64_t size = c_.lei64();
    if (!c_.ok()) return start;
    const bool is_list = size < 0;
    const std::uint64_t abs = is_list ? 0 - static_cast<std::uint64_t>(size) : static_cast<std::uint64_t>(size);
    if (is_list != list || abs < 8 || abs > c_.size() - start) {
      c_.fail_corrupt(std::string(list ? "list" : "record") + " frame of " + std::to_string(size) +
                      " bytes does not fit");
      return start;
    }
    if (list) {
      *items = c_.le32();
      if (c_.ok() && *items > abs) {
        c_.fail_corrupt("list frame claims more items than bytes");
        *items = 0;
      }
    }
    return start + static_cast<std::size_t>(abs);
  }

  void end_frame(std::size_t end) {
    if (!c_.ok()) return;
    if (c_.pos() > end) return c_.fail_corrupt("frame content overran the frame");
    c_.seek(end);
  }

  // List frame of field records; ids continue from the fields already known.
  void field_list(bool extension) {
    std::uint32_t n = 0;
    const std::size_t end = frame(true, &n);
    // A field record takes at least kMinFieldBytes, so the reservation is bounded by the
    // envelope's size whatever the count claims.
    constexpr std::size_t kMinFieldBytes = 8 + 4 + 4 + 4 + 2 + 2 + 4 * 4;
    nt_.fields.reserve(nt_.fields.size() + std::min<std::size_t>(n, c_.remaining() / kMinFieldBytes));
    for (std::uint32_t i = 0; i < n && c_.ok(); ++i) {
      const std::size_t fend = frame(false, nullptr);
      // Built in place: its strings are not moved again.
      const auto id = static_cast<std::uint32_t>(nt_.fields.size());
      FieldInfo& f = nt_.fields.emplace_back();
      f.field_version = c_.le32();
      f.type_version = c_.le32();
      f.parent_id = c_.le32();
      f.role = c_.le16();
      f.flags = c_.le16();
      // (Alias and description are mostly empty: nothing to assign then.)
      for (std::string* out : {&f.name, &f.type_name, &f.type_alias, &f.description}) {
        const std::string_view v = view();
        if (!v.empty()) out->assign(v);
      }
      if ((f.flags & 0x1) != 0) f.array_size = c_.le64();
      f.from_extension = extension;
      end_frame(fend);
      if (!c_.ok()) {
        nt_.fields.pop_back();
        return;
      }
      if (f.parent_id == id) nt_.top_fields.push_back(id);
    }
    end_frame(end);
  }

  void skip_list() {
    std::uint32_t n = 0;
    const std::size_t end = frame(true, &n);
    end_frame(end);
  }

  void header() {
    feature_flags();
    nt_.name = str();
    nt_.description = str();
    nt_.writer = str();
    field_list(false);
    // Column, alias-column and extra-type-information lists follow; not needed.
  }

  void footer(std::uint64_t header_checksum) {
    feature_flags();
    const std::uint64_t hc = c_.le64();
    if (c_.ok() && hc != header_checksum) {
      return c_.fail_corrupt("footer belongs to another header (checksum mismatch)");
    }
    const std::size_t ext_end = frame(false, nullptr);
    if (c_.ok() && c_.pos() < ext_end) {
      field_list(true);
      // columns, alias columns, extra type information: skipped with the frame
    }
    end_frame(ext_end);
    std::uint32_t groups = 0;
    const std::size_t end = frame(true, &groups);
    std::int64_t entries = 0;
    for (std::uint32_t i = 0; i < groups && c_.ok(); ++i) {
      const std::size_t gend = frame(false, nullptr);
      const std::uint64_t min_entry = c_.le64();
      const std::uint64_t span = c_.le64();
      const std::uint32_t clusters = c_.le32();
      end_frame(gend);  // page list envelope link: not needed
      if (!c_.ok()) return;
      if (min_entry > (1ull << 62) || span > (1ull << 62)) {
        return c_.fail_corrupt("cluster group entry range out of bounds");
      }
      entries = std::max(entries, static_cast<std::int64_t>(min_entry + span));
      nt_.n_clusters += clusters;
      ++nt_.n_cluster_groups;
    }
    end_frame(end);
    nt_.entries = entries;
  }

 private:
  Cursor& c_;
  RNTupleInfo& nt_;
};

}  // namespace

Status parse_rntuple_anchor(std::span<const std::byte> payload, std::string_view what,
                            RNTupleInfo& nt) {
  Cursor c(payload, what);
  const std::uint32_t w = c.u32();
  if (!c.ok() || (w & kByteCountMask) == 0) {
    return make_error(ErrorKind::kCorrupt, "RNTuple anchor without a byte count in " + std::string(what));
  }
  // The byte count covers the class version and the fields; the XXH3 checksum of the fields
  // follows it (fields may only ever be appended, so hash up to the count).
  const std::size_t end = 4 + (w & ~kByteCountMask);
  if (end < 6 + kAnchorFieldBytes || end > payload.size() || payload.size() - end < 8) {
    return make_error(ErrorKind::kCorrupt, "RNTuple anchor byte count does not fit in " + std::string(what));
  }
  (void)c.u16();  // class version of ROOT::RNTuple
  const std::size_t fields_at = c.pos();
  nt.version_epoch = c.u16();
  nt.version_major = c.u16();
  nt.version_minor = c.u16();
  nt.version_patch = c.u16();
  nt.seek_header = c.u64();
  nt.nbytes_header = c.u64();
  nt.len_header = c.u64();
  nt.seek_footer = c.u64();
  nt.nbytes_footer = c.u64();
  nt.len_footer = c.u64();
  nt.max_key_size = c.u64();
  c.seek(end);
  const std::uint64_t checksum = c.u64();
  if (!c.ok()) return c.error();
  if (XXH3_64bits(payload.data() + fields_at, end - fields_at) != checksum) {
    return make_error(ErrorKind::kCorrupt, "RNTuple anchor checksum mismatch in " + std::string(what));
  }
  if (nt.version_epoch != 1) {
    return make_error(ErrorKind::kUnsupportedVersion,
                      "RNTuple format epoch " + std::to_string(nt.version_epoch) +
                          " is not supported (only 1.x)");
  }
  return {};
}

Status parse_rntuple_envelopes(std::span<const std::byte> header, std::span<const std::byte> footer,
                               RNTupleInfo& nt) {
  std::span<const std::byte> hp;
  std::span<const std::byte> fp;
  if (Status s = open_envelope(header, kEnvelopeHeader, "RNTuple header", hp); !s.ok()) return s;
  if (Status s = open_envelope(footer, kEnvelopeFooter, "RNTuple footer", fp); !s.ok()) return s;
  Cursor tail(header.subspan(header.size() - 8), "RNTuple header");
  const std::uint64_t header_checksum = tail.le64();
  {
    Cursor c(hp, "RNTuple header envelope");
    EnvelopeReader r(c, nt);
    r.header();
    if (!c.ok()) return c.error();
  }
  Cursor c(fp, "RNTuple footer envelope");
  EnvelopeReader r(c, nt);
  r.footer(header_checksum);
  if (!c.ok()) return c.error();
  return {};
}

}  // namespace mpiprep::extract::root
