// Cache::Impl: the loaded tables (columnar, read-only), the rows put during this run (an
// overlay of compact records whose columns live in the shared SchemaPool), and one index from
// path to either. Loading builds only the index, so a warm start costs one pass over the paths;
// the per-file object values stay in the file image until a lookup first needs them.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "mpiprep/cache/cache.hpp"
#include "tables.hpp"

namespace mpiprep::cache {

struct OverlayEntry {
  FileRec rec;
  bool touched = false;  // put during this run (wins over a concurrently committed row)
  bool live = true;
};

// Index slot: >= 0 is a row of `base`, < 0 is overlay entry ~slot.
using Slot = std::int64_t;

struct Cache::Impl {
  ExtractorVersionFn version_fn = nullptr;
  // Mutable for one reason: object_values/data is read into it on first use (ensure_values,
  // under values_mu); nothing else changes it in a const member function (the index is built
  // on first use too, under its own mutex).
  mutable Tables base;
  SchemaPool pool;
  std::deque<OverlayEntry> overlay;  // a deque: entries never move, the index views their paths
  // Path -> slot of every live row. Built on first use (index(), thread-safe): a warm run
  // whose survey is sorted (a directory walk) classifies by merging it against base's sorted
  // rows (base_sorted) and never needs it.
  using Index = std::unordered_map<std::string_view, Slot>;
  [[nodiscard]] const Index& index() const;
  Index& index_mut() {
    (void)index();
    return index_;
  }
  [[nodiscard]] bool index_built() const noexcept {
    return index_ready_.load(std::memory_order_acquire);
  }
  bool base_sorted = false;  // base.files.path strictly increasing
  std::unordered_set<std::string> erased;  // erased this run; re-applied when merging
  std::size_t put_count = 0;
  std::uint64_t generation = 0;
  std::uint64_t checksum = 0;
  bool from_file = false;  // base came from a file (generation/checksum identify it)
  std::int32_t file_version = kFormatVersion;  // format version of the file base came from

  // The sealed image of the file `base` was read from while its values are unread.
  std::shared_ptr<const std::vector<char>> image;
  std::uint64_t max_table_bytes = LoadOptions{}.max_table_bytes;
  mutable std::mutex values_mu;
  mutable std::atomic<bool> values_ready{true};
  mutable std::string values_error;  // why the values could not be read ("" if fine)

  // True when base's values are in memory (reading them now if needed). False when they
  // cannot be read: rows with objects are then unavailable (a miss, re-extracted) and not
  // carried into the next commit; a warning is logged once.
  bool ensure_values() const;
  // Whether base row `row` can be materialized (has no objects, or its values are readable).
  bool base_row_available(std::size_t row) const;

  [[nodiscard]] std::string_view path_of(Slot s) const;
  [[nodiscard]] RowInfo row_info(Slot s) const;
  [[nodiscard]] Verdict verdict(Slot s, std::int64_t size, std::int64_t mtime_ns,
                                std::uint64_t options_hash) const;
  [[nodiscard]] std::optional<FileMeta> materialize(Slot s) const;
  // The file's fields and only the objects `keep` accepts, without columns, filters and
  // attributes; straight from the tables (no FileRec in between). The values are read only
  // when an object is kept.
  [[nodiscard]] std::optional<FileMeta> materialize_brief(Slot s, Cache::ObjectFilter keep,
                                                          const void* ctx) const;
  // The same into `m`, reusing its storage; false if the values cannot be read.
  bool materialize_brief_into(Slot s, Cache::ObjectFilter keep, const void* ctx,
                              Cache::BriefMemo* memo, FileMeta& m) const;
  // Whether materialize_brief(s, keep, ctx) would succeed, without materializing.
  [[nodiscard]] bool brief_available(Slot s, Cache::ObjectFilter keep, const void* ctx,
                                     Cache::BriefMemo* memo) const;
  // Whether `keep` accepts any object of base row `row`'s object set (memoized per set).
  [[nodiscard]] bool base_set_wanted(std::size_t row, Cache::ObjectFilter keep, const void* ctx,
                                     Cache::BriefMemo* memo) const;
  // Record for a slot, schema ids in `pool`'s numbering (nullopt: values unreadable).
  [[nodiscard]] std::optional<FileRec> record(Slot s) const;

  // Replaces the content by tables just loaded or written (verified). `img` is the file image
  // when t's values are still unread.
  void adopt(Tables&& t, std::uint64_t gen, std::uint64_t sum,
             std::shared_ptr<const std::vector<char>> img = nullptr,
             std::int32_t version = kFormatVersion);
  // Drops the index; the next index() builds it from base and the live overlay entries.
  void rebuild_index();
  // Live rows (size()) without building the index when base alone holds them.
  [[nodiscard]] std::size_t live_rows() const;

 private:
  mutable Index index_;
  mutable std::mutex index_mu_;
  mutable std::atomic<bool> index_ready_{false};

 public:
  // Tables of every live row, sorted by path.
  [[nodiscard]] Tables build_tables() const;
  // Folds in a newer cache committed by someone else: its rows win except for rows put by
  // this run; rows only we have are kept; paths erased by this run are dropped. Returns the
  // number of rows taken from `newer`, which must be freshly loaded (no overlay).
  std::size_t merge_newer(Impl&& newer);
};

struct CacheAccess {
  static Cache::Impl& impl(Cache& c) { return *c.impl_; }
  static const Cache::Impl& impl(const Cache& c) { return *c.impl_; }
};

}  // namespace mpiprep::cache
