// read_root_file(): header → top key list → (per directory level) subdirectory records, key
// lists and object records, each stage one batch of coalesced positional reads. Every offset
// and length from the file is checked against the file size and the option caps before it is
// used; ranges beyond the end of the file make the file "truncated".
#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <memory_resource>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <unordered_set>

#include "extract/root/cursor.hpp"
#include "extract/root/streamer.hpp"
#include "extract/root/streamer_info.hpp"
#include "extract/root/file_meta_builder.hpp"
#include "mpiprep/extract/root/reader.hpp"

namespace mpiprep::extract::root {
namespace {

constexpr std::size_t kHeadBytes = 512;
// Smallest possible key header: 4+2+4+4+2+2 + two 4-byte seeks + three empty TStrings.
constexpr std::size_t kMinKeyBytes = 29;
// A directory record: version, ctime, mtime, nbytes keys/name, 3 seeks (32- or 64-bit).
constexpr std::size_t kDirRecordBytes = 2 + 4 + 4 + 4 + 4 + 3 * 8;
constexpr std::size_t kSmallDirRecordBytes = 2 + 4 + 4 + 4 + 4 + 3 * 4;

// Bump allocation in a fixed buffer inside the reader, then in blocks from the heap: what lives
// only while one file is read. (std::pmr::monotonic_buffer_resource's out-of-line
// do_allocate cost ~37 instructions per call, a tenth of a small file's reader bookkeeping.)
class ScratchArena final : public std::pmr::memory_resource {
 public:
  ScratchArena(std::byte* buffer, std::size_t size) noexcept : next_(buffer), end_(buffer + size) {}
  ScratchArena(const ScratchArena&) = delete;
  ScratchArena& operator=(const ScratchArena&) = delete;
  ~ScratchArena() override = default;

 private:
  void* do_allocate(std::size_t bytes, std::size_t align) override {
    const auto next = reinterpret_cast<std::uintptr_t>(next_);
    const auto end = reinterpret_cast<std::uintptr_t>(end_);
    const auto at = (next + (align - 1)) & ~(std::uintptr_t{align} - 1);
    if (at <= end && bytes <= end - at) [[likely]] {
      next_ += (at - next) + bytes;
      return reinterpret_cast<void*>(at);
    }
    return grow(bytes, align);  // a tail call: the fast path saves no registers
  }
  [[gnu::noinline]] void* grow(std::size_t bytes, std::size_t align) {
    if (!overflow_) overflow_.emplace();
    return overflow_->allocate(bytes, align);
  }
  void do_deallocate(void*, std::size_t, std::size_t) override {}  // freed with the arena
  [[nodiscard]] bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override {
    return this == &other;
  }

  std::byte* next_;
  std::byte* end_;
  // Beyond the buffer (nested directories, RNTuple envelopes); created on first need.
  std::optional<std::pmr::monotonic_buffer_resource> overflow_;
};

// Owner of read or inflated bytes; allocated without zero-filling (every byte is then written
// by pread or by the decompressor, whose output size is checked).
using Buffer = std::shared_ptr<const std::byte[]>;

struct Range {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

// The bytes of one requested range, kept alive by the chunk that holds them (no owner: bytes
// in the reader's scratch memory, valid while the FileReader lives).
struct Slice {
  Buffer owner;
  std::span<const std::byte> bytes;
};

// Positional reads with coalescing and accounting.
class Reader {
 public:
  Reader(io::RandomAccessFile& file, const ReadOptions& opts, std::uint32_t& reads, std::uint64_t& bytes_read,
         std::pmr::memory_resource* scratch)
      : file_(file), opts_(opts), reads_(reads), bytes_read_(bytes_read), scratch_(scratch), size_(file.size()) {}

  [[nodiscard]] std::uint64_t size() const { return size_; }

  // True when check() would pass.
  [[nodiscard]] bool fits(std::int64_t offset, std::int64_t length) const {
    return offset >= 0 && length >= 0 && static_cast<std::uint64_t>(offset) <= size_ &&
           static_cast<std::uint64_t>(length) <= size_ - static_cast<std::uint64_t>(offset);
  }

  // Checks a range from the file (offset/length as read) against the file size.
  [[nodiscard]] Status check(std::int64_t offset, std::int64_t length, std::string_view what) const {
    if (offset < 0 || length < 0) {
      return make_error(ErrorKind::kCorrupt, std::string(what) + ": negative offset " +
                                                 std::to_string(offset) + " or length " +
                                                 std::to_string(length));
    }
    const auto off = static_cast<std::uint64_t>(offset);
    const auto len = static_cast<std::uint64_t>(length);
    if (off > size_ || len > size_ - off) {
      return make_error(ErrorKind::kTruncated,
                        std::string(what) + " spans bytes " + std::to_string(off) + ".." +
                            std::to_string(off + len) + " but the file has " + std::to_string(size_));
    }
    return {};
  }

  // Reads every range (already checked) into `out` with as few preads as the gap option
  // allows. `transient`: the bytes are only parsed, not kept (header, key lists, directory
  // records), so they go to the scratch memory instead of a shared buffer of their own.
  [[nodiscard]] Status read(std::span<const Range> ranges, std::pmr::vector<Slice>& out,
                            bool transient = false) {
    if (ranges.size() == 1) {  // the usual case: no ordering, one chunk for one range
      out.resize(1);
      return read_one(ranges[0], out[0], transient);
    }
    out.assign(ranges.size(), Slice{});
    if (ranges.empty()) return {};
    // One range (the header, a flat file's key list, a single tree): no order to sort.
    std::size_t single = 0;
    std::pmr::vector<std::size_t> many(scratch_);
    std::span<const std::size_t> order(&single, 1);
    if (ranges.size() > 1) {
      many.resize(ranges.size());
      for (std::size_t i = 0; i < many.size(); ++i) many[i] = i;
      std::sort(many.begin(), many.end(),
                [&](std::size_t a, std::size_t b) { return ranges[a].offset < ranges[b].offset; });
      order = many;
    }
    std::size_t i = 0;
    while (i < order.size()) {
      const std::uint64_t begin = ranges[order[i]].offset;
      std::uint64_t end = begin + ranges[order[i]].length;
      std::size_t j = i + 1;
      while (j < order.size() && ranges[order[j]].offset <= end + opts_.coalesce_gap) {
        end = std::max(end, ranges[order[j]].offset + ranges[order[j]].length);
        ++j;
      }
      const auto chunk_size = static_cast<std::size_t>(end - begin);
      Buffer chunk;
      std::span<std::byte> chunk_bytes;
      if (Status st = chunk_read(begin, chunk_size, transient, chunk, chunk_bytes); !st.ok()) return st;
      for (std::size_t k = i; k < j; ++k) {
        const Range& rg = ranges[order[k]];
        Slice& sl = out[order[k]];
        // The last range of the chunk takes its owner over (no reference count traffic).
        sl.owner = k + 1 < j ? chunk : std::move(chunk);
        sl.bytes = std::span<const std::byte>(chunk_bytes).subspan(static_cast<std::size_t>(rg.offset - begin),
                                                                   static_cast<std::size_t>(rg.length));
      }
      i = j;
    }
    return {};
  }

  // One range (already checked) as its own chunk.
  [[nodiscard]] Status read_one(const Range& range, Slice& out, bool transient = false) {
    std::span<std::byte> bytes;
    out.owner.reset();
    if (Status st = chunk_read(range.offset, static_cast<std::size_t>(range.length), transient, out.owner, bytes);
        !st.ok()) {
      return st;
    }
    out.bytes = bytes;
    return {};
  }

 private:
  // Reads `size` bytes at `begin` into a new chunk: scratch memory when `transient`, else a
  // shared buffer (`owner`).
  [[nodiscard]] Status chunk_read(std::uint64_t begin, std::size_t size, bool transient, Buffer& owner,
                                  std::span<std::byte>& bytes) {
    if (transient) {
      bytes = {static_cast<std::byte*>(scratch_->allocate(std::max<std::size_t>(size, 1), 8)), size};
    } else {
      auto buf = std::make_shared_for_overwrite<std::byte[]>(size);
      bytes = {buf.get(), size};
      owner = std::move(buf);
    }
    if (size == 0) return {};
    auto r = file_.pread(begin, bytes);
    ++reads_;
    if (!r.ok()) return r.error();
    bytes_read_ += *r;
    if (*r != size) [[unlikely]] {
      return make_error(ErrorKind::kTruncated, "short read at offset " + std::to_string(begin) + ": got " +
                                                   std::to_string(*r) + " of " + std::to_string(size) + " bytes");
    }
    return {};
  }

  io::RandomAccessFile& file_;
  const ReadOptions& opts_;
  std::uint32_t& reads_;
  std::uint64_t& bytes_read_;
  std::pmr::memory_resource* scratch_;
  std::uint64_t size_;
};

// A key header as found in key lists and at the start of every record, its strings viewed
// in place (the key list's own key and a record's copy of its key are only checked: no
// strings built for them).
struct KeyHeader {
  std::int32_t nbytes = 0;
  std::int16_t version = 0;
  std::int32_t objlen = 0;
  std::int16_t keylen = 0;
  std::int16_t cycle = 0;
  std::int64_t seek_key = 0;
  std::int64_t seek_pdir = 0;
  std::string_view class_name;
  std::string_view name;
  std::string_view title;
};

bool read_key(Cursor& c, KeyHeader& k) {
  // The fixed fields up to the seeks in one bounds check (18 bytes, then 8 or 16 more).
  const std::byte* p = c.take(18);
  if (p == nullptr) return false;
  k.nbytes = static_cast<std::int32_t>(Cursor::be32(p));
  k.version = static_cast<std::int16_t>(Cursor::be16(p + 4));
  k.objlen = static_cast<std::int32_t>(Cursor::be32(p + 6));
  // p + 10: fDatime
  k.keylen = static_cast<std::int16_t>(Cursor::be16(p + 14));
  k.cycle = static_cast<std::int16_t>(Cursor::be16(p + 16));
  if (k.version > 1000) {
    const std::byte* q = c.take(16);
    if (q == nullptr) return false;
    k.seek_key = static_cast<std::int64_t>(Cursor::be64(q));
    k.seek_pdir = static_cast<std::int64_t>(Cursor::be64(q + 8));
  } else {
    const std::byte* q = c.take(8);
    if (q == nullptr) return false;
    k.seek_key = static_cast<std::int32_t>(Cursor::be32(q));
    k.seek_pdir = static_cast<std::int32_t>(Cursor::be32(q + 4));
  }
  k.class_name = c.tstring();
  k.name = c.tstring();
  k.title = c.tstring();
  if (!c.ok()) return false;
  if (k.keylen <= 0 || k.nbytes < k.keylen || k.objlen < 0 || k.seek_key < 0) {
    c.fail_corrupt("key '" + std::string(k.name) + "' has inconsistent sizes (fNbytes " + std::to_string(k.nbytes) +
                   ", fKeylen " + std::to_string(k.keylen) + ", fObjlen " + std::to_string(k.objlen) +
                   ")");
    return false;
  }
  return true;
}

// A key of the file model (KeyInfo, owning strings) or of extract()'s path (KeyView, views).
template <class Key>
  requires std::is_same_v<Key, KeyInfo> || std::is_same_v<Key, KeyView>
bool read_key(Cursor& c, Key& k) {
  KeyHeader h;
  if (!read_key(c, h)) return false;
  k.nbytes = h.nbytes;
  k.version = h.version;
  k.objlen = h.objlen;
  k.keylen = h.keylen;
  k.cycle = h.cycle;
  k.seek_key = h.seek_key;
  k.seek_pdir = h.seek_pdir;
  k.class_name = h.class_name;
  k.name = h.name;
  k.title = h.title;
  return true;
}

struct DirRecord {
  std::int16_t version = 0;
  std::int32_t nbytes_keys = 0;
  std::int64_t seek_keys = 0;
};

DirRecord read_dir_record(Cursor& c) {
  DirRecord d;
  d.version = c.i16();
  c.skip(4 + 4);  // fDatimeC, fDatimeM
  d.nbytes_keys = c.i32();
  c.skip(4);  // fNbytesName
  if (d.version > 1000) {
    c.skip(16);  // fSeekDir, fSeekParent
    d.seek_keys = c.i64();
  } else {
    c.skip(8);
    d.seek_keys = c.i32();
  }
  return d;
}

bool is_tree_class(std::string_view cls) {
  using namespace std::string_view_literals;
  return cls == "TTree"sv || cls == "TNtuple"sv || cls == "TNtupleD"sv;
}

// Scratch memory for what only lives while the file is read (the reader's vectors, header,
// key lists and directory records; in extract()'s path also the model and the records):
// bump allocation, freed at once, so a small file's reading needs no heap beyond what it
// returns.
struct Scratch {
  alignas(std::max_align_t) std::array<std::byte, 8192> bytes;
  ScratchArena arena{bytes.data(), bytes.size()};
};

// The decoded model of extract()'s path: RootFileInfo's members in scratch memory (built
// into the FileMeta while the reader still holds the records that the trees view).
struct ScratchInfo {
  explicit ScratchInfo(std::pmr::memory_resource* r)
      : keys(r), directories(r), trees(r), rntuples(r), object_errors(r) {}
  FileHeader header;
  CompressionSetting compression;
  std::pmr::vector<KeyView> keys;
  std::pmr::vector<std::string> directories;  // (not filled: the FileMeta has no use for it)
  std::pmr::vector<TreeInfo> trees;
  std::pmr::vector<RNTupleInfo> rntuples;
  std::pmr::vector<ObjectError> object_errors;
  bool streamer_info_read = false;
  std::string streamer_info_error;
  std::uint64_t bytes_read = 0;
  std::uint32_t reads = 0;
};

// A vector of the model's kind: in scratch memory when the model's vectors are.
template <class V>
V vector_in(std::pmr::memory_resource* r) {
  if constexpr (std::is_same_v<typename V::allocator_type, std::pmr::polymorphic_allocator<typename V::value_type>>) {
    return V(r);
  } else {
    return V();
  }
}

template <class KeyVec>
struct Directory {
  std::string path;  // "" for the top directory
  int depth = 0;
  KeyVec keys;
  std::pmr::vector<int> child;  // per key: index of its subdirectory, or -1 (scratch memory)
};

// Info: RootFileInfo (read_root_file) or ScratchInfo (extract()).
template <class Info>
class FileReader {
  using KeyVec = decltype(Info::keys);
  static constexpr bool kInScratch = std::is_same_v<Info, ScratchInfo>;

 public:
  // Decodes into `info` (a default-constructed model), which outlives the reader, as does
  // `scratch`. In scratch (ScratchInfo), the object records are read and inflated there too.
  FileReader(io::RandomAccessFile& file, const ReadOptions& opts, Info& info, Scratch& scratch)
      : scratch_(scratch.arena), opts_(opts), info_(info), io_(file, opts, info_.reads, info_.bytes_read, &scratch_) {}

  Status run() {
    if (Status s = header(); !s.ok()) return s;
    if (Status s = directories(); !s.ok()) return s;
    flatten(0);
    return objects();
  }

 private:
  Status header() {
    const std::uint64_t n = std::min<std::uint64_t>(io_.size(), kHeadBytes);
    const Range head{0, n};
    Slice head_slice;
    if (Status s = io_.read_one(head, head_slice, true); !s.ok()) return s;
    const auto bytes = head_slice.bytes;
    if (bytes.size() < 4 || std::memcmp(bytes.data(), "root", 4) != 0) {
      return make_error(ErrorKind::kUnsupportedFormat, "not a ROOT file (no \"root\" magic)");
    }
    FileHeader& h = info_.header;
    // Every field in one bounds check: 12 bytes up to fBEGIN, then 51 (small) or 63 (big).
    std::size_t end_of_fields = 12;
    if (bytes.size() >= 12) {
      h.version = static_cast<std::int32_t>(Cursor::be32(bytes.data() + 4));
      h.begin = static_cast<std::int32_t>(Cursor::be32(bytes.data() + 8));
      h.big_file = h.version >= 1000000;
      end_of_fields += h.big_file ? 63 : 51;
    }
    if (bytes.size() < end_of_fields) {
      return make_error(ErrorKind::kTruncated, "file of " + std::to_string(io_.size()) +
                                                   " bytes ends inside the ROOT header");
    }
    const std::byte* p = bytes.data() + 12;
    const auto i32_at = [&p] {
      const auto v = static_cast<std::int32_t>(Cursor::be32(p));
      p += 4;
      return v;
    };
    const auto seek_at = [&p, &h]() -> std::int64_t {  // 64-bit in big files, else 32-bit
      if (h.big_file) {
        const auto v = static_cast<std::int64_t>(Cursor::be64(p));
        p += 8;
        return v;
      }
      const auto v = static_cast<std::int32_t>(Cursor::be32(p));
      p += 4;
      return v;
    };
    h.end = seek_at();
    h.seek_free = seek_at();
    h.nbytes_free = i32_at();
    h.nfree = i32_at();
    h.nbytes_name = i32_at();
    h.units = static_cast<std::uint8_t>(*p++);
    h.compress = i32_at();
    h.seek_info = seek_at();
    h.nbytes_info = i32_at();
    h.uuid_version = Cursor::be16(p);
    std::memcpy(h.uuid.data(), p + 2, h.uuid.size());
    info_.compression = CompressionSetting::from_fcompress(h.compress);
    if (h.end > static_cast<std::int64_t>(io_.size())) {
      return make_error(ErrorKind::kTruncated, "the header says the file ends at byte " +
                                                   std::to_string(h.end) + " (fEND) but it has " +
                                                   std::to_string(io_.size()));
    }
    if (h.begin < static_cast<std::int32_t>(end_of_fields) || h.nbytes_name <= 0 || h.end < h.begin) {
      return make_error(ErrorKind::kCorrupt, "inconsistent ROOT header (fBEGIN " + std::to_string(h.begin) +
                                                 ", fNbytesName " + std::to_string(h.nbytes_name) +
                                                 ", fEND " + std::to_string(h.end) + ")");
    }
    // Top directory record at fBEGIN + fNbytesName.
    const std::int64_t dir_at = static_cast<std::int64_t>(h.begin) + h.nbytes_name;
    const std::int64_t dir_len =
        std::min<std::int64_t>(kDirRecordBytes, static_cast<std::int64_t>(io_.size()) - dir_at);
    if (!io_.fits(dir_at, std::max<std::int64_t>(dir_len, 0))) {  // (the message only on failure)
      return io_.check(dir_at, std::max<std::int64_t>(dir_len, 0), "top directory record");
    }
    std::span<const std::byte> dir_bytes;
    if (static_cast<std::uint64_t>(dir_at + dir_len) <= bytes.size()) {
      dir_bytes = bytes.subspan(static_cast<std::size_t>(dir_at), static_cast<std::size_t>(dir_len));
    } else {
      const Range dir{static_cast<std::uint64_t>(dir_at), static_cast<std::uint64_t>(dir_len)};
      Slice dir_slice;
      if (Status s = io_.read_one(dir, dir_slice, true); !s.ok()) return s;
      dir_bytes = dir_slice.bytes;
    }
    Cursor dc(dir_bytes, "the top directory record", static_cast<std::uint64_t>(dir_at));
    const DirRecord d = read_dir_record(dc);
    if (!dc.ok()) {
      return make_error(ErrorKind::kTruncated, "file ends inside the top directory record");
    }
    h.dir_version = d.version;
    h.nbytes_keys = d.nbytes_keys;
    h.seek_keys = d.seek_keys;
    return {};
  }

  // Reads the key list of every directory, level by level; each level's subdirectory records
  // and key lists are batched into coalesced reads.
  Status directories() {
    // Room for a few directories up front: a flat file then grows none of these vectors.
    constexpr std::size_t kFew = 4;
    dirs_.reserve(kFew);
    dirs_.push_back(Directory<KeyVec>{{}, 0, vector_in<KeyVec>(&scratch_), std::pmr::vector<int>(&scratch_)});
    std::pmr::vector<std::pair<int, DirRecord>> pending(&scratch_);
    pending.reserve(kFew);
    pending.emplace_back(0, DirRecord{info_.header.dir_version, info_.header.nbytes_keys,
                                      info_.header.seek_keys});
    std::pmr::vector<Range> ranges(&scratch_);
    ranges.reserve(kFew);
    std::pmr::vector<std::pair<int, DirRecord>> listed(&scratch_);
    listed.reserve(kFew);
    std::pmr::vector<Slice> slices(&scratch_);
    slices.reserve(kFew);
    std::pmr::vector<std::pair<int, std::size_t>> subdirs(&scratch_);  // (directory, key index)
    while (!pending.empty()) {
      // Key lists of this level.
      ranges.clear();
      listed.clear();
      for (const auto& [di, rec] : pending) {
        if (rec.seek_keys == 0) continue;  // a directory without keys
        // The top directory's list is kept apart: a file without subdirectories (the usual
        // case) then allocates no hash set.
        const bool reused = di == 0 ? false
                                    : rec.seek_keys == info_.header.seek_keys ||
                                          !seen_key_lists().insert(rec.seek_keys).second;
        if (reused) {
          return make_error(ErrorKind::kCorrupt, "directory '" + dirs_[static_cast<std::size_t>(di)].path +
                                                     "' reuses the key list at offset " +
                                                     std::to_string(rec.seek_keys));
        }
        if (!io_.fits(rec.seek_keys, rec.nbytes_keys)) {  // (the message only on failure)
          return io_.check(rec.seek_keys, rec.nbytes_keys,
                           "key list of '" + dirs_[static_cast<std::size_t>(di)].path + "'");
        }
        ranges.push_back(Range{static_cast<std::uint64_t>(rec.seek_keys),
                               static_cast<std::uint64_t>(rec.nbytes_keys)});
        listed.emplace_back(di, rec);
      }
      if (Status s = io_.read(ranges, slices, true); !s.ok()) return s;
      subdirs.clear();
      for (std::size_t i = 0; i < listed.size(); ++i) {
        if (Status s = key_list(listed[i].first, listed[i].second, slices[i], subdirs); !s.ok()) {
          return s;
        }
      }
      // Subdirectory records of the next level.
      pending.clear();
      if (subdirs.empty()) break;
      ranges.clear();
      for (const auto& [di, ki] : subdirs) {
        const auto& k = dirs_[static_cast<std::size_t>(di)].keys[ki];
        ranges.push_back(Range{static_cast<std::uint64_t>(k.seek_key), static_cast<std::uint64_t>(k.nbytes)});
      }
      if (Status s = io_.read(ranges, slices, true); !s.ok()) return s;
      for (std::size_t i = 0; i < subdirs.size(); ++i) {
        const auto [di, ki] = subdirs[i];
        Directory<KeyVec>& parent = dirs_[static_cast<std::size_t>(di)];
        const auto& key = parent.keys[ki];  // not used once dirs_ grows below
        if (parent.depth + 1 > opts_.max_directory_depth) {
          return make_error(ErrorKind::kCorrupt, "directories nested more than " +
                                                     std::to_string(opts_.max_directory_depth) + " deep at '" +
                                                     std::string(key.path) + "'");
        }
        const auto bytes = slices[i].bytes.subspan(static_cast<std::size_t>(key.keylen));
        const std::string where = "directory record of '" + std::string(key.path) + "'";  // outlives c
        Cursor c(bytes, where, static_cast<std::uint64_t>(key.seek_key + key.keylen));
        const DirRecord rec = read_dir_record(c);
        if (!c.ok()) return c.error();
        Directory<KeyVec> sub{std::string(key.path), parent.depth + 1, vector_in<KeyVec>(&scratch_),
                              std::pmr::vector<int>(&scratch_)};
        const int index = static_cast<int>(dirs_.size());
        parent.child[ki] = index;
        dirs_.push_back(std::move(sub));
        pending.emplace_back(index, rec);
      }
    }
    return {};
  }

  Status key_list(int di, const DirRecord& rec, const Slice& slice,
                  std::pmr::vector<std::pair<int, std::size_t>>& subdirs) {
    // (The top directory's is a literal; a subdirectory's is built in the scratch arena.)
    const std::string& path = dirs_[static_cast<std::size_t>(di)].path;
    std::pmr::string where(&scratch_);
    if (!path.empty()) {
      where.reserve(path.size() + 14);
      where += "key list of '";
      where += path;
      where += '\'';
    }
    Cursor c(slice.bytes, path.empty() ? std::string_view("key list of '/'") : std::string_view(where),
             static_cast<std::uint64_t>(rec.seek_keys));
    KeyHeader self;
    if (!read_key(c, self)) return c.error();
    c.seek(static_cast<std::size_t>(self.keylen));
    const std::int32_t n = c.i32();
    if (!c.ok()) return c.error();
    if (n < 0 || static_cast<std::size_t>(n) > c.remaining() / kMinKeyBytes) {
      c.fail_corrupt(std::to_string(n) + " keys cannot fit");
      return c.error();
    }
    total_keys_ += static_cast<std::uint64_t>(n);
    if (total_keys_ > opts_.max_keys) {
      return make_error(ErrorKind::kCorrupt, "more than " + std::to_string(opts_.max_keys) + " keys");
    }
    Directory<KeyVec>& d = dirs_[static_cast<std::size_t>(di)];
    d.keys.reserve(static_cast<std::size_t>(n));
    d.child.reserve(static_cast<std::size_t>(n));
    for (std::int32_t i = 0; i < n; ++i) {
      // Built in place (no move of its four strings); on failure the file fails and dirs_
      // is discarded.
      auto& k = d.keys.emplace_back();
      if (!read_key(c, k)) return c.error();
      if (d.path.empty()) {
        k.path = k.name;
      } else if constexpr (kInScratch) {  // viewed in scratch memory
        const std::size_t len = d.path.size() + 1 + k.name.size();
        char* const buf = static_cast<char*>(scratch_.allocate(len, 1));
        std::memcpy(buf, d.path.data(), d.path.size());
        buf[d.path.size()] = '/';
        std::memcpy(buf + d.path.size() + 1, k.name.data(), k.name.size());
        k.path = std::string_view(buf, len);
      } else {
        k.path.reserve(d.path.size() + 1 + k.name.size());
        k.path += d.path;
        k.path += '/';
        k.path += k.name;
      }
      k.depth = d.depth;
      // (The message is only built when the check fails: this runs once per key.)
      if (!io_.fits(k.seek_key, k.nbytes)) {
        const Status s = io_.check(k.seek_key, k.nbytes, "record of key '" + std::string(k.path) + ";" + std::to_string(k.cycle) + "'");
        return make_error(ErrorKind::kCorrupt, s.error().message);
      }
      d.child.push_back(-1);
      if (k.is_directory()) {
        if (static_cast<std::size_t>(k.nbytes) < static_cast<std::size_t>(k.keylen) + kSmallDirRecordBytes) {
          return make_error(ErrorKind::kCorrupt, "directory key '" + std::string(k.path) + "' is too small");
        }
        subdirs.emplace_back(di, d.keys.size() - 1);
      }
    }
    return {};
  }

  // Depth-first: a directory's keys in list order, a subdirectory's keys right after its key.
  void flatten(int di) {
    // Iterative: directory depth is capped, but keep the stack flat anyway.
    // The keys are moved, not copied (dirs_ is not read afterwards); a file without
    // subdirectories hands its one list over whole.
    if (dirs_.size() == 1 && di == 0) {
      info_.keys = std::move(dirs_[0].keys);
      if constexpr (!kInScratch) {
        for (const auto& k : info_.keys) {
          if (k.is_directory()) info_.directories.push_back(k.path);  // none: each has a dirs_ entry
        }
      }
      return;
    }
    info_.keys.reserve(static_cast<std::size_t>(total_keys_));
    std::pmr::vector<std::pair<int, std::size_t>> stack(&scratch_);
    stack.emplace_back(di, 0);
    while (!stack.empty()) {
      auto& [d, i] = stack.back();
      Directory<KeyVec>& dir = dirs_[static_cast<std::size_t>(d)];
      if (i >= dir.keys.size()) {
        stack.pop_back();
        continue;
      }
      const std::size_t ki = i++;
      auto& k = info_.keys.emplace_back(std::move(dir.keys[ki]));
      if constexpr (!kInScratch) {
        if (k.is_directory()) info_.directories.push_back(k.path);
      }
      if (dir.child[ki] >= 0) stack.emplace_back(dir.child[ki], 0);
    }
  }

  // Record payload of key `k`: raw bytes of the whole record in `rec`.
  template <class Key>
  Result<Slice> payload(const Key& k, const Slice& rec, Decompressor& dec) {
    // Built only for a message (once per record otherwise).
    auto what = [&k] { return "record of '" + std::string(k.path) + ";" + std::to_string(k.cycle) + "'"; };
    Cursor c(rec.bytes, "its key header", static_cast<std::uint64_t>(k.seek_key));
    KeyHeader own;
    if (!read_key(c, own)) return make_error(c.error_kind(), what() + ": " + c.error_message());
    if (own.nbytes != k.nbytes || own.keylen != k.keylen || own.objlen != k.objlen) {
      return make_error(ErrorKind::kCorrupt, what() + " does not match its key (fNbytes " +
                                                 std::to_string(own.nbytes) + " vs " + std::to_string(k.nbytes) +
                                                 ")");
    }
    const auto body = rec.bytes.subspan(static_cast<std::size_t>(k.keylen));
    if (!k.compressed()) return Slice{rec.owner, body};
    if (static_cast<std::uint64_t>(k.objlen) > opts_.max_record_bytes) {
      return make_error(ErrorKind::kCorrupt, what() + " claims " + std::to_string(k.objlen) +
                                                 " uncompressed bytes, more than the " +
                                                 std::to_string(opts_.max_record_bytes) + " allowed");
    }
    const auto n = static_cast<std::size_t>(k.objlen);
    Buffer out;
    std::span<std::byte> bytes;
    if constexpr (kInScratch) {
      bytes = {static_cast<std::byte*>(scratch_.allocate(std::max<std::size_t>(n, 1), 8)), n};
    } else {
      auto buf = std::make_shared_for_overwrite<std::byte[]>(n);
      bytes = {buf.get(), n};
      out = std::move(buf);
    }
    if (Status s = dec.decompress(body, bytes, static_cast<std::uint64_t>(k.seek_key + k.keylen)); !s.ok()) {
      return make_error(s.error().kind, what() + ": " + s.error().message);
    }
    return Slice{std::move(out), bytes};
  }

  // A per-object problem (unsupported) is recorded; anything else fails the file.
  Status object_error(std::size_t key_index, const Error& e) {
    if (e.kind == ErrorKind::kUnsupportedVersion || e.kind == ErrorKind::kUnsupportedCompression) {
      info_.object_errors.push_back(ObjectError{key_index, e.kind, e.message});
      return {};
    }
    return e;
  }

  // The file's StreamerInfo (TList at fSeekInfo), read and decoded on first use; nullptr if
  // the file has none or it cannot be decoded (the reason is kept for messages).
  const StreamerInfos* streamer_infos(Decompressor& dec) {
    if (infos_loaded_) return infos_ ? &*infos_ : nullptr;
    infos_loaded_ = true;
    const FileHeader& h = info_.header;
    if (h.seek_info <= 0 || h.nbytes_info <= 0) {
      streamer_info_error_ = "the file has no StreamerInfo";
      return nullptr;
    }
    KeyInfo k;
    k.path = "StreamerInfo";
    k.seek_key = h.seek_info;
    k.nbytes = h.nbytes_info;
    auto fail = [&](const Error& e) -> const StreamerInfos* {
      streamer_info_error_ = e.message;
      info_.streamer_info_error = e.message;
      return nullptr;
    };
    if (Status s = io_.check(k.seek_key, k.nbytes, "StreamerInfo record"); !s.ok()) return fail(s.error());
    const Range range{static_cast<std::uint64_t>(k.seek_key), static_cast<std::uint64_t>(k.nbytes)};
    std::pmr::vector<Slice> rec(&scratch_);
    if (Status s = io_.read(std::span(&range, 1), rec); !s.ok()) return fail(s.error());
    Cursor c(rec[0].bytes, "StreamerInfo key", static_cast<std::uint64_t>(k.seek_key));
    if (!read_key(c, k)) return fail(c.error());
    if (k.nbytes != h.nbytes_info) return fail(make_error(ErrorKind::kCorrupt, "StreamerInfo key size mismatch"));
    auto body = payload(k, rec[0], dec);
    if (!body.ok()) return fail(body.error());
    auto infos = parse_streamer_infos(body->bytes, static_cast<std::uint32_t>(k.keylen));
    if (!infos.ok()) return fail(infos.error());
    infos_ = std::move(*infos);
    info_.streamer_info_read = true;
    return &*infos_;
  }

  Status objects() {
    std::pmr::vector<Range> ranges(&scratch_);
    std::pmr::vector<std::size_t> wanted(&scratch_);
    for (std::size_t i = 0; i < info_.keys.size(); ++i) {
      const auto& k = info_.keys[i];
      const bool tree = opts_.trees && is_tree_class(k.class_name);
      const std::string_view cls = k.class_name;
      const bool ntuple = opts_.rntuples && (cls == std::string_view("ROOT::RNTuple") ||
                                             cls == std::string_view("ROOT::Experimental::RNTuple"));
      if (!tree && !ntuple) continue;
      if (cls == std::string_view("ROOT::Experimental::RNTuple")) {
        info_.object_errors.push_back(ObjectError{
            i, ErrorKind::kUnsupportedVersion,
            "'" + std::string(k.path) + "' is a pre-release RNTuple (ROOT::Experimental::RNTuple), not format 1.x"});
        continue;
      }
      ranges.push_back(Range{static_cast<std::uint64_t>(k.seek_key), static_cast<std::uint64_t>(k.nbytes)});
      wanted.push_back(i);
    }
    if (wanted.empty()) return {};
    {
      std::size_t trees = 0;
      for (const std::size_t i : wanted) {
        if (is_tree_class(info_.keys[i].class_name)) ++trees;
      }
      info_.trees.reserve(trees);
      info_.rntuples.reserve(wanted.size() - trees);
    }
    std::pmr::vector<Slice> recs(&scratch_);
    if (Status s = io_.read(ranges, recs, kInScratch); !s.ok()) return s;
    Decompressor dec(opts_.zlib);
    std::pmr::vector<std::size_t> ntuples(&scratch_);
    for (std::size_t w = 0; w < wanted.size(); ++w) {
      const std::size_t ki = wanted[w];
      const auto& k = info_.keys[ki];
      auto body = payload(k, recs[w], dec);
      if (!body.ok()) {
        if (Status s = object_error(ki, body.error()); !s.ok()) return s;
        continue;
      }
      // "'path;cycle' (class)" for messages, in scratch memory with one size computation
      // and plain copies (no std::string appends).
      char cycle_digits[16];
      const auto cycle_end = std::to_chars(cycle_digits, cycle_digits + sizeof cycle_digits, k.cycle).ptr;
      const auto cycle_len = static_cast<std::size_t>(cycle_end - cycle_digits);
      const std::size_t what_len = k.path.size() + cycle_len + k.class_name.size() + 6;
      char* const what_buf = static_cast<char*>(scratch_.allocate(what_len, 1));
      {
        char* d = what_buf;
        *d++ = '\'';
        d = std::copy(k.path.begin(), k.path.end(), d);
        *d++ = ';';
        d = std::copy(cycle_digits, cycle_end, d);
        *d++ = '\'';
        *d++ = ' ';
        *d++ = '(';
        d = std::copy(k.class_name.begin(), k.class_name.end(), d);
        *d = ')';
      }
      const std::string_view what(what_buf, what_len);
      if (is_tree_class(k.class_name)) {
        // Decoded in place (no move of the model afterwards); removed again if it fails.
        TreeInfo& t = info_.trees.emplace_back();
        t.key_index = ki;
        if constexpr (!kInScratch) t.path = k.path;  // (the FileMeta takes the key's)
        t.cycle = k.cycle;
        TreeParseOptions topts;
        if (opts_.force_streamer_info) topts.infos = streamer_infos(dec);
        topts.force_streamer_info = opts_.force_streamer_info;
        topts.fast_paths = opts_.fast_paths;
        bool wants = false;
        const auto keylen = static_cast<std::uint32_t>(k.keylen);
        Status s = parse_tree(body->owner, body->bytes, keylen, k.class_name, what, t, topts, &wants);
        if (!s.ok() && wants && opts_.streamer_info_fallback) {
          if (const StreamerInfos* infos = streamer_infos(dec)) {
            topts.infos = infos;
            s = parse_tree(body->owner, body->bytes, keylen, k.class_name, what, t, topts, nullptr);
          } else {
            s = make_error(s.error().kind, s.error().message + "; the StreamerInfo could not be read either (" +
                                               streamer_info_error_ + ")");
          }
        }
        if (!s.ok()) {
          info_.trees.pop_back();
          if (Status e = object_error(ki, s.error()); !e.ok()) return e;
          continue;
        }
        t.used_streamer_info = topts.infos != nullptr;
      } else {
        RNTupleInfo& nt = info_.rntuples.emplace_back();
        nt.key_index = ki;
        nt.path = k.path;
        nt.cycle = k.cycle;
        Status s = parse_rntuple_anchor(body->bytes, what, nt);
        if (!s.ok()) {
          info_.rntuples.pop_back();
          if (Status e = object_error(ki, s.error()); !e.ok()) return e;
          continue;
        }
        ntuples.push_back(info_.rntuples.size() - 1);
      }
    }
    return envelopes(ntuples, dec);
  }

  Status envelopes(const std::pmr::vector<std::size_t>& ntuples, Decompressor& dec) {
    if (ntuples.empty()) return {};
    std::pmr::vector<Range> ranges(&scratch_);
    for (const std::size_t i : ntuples) {
      const RNTupleInfo& nt = info_.rntuples[i];
      for (const auto& [seek, nbytes, len, name] :
           {std::tuple{nt.seek_header, nt.nbytes_header, nt.len_header, "header"},
            std::tuple{nt.seek_footer, nt.nbytes_footer, nt.len_footer, "footer"}}) {
        // (The message is only built when a check fails.)
        const auto what = [&nt, name = name] { return "RNTuple '" + nt.path + "' " + name + " envelope"; };
        if (seek > io_.size() || nbytes > io_.size()) {
          return make_error(ErrorKind::kTruncated, what() + " lies beyond the end of the file");
        }
        if (!io_.fits(static_cast<std::int64_t>(seek), static_cast<std::int64_t>(nbytes))) {
          return io_.check(static_cast<std::int64_t>(seek), static_cast<std::int64_t>(nbytes), what());
        }
        if (len > opts_.max_record_bytes || len < 16 || nbytes > len) {
          return make_error(ErrorKind::kCorrupt, what() + " has an implausible size (" + std::to_string(nbytes) +
                                                     " bytes on disk, " + std::to_string(len) + " uncompressed)");
        }
        ranges.push_back(Range{seek, nbytes});
      }
    }
    std::pmr::vector<Slice> chunks(&scratch_);
    if (Status s = io_.read(ranges, chunks, true); !s.ok()) return s;
    std::pmr::vector<std::size_t> failed(&scratch_);
    for (std::size_t n = 0; n < ntuples.size(); ++n) {
      RNTupleInfo& nt = info_.rntuples[ntuples[n]];
      // An uncompressed envelope is parsed where it was read; a compressed one is inflated
      // into scratch memory (not zero-filled: the decompressor writes every byte or fails).
      std::span<const std::byte> env[2];
      const std::uint64_t lens[2] = {nt.len_header, nt.len_footer};
      const std::uint64_t seeks[2] = {nt.seek_header, nt.seek_footer};
      Status st;
      for (int e = 0; e < 2 && st.ok(); ++e) {
        const auto raw = chunks[2 * n + static_cast<std::size_t>(e)].bytes;
        if (raw.size() == lens[e]) {
          env[e] = raw;
        } else {
          const auto len = static_cast<std::size_t>(lens[e]);
          const std::span<std::byte> out(static_cast<std::byte*>(scratch_.allocate(len, 8)), len);
          st = dec.decompress(raw, out, seeks[e]);
          env[e] = out;
        }
      }
      if (st.ok()) st = parse_rntuple_envelopes(env[0], env[1], nt);
      if (!st.ok()) {
        const Error e = make_error(st.error().kind, "RNTuple '" + nt.path + "': " + st.error().message);
        if (Status s = object_error(nt.key_index, e); !s.ok()) return s;
        failed.push_back(ntuples[n]);
      }
    }
    // RNTuples whose envelopes could not be decoded are reported, not listed with zeros.
    for (auto it = failed.rbegin(); it != failed.rend(); ++it) {
      info_.rntuples.erase(info_.rntuples.begin() + static_cast<std::ptrdiff_t>(*it));
    }
    return {};
  }

  ScratchArena& scratch_;
  const ReadOptions& opts_;
  Info& info_;
  Reader io_;
  std::pmr::vector<Directory<KeyVec>> dirs_{&scratch_};
  // Key lists of subdirectories already listed; created on first need (a flat file has none).
  std::optional<std::pmr::unordered_set<std::int64_t>> seen_key_lists_;
  std::pmr::unordered_set<std::int64_t>& seen_key_lists() {
    if (!seen_key_lists_) seen_key_lists_.emplace(&scratch_);
    return *seen_key_lists_;
  }
  std::optional<StreamerInfos> infos_;
  bool infos_loaded_ = false;
  std::string streamer_info_error_;
  std::uint64_t total_keys_ = 0;
};

}  // namespace

Result<RootFileInfo> read_root_file(io::RandomAccessFile& file, const ReadOptions& opts) {
  RootFileInfo info;
  if (Status s = read_root_file(file, opts, info); !s.ok()) return s.error();
  return info;
}

Status read_root_file(io::RandomAccessFile& file, const ReadOptions& opts, RootFileInfo& info) {
  Scratch scratch;
  FileReader<RootFileInfo> reader(file, opts, info, scratch);
  return reader.run();
}

Status read_root_file_meta(io::RandomAccessFile& file, const ReadOptions& opts, bool clusters, FileMeta& meta) {
  // Destroyed in reverse: the reader, the model (its vectors' memory is the arena's), then
  // the scratch memory with the records the trees view.
  Scratch scratch;
  ScratchInfo info(&scratch.arena);
  FileReader<ScratchInfo> reader(file, opts, info, scratch);
  if (Status s = reader.run(); !s.ok()) return s;
  build_file_meta(ModelParts{info.header, info.compression, info.bytes_read, info.keys, info.trees, info.rntuples,
                             info.object_errors},
                  clusters, meta);
  return {};
}

}  // namespace mpiprep::extract::root
