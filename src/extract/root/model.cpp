// Model helpers: UUID and compression rendering, readable leaf/branch types, common cluster
// boundaries, and the condensation of the rich model into FileMeta.
#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cstring>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <type_traits>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "extract/root/file_meta_builder.hpp"
#include "mpiprep/extract/root/model.hpp"
#include "mpiprep/extract/root/reader.hpp"

namespace mpiprep::extract::root {
namespace {

constexpr char kHex[] = "0123456789abcdef";

// ROOT TStreamerInfo type codes of basic types (TVirtualStreamerInfo::EReadWrite).
std::string_view streamer_basic_type(int code) {
  switch (code) {
    case 1: return "int8_t";       // kChar
    case 2: return "int16_t";      // kShort
    case 3: return "int32_t";      // kInt
    case 4: return "int64_t";      // kLong
    case 5: return "float";        // kFloat
    case 6: return "int32_t";      // kCounter
    case 7: return "char*";        // kCharStar
    case 8: return "double";       // kDouble
    case 9: return "Double32_t";   // kDouble32
    case 10: return "char";        // kLegacyChar
    case 11: return "uint8_t";     // kUChar
    case 12: return "uint16_t";    // kUShort
    case 13: return "uint32_t";    // kUInt
    case 14: return "uint64_t";    // kULong
    case 15: return "uint32_t";    // kBits
    case 16: return "int64_t";     // kLong64
    case 17: return "uint64_t";    // kULong64
    case 18: return "bool";        // kBool
    case 19: return "Float16_t";   // kFloat16
    default: return {};
  }
}

[[gnu::always_inline]] inline std::string_view leaf_class_type(std::string_view cls, bool is_unsigned) {
  // "TLeaf" + one letter, or TLeafF16 / TLeafD32 (a switch: this runs once per column; the
  // prefix compared inline, a memcmp call cost more than the rest).
  if (cls.size() < 6) return {};
  std::uint32_t head;
  std::memcpy(&head, cls.data(), 4);
  constexpr std::uint32_t kTLea = 'T' | 'L' << 8 | 'e' << 16 | static_cast<std::uint32_t>('a') << 24;
  if (std::endian::native == std::endian::little ? head != kTLea || cls[4] != 'f'
                                                 : cls.substr(0, 5) != "TLeaf") {
    return {};
  }
  if (cls.size() == 8) {
    if (cls == "TLeafF16") return "Float16_t";
    if (cls == "TLeafD32") return "Double32_t";
    return {};
  }
  if (cls.size() != 6) return {};
  switch (cls[5]) {
    case 'I': return is_unsigned ? "uint32_t" : "int32_t";
    case 'F': return "float";
    case 'D': return "double";
    case 'O': return "bool";
    case 'B': return is_unsigned ? "uint8_t" : "int8_t";
    case 'S': return is_unsigned ? "uint16_t" : "int16_t";
    case 'L':
    case 'G': return is_unsigned ? "uint64_t" : "int64_t";
    case 'C': return "char*";
    default: return {};
  }
}

// Position of the first C ('[' unless given) or npos. Names and titles are short (NanoAOD:
// 10-50 bytes) and most hold no bracket, so each is scanned to its end: sixteen bytes per step, then the last
// sixteen (overlapping) instead of a byte loop; strings under sixteen bytes in two
// overlapping words. (memchr's call overhead was 4% of a NanoAOD file's extraction.)
template <char C = '['>
[[gnu::always_inline]] inline std::size_t find_bracket(std::string_view t) {
  const char* s = t.data();
  const std::size_t n = t.size();
#if defined(__SSE2__)
  if (n >= 16) {
    const __m128i want = _mm_set1_epi8(C);
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i));
      const auto m = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, want)));
      if (m != 0) return i + static_cast<std::size_t>(std::countr_zero(m));
    }
    if (i == n) return std::string_view::npos;
    // The last sixteen bytes; those before i were seen above.
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + n - 16));
    const auto m = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, want))) >> (i - (n - 16));
    return m != 0 ? i + static_cast<std::size_t>(std::countr_zero(m)) : std::string_view::npos;
  }
#endif
  if constexpr (std::endian::native == std::endian::little) {
    // The lowest set high bit of (x - ones) & ~x & high marks the first zero byte of x exactly.
    if (n >= 8) {
      constexpr std::uint64_t kOnes = 0x0101010101010101ull;
      constexpr std::uint64_t kHigh = 0x8080808080808080ull;
      constexpr std::uint64_t kWant = kOnes * static_cast<unsigned char>(C);
      std::size_t i = 0;
      for (; i + 8 <= n; i += 8) {
        std::uint64_t w;
        std::memcpy(&w, s + i, 8);
        const std::uint64_t x = w ^ kWant;
        const std::uint64_t m = (x - kOnes) & ~x & kHigh;
        if (m != 0) return i + static_cast<std::size_t>(std::countr_zero(m) >> 3);
      }
      if (i == n) return std::string_view::npos;
      std::uint64_t w;
      std::memcpy(&w, s + n - 8, 8);
      const std::uint64_t x = w ^ kWant;
      // The bytes before i (seen above: none is a bracket, so no borrow starts there) are
      // shifted out; the lowest remaining mark is then exact.
      const std::uint64_t m = ((x - kOnes) & ~x & kHigh) >> (8 * (i - (n - 8)));
      return m != 0 ? i + static_cast<std::size_t>(std::countr_zero(m) >> 3) : std::string_view::npos;
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (s[i] == C) return i;
  }
  return std::string_view::npos;
}

// A column type under construction in kCapacity bytes at `out` (the Columns table's text,
// written in place). Real trees' types ("float[]", "uint8_t", "vector<float>") are short,
// and std::string's appends (a capacity check and a memcpy call each) cost more than the
// type logic; a longer type sets overflow() and is built again, by the same code, into a
// std::string. Offers the std::string members that code uses.
class TypeBuf {
 public:
  static constexpr std::size_t kCapacity = 64;
  explicit TypeBuf(char* out) : data_(out) {}
  [[gnu::always_inline]] void operator+=(char c) {
    if (n_ == kCapacity) [[unlikely]] {
      overflow_ = true;
      return;
    }
    data_[n_++] = c;
  }
  [[gnu::always_inline]] void operator+=(std::string_view s) {
    if (s.size() > kCapacity - n_) [[unlikely]] {
      overflow_ = true;
      return;
    }
    copy_short_text(data_ + n_, s.data(), s.size());
    n_ += s.size();
  }
  [[nodiscard]] std::size_t size() const { return n_; }
  void resize(std::size_t n) { n_ = std::min(n, n_); }  // back to a mark taken before
  [[nodiscard]] bool overflow() const { return overflow_; }
  [[nodiscard]] std::string_view view() const { return {data_, n_}; }

 private:
  char* data_;
  std::size_t n_ = 0;
  bool overflow_ = false;
};

template <typename Out>
void append_int(Out& s, std::int64_t v) {
  char digits[24];
  const auto r = std::to_chars(digits, digits + sizeof digits, v);
  const auto n = static_cast<std::size_t>(r.ptr - digits);
  if (n > 20) __builtin_unreachable();  // an int64 has at most 20 characters (tells GCC's bounds check)
  s += std::string_view(digits, n);
}

// Appends the dimensions of a leaf title such as "x[3][n]" ("[3][]") to `out` if they agree
// with fLen and the leaf count; returns false (and leaves `out` as it was) otherwise.
template <typename Out>
[[gnu::always_inline]] inline bool append_title_dims(const LeafInfo& leaf, Out& out) {
  std::string_view t = leaf.title;
  std::size_t open = find_bracket(t);
  if (open == std::string_view::npos) {
    t = leaf.name;
    open = find_bracket(t);
    if (open == std::string_view::npos) return false;
  }
  // The usual jagged leaf, "x[n]": one dimension, not a number (its first character is not a
  // digit), closed by the text's first ']' at its end; what the loop below decides for it.
  if (leaf.has_leaf_count && leaf.len <= 1 && open + 1 < t.size() &&
      static_cast<unsigned>(static_cast<unsigned char>(t[open + 1])) - '0' > 9) {
    const std::size_t close = find_bracket<']'>(t.substr(open + 1));
    if (close != std::string_view::npos && open + 1 + close == t.size() - 1) {
      out += std::string_view("[]");
      return true;
    }
  }
  const std::size_t mark = out.size();
  std::int64_t product = 1;
  int variable = 0;
  std::size_t p = open;
  while (p < t.size() && t[p] == '[') {
    // Up to the next ']', reading a decimal count on the way: what std::from_chars accepts
    // for the whole inner text, as a positive number below 2^30 (else a variable dimension).
    std::size_t close = p + 1;
    std::int64_t n = 0;
    bool number = close < t.size() && t[close] != ']';
    for (; close < t.size() && t[close] != ']'; ++close) {
      const auto digit = static_cast<unsigned>(static_cast<unsigned char>(t[close])) - '0';
      if (digit > 9 || n >= (1 << 30)) {
        number = false;
      } else {
        n = 10 * n + digit;
      }
    }
    if (close == t.size()) {
      out.resize(mark);
      return false;
    }
    const std::string_view inner = t.substr(p + 1, close - p - 1);
    if (number && n > 0 && n < (1 << 30)) {
      product *= n;
      if (product > (1ll << 40)) {
        out.resize(mark);
        return false;
      }
      out += '[';
      out += inner;
      out += ']';
    } else {
      ++variable;
      out += std::string_view("[]");
    }
    p = close + 1;
  }
  if (variable != (leaf.has_leaf_count ? 1 : 0) || product != std::max(leaf.len, 1) || out.size() == mark) {
    out.resize(mark);
    return false;
  }
  return true;
}

}  // namespace

std::string FileHeader::uuid_hex() const {
  std::string s;
  s.reserve(32);
  for (const std::uint8_t b : uuid) {
    s += kHex[b >> 4];
    s += kHex[b & 15];
  }
  return s;
}

namespace {

// The 36 characters of the lowercase hyphenated UUID (8-4-4-4-12) at `out`: the 32 digits
// computed at once in two SSE2 registers (nibbles to ASCII, interleaved), then placed
// around the hyphens.
void write_uuid(const std::array<std::uint8_t, 16>& uuid, char* out) {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(uuid.data()));
  const __m128i nibble = _mm_set1_epi8(0x0f);
  const auto ascii = [](__m128i d) {  // 0..9 -> '0'..'9', 10..15 -> 'a'..'f'
    const __m128i letter = _mm_cmpgt_epi8(d, _mm_set1_epi8(9));
    return _mm_add_epi8(_mm_add_epi8(d, _mm_set1_epi8('0')), _mm_and_si128(letter, _mm_set1_epi8('a' - '0' - 10)));
  };
  const __m128i hi = ascii(_mm_and_si128(_mm_srli_epi16(v, 4), nibble));
  const __m128i lo = ascii(_mm_and_si128(v, nibble));
  char hex[32];
  _mm_storeu_si128(reinterpret_cast<__m128i*>(hex), _mm_unpacklo_epi8(hi, lo));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(hex + 16), _mm_unpackhi_epi8(hi, lo));
  std::memcpy(out, hex, 8);
  out[8] = '-';
  std::memcpy(out + 9, hex + 8, 4);
  out[13] = '-';
  std::memcpy(out + 14, hex + 12, 4);
  out[18] = '-';
  std::memcpy(out + 19, hex + 16, 4);
  out[23] = '-';
  std::memcpy(out + 24, hex + 20, 12);
}

}  // namespace

std::string FileHeader::uuid_string() const {
  char s[36];
  write_uuid(uuid, s);
  return std::string(s, sizeof s);
}

CompressionSetting CompressionSetting::from_fcompress(std::int32_t fcompress) noexcept {
  CompressionSetting c;
  if (fcompress < 0) fcompress = 0;
  c.algorithm = fcompress / 100;
  c.level = fcompress % 100;
  return c;
}

std::string_view CompressionSetting::algorithm_name() const noexcept {
  if (level == 0) return "none";
  switch (algorithm) {
    case 0:
    case 1: return "zlib";
    case 2: return "lzma";
    case 3: return "old";
    case 4: return "lz4";
    case 5: return "zstd";
    default: return "unknown";
  }
}

std::string CompressionSetting::to_string() const {
  // In one buffer: the concatenation of temporaries cost more than the rest of the file
  // metadata of a small file.
  char s[40];
  const std::string_view name = algorithm_name();
  std::memcpy(s, name.data(), name.size());
  s[name.size()] = ':';
  const auto r = std::to_chars(s + name.size() + 1, s + sizeof s, level);
  return std::string(s, static_cast<std::size_t>(r.ptr - s));
}

std::size_t TreeInfo::count_all_branches() const {
  if (all_branches_reachable) return branches.size();
  std::size_t n = 0;
  std::vector<std::uint32_t> stack(top.rbegin(), top.rend());
  while (!stack.empty()) {
    const std::uint32_t b = stack.back();
    stack.pop_back();
    ++n;
    for (const std::uint32_t c : children(branches[b])) stack.push_back(c);
  }
  return n;
}

namespace {

// leaf_type_name() appended to `out` (a std::string or a TypeBuf).
template <typename Out>
void append_leaf_type(const LeafInfo& leaf, std::string_view branch_class, Out& out) {
  if (leaf.class_name == "TLeafElement") {
    const int t = leaf.element_type;
    std::string_view base;
    if (t > 0 && t < 60 && t % 20 != 0) {
      base = streamer_basic_type(t % 20);
    } else if (t == 65) {
      base = "TString";  // kTString
    } else if (t == 365) {
      base = "string";  // kSTL + kSTLstring
    }
    if (base.empty()) {
      out += branch_class;
      return;
    }
    out += base;
    if (t > 20 && t < 40) {
      if (!append_title_dims(leaf, out) && leaf.len > 1) {
        out += '[';
        append_int(out, leaf.len);
        out += ']';
      }
    } else if (t > 40 && t < 60) {
      out += "[]";
    }
    return;
  }
  const std::string_view base = leaf_class_type(leaf.class_name, leaf.is_unsigned);
  if (base.empty()) {
    if (leaf.class_name == "TLeafObject" && !branch_class.empty()) {
      out += branch_class;
      return;
    }
    out += leaf.class_name;  // unknown leaf class: say what it is rather than guess
  } else {
    out += base;
  }
  // A string (TLeafC); fLen is its buffer length. (The class is a TLeaf when base is known.)
  if (!base.empty() && leaf.class_name.size() == 6 && leaf.class_name[5] == 'C') return;
  if (!append_title_dims(leaf, out)) {
    if (leaf.has_leaf_count) out += "[]";
    if (leaf.len > 1) {
      out += '[';
      append_int(out, leaf.len);
      out += ']';
    }
  }
}

}  // namespace

std::string leaf_type_name(const LeafInfo& leaf, std::string_view branch_class) {
  std::string out;
  append_leaf_type(leaf, branch_class, out);
  return out;
}

namespace {

// branch_type_name() appended to `s` (a std::string or a TypeBuf).
template <typename Out>
void append_branch_type(const TreeInfo& tree, const BranchInfo& branch, Out& s) {
  const auto ids = tree.leaf_ids(branch);
  const bool element = branch.class_name == "TBranchElement" || branch.class_name == "TBranchObject";
  // A top-level object branch (fID < 0) is its class; a member of a split object has the
  // class of its parent in fClassName, so its leaf says more.
  if (element && !branch.element_class.empty() && branch.element_id < 0) {
    s += branch.element_class;
    return;
  }
  // A split member without a leaf of its own (a sub-object): its type is in the StreamerInfo,
  // which this reader does not decode, so it is left unknown rather than guessed.
  if (ids.empty()) {
    if (element && branch.element_id < 0) s += branch.element_class;
    return;
  }
  if (ids.size() == 1) {
    append_leaf_type(tree.leaves[ids[0]], element && branch.element_id < 0 ? branch.element_class
                                                                          : std::string_view(),
                     s);
    return;
  }
  s += "struct{";
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const LeafInfo& l = tree.leaves[ids[i]];
    if (i > 0) s += ',';
    s += l.name;
    s += ':';
    append_leaf_type(l, {}, s);
  }
  s += '}';
}

}  // namespace

std::string branch_type_name(const TreeInfo& tree, const BranchInfo& branch) {
  std::string s;
  append_branch_type(tree, branch, s);
  return s;
}

namespace {

// The intersection over branches of their entry offsets, one branch at a time, in any order.
class OffsetIntersection {
 public:
  // add(), with the usual case decided inline: the branch's boundaries are the very slice
  // of the pool the intersection already is (shared by the decoder), so nothing changes.
  // A slice added before is skipped too: the intersection only shrinks, so it stays a subset
  // of every slice already in it (consecutive branches with equal boundaries share the
  // pool's slice, so the last one added is the usual repeat once the boundaries differ).
  [[gnu::always_inline]] void add_shared(const TreeInfo& tree, const BranchInfo& b) {
    const std::int64_t* p = tree.entry_offsets_pool.data() + b.offset_begin;
    if (!first_ && ((b.offset_count == common_.size() && p == common_.data()) ||
                    (b.offset_count == last_size_ && p == last_))) {
      return;
    }
    add(tree, b);
  }

  void add(const TreeInfo& tree, const BranchInfo& b) {
    if (b.normal_baskets + b.embedded_baskets == 0) return;
    std::span<const std::int64_t> offs = tree.entry_offsets(b);
    last_ = offs.data();
    last_size_ = offs.size();
    // Most branches of a tree share their basket boundaries: nothing to intersect then. The
    // decoder keeps a branch's boundaries once when they equal the branch's before it, so
    // the same slice of the pool is the usual case; else they are compared inline (a memcmp
    // call per branch cost more than the rest of the loop).
    if (!first_ && offs.size() == common_.size()) {
      if (offs.data() == common_.data()) return;
      std::size_t k = 0;
      while (k < offs.size() && offs[k] == common_[k]) ++k;
      if (k == offs.size()) return;
    }
    if (std::adjacent_find(offs.begin(), offs.end(), std::greater_equal<>()) != offs.end()) {
      mine_.assign(offs.begin(), offs.end());
      std::sort(mine_.begin(), mine_.end());
      mine_.erase(std::unique(mine_.begin(), mine_.end()), mine_.end());
      offs = mine_;
    }
    if (first_) {
      if (offs.data() == mine_.data()) {
        owned_.swap(mine_);
        offs = owned_;
      }
      common_ = offs;
      first_ = false;
    } else {
      both_.clear();
      std::set_intersection(common_.begin(), common_.end(), offs.begin(), offs.end(),
                            std::back_inserter(both_));
      owned_.swap(both_);
      common_ = owned_;
    }
  }

  // 0, the common boundaries inside (0, entries), entries.
  [[nodiscard]] std::vector<std::int64_t> boundaries(std::int64_t entries) const {
    std::vector<std::int64_t> out;
    out.reserve(common_.size() + 2);
    out.push_back(0);
    for (const std::int64_t x : common_) {
      if (x > 0 && x < entries) out.push_back(x);
    }
    if (entries > 0) out.push_back(entries);
    return out;
  }

 private:
  // The intersection so far: a branch's own offsets in the tree's pool while they are sorted
  // and distinct (the usual case: then nothing is copied), else owned_.
  std::span<const std::int64_t> common_;
  bool first_ = true;
  const std::int64_t* last_ = nullptr;  // the pool slice added last
  std::size_t last_size_ = 0;
  std::vector<std::int64_t> owned_;
  std::vector<std::int64_t> mine_;
  std::vector<std::int64_t> both_;
};

}  // namespace

std::vector<std::int64_t> common_entry_offsets(const TreeInfo& tree) {
  OffsetIntersection common;
  // Every branch under fBranches (any depth) counts; the intersection does not depend on the
  // order, so when the decoder saw that every branch is reachable no walk is needed.
  if (tree.all_branches_reachable) {
    for (const BranchInfo& b : tree.branches) common.add_shared(tree, b);
  } else {
    std::vector<std::uint32_t> stack(tree.top.rbegin(), tree.top.rend());
    while (!stack.empty()) {
      const BranchInfo& b = tree.branches[stack.back()];
      stack.pop_back();
      for (const std::uint32_t c : tree.children(b)) stack.push_back(c);
      common.add_shared(tree, b);
    }
  }
  return common.boundaries(tree.entries);
}

// With `move_strings`, the keys' strings and the error messages are moved instead of copied.
void build_file_meta(const ModelParts& info, bool clusters, FileMeta& m) {
  m.format = FileFormat::kRoot;
  {  // (Written into the strings: no temporary moved in.)
    char u[36];
    write_uuid(info.header.uuid, u);
    m.uuid.assign(u, sizeof u);
  }
  m.compression = info.compression.to_string();
  m.bytes_read = info.bytes_read;
  // The reader lists trees and RNTuples in key order, so each is found by walking along;
  // a model built otherwise (by hand) is indexed first.
  auto by_key = [](const auto& v) {
    return std::is_sorted(v.begin(), v.end(),
                          [](const auto& a, const auto& b) { return a.key_index < b.key_index; });
  };
  const bool in_order = by_key(info.trees) && by_key(info.rntuples);
  std::vector<int> tree_of;
  std::vector<int> ntuple_of;
  if (!in_order) {
    tree_of.assign(info.keys.size(), -1);
    ntuple_of.assign(info.keys.size(), -1);
    for (std::size_t i = 0; i < info.trees.size(); ++i) tree_of[info.trees[i].key_index] = static_cast<int>(i);
    for (std::size_t i = 0; i < info.rntuples.size(); ++i) {
      ntuple_of[info.rntuples[i].key_index] = static_cast<int>(i);
    }
  }
  std::size_t next_tree = 0;
  std::size_t next_ntuple = 0;
  auto tree_at = [&](std::size_t key) -> const TreeInfo* {
    if (!in_order) return tree_of[key] >= 0 ? &info.trees[static_cast<std::size_t>(tree_of[key])] : nullptr;
    while (next_tree < info.trees.size() && info.trees[next_tree].key_index < key) ++next_tree;
    return next_tree < info.trees.size() && info.trees[next_tree].key_index == key ? &info.trees[next_tree]
                                                                                   : nullptr;
  };
  auto ntuple_at = [&](std::size_t key) -> const RNTupleInfo* {
    if (!in_order) {
      return ntuple_of[key] >= 0 ? &info.rntuples[static_cast<std::size_t>(ntuple_of[key])] : nullptr;
    }
    while (next_ntuple < info.rntuples.size() && info.rntuples[next_ntuple].key_index < key) ++next_ntuple;
    return next_ntuple < info.rntuples.size() && info.rntuples[next_ntuple].key_index == key
               ? &info.rntuples[next_ntuple]
               : nullptr;
  };
  m.objects.reserve(info.keys.size());
  for (std::size_t i = 0; i < info.keys.size(); ++i) {
    const KeyView& k = info.keys[i];
    ObjectMeta& o = m.objects.emplace_back();  // built in place
    o.cycle = k.cycle;
    // (As string_views: sizes compared first, no strlen + memcmp call per comparison.)
    const std::string_view cls = k.class_name;
    using namespace std::string_view_literals;
    if (cls == "TTree"sv || cls == "TNtuple"sv || cls == "TNtupleD"sv) {
      o.kind = "TTree";
    } else if (cls == "ROOT::RNTuple"sv || cls == "ROOT::Experimental::RNTuple"sv) {
      o.kind = "RNTuple";
    } else {
      o.kind = k.class_name;
    }
    o.path = k.path;
    o.title = k.title;
    const TreeInfo* tp = tree_at(i);
    const RNTupleInfo* np = tp == nullptr ? ntuple_at(i) : nullptr;
    if (tp != nullptr) {
      const TreeInfo& t = *tp;
      o.num_entries = t.entries;
      // A tree whose branches are all top-level (NanoAOD) has its cluster boundaries
      // intersected in the same pass over its branches as its columns.
      const bool one_pass = clusters && t.all_branches_reachable && t.top.size() == t.branches.size();
      OffsetIntersection common;
      // One text buffer and one offsets vector for all columns (two allocations, not one
      // per name longer than std::string's inline buffer), sized for the names plus types of
      // up to 15 characters and the room of one TypeBuf; the type is built in place in the
      // table's text (a long one again, in a std::string).
      std::size_t name_bytes = 0;
      for (const std::uint32_t b : t.top) name_bytes += t.branches[b].name.size();
      o.columns.reserve(t.top.size(), name_bytes + 15 * t.top.size() + TypeBuf::kCapacity);
      for (std::size_t j = 0; j < t.top.size(); ++j) {
        const BranchInfo& br = t.branches[t.top[j]];
        const bool added = o.columns.add_in_place(br.name, TypeBuf::kCapacity, [&](char* out) {
          TypeBuf type(out);
          append_branch_type(t, br, type);
          return type.overflow() ? TypeBuf::kCapacity + 1 : type.size();
        });
        if (!added) [[unlikely]] {
          std::string long_type;
          append_branch_type(t, br, long_type);
          o.columns.add(br.name, long_type);
        }
        if (one_pass) common.add_shared(t, br);
      }
      o.n_columns_total = static_cast<std::int64_t>(t.count_all_branches());
      if (one_pass) {
        o.clusters = common.boundaries(t.entries);
      } else if (clusters) {
        o.clusters = common_entry_offsets(t);
      }
    } else if (np != nullptr) {
      const RNTupleInfo& nt = *np;
      o.num_entries = nt.entries;
      std::size_t text_bytes = 0;
      for (const std::uint32_t f : nt.top_fields)
        text_bytes += nt.fields[f].name.size() + nt.fields[f].type_name.size();
      o.columns.reserve(nt.top_fields.size(), text_bytes);
      for (const std::uint32_t f : nt.top_fields)
        o.columns.add(nt.fields[f].name, nt.fields[f].type_name);
      o.n_columns_total = static_cast<std::int64_t>(nt.fields.size());
    }
  }
  for (std::size_t i = 0; i < info.object_errors.size(); ++i) {
    const ObjectError& e = info.object_errors[i];
    ObjectMeta& o = m.objects[e.key_index];
    o.error_kind = e.kind;
    o.error_message = e.message;
  }
}

namespace {

// A RootFileInfo's keys as views (into its strings, which outlive the call).
void build_from_info(const RootFileInfo& info, bool clusters, FileMeta& m) {
  std::vector<KeyView> keys(info.keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const KeyInfo& k = info.keys[i];
    KeyView& v = keys[i];
    v.path = k.path;
    v.name = k.name;
    v.title = k.title;
    v.class_name = k.class_name;
    v.cycle = k.cycle;
    v.version = k.version;
    v.nbytes = k.nbytes;
    v.objlen = k.objlen;
    v.keylen = k.keylen;
    v.seek_key = k.seek_key;
    v.seek_pdir = k.seek_pdir;
    v.depth = k.depth;
  }
  build_file_meta(ModelParts{info.header, info.compression, info.bytes_read, keys, info.trees, info.rntuples,
                             info.object_errors},
                  clusters, m);
}

}  // namespace

FileMeta to_file_meta(const RootFileInfo& info, bool clusters) {
  FileMeta m;
  build_from_info(info, clusters, m);
  return m;
}

FileMeta to_file_meta(RootFileInfo&& info, bool clusters) {
  FileMeta m;
  build_from_info(info, clusters, m);
  return m;
}

void to_file_meta(RootFileInfo&& info, bool clusters, FileMeta& out) { build_from_info(info, clusters, out); }

}  // namespace mpiprep::extract::root
