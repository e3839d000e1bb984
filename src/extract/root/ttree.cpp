// TTree / TBranch / TLeaf decoding. Layouts per class version follow ROOT's streamers
// (TBranch::Streamer for the pre-schema-evolution TBranch v6-v9, TTree v5 from ROOT 4
// StreamerInfo) and uproot's hand-written models (TTree v16-v20, TBranch v10-v13,
// TBranchElement v8-v10, TLeaf v2). Every object carries a byte count, so unknown trailing
// members are skipped and a parse that over- or under-runs a count is caught.
#include <algorithm>
#include <cmath>
#include <string>

#include "extract/root/cursor.hpp"
#include "extract/root/streamer.hpp"

namespace mpiprep::extract::root {
namespace {

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
std::int64_t load_be(std::span<const std::byte> b) {
  std::uint64_t v = 0;
  for (const std::byte x : b) v = (v << 8) | static_cast<std::uint64_t>(x);
  if (b.size() == 4) return static_cast<std::int32_t>(static_cast<std::uint32_t>(v));
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

struct ObjectRef {
  std::uint32_t tag = 0;
  bool is_branch = false;
  std::uint32_t index = 0;
};

class TreeParser {
 public:
  TreeParser(Cursor& c, std::uint32_t keylen, TreeInfo& t) : c_(c), keylen_(keylen), t_(t) {}

  void parse(std::string_view key_class) {
    if (key_class == "TNtuple" || key_class == "TNtupleD") {
      // TNtuple = its own version header, the TTree, then fNvar.
      const VersionHeader h = version_header(key_class);
      if (!c_.ok()) return;
      tree_body();
      end_object(h);
    } else {
      tree_body();
    }
  }

 private:
  // --- generic streaming pieces -------------------------------------------------------

  VersionHeader version_header(std::string_view cls) {
    VersionHeader h;
    const std::size_t start = c_.pos();
    h.start = start;
    const std::uint32_t w = c_.peek_u32();
    if ((w & kByteCountMask) != 0) {
      c_.skip(4);
      const std::size_t count = w & ~kByteCountMask;
      if (count < 2 || count > c_.size() - start - 4) {
        c_.fail_corrupt("byte count " + std::to_string(count) + " of " + std::string(cls) +
                        " does not fit the record");
        return h;
      }
      h.end = start + 4 + count;
    } else {
      c_.fail(ErrorKind::kUnsupportedVersion,
              std::string(cls) + " streamed without a byte count (pre-ROOT-3 format)");
      return h;
    }
    h.version = c_.i16();
    if ((static_cast<std::uint16_t>(h.version) & kMemberWise) != 0) {
      c_.fail(ErrorKind::kUnsupportedVersion, std::string(cls) + " streamed member-wise");
    }
    return h;
  }

  void end_object(const VersionHeader& h) {
    if (!c_.ok() || h.end == kNoEnd) return;
    if (c_.pos() > h.end) {
      c_.fail_corrupt("object overran its byte count (end " + std::to_string(h.end) + ")");
      return;
    }
    c_.seek(h.end);
  }

  void unsupported(std::string_view cls, const VersionHeader& h) {
    c_.fail(ErrorKind::kUnsupportedVersion, std::string(cls) + " class version " + std::to_string(h.version) +
                                                " is not supported (object at byte " + std::to_string(h.start) +
                                                " of the record)");
  }

  void tobject() {
    const auto version = c_.u16();
    if ((version & kByteCountMask >> 16) != 0) c_.skip(4);
    c_.skip(4);  // fUniqueID
    const std::uint32_t bits = c_.u32();
    if ((bits & kIsReferenced) != 0) c_.skip(2);  // process id
  }

  void tnamed(std::string_view& name, std::string_view& title) {
    const VersionHeader h = version_header("TNamed");
    if (!c_.ok()) return;
    tobject();
    name = c_.tstring();
    title = c_.tstring();
    end_object(h);
  }

  // TAttLine / TAttFill / TAttMarker: nothing we need, skipped by byte count.
  void skip_versioned(std::string_view cls) {
    const VersionHeader h = version_header(cls);
    end_object(h);
  }

  // An int64 counter that ROOT 4 stored as a double (Stat_t).
  std::int64_t double_count(std::string_view what) {
    const double d = c_.f64();
    if (!c_.ok()) return 0;
    if (!std::isfinite(d) || d < 0 || d > 9.0e15 || d != std::floor(d)) {
      c_.fail_corrupt(std::string(what) + " is not a count (" + std::to_string(d) + ")");
      return 0;
    }
    return static_cast<std::int64_t>(d);
  }

  std::uint32_t map_key(std::size_t pos) const {
    return static_cast<std::uint32_t>(pos + keylen_ + kMapOffset);
  }

  // TBufferFile::ReadObjectAny, as uproot's read_object_any: byte count, then a class tag
  // (new class name or reference to an earlier one) or an object reference.
  ObjectTag object_tag() {
    ObjectTag t;
    t.start = c_.pos();
    const std::uint32_t w = c_.u32();
    if (!c_.ok()) return t;
    std::uint32_t tag = w;
    std::size_t tag_pos = t.start;
    bool counted = false;
    if ((w & kByteCountMask) != 0 && w != kNewClassTag) {
      counted = true;
      const std::size_t count = w & ~kByteCountMask;
      if (count < 4 || count > c_.size() - t.start - 4) {
        c_.fail_corrupt("object byte count " + std::to_string(count) + " does not fit the record");
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
    if (!counted) {
      c_.fail(ErrorKind::kUnsupportedVersion, "object without a byte count (pre-ROOT-3 streaming)");
      return t;
    }
    if (tag == kNewClassTag) {
      t.cls = c_.cstring(kMaxClassName);
      if (!c_.ok()) return t;
      const std::uint32_t key = map_key(tag_pos);
      if (classes_.empty() || classes_.back().first < key) classes_.emplace_back(key, t.cls);
    } else {
      const std::uint32_t ref = tag & ~kClassMask;
      auto it = std::lower_bound(classes_.begin(), classes_.end(), ref,
                                 [](const auto& p, std::uint32_t k) { return p.first < k; });
      if (it == classes_.end() || it->first != ref) {
        c_.fail_corrupt("reference to an unknown class tag " + std::to_string(ref));
        return t;
      }
      t.cls = it->second;
    }
    t.kind = ObjectTag::kNew;
    return t;
  }

  void register_object(const ObjectTag& t, bool is_branch, std::uint32_t index) {
    const std::uint32_t key = map_key(t.start);
    if (objects_.empty() || objects_.back().tag < key) objects_.push_back({key, is_branch, index});
  }

  const ObjectRef* find_object(std::uint32_t ref) const {
    auto it = std::lower_bound(objects_.begin(), objects_.end(), ref,
                               [](const ObjectRef& o, std::uint32_t k) { return o.tag < k; });
    if (it == objects_.end() || it->tag != ref) return nullptr;
    return &*it;
  }

  // Moves past an object found by object_tag() (no-op for null and plain references).
  void skip_object(const ObjectTag& t) {
    if (c_.ok() && t.end != kNoEnd) c_.seek(t.end);
  }

  // Header of a TObjArray (or a TList-less collection): returns its element count.
  std::size_t obj_array_header(VersionHeader& h) {
    h = version_header("TObjArray");
    if (!c_.ok()) return 0;
    if (h.version > 2) tobject();
    if (h.version > 1) (void)c_.tstring();
    const std::int32_t n = c_.i32();
    (void)c_.i32();  // fLowerBound
    if (!c_.ok()) return 0;
    if (n < 0 || static_cast<std::size_t>(n) > c_.remaining() / 4) {
      c_.fail_corrupt("TObjArray of " + std::to_string(n) + " elements does not fit the record");
      return 0;
    }
    return static_cast<std::size_t>(n);
  }

  // --- TTree ---------------------------------------------------------------------------

  void tree_body() {
    const VersionHeader h = version_header("TTree");
    if (!c_.ok()) return;
    const int v = h.version;
    t_.version = h.version;
    if (v != 5 && (v < 16 || v > 20)) return unsupported("TTree", h);
    tnamed(t_.name, t_.title);
    skip_versioned("TAttLine");
    skip_versioned("TAttFill");
    skip_versioned("TAttMarker");
    if (v == 5) {
      // ROOT 4: Stat_t (double) counters, then 7 ints (fTimerInterval .. fEstimate).
      t_.entries = double_count("TTree fEntries");
      t_.tot_bytes = double_count("TTree fTotBytes");
      t_.zip_bytes = double_count("TTree fZipBytes");
      (void)c_.f64();  // fSavedBytes
      c_.skip(7 * 4);
    } else {
      t_.entries = c_.i64();
      t_.tot_bytes = c_.i64();
      t_.zip_bytes = c_.i64();
      (void)c_.i64();                // fSavedBytes
      if (v >= 18) (void)c_.i64();   // fFlushedBytes
      (void)c_.f64();                // fWeight
      c_.skip(3 * 4);                // fTimerInterval, fScanField, fUpdate
      if (v >= 17) c_.skip(4);       // fDefaultEntryOffsetLen
      std::uint32_t n_ranges = 0;
      if (v >= 19) n_ranges = c_.u32();
      c_.skip(4 * 8);                // fMaxEntries, fMaxEntryLoop, fMaxVirtualSize, fAutoSave
      if (v >= 18) t_.auto_flush = c_.i64();
      (void)c_.i64();                // fEstimate
      if (v >= 19) {
        t_.cluster_range_end = basic_array_i64(n_ranges, "fClusterRangeEnd");
        t_.cluster_size = basic_array_i64(n_ranges, "fClusterSize");
      }
      if (v >= 20) skip_versioned("ROOT::TIOFeatures");
    }
    if (!c_.ok()) return;
    if (t_.entries < 0) return c_.fail_corrupt("negative TTree fEntries");
    const auto [begin, count] = branch_array(0);
    if (!c_.ok()) return;
    t_.top.assign(t_.child_index.begin() + begin, t_.child_index.begin() + begin + count);
    end_object(h);  // fLeaves, fAliases, fIndex..., fUserInfo: not needed
  }

  // A TStreamerInfo "basic pointer" array: a flag byte, then n elements if the flag is set.
  std::vector<std::int64_t> basic_array_i64(std::uint32_t n, std::string_view what) {
    std::vector<std::int64_t> out;
    const std::uint8_t flag = c_.u8();
    if (!c_.ok() || flag == 0 || n == 0) return out;
    if (n > c_.remaining() / 8) {
      c_.fail_corrupt(std::string(what) + " of " + std::to_string(n) + " elements does not fit");
      return out;
    }
    out.resize(n);
    for (auto& x : out) x = c_.i64();
    return out;
  }

  // --- branches ------------------------------------------------------------------------

  static bool is_branch_class(std::string_view cls) { return cls.starts_with("TBranch"); }

  // Decodes a TObjArray of branches; its elements' indices end up contiguous in
  // t_.child_index, appended after any nested arrays. Returns (begin, count) there.
  std::pair<std::uint32_t, std::uint32_t> branch_array(int depth) {
    if (depth > kMaxDepth) {
      c_.fail_corrupt("branches nested more than " + std::to_string(kMaxDepth) + " deep");
      return {0, 0};
    }
    VersionHeader h;
    const std::size_t n = obj_array_header(h);
    std::vector<std::uint32_t> local;
    local.reserve(n);
    for (std::size_t i = 0; i < n && c_.ok(); ++i) {
      const ObjectTag tag = object_tag();
      if (!c_.ok()) break;
      if (tag.kind == ObjectTag::kRef) {
        // Only a finished branch that has no parent yet may be attached: the branches then
        // form a forest whatever the references say.
        if (const ObjectRef* o = find_object(tag.ref); o != nullptr && o->is_branch &&
                                                       state_[o->index] == kDone) {
          state_[o->index] = kAttached;
          local.push_back(o->index);
        }
        skip_object(tag);
      } else if (tag.kind == ObjectTag::kNew) {
        if (is_branch_class(tag.cls)) {
          const std::uint32_t child = branch(tag, depth);
          state_[child] = kAttached;
          local.push_back(child);
        } else {
          skip_object(tag);
        }
      }
    }
    end_object(h);
    const auto begin = static_cast<std::uint32_t>(t_.child_index.size());
    t_.child_index.insert(t_.child_index.end(), local.begin(), local.end());
    return {begin, static_cast<std::uint32_t>(local.size())};
  }

  std::uint32_t branch(const ObjectTag& tag, int depth) {
    const auto index = static_cast<std::uint32_t>(t_.branches.size());
    t_.branches.emplace_back();
    state_.push_back(kInProgress);
    register_object(tag, true, index);
    BranchInfo b;  // filled locally: recursion grows t_.branches
    b.class_name = tag.cls;
    if (tag.cls == "TBranch") {
      tbranch(b, depth);
      b.version = b.base_version;
    } else {
      const VersionHeader h = version_header(tag.cls);
      if (c_.ok()) {
        b.version = h.version;
        tbranch(b, depth);
        if (tag.cls == "TBranchElement") {
          b.element_class = c_.tstring();
          if (h.version >= 8 && h.version <= 10) {
            b.parent_name = c_.tstring();
            b.clones_name = c_.tstring();
            (void)c_.u32();  // fCheckSum
            if (h.version >= 10) {
              (void)c_.i16();  // fClassVersion
            } else {
              (void)c_.i32();
            }
            b.element_id = c_.i32();
            b.element_type = c_.i32();
            b.streamer_type = c_.i32();
            (void)c_.i32();  // fMaximum
            branch_pointer(depth);  // fBranchCount
            branch_pointer(depth);  // fBranchCount2
          }
          // Other versions: the TBranch base and fClassName (its first member since ROOT 3)
          // are all we rely on; the rest is skipped by byte count.
        } else if (tag.cls == "TBranchObject") {
          b.element_class = c_.tstring();
        }
        end_object(h);
      }
    }
    skip_object(tag);
    t_.branches[index] = b;
    state_[index] = kDone;
    return index;
  }

  // fBranchCount-like pointer: usually a reference; a branch met here first is decoded so
  // that later references to it resolve.
  void branch_pointer(int depth) {
    const ObjectTag tag = object_tag();
    if (!c_.ok()) return;
    if (tag.kind == ObjectTag::kNew && is_branch_class(tag.cls)) {
      (void)branch(tag, depth + 1);
    } else {
      skip_object(tag);
    }
  }

  void tbranch(BranchInfo& b, int depth) {
    const VersionHeader h = version_header("TBranch");
    if (!c_.ok()) return;
    const int v = h.version;
    b.base_version = h.version;
    if (v < 6 || v > 13) return unsupported("TBranch", h);
    tnamed(b.name, b.title);
    if (v > 7) skip_versioned("TAttFill");
    std::uint32_t max_baskets = 0;
    if (v >= 10) {
      b.compress = c_.i32();
      c_.skip(2 * 4);  // fBasketSize, fEntryOffsetLen
      b.write_basket = c_.i32();
      (void)c_.i64();  // fEntryNumber
      if (v >= 13) skip_versioned("ROOT::TIOFeatures");
      (void)c_.i32();  // fOffset
      max_baskets = c_.u32();
      b.split_level = c_.i32();
      b.entries = c_.i64();
      if (v >= 11) b.first_entry = c_.i64();
      b.tot_bytes = c_.i64();
      b.zip_bytes = c_.i64();
    } else {
      // TBranch::Streamer, "process old versions before automatic schema evolution".
      b.compress = c_.i32();
      c_.skip(2 * 4);
      b.write_basket = c_.i32();
      (void)c_.i32();  // fEntryNumber (Int_t)
      (void)c_.i32();  // fOffset
      max_baskets = static_cast<std::uint32_t>(c_.i32());
      if (v > 6) b.split_level = c_.i32();
      b.entries = double_count("TBranch fEntries");
      b.tot_bytes = double_count("TBranch fTotBytes");
      b.zip_bytes = double_count("TBranch fZipBytes");
    }
    if (!c_.ok()) return;
    if (b.entries < 0 || b.write_basket < 0) return c_.fail_corrupt("negative TBranch counters");
    if (max_baskets > c_.remaining() / 4) {
      return c_.fail_corrupt("fMaxBaskets " + std::to_string(max_baskets) + " does not fit the record");
    }
    b.max_baskets = max_baskets;
    std::tie(b.child_begin, b.child_count) = branch_array(depth + 1);
    std::tie(b.leaf_begin, b.leaf_count) = leaf_array(depth);
    embedded_.clear();
    basket_array();
    if (!c_.ok()) return;

    // fBasketBytes, fBasketEntry, fBasketSeek: each a flag byte then fMaxBaskets elements.
    const std::size_t n = max_baskets;
    const bool old = v < 10;
    std::size_t entry_pos = kNoEnd;
    std::size_t entry_size = old ? 4 : 8;
    std::size_t seek_pos = kNoEnd;
    std::size_t seek_size = 8;
    std::uint8_t flag = c_.u8();
    if (flag != 0 || old) c_.skip(4 * n);
    flag = c_.u8();
    if (flag != 0 || old) {
      entry_pos = c_.pos();
      c_.skip(entry_size * n);
    }
    flag = c_.u8();
    if (flag != 0 || old) {
      if (old && flag != 2) seek_size = 4;
      seek_pos = c_.pos();
      c_.skip(seek_size * n);
    }
    end_object(h);  // fFileName
    if (!c_.ok()) return;

    const auto data = c_.data();
    auto load = [&](std::size_t pos, std::size_t size, std::size_t i) -> std::int64_t {
      return load_be(data.subspan(pos + i * size, size));
    };
    // uproot's TBranch: baskets written as keys are the leading ones with a file position,
    // up to fWriteBasket (the open basket).
    std::uint32_t normal = 0;
    if (seek_pos != kNoEnd) {
      for (std::size_t i = 0; i < n; ++i) {
        if (static_cast<std::int64_t>(i) == b.write_basket || load(seek_pos, seek_size, i) == 0) break;
        ++normal;
      }
    }
    if (normal > 0 && entry_pos == kNoEnd) return c_.fail_corrupt("baskets without fBasketEntry");
    b.normal_baskets = normal;
    b.embedded_baskets = static_cast<std::uint32_t>(embedded_.size());
    auto& pool = t_.entry_offsets_pool;
    b.offset_begin = static_cast<std::uint32_t>(pool.size());
    if (normal == 0) {
      pool.push_back(0);
    } else {
      for (std::size_t i = 0; i <= normal; ++i) {
        pool.push_back(i < n ? load(entry_pos, entry_size, i) : b.entries);
      }
    }
    if (pool.back() != b.entries) {
      for (const std::int64_t nev : embedded_) pool.push_back(pool.back() + nev);
    }
    b.offset_count = static_cast<std::uint32_t>(pool.size() - b.offset_begin);
  }

  // fBaskets: baskets kept inside the TTree record (ROOT 3/4 files, unflushed trees). Only
  // their entry counts (fNevBuf) are needed.
  void basket_array() {
    VersionHeader h;
    const std::size_t n = obj_array_header(h);
    for (std::size_t i = 0; i < n && c_.ok(); ++i) {
      const ObjectTag tag = object_tag();
      if (!c_.ok()) break;
      if (tag.kind == ObjectTag::kNew && tag.cls == "TBasket") {
        // TBasket::Streamer: the TKey header, then fVersion, fBufferSize, fNevBufSize,
        // fNevBuf, fLast, flag.
        c_.skip(4);  // fNbytes
        const std::int16_t key_version = c_.i16();
        c_.skip(4 + 4 + 2 + 2);  // fObjlen, fDatime, fKeylen, fCycle
        c_.skip(key_version > 1000 ? 16 : 8);
        for (int s = 0; s < 3; ++s) (void)c_.tstring();
        c_.skip(2 + 4 + 4);  // fVersion, fBufferSize, fNevBufSize
        const std::int32_t nev = c_.i32();
        if (c_.ok() && nev < 0) return c_.fail_corrupt("negative TBasket fNevBuf");
        if (c_.ok() && c_.pos() > tag.end) return c_.fail_corrupt("TBasket overran its byte count");
        embedded_.push_back(nev);
      }
      skip_object(tag);
    }
    end_object(h);
  }

  // --- leaves --------------------------------------------------------------------------

  static bool is_leaf_class(std::string_view cls) { return cls.starts_with("TLeaf"); }

  std::pair<std::uint32_t, std::uint32_t> leaf_array(int depth) {
    VersionHeader h;
    const std::size_t n = obj_array_header(h);
    std::vector<std::uint32_t> local;
    local.reserve(n);
    for (std::size_t i = 0; i < n && c_.ok(); ++i) {
      const ObjectTag tag = object_tag();
      if (!c_.ok()) break;
      if (tag.kind == ObjectTag::kNew && is_leaf_class(tag.cls)) {
        local.push_back(leaf(tag, depth));
      } else if (tag.kind == ObjectTag::kRef) {
        if (const ObjectRef* o = find_object(tag.ref); o != nullptr && !o->is_branch) {
          local.push_back(o->index);
        }
        skip_object(tag);
      } else {
        skip_object(tag);
      }
    }
    end_object(h);
    const auto begin = static_cast<std::uint32_t>(t_.leaf_index.size());
    t_.leaf_index.insert(t_.leaf_index.end(), local.begin(), local.end());
    return {begin, static_cast<std::uint32_t>(local.size())};
  }

  std::uint32_t leaf(const ObjectTag& tag, int depth) {
    const auto index = static_cast<std::uint32_t>(t_.leaves.size());
    t_.leaves.emplace_back();
    register_object(tag, false, index);
    LeafInfo l;
    l.class_name = tag.cls;
    const VersionHeader h = version_header(tag.cls);
    if (c_.ok()) {
      l.version = h.version;
      const VersionHeader base = version_header("TLeaf");
      if (c_.ok() && base.version != 2) unsupported("TLeaf", base);
      if (c_.ok()) {
        tnamed(l.name, l.title);
        l.len = c_.i32();
        l.len_type = c_.i32();
        (void)c_.i32();  // fOffset
        l.is_range = c_.u8() != 0;
        l.is_unsigned = c_.u8() != 0;
        const ObjectTag count = object_tag();
        if (c_.ok() && count.kind == ObjectTag::kRef) {
          l.has_leaf_count = true;
          if (const ObjectRef* o = find_object(count.ref); o != nullptr && !o->is_branch) {
            l.leaf_count_name = t_.leaves[o->index].name;
          }
          skip_object(count);
        } else if (c_.ok() && count.kind == ObjectTag::kNew) {
          l.has_leaf_count = true;
          if (is_leaf_class(count.cls) && depth < kMaxDepth) {
            const std::uint32_t ci = leaf(count, depth + 1);
            l.leaf_count_name = t_.leaves[ci].name;
          } else {
            skip_object(count);
          }
        }
        end_object(base);
        if (tag.cls == "TLeafElement") {
          l.element_id = c_.i32();
          l.element_type = c_.i32();
        }
        end_object(h);  // fMinimum/fMaximum of the concrete leaf classes
      }
    }
    skip_object(tag);
    t_.leaves[index] = l;
    return index;
  }

  Cursor& c_;
  std::uint32_t keylen_;
  TreeInfo& t_;
  // Streamed-reference maps, keyed by offset from the key start + kMapOffset. Offsets only
  // grow while decoding, so sorted vectors with binary search do.
  std::vector<std::pair<std::uint32_t, std::string_view>> classes_;
  std::vector<ObjectRef> objects_;
  std::vector<std::int32_t> embedded_;
  enum BranchState : std::uint8_t { kInProgress, kDone, kAttached };
  std::vector<BranchState> state_;  // per branch
};

}  // namespace

Status parse_tree(std::shared_ptr<const std::vector<std::byte>> buffer,
                  std::span<const std::byte> payload, std::uint32_t keylen,
                  std::string_view key_class, std::string_view what, TreeInfo& tree) {
  tree.buffer = std::move(buffer);
  tree.record_bytes = payload.size();
  tree.class_name = std::string(key_class);
  Cursor c(payload, what);
  TreeParser parser(c, keylen, tree);
  parser.parse(key_class);
  if (!c.ok()) return c.error();
  return {};
}

}  // namespace mpiprep::extract::root
