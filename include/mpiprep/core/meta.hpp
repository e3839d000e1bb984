// The metadata model shared by every module: what an extractor returns for one file, what the
// cache stores and what the outputs render. Format-neutral: a ROOT TTree and an HDF5 dataset
// are both ObjectMeta, distinguished by `kind`.
#pragma once

#include <algorithm>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <iosfwd>
#include <iterator>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mpiprep/core/result.hpp"

namespace mpiprep {

enum class FileFormat : std::uint8_t { kUnknown = 0, kRoot, kHdf5, kNetcdf3, kParquet };

// Stable names ("unknown", "root", "hdf5", "netcdf3", "parquet"): part of the cache format.
std::string_view format_name(FileFormat f) noexcept;
FileFormat format_from_name(std::string_view name) noexcept;

// One column of a tree or ntuple: a branch (ROOT TTree), a field (RNTuple).
// `type` is a readable type: C++ scalar names for leaves ("int32_t", "float", "bool",
// "uint64_t", ...), with "[]" appended for variable-length leaves (TLeaf with fLeafCount),
// "[N]" for fixed arrays, the class name for TBranchElement/objects ("vector<float>"),
// and the RNTuple type name for fields ("std::int32_t").
// A column as stored in a Columns table: views into the table's text, valid while the table
// is neither modified nor destroyed.
struct ColumnView {
  std::string_view name;
  std::string_view type;
  bool operator==(const ColumnView&) const = default;
};

// An owning column, for building tables in tests and initializer lists
// (`{{"run", "uint32_t"}, {"Jet_pt", "float[]"}}`).
struct Column {
  std::string name;
  std::string type;
  bool operator==(const Column&) const = default;
  // NOLINTNEXTLINE(google-explicit-constructor): a Column is usable wherever a view is
  operator ColumnView() const noexcept { return {name, type}; }
};
inline bool operator==(const ColumnView& a, const Column& b) noexcept {
  return a.name == b.name && a.type == b.type;
}
// {"name", "type"}, for test failure messages.
std::ostream& operator<<(std::ostream& os, const ColumnView& c);
inline std::ostream& operator<<(std::ostream& os, const Column& c) {
  return os << static_cast<ColumnView>(c);
}

// memcpy without a call for the short strings column names and types mostly are (up to 32
// bytes: two overlapping loads and stores of 4, 8 or 16 bytes). Used by Columns and by the
// ROOT reader's type builder.
[[gnu::always_inline]] inline void copy_short_text(char* d, const char* s, std::size_t n) noexcept {
  if (n > 32) {
    std::memcpy(d, s, n);
  } else if (n >= 16) {
    char a[16];
    char b[16];
    std::memcpy(a, s, 16);
    std::memcpy(b, s + n - 16, 16);
    std::memcpy(d, a, 16);
    std::memcpy(d + n - 16, b, 16);
  } else if (n >= 8) {
    std::uint64_t a;
    std::uint64_t b;
    std::memcpy(&a, s, 8);
    std::memcpy(&b, s + n - 8, 8);
    std::memcpy(d, &a, 8);
    std::memcpy(d + n - 8, &b, 8);
  } else if (n >= 4) {
    std::uint32_t a;
    std::uint32_t b;
    std::memcpy(&a, s, 4);
    std::memcpy(&b, s + n - 4, 4);
    std::memcpy(d, &a, 4);
    std::memcpy(d + n - 4, &b, 4);
  } else if (n > 0) {
    d[0] = s[0];
    d[n / 2] = s[n / 2];
    d[n - 1] = s[n - 1];
  }
}

// The columns of one tree or ntuple, name/type pairs stored contiguously: all names and types
// in ONE text buffer (each followed by a NUL byte: "name\0type\0name\0type\0...") plus one
// offsets vector, so a 1,500-branch NanoAOD tree costs two allocations, not one per name
// longer than std::string's inline buffer. text() is exactly the bytes the cache's schema
// hash covers. Names may contain NUL bytes themselves: the offsets, not the separators,
// delimit them.
class Columns {
 public:
  class iterator {
   public:
    using iterator_concept = std::random_access_iterator_tag;
    using iterator_category = std::input_iterator_tag;  // yields values, not references
    using value_type = ColumnView;
    using reference = ColumnView;
    using difference_type = std::ptrdiff_t;
    struct pointer {  // for it->name
      ColumnView v;
      const ColumnView* operator->() const noexcept { return &v; }
    };

    iterator() = default;
    iterator(const Columns* c, std::size_t i) noexcept : c_(c), i_(i) {}
    ColumnView operator*() const noexcept { return (*c_)[i_]; }
    pointer operator->() const noexcept { return pointer{(*c_)[i_]}; }
    ColumnView operator[](difference_type d) const noexcept { return *(*this + d); }
    iterator& operator++() noexcept { ++i_; return *this; }
    iterator operator++(int) noexcept { iterator t = *this; ++i_; return t; }
    iterator& operator--() noexcept { --i_; return *this; }
    iterator operator--(int) noexcept { iterator t = *this; --i_; return t; }
    iterator& operator+=(difference_type d) noexcept {
      i_ = static_cast<std::size_t>(static_cast<difference_type>(i_) + d);
      return *this;
    }
    iterator& operator-=(difference_type d) noexcept { return *this += -d; }
    friend iterator operator+(iterator it, difference_type d) noexcept { return it += d; }
    friend iterator operator+(difference_type d, iterator it) noexcept { return it += d; }
    friend iterator operator-(iterator it, difference_type d) noexcept { return it -= d; }
    friend difference_type operator-(const iterator& a, const iterator& b) noexcept {
      return static_cast<difference_type>(a.i_) - static_cast<difference_type>(b.i_);
    }
    friend bool operator==(const iterator& a, const iterator& b) noexcept { return a.i_ == b.i_; }
    friend auto operator<=>(const iterator& a, const iterator& b) noexcept { return a.i_ <=> b.i_; }

   private:
    const Columns* c_ = nullptr;
    std::size_t i_ = 0;
  };
  using const_iterator = iterator;
  using value_type = ColumnView;
  using size_type = std::size_t;

  Columns() = default;
  Columns(std::initializer_list<Column> columns) {
    std::size_t bytes = 0;
    for (const Column& c : columns) bytes += c.name.size() + c.type.size();
    reserve(columns.size(), bytes);
    for (const Column& c : columns) add(c.name, c.type);
  }

  // Appends a column (copies both strings into the text buffer).
  void add(std::string_view name, std::string_view type) {
    const std::size_t start = text_.size();
    const std::size_t need = name.size() + type.size() + 2;
    if (need > kMaxText - start) too_long(start, need - 2);
    if (offsets_.empty()) offsets_.push_back(0);
    // One capacity check and two copies: no per-append checks and terminators of std::string.
    char* p = text_.grow(need);
    copy_short_text(p, name.data(), name.size());
    p[name.size()] = '\0';
    p += name.size() + 1;
    copy_short_text(p, type.data(), type.size());
    p[type.size()] = '\0';
    offsets_.push_back(static_cast<std::uint32_t>(start + name.size() + 1));
    offsets_.push_back(static_cast<std::uint32_t>(start + need));
  }
  // Appends a column whose type is written in place: write(char* dst) stores at most
  // `type_cap` bytes of type at dst and returns how many, or a value above type_cap to
  // append nothing (the caller then builds the type elsewhere and calls add()). Saves
  // building the type in a buffer of its own and copying it.
  template <typename Write>
  bool add_in_place(std::string_view name, std::size_t type_cap, Write&& write) {
    const std::size_t start = text_.size();
    const std::size_t room = name.size() + type_cap + 2;
    if (room > kMaxText - start) too_long(start, room - 2);
    char* p = text_.grow(room);
    copy_short_text(p, name.data(), name.size());
    p[name.size()] = '\0';
    const std::size_t n = write(p + name.size() + 1);
    if (n > type_cap) {
      text_.truncate(start);
      return false;
    }
    p[name.size() + 1 + n] = '\0';
    text_.truncate(start + name.size() + n + 2);
    if (offsets_.empty()) offsets_.push_back(0);
    offsets_.push_back(static_cast<std::uint32_t>(start + name.size() + 1));
    offsets_.push_back(static_cast<std::uint32_t>(start + name.size() + n + 2));
    return true;
  }
  // Room for `n` columns whose names and types total `text_bytes` (separators not counted).
  void reserve(std::size_t n, std::size_t text_bytes) {
    if (n == 0) return;  // an empty table allocates nothing
    text_.reserve(text_.size() + text_bytes + 2 * n);
    offsets_.reserve(offsets_.size() + 2 * n + (offsets_.empty() ? 1 : 0));
  }
  void clear() noexcept {
    text_.clear();
    offsets_.clear();
  }
  void shrink_to_fit() {
    text_.shrink_to_fit();
    offsets_.shrink_to_fit();
  }
  void swap(Columns& other) noexcept {
    text_.swap(other.text_);
    offsets_.swap(other.offsets_);
  }
  friend void swap(Columns& a, Columns& b) noexcept { a.swap(b); }

  [[nodiscard]] std::size_t size() const noexcept { return offsets_.size() / 2; }
  [[nodiscard]] bool empty() const noexcept { return offsets_.empty(); }
  [[nodiscard]] ColumnView operator[](std::size_t i) const noexcept {
    const std::uint32_t* o = offsets_.data() + 2 * i;
    return {std::string_view(text_.data() + o[0], o[1] - o[0] - 1),
            std::string_view(text_.data() + o[1], o[2] - o[1] - 1)};
  }
  // Bounds-checked: throws std::out_of_range.
  [[nodiscard]] ColumnView at(std::size_t i) const;
  [[nodiscard]] ColumnView front() const noexcept { return (*this)[0]; }
  [[nodiscard]] ColumnView back() const noexcept { return (*this)[size() - 1]; }
  [[nodiscard]] iterator begin() const noexcept { return {this, 0}; }
  [[nodiscard]] iterator end() const noexcept { return {this, size()}; }
  // "name\0type\0..." for every column in order.
  [[nodiscard]] std::string_view text() const noexcept { return text_.view(); }

  bool operator==(const Columns& o) const noexcept {
    return text_ == o.text_ && offsets_ == o.offsets_;
  }

 private:
  static constexpr std::size_t kMaxText = std::numeric_limits<std::uint32_t>::max();
  [[noreturn]] static void too_long(std::size_t have, std::size_t add);

  // A growable char buffer without std::string's terminator and zero-filling resize.
  class Text {
   public:
    Text() = default;
    Text(const Text& o) : size_(o.size_), cap_(o.size_) {
      if (size_ > 0) {
        data_.reset(new char[size_]);
        std::memcpy(data_.get(), o.data_.get(), size_);
      }
    }
    Text(Text&& o) noexcept
        : data_(std::move(o.data_)),
          size_(std::exchange(o.size_, 0)),
          cap_(std::exchange(o.cap_, 0)) {}
    Text& operator=(const Text& o) {
      if (this != &o) {
        if (cap_ < o.size_) {
          data_.reset(new char[o.size_]);
          cap_ = o.size_;
        }
        if (o.size_ > 0) std::memcpy(data_.get(), o.data_.get(), o.size_);
        size_ = o.size_;
      }
      return *this;
    }
    Text& operator=(Text&& o) noexcept {  // frees this buffer (a moved-from table owns nothing)
      data_ = std::move(o.data_);
      size_ = std::exchange(o.size_, 0);
      cap_ = std::exchange(o.cap_, 0);
      return *this;
    }
    ~Text() = default;

    [[nodiscard]] const char* data() const noexcept { return data_.get(); }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] std::string_view view() const noexcept { return {data_.get(), size_}; }
    // The next n bytes, uninitialized, now part of the text.
    char* grow(std::size_t n) {
      if (n > cap_ - size_) reallocate(std::max(size_ + n, 2 * cap_));
      char* p = data_.get() + size_;
      size_ += n;
      return p;
    }
    void reserve(std::size_t cap) {
      if (cap > cap_) reallocate(cap);
    }
    void shrink_to_fit() {
      if (cap_ > size_) reallocate(size_);
    }
    void clear() noexcept { size_ = 0; }
    void truncate(std::size_t n) noexcept { size_ = std::min(n, size_); }
    void swap(Text& o) noexcept {
      data_.swap(o.data_);
      std::swap(size_, o.size_);
      std::swap(cap_, o.cap_);
    }
    bool operator==(const Text& o) const noexcept { return view() == o.view(); }

   private:
    void reallocate(std::size_t cap) {
      std::unique_ptr<char[]> d(cap > 0 ? new char[cap] : nullptr);
      if (size_ > 0) std::memcpy(d.get(), data_.get(), size_);
      data_ = std::move(d);
      cap_ = cap;
    }
    std::unique_ptr<char[]> data_;
    std::size_t size_ = 0;
    std::size_t cap_ = 0;
  };

  Text text_;
  std::vector<std::uint32_t> offsets_;  // empty, or 2 * size() + 1: name i and type i start
};

struct Filter {
  int id = 0;            // HDF5 filter id (1 deflate, 2 shuffle, 32015 zstd, ...)
  std::string name;      // from the file's pipeline message, else the registered name, else ""
  std::vector<unsigned> params;  // client data values
  bool operator==(const Filter&) const = default;
};

struct ObjectMeta {
  std::string path;   // ROOT: "Events", "one/two/tree" (no leading slash); HDF5: "/grp/ds"
  std::string kind;   // "TTree", "RNTuple", "dataset", "group", or a ROOT class name ("TH1D")
  std::string title;  // ROOT key title; empty for HDF5
  int cycle = 0;      // ROOT key cycle; 0 for HDF5
  std::int64_t num_entries = -1;  // TTree/RNTuple entries, dataset first dimension; -1 n/a

  // Trees and ntuples: top-level columns, and the count including all sub-branches.
  Columns columns;
  std::int64_t n_columns_total = 0;
  // Common cluster boundaries (entry offsets, starting at 0 and ending at num_entries),
  // the intersection over branches of basket starts, as coffea's align_clusters uses them.
  std::vector<std::int64_t> clusters;

  // HDF5 datasets.
  std::vector<std::int64_t> shape, maxshape, chunks;  // maxshape: -1 = unlimited
  std::string dtype;   // numpy-style: "<f4", ">i4", "string(4,ascii)", "compound", ...
  std::string layout;  // "contiguous", "chunked", "compact", "virtual"
  std::vector<Filter> filters;
  std::vector<std::string> attributes;  // attribute names (datasets and groups)

  // An object the reader cannot decode (unknown streamer version) is listed with its error
  // instead of failing the file; kind None means fine.
  ErrorKind error_kind = ErrorKind::kNone;
  std::string error_message;
};

// Everything known about one file. status/error_* say whether extraction succeeded.
struct FileMeta {
  std::string path;          // absolute path
  std::int64_t size = 0;
  std::int64_t mtime_ns = 0;
  FileFormat format = FileFormat::kUnknown;
  std::string uuid;          // ROOT: file UUID, lowercase hyphenated; HDF5: stable content id
  std::string compression;   // ROOT: "zlib:1", "lz4:4", ...; empty for HDF5
  std::vector<ObjectMeta> objects;

  ErrorKind error_kind = ErrorKind::kNone;  // kNone = success
  std::string error_message;

  double extract_seconds = 0.0;
  std::uint64_t bytes_read = 0;
  int rank = -1;             // who extracted it (report only)

  [[nodiscard]] bool ok() const noexcept { return error_kind == ErrorKind::kNone; }
  // Object by path (ROOT paths may carry ";cycle": the highest cycle wins without one).
  [[nodiscard]] const ObjectMeta* find_object(std::string_view object_path) const;
  // First TTree (or RNTuple when there is no TTree) in file order, for entries without an
  // object_path.
  [[nodiscard]] const ObjectMeta* first_tree() const;
};

// Whether an object (by its path and kind) can matter when a fileset entry with this
// object_path (nullopt: none given) is resolved: the objects find_object() and first_tree()
// look at, and an HDF5 group's children. A FileMeta holding only these objects resolves to the
// same result as the full one; the warm path materializes only them from the cache.
[[nodiscard]] bool object_needed_for(std::optional<std::string_view> object_path,
                                     std::string_view path, std::string_view kind) noexcept;

}  // namespace mpiprep
