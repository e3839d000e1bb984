#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "cache_file.hpp"
#include "cache_impl.hpp"
#include "mpiprep/extract/extractor.hpp"
#include "mpiprep/core/log.hpp"
#include "posix.hpp"

#ifndef MPIPREP_VERSION
#define MPIPREP_VERSION "0.0.0"
#endif

namespace mpiprep::cache {
namespace {

constexpr std::array<std::string_view, kNumVerdicts> kVerdictNames = {
    "hit",          "miss_new",     "miss_changed_size", "miss_changed_mtime",
    "miss_options", "miss_version", "miss_retry"};

constexpr std::array<std::string_view, 4> kLoadStatusNames = {"loaded", "missing", "corrupt",
                                                              "foreign"};

ExtractorVersionFn or_default(ExtractorVersionFn fn) {
  return fn != nullptr ? fn : &extract::extractor_version;
}

}  // namespace

std::string_view writer_version() noexcept { return "mpiprep " MPIPREP_VERSION; }

std::string_view verdict_name(Verdict v) noexcept {
  auto i = static_cast<std::size_t>(v);
  return i < kVerdictNames.size() ? kVerdictNames[i] : std::string_view("unknown");
}

std::string_view load_status_name(LoadStatus s) noexcept {
  auto i = static_cast<std::size_t>(s);
  return i < kLoadStatusNames.size() ? kLoadStatusNames[i] : std::string_view("unknown");
}

bool is_transient(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::kMissing:
    case ErrorKind::kPermission:
    case ErrorKind::kIo:
    case ErrorKind::kTimeout:
    case ErrorKind::kInternal:
      return true;
    case ErrorKind::kNone:
    case ErrorKind::kTruncated:
    case ErrorKind::kCorrupt:
    case ErrorKind::kUnsupportedFormat:
    case ErrorKind::kUnsupportedVersion:
    case ErrorKind::kUnsupportedCompression:
    case ErrorKind::kNotFound:
    case ErrorKind::kInconsistent:
      return false;
  }
  return true;  // a kind this build does not know: retry rather than trust
}

// ---- Impl ---------------------------------------------------------------------------------

bool Cache::Impl::ensure_values() const {
  if (values_ready.load(std::memory_order_acquire)) return true;
  std::lock_guard<std::mutex> lock(values_mu);
  if (values_ready.load(std::memory_order_relaxed)) return true;
  if (!values_error.empty() || !image) {
    if (values_error.empty()) values_error = "no file image to read them from";
    return false;
  }
  if (Status st = load_values(*image, max_table_bytes, base); !st.ok()) {
    values_error = st.error().message;
    log::warn("cache", fmt::format("the cache's object values cannot be read ({}): files with "
                                   "objects are extracted again",
                                   values_error));
    return false;
  }
  values_ready.store(true, std::memory_order_release);
  return true;
}

bool Cache::Impl::base_row_available(std::size_t row) const {
  return base.files.object_set[row] < 0 || ensure_values();
}

std::string_view Cache::Impl::path_of(Slot s) const {
  if (s >= 0) return base.files.path.at(static_cast<std::size_t>(s));
  return overlay[static_cast<std::size_t>(~s)].rec.meta.path;
}

RowInfo Cache::Impl::row_info(Slot s) const {
  RowInfo r;
  if (s >= 0) {
    const auto& fi = base.files;
    const auto i = static_cast<std::size_t>(s);
    r.size = fi.size[i];
    r.mtime_ns = fi.mtime_ns[i];
    r.format = static_cast<FileFormat>(fi.format[i]);
    r.error_kind = static_cast<ErrorKind>(fi.error_kind[i]);
    r.extract_seconds = fi.extract_seconds[i];
    r.bytes_read = fi.bytes_read[i];
    r.options_hash = fi.options_hash[i];
    r.extractor_version = fi.extractor_version[i];
    if (const auto set = fi.object_set[i]; set >= 0) {
      const auto& off = base.object_sets.object_offsets;
      r.n_objects = static_cast<std::size_t>(off[static_cast<std::size_t>(set) + 1] -
                                             off[static_cast<std::size_t>(set)]);
    }
  } else {
    const FileRec& rec = overlay[static_cast<std::size_t>(~s)].rec;
    r.size = rec.meta.size;
    r.mtime_ns = rec.meta.mtime_ns;
    r.format = rec.meta.format;
    r.error_kind = rec.meta.error_kind;
    r.extract_seconds = rec.meta.extract_seconds;
    r.bytes_read = rec.meta.bytes_read;
    r.options_hash = rec.options_hash;
    r.extractor_version = rec.extractor_version;
    r.n_objects = rec.objects.size();
  }
  return r;
}

Verdict Cache::Impl::verdict(Slot s, std::int64_t size, std::int64_t mtime_ns,
                             std::uint64_t options_hash) const {
  const RowInfo r = row_info(s);
  if (r.size != size) return Verdict::kMissChangedSize;
  if (r.mtime_ns != mtime_ns) return Verdict::kMissChangedMtime;
  if (r.options_hash != options_hash) return Verdict::kMissOptions;
  if (r.extractor_version != version_fn(r.format)) return Verdict::kMissVersion;
  if (r.error_kind != ErrorKind::kNone && is_transient(r.error_kind)) return Verdict::kMissRetry;
  return Verdict::kHit;
}

std::optional<FileRec> Cache::Impl::record(Slot s) const {
  if (s >= 0) {
    const auto row = static_cast<std::size_t>(s);
    if (!base_row_available(row)) return std::nullopt;
    return row_to_rec(base, row);
  }
  return overlay[static_cast<std::size_t>(~s)].rec;
}

std::optional<FileMeta> Cache::Impl::materialize(Slot s) const {
  if (s >= 0) {
    auto rec = record(s);
    if (!rec) return std::nullopt;
    return rec_to_meta(*rec, pool);
  }
  return rec_to_meta(overlay[static_cast<std::size_t>(~s)].rec, pool);
}

std::optional<FileMeta> Cache::Impl::materialize_brief(Slot s, Cache::ObjectFilter keep,
                                                       const void* ctx) const {
  FileMeta m;
  if (!materialize_brief_into(s, keep, ctx, nullptr, m)) return std::nullopt;
  return m;
}

bool Cache::Impl::base_set_wanted(std::size_t row, Cache::ObjectFilter keep, const void* ctx,
                                  Cache::BriefMemo* memo) const {
  const auto set = base.files.object_set[row];
  if (set < 0) return false;
  const auto ss = static_cast<std::size_t>(set);
  if (memo != nullptr) {
    if (memo->wanted.size() != base.object_sets.rows())
      memo->wanted.assign(base.object_sets.rows(), -1);
    if (memo->wanted[ss] >= 0) return memo->wanted[ss] != 0;
  }
  const auto& ob = base.objects;
  const auto lo = base.object_sets.object_offsets[ss];
  const auto hi = base.object_sets.object_offsets[ss + 1];
  bool any = false;
  for (auto j = lo; j < hi && !any; ++j) any = keep(ctx, ob.path.at(j), ob.kind.at(j));
  if (memo != nullptr) memo->wanted[ss] = any ? 1 : 0;
  return any;
}

bool Cache::Impl::brief_available(Slot s, Cache::ObjectFilter keep, const void* ctx,
                                  Cache::BriefMemo* memo) const {
  if (s < 0) return true;
  return !base_set_wanted(static_cast<std::size_t>(s), keep, ctx, memo) || ensure_values();
}

bool Cache::Impl::materialize_brief_into(Slot s, Cache::ObjectFilter keep, const void* ctx,
                                         Cache::BriefMemo* memo, FileMeta& m) const {
  m.objects.clear();
  if (s < 0) {  // a row put this run: its objects hold no columns (those live in the pool)
    const FileRec& rec = overlay[static_cast<std::size_t>(~s)].rec;
    m = rec.meta;
    m.objects.clear();
    for (const auto& o : rec.objects) {
      if (!keep(ctx, o.meta.path, o.meta.kind)) continue;
      ObjectMeta& om = m.objects.emplace_back(o.meta);
      om.filters.clear();
      om.attributes.clear();
    }
    return true;
  }
  const auto row = static_cast<std::size_t>(s);
  read_file_fields(base, row, m);
  // The structure decides which objects are wanted; only then are the values needed.
  if (!base_set_wanted(row, keep, ctx, memo)) return true;
  if (!ensure_values()) return false;
  const auto& ob = base.objects;
  const auto set = static_cast<std::size_t>(base.files.object_set[row]);
  const auto lo = base.object_sets.object_offsets[set];
  const auto hi = base.object_sets.object_offsets[set + 1];
  std::uint64_t cursor = base.files.value_offsets[row];
  for (auto j = lo; j < hi; ++j) {
    if (keep(ctx, ob.path.at(j), ob.kind.at(j))) {
      ObjectMeta& om = m.objects.emplace_back();
      read_object_fields(base, j, om);
      read_object_values(base, j, cursor, om);
    } else {
      skip_object_values(base, j, cursor);
    }
  }
  return true;
}

const Cache::Impl::Index& Cache::Impl::index() const {
  if (index_ready_.load(std::memory_order_acquire)) return index_;
  std::lock_guard<std::mutex> lock(index_mu_);
  if (index_ready_.load(std::memory_order_relaxed)) return index_;
  index_.clear();
  index_.reserve(base.files.rows() + overlay.size());
  for (std::size_t i = 0; i < base.files.rows(); ++i)
    index_.emplace(base.files.path.at(i), static_cast<Slot>(i));
  for (std::size_t j = 0; j < overlay.size(); ++j)
    if (overlay[j].live) index_[overlay[j].rec.meta.path] = ~static_cast<Slot>(j);
  index_ready_.store(true, std::memory_order_release);
  return index_;
}

void Cache::Impl::rebuild_index() {
  index_ = Index();
  index_ready_.store(false, std::memory_order_release);
}

std::size_t Cache::Impl::live_rows() const {
  // Base paths are unique (validated on load, unique by construction after a commit), so
  // without overlay entries every base row is live.
  if (!index_built() && overlay.empty()) return base.files.rows();
  return index().size();
}

void Cache::Impl::adopt(Tables&& t, std::uint64_t gen, std::uint64_t sum,
                        std::shared_ptr<const std::vector<char>> img, std::int32_t version) {
  base = std::move(t);
  image = base.values_loaded ? nullptr : std::move(img);
  values_error.clear();
  values_ready.store(base.values_loaded, std::memory_order_release);
  fill_pool(base, pool);
  overlay.clear();
  erased.clear();
  put_count = 0;
  generation = gen;
  checksum = sum;
  from_file = true;
  file_version = version;
  base_sorted = base.paths_sorted || strictly_sorted(base.files.path);
  rebuild_index();
}

Tables Cache::Impl::build_tables() const {
  const Index& idx = index();
  std::vector<std::pair<std::string_view, Slot>> live(idx.begin(), idx.end());
  // Sorted rows make the file independent of insertion order and put common path prefixes
  // next to each other, which deflate rewards.
  std::sort(live.begin(), live.end());
  TablesBuilder b(pool);
  std::size_t dropped = 0;
  for (const auto& [path, slot] : live) {
    if (slot < 0) {
      b.add(overlay[static_cast<std::size_t>(~slot)].rec);
    } else if (const auto row = static_cast<std::size_t>(slot); base_row_available(row)) {
      b.add_row(base, row);  // untouched: copied column by column, objects not decoded
    } else {
      ++dropped;
    }
  }
  if (dropped > 0)
    log::warn("cache", fmt::format("{} cached rows left out of the commit: their object values "
                                   "could not be read ({})",
                                   dropped, values_error));
  return b.finish();
}

std::size_t Cache::Impl::merge_newer(Impl&& newer) {
  // Re-home our records' schema ids into the newer cache's pool.
  std::unordered_map<std::int64_t, std::int64_t> schema_map;
  auto rehome = [&](FileRec rec) {
    for (auto& o : rec.objects) {
      if (o.schema < 0) continue;
      auto it = schema_map.find(o.schema);
      if (it == schema_map.end())
        it = schema_map.emplace(o.schema, newer.pool.intern_copy(pool.at(o.schema))).first;
      o.schema = it->second;
    }
    return rec;
  };
  std::deque<OverlayEntry> merged;
  const Index& newer_index = newer.index();
  for (const auto& [path, slot] : index()) {
    const bool touched = slot < 0 && overlay[static_cast<std::size_t>(~slot)].touched;
    if (!touched && newer_index.count(path) != 0) continue;  // theirs is newer
    auto rec = record(slot);
    if (!rec) continue;  // values unreadable: re-extracted by a later run
    merged.push_back(OverlayEntry{rehome(std::move(*rec)), touched, true});
  }
  base = std::move(newer.base);
  image = std::move(newer.image);
  max_table_bytes = newer.max_table_bytes;
  values_error = std::move(newer.values_error);
  values_ready.store(newer.values_ready.load());
  pool = std::move(newer.pool);
  overlay = std::move(merged);
  generation = newer.generation;
  checksum = newer.checksum;
  from_file = newer.from_file;
  file_version = newer.file_version;
  base_sorted = newer.base_sorted;
  rebuild_index();
  Index& idx = index_mut();
  for (const auto& p : erased) {
    auto it = idx.find(p);
    if (it == idx.end()) continue;
    if (it->second < 0) overlay[static_cast<std::size_t>(~it->second)].live = false;
    idx.erase(it);
  }
  std::size_t taken = 0;
  for (const auto& [path, slot] : idx) taken += slot >= 0 ? 1 : 0;
  return taken;
}

// ---- Cache ----------------------------------------------------------------------------------

Cache::Cache(ExtractorVersionFn extractor_version) : impl_(std::make_unique<Impl>()) {
  impl_->version_fn = or_default(extractor_version);
}
Cache::~Cache() = default;
Cache::Cache(Cache&&) noexcept = default;
Cache& Cache::operator=(Cache&&) noexcept = default;

Cache::Loaded Cache::load(const std::string& path, const LoadOptions& opts,
                          ExtractorVersionFn extractor_version) {
  const auto t0 = std::chrono::steady_clock::now();
  Loaded out{Cache(extractor_version), LoadReport{}};
  ReadOutcome r = read_cache_file(path, opts.max_table_bytes, ReadMode::kLazy);
  out.report.status = r.status;
  out.report.reason = r.reason;
  out.report.file_bytes = r.file_bytes;
  if (r.status == LoadStatus::kLoaded) {
    out.report.generation = r.header.generation;
    out.cache.impl_->max_table_bytes = opts.max_table_bytes;
    out.cache.impl_->adopt(std::move(r.tables), r.header.generation, r.header.checksum,
                           std::move(r.image), r.header.format_version);
  } else if (r.status != LoadStatus::kMissing && r.movable && opts.move_aside) {
    // Only the file we judged: a concurrent commit may have renamed a good one into place.
    auto moved = still_same_file(path, r.id)
                     ? posix::move_aside(path)
                     : Result<std::string>(make_error(ErrorKind::kIo, "it was replaced meanwhile"));
    if (moved.ok())
      out.report.moved_to = *moved;
    else
      out.report.reason += "; could not move it aside: " + moved.error().message;
  }
  out.report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

namespace {

constexpr std::uint64_t kTransferMagic = 0x6d70707243616368ULL;  // "mpprCach"

void put_u64(comm::Bytes& b, std::uint64_t v) {
  const auto at = b.size();
  b.resize(at + sizeof v);
  std::memcpy(b.data() + at, &v, sizeof v);
}

void put_str(comm::Bytes& b, std::string_view s) {
  put_u64(b, s.size());
  const auto at = b.size();
  b.resize(at + s.size());
  if (!s.empty()) std::memcpy(b.data() + at, s.data(), s.size());
}

struct Reader {
  const comm::Bytes& b;
  std::size_t at = 0;
  std::uint64_t u64() {
    std::uint64_t v = 0;
    if (b.size() - at < sizeof v) throw std::runtime_error("cache transfer: header truncated");
    std::memcpy(&v, b.data() + at, sizeof v);
    at += sizeof v;
    return v;
  }
  std::string str() {
    const std::uint64_t n = u64();
    if (b.size() - at < n) throw std::runtime_error("cache transfer: header truncated");
    std::string s(reinterpret_cast<const char*>(b.data() + at), static_cast<std::size_t>(n));
    at += static_cast<std::size_t>(n);
    return s;
  }
};

}  // namespace

void Cache::send_loaded(comm::Communicator& comm, int dest, int tag, const std::string& path,
                        const LoadOptions& opts) {
  const auto t0 = std::chrono::steady_clock::now();
  ReadOutcome r = read_cache_file(path, opts.max_table_bytes, ReadMode::kLazy);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const bool loaded = r.status == LoadStatus::kLoaded;
  std::vector<std::span<const std::byte>> parts;
  std::vector<std::uint64_t> sizes;
  if (loaded) {
    for_each_dataset(static_cast<const Tables&>(r.tables),
                     [&](const std::string&, const auto& vec, ColumnKind) {
                       parts.push_back(std::as_bytes(std::span(vec.data(), vec.size())));
                       sizes.push_back(parts.back().size());
                     });
    if (r.image) parts.push_back(std::as_bytes(std::span(r.image->data(), r.image->size())));
  }
  comm::Bytes head;
  put_u64(head, kTransferMagic);
  put_u64(head, static_cast<std::uint64_t>(r.status));
  put_u64(head, r.header.generation);
  put_u64(head, r.header.checksum);
  put_u64(head, static_cast<std::uint64_t>(r.header.format_version));
  put_u64(head, r.file_bytes);
  put_u64(head, r.tables.values_count);
  put_u64(head, r.tables.values_loaded ? 1 : 0);
  put_u64(head, r.tables.paths_sorted ? 1 : 0);
  put_u64(head, std::bit_cast<std::uint64_t>(seconds));
  put_u64(head, sizes.size());
  for (const auto s : sizes) put_u64(head, s);
  put_u64(head, loaded && r.image ? r.image->size() : 0);
  put_str(head, r.reason);
  put_str(head, path);
  comm.send(dest, tag, head);  // small: completes at once
  if (!loaded) return;
  // The tables follow once the receiver asks for them: a large send blocks (and MPI's
  // blocking calls busy-poll) until the matching receive is posted, and the receiver is busy
  // for a while. Waiting here sleeps instead (50 us, doubling to 1 ms).
  auto pause = std::chrono::microseconds(50);
  while (!comm.try_recv(dest, tag)) {
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(1000));
  }
  for (const auto& p : parts)
    if (!p.empty()) comm.send(dest, tag, p);
}

Cache::Loaded Cache::receive_loaded(comm::Communicator& comm, int source, int tag,
                                    const LoadOptions& opts, ExtractorVersionFn extractor_version,
                                    std::string* loaded_path) {
  Loaded out{Cache(extractor_version), LoadReport{}};
  const comm::Message m = comm.recv(source, tag);
  Reader rd{m.data};
  if (rd.u64() != kTransferMagic) throw std::runtime_error("cache transfer: not a cache transfer");
  const std::uint64_t status = rd.u64();
  if (status > static_cast<std::uint64_t>(LoadStatus::kForeign))
    throw std::runtime_error("cache transfer: bad status");
  out.report.status = static_cast<LoadStatus>(status);
  const std::uint64_t generation = rd.u64();
  const std::uint64_t checksum = rd.u64();
  const auto version = static_cast<std::int32_t>(rd.u64());
  out.report.file_bytes = rd.u64();
  Tables t;
  t.values_count = rd.u64();
  t.values_loaded = rd.u64() != 0;
  t.paths_sorted = rd.u64() != 0;
  out.report.seconds = std::bit_cast<double>(rd.u64());
  const std::uint64_t ncols = rd.u64();
  if (ncols > 1024) throw std::runtime_error("cache transfer: bad column count");
  std::vector<std::uint64_t> sizes(static_cast<std::size_t>(ncols));
  for (auto& s : sizes) s = rd.u64();
  const std::uint64_t image_bytes = rd.u64();
  out.report.reason = rd.str();
  std::string path = rd.str();
  if (loaded_path != nullptr) *loaded_path = std::move(path);
  if (out.report.status != LoadStatus::kLoaded) return out;
  // Invariant 6 holds here too: every size is bounded before anything is allocated for it.
  std::uint64_t total = image_bytes;
  for (const auto s : sizes) total += s;
  if (total > opts.max_table_bytes || image_bytes > opts.max_table_bytes)
    throw std::runtime_error("cache transfer: over the table size cap");
  comm.send(source, tag, {});  // ready: the tables may come
  std::size_t i = 0;
  for_each_dataset(t, [&](const std::string& name, auto& vec, ColumnKind) {
    using T = typename std::decay_t<decltype(vec)>::value_type;
    if (i >= sizes.size()) throw std::runtime_error("cache transfer: fewer columns than " + name);
    const std::uint64_t bytes = sizes[i++];
    if (bytes % sizeof(T) != 0) throw std::runtime_error("cache transfer: ragged column " + name);
    vec.resize(static_cast<std::size_t>(bytes / sizeof(T)));
    if (bytes > 0) comm.recv_into(source, tag, std::as_writable_bytes(std::span(vec)));
  });
  if (i != sizes.size()) throw std::runtime_error("cache transfer: more columns than expected");
  std::shared_ptr<std::vector<char>> image;
  if (image_bytes > 0) {
    image = std::make_shared<std::vector<char>>(static_cast<std::size_t>(image_bytes));
    comm.recv_into(source, tag, std::as_writable_bytes(std::span(*image)));
  }
  if (!t.values_loaded && !image)
    throw std::runtime_error("cache transfer: object values neither loaded nor in an image");
  out.report.generation = generation;
  out.cache.impl_->max_table_bytes = opts.max_table_bytes;
  out.cache.impl_->adopt(std::move(t), generation, checksum, std::move(image), version);
  return out;
}

Verdict Cache::check(std::string_view path, std::int64_t size, std::int64_t mtime_ns,
                     std::uint64_t options_hash) const {
  const auto& idx = impl_->index();
  auto it = idx.find(path);
  if (it == idx.end()) return Verdict::kMissNew;
  return impl_->verdict(it->second, size, mtime_ns, options_hash);
}

std::optional<FileMeta> Cache::lookup(std::string_view path, std::int64_t size,
                                      std::int64_t mtime_ns, std::uint64_t options_hash) const {
  const auto& idx = impl_->index();
  auto it = idx.find(path);
  if (it == idx.end()) return std::nullopt;
  if (impl_->verdict(it->second, size, mtime_ns, options_hash) != Verdict::kHit)
    return std::nullopt;
  return impl_->materialize(it->second);  // nullopt if its values are unreadable: a miss
}

std::optional<FileMeta> Cache::lookup_brief(std::string_view path, std::int64_t size,
                                            std::int64_t mtime_ns, std::uint64_t options_hash,
                                            ObjectFilter keep, const void* ctx) const {
  const auto& idx = impl_->index();
  auto it = idx.find(path);
  if (it == idx.end()) return std::nullopt;
  if (impl_->verdict(it->second, size, mtime_ns, options_hash) != Verdict::kHit)
    return std::nullopt;
  return impl_->materialize_brief(it->second, keep, ctx);
}

std::optional<FileMeta> Cache::lookup_brief_row(RowRef row, ObjectFilter keep,
                                                const void* ctx) const {
  if (row == kNoRow) return std::nullopt;
  return impl_->materialize_brief(row, keep, ctx);
}

namespace {

template <typename Entry>
Classification classify_impl(const Cache::Impl& im, std::span<const Entry> entries,
                             std::uint64_t options_hash) {
  Classification c;
  c.verdicts.resize(entries.size(), Verdict::kMissNew);
  c.rows.resize(entries.size(), kNoRow);
  // Which rows the survey saw, by slot: cheaper than a second hash set of paths.
  std::vector<char> seen_base(im.base.files.rows(), 0), seen_overlay(im.overlay.size(), 0);
  auto note = [&](std::size_t k, Slot slot) {
    c.rows[k] = slot;
    c.verdicts[k] = im.verdict(slot, entries[k].size, entries[k].mtime_ns, options_hash);
    if (slot >= 0)
      seen_base[static_cast<std::size_t>(slot)] = 1;
    else
      seen_overlay[static_cast<std::size_t>(~slot)] = 1;
  };
  // A sorted survey (a directory walk) against sorted rows with nothing put or erased since
  // the load (no index built yet): one merge, galloping over rows the survey skips, instead
  // of hashing every path of the cache into an index and looking each entry up in it. An
  // entry out of order sends the whole survey to the index instead.
  bool merge = im.base_sorted && im.overlay.empty() && !im.index_built();
  if (merge) {
    const StringColumn& col = im.base.files.path;
    const std::size_t n = col.size();
    std::size_t r = 0;  // rows before r are below the previous entry (or equal to it)
    for (std::size_t k = 0; k < entries.size() && merge; ++k) {
      const std::string_view p = entries[k].path;
      int cmp = r < n ? col.at(r).compare(p) : 1;
      if (cmp < 0) {  // gallop to the first row >= p
        std::size_t step = 1, lo = r + 1;  // col.at(lo - 1) < p
        while (lo + step - 1 < n && col.at(lo + step - 1) < p) {
          lo += step;
          step *= 2;
        }
        std::size_t hi = std::min(n, lo + step - 1);  // col.at(hi) >= p, or hi == n
        while (lo < hi) {
          const std::size_t mid = lo + (hi - lo) / 2;
          if (col.at(mid) < p)
            lo = mid + 1;
          else
            hi = mid;
        }
        r = lo;
        cmp = r < n ? col.at(r).compare(p) : 1;
      } else if (cmp > 0 && k > 0 && p < std::string_view(entries[k - 1].path)) {
        merge = false;  // out of order (a match or a row passed proves the order otherwise)
        break;
      }
      if (cmp == 0) note(k, static_cast<Slot>(r));
    }
    if (merge) {
      for (std::size_t i = 0; i < n; ++i)  // in row order: already sorted
        if (seen_base[i] == 0) c.removed.emplace_back(col.at(i));
    } else {
      std::fill(c.verdicts.begin(), c.verdicts.end(), Verdict::kMissNew);
      std::fill(c.rows.begin(), c.rows.end(), kNoRow);
      std::fill(seen_base.begin(), seen_base.end(), 0);
    }
  }
  if (!merge) {
    const auto& idx = im.index();
    for (std::size_t k = 0; k < entries.size(); ++k)
      if (auto it = idx.find(std::string_view(entries[k].path)); it != idx.end())
        note(k, it->second);
    for (const auto& [path, slot] : idx) {
      const bool seen = slot >= 0 ? seen_base[static_cast<std::size_t>(slot)] != 0
                                  : seen_overlay[static_cast<std::size_t>(~slot)] != 0;
      if (!seen) c.removed.emplace_back(path);
    }
    std::sort(c.removed.begin(), c.removed.end());
  }
  for (const Verdict v : c.verdicts) ++c.counts[static_cast<std::size_t>(v)];
  return c;
}

}  // namespace

Classification Cache::classify(std::span<const SurveyEntry> entries,
                               std::uint64_t options_hash) const {
  return classify_impl(*impl_, entries, options_hash);
}

Classification Cache::classify(std::span<const SurveyKey> entries,
                               std::uint64_t options_hash) const {
  return classify_impl(*impl_, entries, options_hash);
}

bool Cache::brief_row_available(RowRef row, ObjectFilter keep, const void* ctx,
                                BriefMemo* memo) const {
  return row != kNoRow && impl_->brief_available(row, keep, ctx, memo);
}

bool Cache::lookup_brief_row_into(RowRef row, ObjectFilter keep, const void* ctx, FileMeta& out,
                                  BriefMemo* memo) const {
  return row != kNoRow && impl_->materialize_brief_into(row, keep, ctx, memo, out);
}

std::optional<FileMeta> Cache::get(std::string_view path) const {
  const auto& idx = impl_->index();
  auto it = idx.find(path);
  if (it == idx.end()) return std::nullopt;
  return impl_->materialize(it->second);
}

std::optional<RowInfo> Cache::info(std::string_view path) const {
  const auto& idx = impl_->index();
  auto it = idx.find(path);
  if (it == idx.end()) return std::nullopt;
  return impl_->row_info(it->second);
}

bool Cache::contains(std::string_view path) const { return impl_->index().count(path) != 0; }

void Cache::put(FileMeta meta, std::uint64_t options_hash) {
  Impl& im = *impl_;
  const std::int32_t version = im.version_fn(meta.format);
  FileRec rec = meta_to_rec(std::move(meta), im.pool, options_hash, version);
  ++im.put_count;
  im.erased.erase(rec.meta.path);
  auto& index = im.index_mut();
  auto it = index.find(rec.meta.path);
  if (it != index.end() && it->second < 0) {
    // Replace in place: drop the key first, it views the string being replaced.
    const auto j = static_cast<std::size_t>(~it->second);
    index.erase(it);
    im.overlay[j] = OverlayEntry{std::move(rec), true, true};
    index.emplace(im.overlay[j].rec.meta.path, ~static_cast<Slot>(j));
    return;
  }
  if (it != index.end()) index.erase(it);  // a base row, now superseded
  im.overlay.push_back(OverlayEntry{std::move(rec), true, true});
  const auto j = im.overlay.size() - 1;
  index.emplace(im.overlay[j].rec.meta.path, ~static_cast<Slot>(j));
}

std::size_t Cache::erase(std::span<const std::string> paths) {
  Impl& im = *impl_;
  std::size_t n = 0;
  auto& index = im.index_mut();
  for (const auto& p : paths) {
    im.erased.insert(p);
    auto it = index.find(p);
    if (it == index.end()) continue;
    if (it->second < 0) im.overlay[static_cast<std::size_t>(~it->second)].live = false;
    index.erase(it);
    ++n;
  }
  return n;
}

std::size_t Cache::size() const noexcept { return impl_->live_rows(); }
bool Cache::outdated() const noexcept {
  return impl_->from_file && impl_->file_version < kFormatVersion;
}
std::size_t Cache::put_count() const noexcept { return impl_->put_count; }
std::uint64_t Cache::generation() const noexcept { return impl_->generation; }

std::vector<std::string> Cache::paths() const {
  const Impl& im = *impl_;
  std::vector<std::string> out;
  if (!im.index_built() && im.overlay.empty()) {  // base alone: no index needed
    const auto& col = im.base.files.path;
    out.reserve(col.size());
    for (std::size_t i = 0; i < col.size(); ++i) out.emplace_back(col.at(i));
    if (!im.base_sorted) std::sort(out.begin(), out.end());
    return out;
  }
  const auto& idx = im.index();
  out.reserve(idx.size());
  for (const auto& [path, slot] : idx) {
    (void)slot;
    out.emplace_back(path);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// ---- inspection ------------------------------------------------------------------------------

Status verify(const std::string& path) {
  ReadOutcome r = read_cache_file(path, LoadOptions{}.max_table_bytes, false);
  if (r.status == LoadStatus::kLoaded) return Status::success();
  if (r.status == LoadStatus::kMissing)
    return make_error(ErrorKind::kMissing, "no cache at " + path);
  return make_error(r.kind, r.reason);
}

Result<CacheSummary> summary(const std::string& path) {
  ReadOutcome r = read_cache_file(path, LoadOptions{}.max_table_bytes, false);
  if (r.status == LoadStatus::kMissing)
    return make_error(ErrorKind::kMissing, "no cache at " + path);
  if (r.status != LoadStatus::kLoaded) return make_error(r.kind, r.reason);
  const Tables& t = r.tables;
  CacheSummary s;
  s.path = path;
  s.file_bytes = r.file_bytes;
  s.format_version = r.header.format_version;
  s.generation = r.header.generation;
  s.writer_version = r.header.writer_version;
  s.created_utc = r.header.created_utc;
  s.checksum = r.header.checksum;
  s.files = t.files.rows();
  s.object_sets = t.object_sets.rows();
  s.object_rows = t.objects.rows();
  s.schemas = t.schemas.hash.size();
  s.schema_columns = t.schema_columns.name.size();
  for (std::size_t i = 0; i < s.files; ++i) {  // values are read (a full read): walk them
    const auto set = t.files.object_set[i];
    if (set < 0) continue;
    const auto ss = static_cast<std::size_t>(set);
    std::uint64_t cursor = t.files.value_offsets[i];
    for (auto j = t.object_sets.object_offsets[ss]; j < t.object_sets.object_offsets[ss + 1];
         ++j) {
      ++s.objects;
      const auto before = cursor;
      skip_object_values(t, j, cursor);
      s.clusters += static_cast<std::size_t>(
          cursor - before - 2 - static_cast<std::uint64_t>(t.objects.shape_rank[j]) -
          static_cast<std::uint64_t>(t.objects.maxshape_rank[j]));
    }
  }
  for (std::size_t i = 0; i < s.files; ++i) {
    ++s.by_format[std::string(format_name(static_cast<FileFormat>(t.files.format[i])))];
    auto k = static_cast<ErrorKind>(t.files.error_kind[i]);
    if (k != ErrorKind::kNone) ++s.failures_by_kind[std::string(error_kind_name(k))];
  }
  return s;
}

std::string format_summary(const CacheSummary& s) {
  std::string out;
  out += fmt::format("cache      : {}\n", s.path);
  out += fmt::format("size       : {} bytes\n", s.file_bytes);
  out += fmt::format("format     : {} v{}, written by {} at {}\n", kFormatName, s.format_version,
                     s.writer_version, s.created_utc);
  out += fmt::format("generation : {}   checksum xxh64 {:016x}\n", s.generation, s.checksum);
  out += fmt::format("files      : {}", s.files);
  for (const auto& [name, n] : s.by_format) out += fmt::format("   {} {}", name, n);
  out += "\n";
  std::size_t failed = 0;
  for (const auto& [kind, n] : s.failures_by_kind) failed += n;
  out += fmt::format("failures   : {}", failed);
  for (const auto& [kind, n] : s.failures_by_kind) out += fmt::format("   {} {}", kind, n);
  out += "\n";
  out += fmt::format("objects    : {} in {} distinct object sets ({} rows)   clusters {}\n",
                     s.objects, s.object_sets, s.object_rows, s.clusters);
  out += fmt::format("schemas    : {} distinct, {} columns stored\n", s.schemas, s.schema_columns);
  return out;
}

}  // namespace mpiprep::cache
