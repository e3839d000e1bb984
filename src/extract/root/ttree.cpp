// TTree / TBranch / TLeaf decoding. Layouts per class version follow ROOT's streamers
// (TBranch::Streamer for the pre-schema-evolution TBranch v6-v9, TTree v5 from ROOT 4
// StreamerInfo) and uproot's hand-written models (TTree v16-v20, TBranch v10-v13,
// TBranchElement v8-v10, TLeaf v2); any other version is walked from the file's
// StreamerInfo when it has one. Every object carries a byte count, so unknown trailing
// members are skipped and a parse that over- or under-runs a count is caught.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <optional>
#include <string>
#include <tuple>

#include "extract/root/cursor.hpp"
#include "extract/root/object_stream.hpp"
#include "extract/root/streamer.hpp"
#include "extract/root/streamer_info.hpp"

namespace mpiprep::extract::root {
namespace {

struct ObjectRef {
  std::uint32_t tag = 0;
  bool is_branch = false;
  std::uint32_t index = 0;
};

// Basic members met by a generic (StreamerInfo-driven) walk, by name.
struct Walked {
  std::vector<std::pair<std::string_view, std::int64_t>> ints;
  std::vector<std::pair<std::string_view, double>> reals;
  struct Array {
    std::string_view name;
    std::size_t pos = kNoEnd;  // kNoEnd: the flag said "no array"
    std::size_t count = 0;
    std::size_t size = 0;      // bytes per element
  };
  std::vector<Array> arrays;

  [[nodiscard]] std::optional<std::int64_t> get(std::string_view name) const {
    for (const auto& [n, v] : ints) {
      if (n == name) return v;
    }
    return std::nullopt;
  }
  [[nodiscard]] std::optional<double> real(std::string_view name) const {
    for (const auto& [n, v] : reals) {
      if (n == name) return v;
    }
    return std::nullopt;
  }
  [[nodiscard]] const Array* array(std::string_view name) const {
    for (const Array& a : arrays) {
      if (a.name == name) return &a;
    }
    return nullptr;
  }
};

// Copied rather than value-initialized: a copy of a known object compiles to a few vector
// moves, value-initialization to a `rep stos` with a high start-up cost (once per branch).
const BranchInfo kBlankBranch{};
const LeafInfo kBlankLeaf{};

class TreeParser : private ObjectStream {
 public:
  TreeParser(Cursor& c, std::uint32_t keylen, TreeInfo& t, const TreeParseOptions& opts)
      : ObjectStream(c, keylen),
        t_(t),
        infos_(opts.infos),
        force_(opts.force_streamer_info),
        fast_(opts.fast_paths),
        fast_count_(opts.fast_branches) {}

  // True when decoding stopped at a class version without a hand-written layout and no
  // StreamerInfo was given: worth retrying with the file's StreamerInfo.
  [[nodiscard]] bool wants_streamer_info() const { return wants_infos_; }

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
  [[gnu::always_inline]] void register_object(const ObjectTag& t, bool is_branch, std::uint32_t index) {
    const std::uint32_t key = map_key(t.start);
    if (n_objects_ != 0 && objects_[n_objects_ - 1].tag >= key) return;
    if (n_objects_ == objects_cap_) [[unlikely]] grow_objects(2 * n_objects_ + 64);
    objects_[n_objects_++] = {key, is_branch, index};
  }

  // objects_.size(), kept in a member: a 12-byte element makes size() a multiplication.
  [[gnu::noinline]] void grow_objects(std::size_t n) {
    objects_.resize(n);
    objects_cap_ = n;
  }

  // The last object found is kept aside: the leaves of a collection (NanoAOD's Jet_*) all
  // refer to the same counter leaf. (A reference is never 0, the empty cache's tag.)
  const ObjectRef* find_object(std::uint32_t ref) {
    if (found_.tag == ref) return &found_;
    const auto last = objects_.begin() + static_cast<std::ptrdiff_t>(n_objects_);
    auto it = std::lower_bound(objects_.begin(), last, ref,
                               [](const ObjectRef& o, std::uint32_t k) { return o.tag < k; });
    if (it == last || it->tag != ref) return nullptr;
    found_ = *it;
    return &found_;
  }

  // --- StreamerInfo-driven decoding ------------------------------------------------------

  // The layout for (cls, version) when the generic path should be taken: versions without a
  // hand-written layout, or every version when forced (tests compare both paths). nullptr
  // means "use the hand-written code" (known) or "fail" (unknown; the failure is recorded).
  // `class_buffer`: the version was written member by member as its StreamerInfo says (not
  // by a hand-written streamer, like TBranch before v10).
  const StreamerClass* generic_layout(std::string_view cls, const VersionHeader& h, bool known,
                                      bool class_buffer = true) {
    if (known && !force_) return nullptr;
    const StreamerClass* sc = infos_ != nullptr && class_buffer ? infos_->find(cls, h.version) : nullptr;
    if (sc == nullptr && !known) {
      if (infos_ == nullptr) wants_infos_ = true;
      unsupported(cls, h);
    }
    return sc;
  }

  void unsupported_member(const StreamerElement& e) {
    c_.fail(ErrorKind::kUnsupportedVersion, "member " + e.name + " (" + e.type_name + ", streamer type " +
                                                std::to_string(e.type) + ") cannot be decoded generically");
  }

  // Walks the elements of a class layout; `special` may take over an element (returns true),
  // everything else is read generically: basic values are kept by name, objects skipped.
  template <typename F>
  void walk(const StreamerClass& sc, Walked& w, F&& special) {
    stop_ = false;
    for (const StreamerElement& e : sc.elements) {
      if (!c_.ok() || stop_) break;
      if (special(e)) continue;
      generic_element(e, w);
    }
    stop_ = false;
  }

  void generic_element(const StreamerElement& e, Walked& w) {
    namespace st = streamer_type;
    const int t = e.type;
    const std::size_t n = static_cast<std::size_t>(std::max(e.array_length, 1));
    if (e.element_class == "TStreamerBase" || t == st::kBase) {
      if (e.name == "TObject") {
        tobject();
      } else if (e.name == "TNamed") {
        std::string_view a;
        std::string_view b;
        tnamed(a, b);
      } else {
        skip_versioned(e.name);
      }
      return;
    }
    if (t == st::kTObject) return tobject();
    if (t == st::kTNamed) {
      std::string_view a;
      std::string_view b;
      return tnamed(a, b);
    }
    if (t > 0 && t < st::kOffsetL) {
      const int size = basic_type_size(t);
      if (size == 0) return unsupported_member(e);
      if (n > 1) return c_.skip(n * static_cast<std::size_t>(size));
      if (t == 5) {
        w.reals.emplace_back(e.name, static_cast<double>(std::bit_cast<float>(c_.u32())));
      } else if (t == 8) {
        w.reals.emplace_back(e.name, c_.f64());
      } else {
        std::int64_t v = 0;
        switch (size) {
          case 1: v = (t == 1 || t == 10) ? static_cast<std::int8_t>(c_.u8()) : c_.u8(); break;
          case 2: v = t == 2 ? c_.i16() : c_.u16(); break;
          case 4: v = (t == 13 || t == 15) ? static_cast<std::int64_t>(c_.u32()) : c_.i32(); break;
          default: v = c_.i64(); break;
        }
        w.ints.emplace_back(e.name, v);
      }
      return;
    }
    if (t > st::kOffsetL && t < st::kOffsetL + 20) {
      const int size = basic_type_size(t - st::kOffsetL);
      if (size == 0) return unsupported_member(e);
      return c_.skip(n * static_cast<std::size_t>(size));
    }
    if (t > st::kOffsetP && t < st::kOffsetP + 20) {
      const int size = basic_type_size(t - st::kOffsetP);
      const auto count = w.get(e.count_name);
      if (size == 0 || !count.has_value()) return unsupported_member(e);
      Walked::Array a{e.name, kNoEnd, 0, static_cast<std::size_t>(size)};
      const std::uint8_t flag = c_.u8();
      if (c_.ok() && flag != 0 && *count > 0) {
        if (static_cast<std::uint64_t>(*count) > c_.remaining() / a.size) {
          return c_.fail_corrupt(e.name + " of " + std::to_string(*count) + " elements does not fit");
        }
        a.pos = c_.pos();
        a.count = static_cast<std::size_t>(*count);
        c_.skip(a.count * a.size);
      }
      w.arrays.push_back(a);
      return;
    }
    for (std::size_t i = 0; i < n && c_.ok(); ++i) {
      if (t == st::kTString) {
        (void)c_.tstring();
      } else if (t == st::kObject || t == st::kAny || t == st::kSTL || t == st::kStreamer ||
                 t == st::kStreamLoop) {
        if ((c_.peek_u32() & kByteCountMask) == 0) return unsupported_member(e);
        skip_versioned(e.type_name);
      } else if (t == st::kObjectp || t == st::kObjectP || t == st::kAnyp || t == st::kAnyP ||
                 t == st::kSTLp) {
        skip_object(object_tag());
      } else {
        return unsupported_member(e);
      }
    }
  }

  // A member of a basket-array pair, or "absent".
  static void array_of(const Walked& w, std::string_view name, std::size_t& pos, std::size_t& size) {
    if (const Walked::Array* a = w.array(name); a != nullptr && a->pos != kNoEnd) {
      pos = a->pos;
      size = a->size;
    }
  }

  std::int64_t count_member(const Walked& w, std::string_view name) {
    if (const auto v = w.get(name)) return *v;
    if (const auto d = w.real(name)) {
      if (std::isfinite(*d) && *d >= 0 && *d <= 9.0e15 && *d == std::floor(*d)) return static_cast<std::int64_t>(*d);
      c_.fail_corrupt(std::string(name) + " is not a count");
      return 0;
    }
    c_.fail(ErrorKind::kUnsupportedVersion, "StreamerInfo layout has no member " + std::string(name));
    return 0;
  }

  std::vector<std::int64_t> load_array(const Walked& w, std::string_view name) {
    std::vector<std::int64_t> out;
    const Walked::Array* a = w.array(name);
    if (a == nullptr || a->pos == kNoEnd) return out;
    out.reserve(a->count);
    for (std::size_t i = 0; i < a->count; ++i) out.push_back(load_be(c_.data().subspan(a->pos + i * a->size, a->size)));
    return out;
  }

  void generic_tree(const StreamerClass& sc, const VersionHeader& h) {
    Walked w;
    bool branches = false;
    walk(sc, w, [&](const StreamerElement& e) {
      if (e.element_class == "TStreamerBase" && e.name == "TNamed") {
        tnamed(t_.name, t_.title);
        return true;
      }
      if (e.name == "fBranches") {
        const auto [begin, count] = branch_array(0);
        t_.top.assign(t_.child_index.begin() + begin, t_.child_index.begin() + begin + count);
        branches = true;
        stop_ = true;  // nothing after fBranches is needed
        return true;
      }
      return false;
    });
    if (!c_.ok()) return;
    if (!branches) return c_.fail(ErrorKind::kUnsupportedVersion, "TTree StreamerInfo layout has no fBranches");
    t_.entries = count_member(w, "fEntries");
    t_.tot_bytes = count_member(w, "fTotBytes");
    t_.zip_bytes = count_member(w, "fZipBytes");
    if (const auto af = w.get("fAutoFlush")) t_.auto_flush = *af;
    if (w.get("fNClusterRange").has_value()) {
      t_.cluster_range_end = load_array(w, "fClusterRangeEnd");
      t_.cluster_size = load_array(w, "fClusterSize");
    }
    if (c_.ok() && t_.entries < 0) return c_.fail_corrupt("negative TTree fEntries");
    end_object(h);
    note_reachability();
  }

  // Every branch was attached to an array (top-level or a parent's), and attachment forms a
  // forest rooted in the top-level array: then all of them are reachable from `top`.
  void note_reachability() {
    t_.all_branches_reachable =
        c_.ok() && std::all_of(state_.begin(), state_.end(), [](BranchState s) { return s == kAttached; });
  }

  void generic_tbranch(const StreamerClass& sc, const VersionHeader& h, BranchInfo& b, int depth) {
    Walked w;
    walk(sc, w, [&](const StreamerElement& e) {
      if (e.element_class == "TStreamerBase" && e.name == "TNamed") {
        tnamed(b.name, b.title);
        return true;
      }
      if (e.name == "fBranches") {
        std::tie(b.child_begin, b.child_count) = branch_array(depth + 1);
        return true;
      }
      if (e.name == "fLeaves") {
        std::tie(b.leaf_begin, b.leaf_count) = leaf_array(depth);
        return true;
      }
      if (e.name == "fBaskets") {
        embedded_.clear();
        basket_array();
        return true;
      }
      return false;
    });
    if (!c_.ok()) return;
    b.compress = static_cast<std::int32_t>(w.get("fCompress").value_or(0));
    b.write_basket = static_cast<std::int32_t>(count_member(w, "fWriteBasket"));
    b.split_level = static_cast<std::int32_t>(w.get("fSplitLevel").value_or(0));
    b.entries = count_member(w, "fEntries");
    b.first_entry = w.get("fFirstEntry").value_or(0);
    b.tot_bytes = count_member(w, "fTotBytes");
    b.zip_bytes = count_member(w, "fZipBytes");
    const std::int64_t max_baskets = count_member(w, "fMaxBaskets");
    if (!c_.ok()) return;
    if (max_baskets < 0 || max_baskets > static_cast<std::int64_t>(c_.size())) {
      return c_.fail_corrupt("bad fMaxBaskets");
    }
    b.max_baskets = static_cast<std::uint32_t>(max_baskets);
    std::size_t entry_pos = kNoEnd;
    std::size_t entry_size = 8;
    std::size_t seek_pos = kNoEnd;
    std::size_t seek_size = 8;
    array_of(w, "fBasketEntry", entry_pos, entry_size);
    array_of(w, "fBasketSeek", seek_pos, seek_size);
    end_object(h);
    finish_baskets(b, entry_pos, entry_size, seek_pos, seek_size);
  }

  // TBranchElement and other TBranch subclasses: base, then their own members.
  void generic_branch_subclass(const StreamerClass& sc, BranchInfo& b, int depth) {
    Walked w;
    bool base = false;
    walk(sc, w, [&](const StreamerElement& e) {
      if (e.element_class == "TStreamerBase" && e.name == "TBranch") {
        tbranch(b, depth);
        base = true;
        return true;
      }
      if (e.type == streamer_type::kTString) {
        const std::string_view s = c_.tstring();
        if (e.name == "fClassName") b.element_class = s;
        if (e.name == "fParentName") b.parent_name = s;
        if (e.name == "fClonesName") b.clones_name = s;
        return true;
      }
      if (e.name == "fBranchCount" || e.name == "fBranchCount2") {
        branch_pointer(depth);
        return true;
      }
      return false;
    });
    if (!c_.ok()) return;
    if (!base) return c_.fail(ErrorKind::kUnsupportedVersion, std::string(b.class_name) + " layout has no TBranch base");
    b.element_id = static_cast<std::int32_t>(w.get("fID").value_or(kUnknownInt));
    b.element_type = static_cast<std::int32_t>(w.get("fType").value_or(kUnknownInt));
    b.streamer_type = static_cast<std::int32_t>(w.get("fStreamerType").value_or(kUnknownInt));
  }

  void generic_leaf_base(const StreamerClass& sc, LeafInfo& l, int depth) {
    Walked w;
    walk(sc, w, [&](const StreamerElement& e) {
      if (e.element_class == "TStreamerBase" && e.name == "TNamed") {
        tnamed(l.name, l.title);
        return true;
      }
      if (e.name == "fLeafCount") {
        leaf_count(l, depth);
        return true;
      }
      return false;
    });
    l.len = static_cast<std::int32_t>(w.get("fLen").value_or(0));
    l.len_type = static_cast<std::int32_t>(w.get("fLenType").value_or(0));
    l.is_range = w.get("fIsRange").value_or(0) != 0;
    l.is_unsigned = w.get("fIsUnsigned").value_or(0) != 0;
  }

  void generic_leaf(const StreamerClass& sc, LeafInfo& l, int depth) {
    Walked w;
    walk(sc, w, [&](const StreamerElement& e) {
      if (e.element_class == "TStreamerBase" && e.name == "TLeaf") {
        leaf_base(l, depth);
        return true;
      }
      return false;
    });
    if (l.class_name == "TLeafElement") {
      l.element_id = static_cast<std::int32_t>(w.get("fID").value_or(kUnknownInt));
      l.element_type = static_cast<std::int32_t>(w.get("fType").value_or(kUnknownInt));
    }
  }

  // --- TTree ---------------------------------------------------------------------------

  void tree_body() {
    const VersionHeader h = version_header("TTree");
    if (!c_.ok()) return;
    const int v = h.version;
    t_.version = h.version;
    const bool known = v == 5 || (v >= 16 && v <= 20);
    if (const StreamerClass* sc = generic_layout("TTree", h, known, v > 4)) return generic_tree(*sc, h);
    if (!c_.ok()) return;
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
    note_reachability();
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

  static bool is_branch_class(std::string_view cls) { return starts_with(cls, "TBranch"); }

  // cls.starts_with(prefix), without a call to memcmp (prefixes of 4 to 8 characters).
  template <std::size_t N>
  [[gnu::always_inline]] static bool starts_with(std::string_view cls, const char (&prefix)[N]) {
    static_assert(N - 1 >= 4 && N - 1 <= 8);
    if (cls.size() < N - 1) return false;
    std::uint32_t a;
    std::uint32_t b;
    std::uint32_t c;
    std::uint32_t d;
    std::memcpy(&a, cls.data(), 4);
    std::memcpy(&b, prefix, 4);
    std::memcpy(&c, cls.data() + (N - 5), 4);
    std::memcpy(&d, prefix + (N - 5), 4);
    return a == b && c == d;
  }

  // Decodes a TObjArray of branches; its elements' indices end up contiguous in
  // t_.child_index, appended after any nested arrays. Returns (begin, count) there.
  std::pair<std::uint32_t, std::uint32_t> branch_array(int depth) {
    if (depth > kMaxDepth) {
      c_.fail_corrupt("branches nested more than " + std::to_string(kMaxDepth) + " deep");
      return {0, 0};
    }
    VersionHeader h;
    const std::size_t n = obj_array_header(h);
    if (depth == 0 && c_.ok()) {
      // A first guess for the whole tree: the top-level count (NanoAOD: all of it), or for
      // split objects (a few top-level branches, many below) one branch per 512 bytes of
      // record (a branch with its leaf takes 300 to 600), at most 16,384 that way (a record
      // of big embedded baskets holds few branches).
      const std::size_t guess = std::max(n, std::min<std::size_t>(c_.size() / 512, 16384));
      t_.branches.reserve(guess);
      state_.reserve(guess);
      t_.leaves.reserve(guess);
      if (objects_cap_ < 2 * guess) grow_objects(2 * guess);
      t_.entry_offsets_pool.reserve(2 * guess);
    }
    // Elements collect on a shared stack (nested arrays push and pop above them), then move
    // to the pool as one contiguous slice: no allocation per array.
    const std::size_t base = stack_.size();
    for (std::size_t i = 0; i < n && c_.ok(); ++i) {
      // A TBranch by a class reference met before (NanoAOD: every branch but the first):
      // object_tag()'s checks, then straight to the fast path.
      if (tbranch_word_ != 0) {
        if (const std::byte* p = c_.peek(8)) {
          const std::uint32_t w = Cursor::be32(p);
          const std::size_t start = c_.pos();
          const std::size_t count = w & ~kByteCountMask;
          if (Cursor::be32(p + 4) == tbranch_word_ && (w & kByteCountMask) != 0 && w != kNewClassTag &&
              count >= 4 && count <= c_.size() - start - 4) [[likely]] {
            ObjectTag tag;
            tag.kind = ObjectTag::kNew;
            tag.cls = tbranch_cls_;
            tag.start = start;
            tag.end = start + 4 + count;
            c_.advance(8);
            const auto index = static_cast<std::uint32_t>(t_.branches.size());
            const std::uint32_t child = fast_branch(tag, false, depth) ? index : branch(tag, depth);
            state_[child] = kAttached;
            stack_.push_back(child);
            continue;
          }
        }
      }
      const ObjectTag tag = object_tag();
      if (!c_.ok()) break;
      if (tag.kind == ObjectTag::kRef) {
        // Only a finished branch that has no parent yet may be attached: the branches then
        // form a forest whatever the references say.
        if (const ObjectRef* o = find_object(tag.ref); o != nullptr && o->is_branch &&
                                                       state_[o->index] == kDone) {
          state_[o->index] = kAttached;
          stack_.push_back(o->index);
        }
        skip_object(tag);
      } else if (tag.kind == ObjectTag::kNew) {
        if (is_branch_class(tag.cls)) {
          // A TBranch named by a class reference: later ones with the same word take the
          // shortcut above (a reference always names the same class within a record).
          if (tbranch_word_ == 0 && fast_ && !force_ && tag.cls == "TBranch" && tag.end != kNoEnd) {
            const std::uint32_t word = Cursor::be32(c_.data().data() + tag.start + 4);
            if ((word & kClassMask) != 0 && word != kNewClassTag) {
              tbranch_word_ = word;
              tbranch_cls_ = tag.cls;
            }
          }
          const std::uint32_t child = branch(tag, depth);
          state_[child] = kAttached;
          stack_.push_back(child);
        } else {
          skip_object(tag);
        }
      }
    }
    end_object(h);
    return pop_slice(base, t_.child_index);
  }

  // Moves stack_[base..] to the end of `pool`; returns (begin, count) there.
  std::pair<std::uint32_t, std::uint32_t> pop_slice(std::size_t base, std::vector<std::uint32_t>& pool) {
    const auto begin = static_cast<std::uint32_t>(pool.size());
    const auto count = static_cast<std::uint32_t>(stack_.size() - base);
    if (count == 0) return {begin, 0};
    if (count == 1) {
      pool.push_back(stack_.back());
      stack_.pop_back();
      return {begin, 1};
    }
    pool.insert(pool.end(), stack_.begin() + static_cast<std::ptrdiff_t>(base), stack_.end());
    stack_.resize(base);
    return {begin, count};
  }

  // --- fast path: TBranch and TBranchElement -----------------------------------------------
  //
  // Most branches of real trees (all 1,507 of a NanoAOD file, every branch of a split object)
  // are a TBranch v10-v13, or a TBranchElement v8-v10 on such a base, without embedded
  // baskets, whose leaves are TLeafX or TLeafElement v1 objects. They are decoded here with
  // the position in a register and one bounds check per run of fixed-size fields, into
  // exactly what branch()/tbranch()/leaf() would produce. Anything else (another shape, a
  // short or inconsistent record) makes it give up without a trace: the caller then decodes
  // the same bytes with the general code, which also produces the error messages, so the fast
  // path never decides whether a file is valid. Tests compare both on every file.

  // The position-in-a-register reader of the fast path: every helper returns false instead of
  // recording an error.
  struct Lean {
    static constexpr std::size_t kMaxLean = std::size_t{1} << 30;  // record size limit
    const std::byte* d;
    std::size_t size;
    std::size_t p;

    [[gnu::always_inline]] bool has(std::size_t n) const { return n <= size - p; }
    // Version header with a byte count: sets `end` (one past the object) and `version`.
    // The checks of version_header() in one comparison: with the byte count flag set, x is
    // the count, which must be at least 2 and fit the record; without it x >= 2^30, more than
    // any record the fast path takes (kMaxLean).
    [[gnu::always_inline]] bool header(std::size_t& end, int& version) {
      return has(6) && header_at(end, version);
    }
    // header() when has(6) is known (one check for a run of fixed-size headers).
    [[gnu::always_inline]] bool header_at(std::size_t& end, int& version) {
      const std::size_t x = Cursor::be32(d + p) ^ kByteCountMask;
      if (x - 2 > size - p - 6) return false;
      const std::size_t count = x;
      const std::uint16_t v = Cursor::be16(d + p + 4);
      if ((v & kMemberWise) != 0) return false;
      end = p + 4 + count;
      version = static_cast<std::int16_t>(v);
      p += 6;
      return true;
    }
    [[gnu::always_inline]] bool close(std::size_t end) {
      if (p > end) return false;
      p = end;
      return true;
    }
    [[gnu::always_inline]] bool skip_versioned() {
      std::size_t end = 0;
      int v = 0;
      return header(end, v) && close(end);
    }
    [[gnu::always_inline]] bool tobject() { return has(10) && tobject_at(); }
    // tobject() when has(10) is known.
    [[gnu::always_inline]] bool tobject_at() {
      if ((Cursor::be16(d + p) & (kByteCountMask >> 16)) != 0) return false;
      const bool referenced = (Cursor::be32(d + p + 6) & kIsReferenced) != 0;
      p += 10;
      if (referenced) {
        if (!has(2)) return false;
        p += 2;
      }
      return true;
    }
    [[gnu::always_inline]] bool tstring(std::string_view& s) { return has(1) && tstring_at(s); }
    // tstring() when has(1) is known.
    [[gnu::always_inline]] bool tstring_at(std::string_view& s) {
      std::size_t n = static_cast<std::uint8_t>(d[p]);
      ++p;
      if (n == 255) {
        if (!has(4)) return false;
        const auto big = static_cast<std::int32_t>(Cursor::be32(d + p));
        if (big < 0) return false;
        n = static_cast<std::size_t>(big);
        p += 4;
      }
      if (!has(n)) return false;
      s = std::string_view(reinterpret_cast<const char*>(d + p), n);
      p += n;
      return true;
    }
    [[gnu::always_inline]] bool tnamed(std::string_view& name, std::string_view& title) {
      return has(kTNamedHead) && tnamed_at(name, title);
    }
    // tnamed() when has(kTNamedHead) is known: its header, TObject and the name's length
    // byte are there (the TObject's process id and the strings are checked as they come).
    static constexpr std::size_t kTNamedHead = 6 + 10 + 1;
    [[gnu::always_inline]] bool tnamed_at(std::string_view& name, std::string_view& title) {
      std::size_t end = 0;
      int v = 0;
      return header_at(end, v) && tobject_at() && tstring(name) && tstring(title) && close(end);
    }
    // TObjArray header: element count (checked as obj_array_header() checks it) and end.
    [[gnu::always_inline]] bool array(std::size_t& n, std::size_t& end) {
      int v = 0;
      // Header, TObject and the name's length byte of the usual v3 in one check (an older
      // version this short is left to the general decoder).
      if (!has(6 + 10 + 1) || !header_at(end, v)) return false;
      if (v > 2 && !tobject_at()) return false;
      std::string_view name;
      if (v > 1 && !tstring(name)) return false;
      if (!has(8)) return false;
      const auto count = static_cast<std::int32_t>(Cursor::be32(d + p));
      p += 8;
      if (count < 0 || static_cast<std::size_t>(count) > (size - p) / 4) return false;
      n = static_cast<std::size_t>(count);
      return true;
    }
  };

  // object_tag()'s fast path on the lean reader: a byte count, then a reference to a class
  // the cache holds (the same checks as object_tag(), which takes every other case).
  [[gnu::always_inline]] bool lean_class_tag(Lean& r, ObjectTag& t) const {
    if (!r.has(8)) return false;
    const std::uint32_t w = Cursor::be32(r.d + r.p);
    const std::uint32_t tag = Cursor::be32(r.d + r.p + 4);
    const std::size_t count = w & ~kByteCountMask;
    if ((w & kByteCountMask) == 0 || w == kNewClassTag || count < 4 || count > r.size - r.p - 4 ||
        (tag & kClassMask) == 0 || tag == kNewClassTag) {
      return false;
    }
    const ClassSlot& slot = class_cache_[class_slot(tag & ~kClassMask)];
    if (slot.ref != (tag & ~kClassMask)) return false;
    t.kind = ObjectTag::kNew;
    t.cls = slot.cls;
    t.start = r.p;
    t.end = r.p + 4 + count;
    r.p += 8;
    return true;
  }
  // A pointer member that is null (0) or a plain reference to an earlier object (no byte
  // count, no class bit), as object_tag() reads it: 0 for null, the reference, or
  // kNoClass when it is anything else (the caller falls back to object_tag()).
  [[gnu::always_inline]] static std::uint32_t lean_ref(Lean& r) {
    if (!r.has(4)) return kNoClass;
    const std::uint32_t w = Cursor::be32(r.d + r.p);
    if ((w & (kByteCountMask | kClassMask)) != 0) return kNoClass;
    r.p += 4;
    return w;
  }

  // Sizes of everything a branch decoding appends to, to undo it.
  struct Marks {
    std::size_t branches, state, objects, leaves, leaf_index, child_index, offsets;
  };
  // (`branches`: the index of the branch about to be appended; state_ grows with branches.)
  [[gnu::always_inline]] Marks marks(std::size_t branches) const {
    return {branches,           branches,                n_objects_,  t_.leaves.size(),
            t_.leaf_index.size(), t_.child_index.size(), t_.entry_offsets_pool.size()};
  }
  [[gnu::cold, gnu::noinline]] void rollback(const Marks& m) {
    t_.branches.resize(m.branches);
    state_.resize(m.state);
    n_objects_ = m.objects;
    t_.leaves.resize(m.leaves);
    t_.leaf_index.resize(m.leaf_index);
    t_.child_index.resize(m.child_index);
    t_.entry_offsets_pool.resize(m.offsets);
    found_ = {};
  }

  // Decodes a TBranch (element = false) or TBranchElement whose object tag has just been
  // read; false (nothing changed) when it is not one the fast path takes. Sub-branches are
  // decoded by branch_array(), from the same state as in the general decoder; a failure
  // there is the record's failure (the general decoder would fail at the same byte).
  bool fast_branch(const ObjectTag& tag, bool element, int depth) {
    if (depth + 1 > kMaxDepth || c_.size() >= Lean::kMaxLean) return false;
    const std::size_t start = c_.pos();
    const auto index = static_cast<std::uint32_t>(t_.branches.size());
    Lean r{c_.data().data(), c_.size(), start};
    std::size_t outer_end = 0;
    int outer_v = 0;
    if (element && (!r.header(outer_end, outer_v) || outer_v < 8 || outer_v > 10)) return false;
    std::size_t end = 0;
    int v = 0;
    // The TBranch header and its TNamed head: one bounds check.
    if (!r.has(6 + Lean::kTNamedHead) || !r.header_at(end, v) || v < 10 || v > 13) return false;
    const Marks m = marks(index);
    const auto undo = [&] {
      rollback(m);
      if (c_.ok()) c_.seek(start);
      return false;
    };
    // Built in place (a 200-byte struct copy per branch costs more than it seems: `rep
    // movs`); as in branch(), registered and in progress before anything below is decoded.
    BranchInfo* b = &t_.branches.emplace_back();
    state_.push_back(kInProgress);
    register_object(tag, true, index);
    b->class_name = tag.cls;
    b->version = static_cast<std::int16_t>(element ? outer_v : v);
    b->base_version = static_cast<std::int16_t>(v);
    if (!r.tnamed_at(b->name, b->title) || !r.skip_versioned()) return undo();
    // fCompress, fBasketSize, fEntryOffsetLen, fWriteBasket, fEntryNumber (i64)
    if (!r.has(24)) return undo();
    b->compress = static_cast<std::int32_t>(Cursor::be32(r.d + r.p));
    b->write_basket = static_cast<std::int32_t>(Cursor::be32(r.d + r.p + 12));
    r.p += 24;
    if (v >= 13 && !r.skip_versioned()) return undo();  // ROOT::TIOFeatures
    // fOffset, fMaxBaskets, fSplitLevel, fEntries, [fFirstEntry,] fTotBytes, fZipBytes
    const std::size_t fixed = v >= 11 ? 44 : 36;
    if (!r.has(fixed)) return undo();
    const std::byte* f = r.d + r.p;
    const std::uint32_t max_baskets = Cursor::be32(f + 4);
    b->split_level = static_cast<std::int32_t>(Cursor::be32(f + 8));
    b->entries = static_cast<std::int64_t>(Cursor::be64(f + 12));
    const std::size_t q = v >= 11 ? 28 : 20;
    if (v >= 11) b->first_entry = static_cast<std::int64_t>(Cursor::be64(f + 20));
    b->tot_bytes = static_cast<std::int64_t>(Cursor::be64(f + q));
    b->zip_bytes = static_cast<std::int64_t>(Cursor::be64(f + q + 8));
    r.p += fixed;
    if (b->entries < 0 || b->write_basket < 0 || max_baskets > (r.size - r.p) / 4) return undo();
    b->max_baskets = max_baskets;
    // fBranches: none, or sub-branches decoded as the general decoder does.
    std::size_t n = 0;
    std::size_t array_end = 0;
    const std::size_t branches_at = r.p;
    if (!r.array(n, array_end)) return undo();
    // Sizes of the leaf vectors from here on: the marks, unless sub-branches appended.
    std::size_t leaves_at = m.leaves;
    std::size_t leaf_index_at = m.leaf_index;
    if (n == 0) {
      if (!r.close(array_end)) return undo();
      b->child_begin = static_cast<std::uint32_t>(m.child_index);
    } else {
      c_.seek(branches_at);
      const auto [child_begin, child_count] = branch_array(depth + 1);
      b = &t_.branches[index];  // the sub-branches grew the vector
      if (!c_.ok()) return failed(index);
      b->child_begin = child_begin;
      b->child_count = child_count;
      r.p = c_.pos();
      leaves_at = t_.leaves.size();
      leaf_index_at = t_.leaf_index.size();
    }
    // fLeaves: leaves with a TLeaf v2 base, each a new object.
    if (!r.array(n, array_end)) return undo();
    b->leaf_begin = static_cast<std::uint32_t>(leaf_index_at);
    for (std::size_t i = 0; i < n; ++i) {
      ObjectTag lt;
      if (!lean_class_tag(r, lt)) {
        c_.seek(r.p);
        lt = object_tag();
        if (!c_.ok()) return undo();
        r.p = c_.pos();
      }
      if (lt.kind != ObjectTag::kNew || !is_leaf_class(lt.cls)) return undo();
      const bool leaf_element = lt.cls == "TLeafElement";
      const auto li = static_cast<std::uint32_t>(leaves_at + i);
      register_object(lt, false, li);
      LeafInfo& l = t_.leaves.emplace_back();  // in place, as the branch
      l.class_name = lt.cls;
      std::size_t leaf_end = 0;
      std::size_t base_end = 0;
      int lv = 0;
      int base_v = 0;
      // The leaf's header, its TLeaf base's and the TNamed head: one bounds check.
      if (!r.has(6 + 6 + Lean::kTNamedHead) || !r.header_at(leaf_end, lv) || (leaf_element && lv != 1) ||
          !r.header_at(base_end, base_v) || base_v != 2) {
        return undo();
      }
      l.version = static_cast<std::int16_t>(lv);
      if (!r.tnamed_at(l.name, l.title) || !r.has(18)) return undo();
      // fLen, fLenType, fOffset, fIsRange, fIsUnsigned, then fLeafCount
      l.len = static_cast<std::int32_t>(Cursor::be32(r.d + r.p));
      l.len_type = static_cast<std::int32_t>(Cursor::be32(r.d + r.p + 4));
      l.is_range = r.d[r.p + 12] != std::byte{0};
      l.is_unsigned = r.d[r.p + 13] != std::byte{0};
      r.p += 14;
      // fLeafCount: null or a reference to a leaf met before.
      const std::uint32_t count_ref = lean_ref(r);
      if (count_ref == kNoClass) return undo();  // has(18) covered the 4 bytes: not a ref
      if (count_ref != 0) {
        l.has_leaf_count = true;
        if (const ObjectRef* o = find_object(count_ref); o != nullptr && !o->is_branch) {
          if (o->index >= li) return undo();  // itself: leaf() sees a blank leaf
          l.leaf_count_name = t_.leaves[o->index].name;
        }
      }
      if (!r.close(base_end)) return undo();
      if (leaf_element) {  // TLeafElement v1: fID, fType
        if (!r.has(8)) return undo();
        l.element_id = static_cast<std::int32_t>(Cursor::be32(r.d + r.p));
        l.element_type = static_cast<std::int32_t>(Cursor::be32(r.d + r.p + 4));
        r.p += 8;
      }
      if (!r.close(leaf_end)) return undo();
      if (lt.end != kNoEnd) r.p = lt.end;  // skip_object(): no overrun check, as leaf()
      t_.leaf_index.push_back(li);
    }
    if (!r.close(array_end)) return undo();
    b->leaf_count = static_cast<std::uint32_t>(n);
    // fBaskets: no basket embedded, only empty slots (ROOT streams fMaxBaskets null pointers).
    if (!r.array(n, array_end) || !r.has(4 * n)) return undo();
    {
      std::uint64_t any = 0;
      std::size_t i = 0;
      for (; i + 2 <= n; i += 2) {
        std::uint64_t x;
        std::memcpy(&x, r.d + r.p + 4 * i, 8);
        any |= x;
      }
      if (i < n) any |= Cursor::be32(r.d + r.p + 4 * i);
      if (any != 0) return undo();
    }
    r.p += 4 * n;
    if (!r.close(array_end)) return undo();
    // fBasketBytes, fBasketEntry, fBasketSeek: each a flag byte then fMaxBaskets elements.
    // (max_baskets <= size / 4 and size < 2^30: the products do not overflow.)
    std::size_t pos[3] = {kNoEnd, kNoEnd, kNoEnd};
    const auto basic_array = [&](std::size_t& at, std::size_t bytes) {
      if (!r.has(1)) return false;
      const bool present = r.d[r.p] != std::byte{0};
      ++r.p;
      if (!present) return true;
      if (!r.has(bytes)) return false;
      at = r.p;
      r.p += bytes;
      return true;
    };
    if (!basic_array(pos[0], 4 * std::size_t{max_baskets}) || !basic_array(pos[1], 8 * std::size_t{max_baskets}) ||
        !basic_array(pos[2], 8 * std::size_t{max_baskets})) {
      return undo();
    }
    if (!r.close(end)) return undo();  // fFileName
    c_.seek(end);
    // finish_baskets() for 8-byte fBasketEntry/fBasketSeek and no embedded basket.
    std::uint32_t normal = 0;
    if (pos[2] != kNoEnd) {
      const auto write_basket = static_cast<std::uint32_t>(b->write_basket);
      while (normal < max_baskets && normal != write_basket && Cursor::be64(r.d + pos[2] + 8 * normal) != 0) {
        ++normal;
      }
    }
    if (normal > 0 && pos[1] == kNoEnd) {
      embedded_.clear();
      finish_baskets(*b, pos[1], 8, pos[2], 8);  // fails the record, in its words
      return failed(index);
    }
    b->normal_baskets = normal;
    // The boundaries (fBasketEntry of the normal baskets, then the next start), compared
    // with the pool's last slice before anything is appended: share_offsets()'s result
    // without the copy when they are equal (most branches).
    auto& pool = t_.entry_offsets_pool;
    const std::byte* entry = normal == 0 ? nullptr : r.d + pos[1];
    const std::int64_t last = normal == 0                ? 0
                              : normal < max_baskets     ? static_cast<std::int64_t>(Cursor::be64(entry + 8 * normal))
                                                         : b->entries;
    const std::uint32_t count = normal + 1;
    const auto have = static_cast<std::uint32_t>(pool.size());
    b->offset_count = count;
    bool same = have >= count;
    if (same) {
      const std::int64_t* before = pool.data() + (have - count);
      for (std::uint32_t i = 0; i < normal && same; ++i) {
        same = before[i] == static_cast<std::int64_t>(Cursor::be64(entry + 8 * i));
      }
      same = same && before[normal] == last;
    }
    if (same) {
      b->offset_begin = have - count;
    } else {
      b->offset_begin = have;
      for (std::uint32_t i = 0; i < normal; ++i) pool.push_back(static_cast<std::int64_t>(Cursor::be64(entry + 8 * i)));
      pool.push_back(last);
    }
    if (element) {
      // TBranchElement v8-v10: fClassName, fParentName, fClonesName, fCheckSum,
      // fClassVersion (i16 from v10), fID, fType, fStreamerType, fMaximum, then the
      // fBranchCount and fBranchCount2 pointers.
      if (!r.tstring(b->element_class) || !r.tstring(b->parent_name) || !r.tstring(b->clones_name)) return undo();
      const std::size_t ints = outer_v >= 10 ? 22 : 24;
      if (!r.has(ints)) return undo();
      const std::byte* e = r.d + r.p + (ints - 16);
      b->element_id = static_cast<std::int32_t>(Cursor::be32(e));
      b->element_type = static_cast<std::int32_t>(Cursor::be32(e + 4));
      b->streamer_type = static_cast<std::int32_t>(Cursor::be32(e + 8));
      r.p += ints;
      for (int k = 0; k < 2; ++k) {
        // null, or a reference (a branch met here first is left to branch_pointer()).
        if (!r.has(4)) return undo();
        if (lean_ref(r) != kNoClass) continue;
        c_.seek(r.p);
        const ObjectTag pt = object_tag();
        if (!c_.ok() || pt.kind == ObjectTag::kNew) return undo();
        skip_object(pt);
        if (!c_.ok()) return undo();
        r.p = c_.pos();
      }
      if (!r.close(outer_end)) return undo();
      c_.seek(outer_end);
    }
    skip_object(tag);
    state_[index] = kDone;
    if (fast_count_ != nullptr) ++*fast_count_;
    return true;
  }

  // The fast path met the record's failure (recorded in c_) where the general decoder meets
  // it too: what branch() leaves behind.
  bool failed(std::uint32_t index) {
    state_[index] = kDone;
    return true;
  }

  std::uint32_t branch(const ObjectTag& tag, int depth) {
    const auto index = static_cast<std::uint32_t>(t_.branches.size());
    if (fast_ && !force_) {
      if (tag.cls == "TBranch" && fast_branch(tag, false, depth)) return index;
      if (tag.cls == "TBranchElement" && fast_branch(tag, true, depth)) return index;
    }
    t_.branches.push_back(kBlankBranch);
    state_.push_back(kInProgress);
    register_object(tag, true, index);
    BranchInfo b = kBlankBranch;  // filled locally: recursion grows t_.branches
    b.class_name = tag.cls;
    if (tag.cls == "TBranch") {
      tbranch(b, depth);
      b.version = b.base_version;
    } else {
      const VersionHeader h = version_header(tag.cls);
      if (c_.ok()) {
        b.version = h.version;
        // Hand-written: TBranchElement v8-v10, TBranchObject v1; other versions and other
        // subclasses use the StreamerInfo when the file has it, else only their TBranch base
        // and (first member since ROOT 3) fClassName are read.
        const bool known = (tag.cls == "TBranchElement" && h.version >= 8 && h.version <= 10) ||
                           (tag.cls == "TBranchObject" && h.version == 1);
        const StreamerClass* sc = (!known || force_) && infos_ != nullptr ? infos_->find(tag.cls, h.version) : nullptr;
        if (sc != nullptr) {
          generic_branch_subclass(*sc, b, depth);
        } else {
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
          } else if (tag.cls == "TBranchObject") {
            b.element_class = c_.tstring();
          }
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
    const bool known = v >= 6 && v <= 13;
    if (const StreamerClass* sc = generic_layout("TBranch", h, known, v >= 10)) {
      return generic_tbranch(*sc, h, b, depth);
    }
    if (!c_.ok()) return;
    tnamed(b.name, b.title);
    if (v > 7) skip_versioned("TAttFill");
    std::uint32_t max_baskets = 0;
    if (v >= 10) {
      // fCompress, fBasketSize, fEntryOffsetLen, fWriteBasket, fEntryNumber (i64)
      if (const std::byte* p = c_.take(24)) {
        b.compress = static_cast<std::int32_t>(Cursor::be32(p));
        b.write_basket = static_cast<std::int32_t>(Cursor::be32(p + 12));
      }
      if (v >= 13) skip_versioned("ROOT::TIOFeatures");
      // fOffset, fMaxBaskets, fSplitLevel, fEntries, [fFirstEntry,] fTotBytes, fZipBytes
      if (const std::byte* p = c_.take(v >= 11 ? 44 : 36)) {
        max_baskets = Cursor::be32(p + 4);
        b.split_level = static_cast<std::int32_t>(Cursor::be32(p + 8));
        b.entries = static_cast<std::int64_t>(Cursor::be64(p + 12));
        std::size_t q = 20;
        if (v >= 11) {
          b.first_entry = static_cast<std::int64_t>(Cursor::be64(p + 20));
          q = 28;
        }
        b.tot_bytes = static_cast<std::int64_t>(Cursor::be64(p + q));
        b.zip_bytes = static_cast<std::int64_t>(Cursor::be64(p + q + 8));
      }
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
    finish_baskets(b, entry_pos, entry_size, seek_pos, seek_size);
  }

  // Entry offsets from fBasketEntry/fBasketSeek (positions in the record, or kNoEnd) and the
  // embedded baskets' entry counts in embedded_.
  void finish_baskets(BranchInfo& b, std::size_t entry_pos, std::size_t entry_size, std::size_t seek_pos,
                      std::size_t seek_size) {
    if (!c_.ok()) return;
    if (b.entries < 0 || b.write_basket < 0) return c_.fail_corrupt("negative TBranch counters");
    const std::size_t n = b.max_baskets;
    const auto data = c_.data();
    auto load = [&](std::size_t pos, std::size_t size, std::size_t i) -> std::int64_t {
      const std::byte* q = data.data() + pos + i * size;
      if (size == 8) return static_cast<std::int64_t>(Cursor::be64(q));  // TBranch v10+
      if (size == 4) return static_cast<std::int32_t>(Cursor::be32(q));
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
    share_offsets(b);
  }

  // Most branches of a tree have the same basket boundaries: when a branch's just appended
  // to the pool equal the slice before them, that slice is used and the copy dropped (the
  // pool is smaller and the model's intersection finds the same slice, not equal values).
  // Both decoders call it at the same point, so their pools stay identical.
  [[gnu::always_inline]] void share_offsets(BranchInfo& b) {
    auto& pool = t_.entry_offsets_pool;
    const std::uint32_t n = b.offset_count;
    const std::uint32_t begin = b.offset_begin;
    if (n == 0 || begin < n) return;
    const std::int64_t* mine = pool.data() + begin;
    const std::int64_t* before = mine - n;
    for (std::uint32_t i = 0; i < n; ++i) {
      if (mine[i] != before[i]) return;
    }
    pool.resize(begin);
    b.offset_begin = begin - n;
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

  static bool is_leaf_class(std::string_view cls) { return starts_with(cls, "TLeaf"); }

  std::pair<std::uint32_t, std::uint32_t> leaf_array(int depth) {
    VersionHeader h;
    const std::size_t n = obj_array_header(h);
    const std::size_t base = stack_.size();
    for (std::size_t i = 0; i < n && c_.ok(); ++i) {
      const ObjectTag tag = object_tag();
      if (!c_.ok()) break;
      if (tag.kind == ObjectTag::kNew && is_leaf_class(tag.cls)) {
        const std::uint32_t l = leaf(tag, depth);
        stack_.push_back(l);
      } else if (tag.kind == ObjectTag::kRef) {
        if (const ObjectRef* o = find_object(tag.ref); o != nullptr && !o->is_branch) {
          stack_.push_back(o->index);
        }
        skip_object(tag);
      } else {
        skip_object(tag);
      }
    }
    end_object(h);
    return pop_slice(base, t_.leaf_index);
  }

  std::uint32_t leaf(const ObjectTag& tag, int depth) {
    const auto index = static_cast<std::uint32_t>(t_.leaves.size());
    t_.leaves.push_back(kBlankLeaf);
    register_object(tag, false, index);
    LeafInfo l = kBlankLeaf;
    l.class_name = tag.cls;
    const VersionHeader h = version_header(tag.cls);
    if (c_.ok()) {
      l.version = h.version;
      // The concrete classes add fMinimum/fMaximum (skipped by byte count) or, for
      // TLeafElement v1, fID and fType.
      const bool known = tag.cls != "TLeafElement" || h.version == 1;
      const StreamerClass* sc = (!known || force_) && infos_ != nullptr ? infos_->find(tag.cls, h.version) : nullptr;
      if (sc != nullptr) {
        generic_leaf(*sc, l, depth);
      } else {
        leaf_base(l, depth);
        if (tag.cls == "TLeafElement") {
          l.element_id = c_.i32();
          l.element_type = c_.i32();
        }
      }
      end_object(h);
    }
    skip_object(tag);
    t_.leaves[index] = l;
    return index;
  }

  void leaf_base(LeafInfo& l, int depth) {
    const VersionHeader base = version_header("TLeaf");
    if (!c_.ok()) return;
    if (const StreamerClass* sc = generic_layout("TLeaf", base, base.version == 2, base.version > 1)) {
      generic_leaf_base(*sc, l, depth);
    } else if (c_.ok()) {
      tnamed(l.name, l.title);
      // fLen, fLenType, fOffset, fIsRange, fIsUnsigned
      if (const std::byte* p = c_.take(14)) {
        l.len = static_cast<std::int32_t>(Cursor::be32(p));
        l.len_type = static_cast<std::int32_t>(Cursor::be32(p + 4));
        l.is_range = p[12] != std::byte{0};
        l.is_unsigned = p[13] != std::byte{0};
      }
      leaf_count(l, depth);
    }
    end_object(base);
  }

  // fLeafCount: null, a reference to the counter leaf, or the counter leaf itself.
  void leaf_count(LeafInfo& l, int depth) {
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
  }

  TreeInfo& t_;
  const StreamerInfos* infos_;
  bool force_;
  bool fast_;
  std::size_t* fast_count_;
  bool wants_infos_ = false;
  bool stop_ = false;  // set by a walk's special handler to end the walk
  // Objects met so far (branches and leaves), keyed like the class tags; sorted by
  // construction.
  std::vector<ObjectRef> objects_;  // storage: the first n_objects_ are in use
  std::size_t objects_cap_ = 0;     // objects_.size()
  std::size_t n_objects_ = 0;
  ObjectRef found_;  // find_object()'s last hit; cleared when objects_ shrinks
  // The class tag word (kClassMask | reference) that named "TBranch" in this record, or 0.
  std::uint32_t tbranch_word_ = 0;
  std::string_view tbranch_cls_;
  std::vector<std::int32_t> embedded_;
  std::vector<std::uint32_t> stack_;  // elements of the arrays being decoded
  enum BranchState : std::uint8_t { kInProgress, kDone, kAttached };
  std::vector<BranchState> state_;  // per branch
};

}  // namespace

Status parse_tree(std::shared_ptr<const std::byte[]> buffer,
                  std::span<const std::byte> payload, std::uint32_t keylen,
                  std::string_view key_class, std::string_view what, TreeInfo& tree,
                  const TreeParseOptions& opts, bool* wants_streamer_info) {
  // Start from an empty model (a retry with the StreamerInfo reuses the object).
  TreeInfo fresh;
  fresh.key_index = tree.key_index;
  fresh.path = std::move(tree.path);
  fresh.cycle = tree.cycle;
  tree = std::move(fresh);
  tree.buffer = std::move(buffer);
  tree.record_bytes = payload.size();
  tree.record = payload;
  tree.class_name = std::string(key_class);
  Cursor c(payload, what);
  TreeParser parser(c, keylen, tree, opts);
  parser.parse(key_class);
  if (wants_streamer_info != nullptr) *wants_streamer_info = !c.ok() && parser.wants_streamer_info();
  if (!c.ok()) return c.error();
  return {};
}

}  // namespace mpiprep::extract::root
