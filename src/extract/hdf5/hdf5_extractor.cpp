// HDF5 / NetCDF-4 metadata extraction with libhdf5: every object reachable by hard links, in
// name order (H5Ovisit), as ObjectMeta: datasets with shape, maxshape, dtype, layout, chunks,
// filters and attribute names; groups and committed datatypes with their attribute names.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "extract/hdf5/dtype.hpp"
#include "extract/hdf5/h5_api.hpp"
#include "extract/hdf5/superblock.hpp"
#include "extract/magic.hpp"
#include "mpiprep/extract/extractor.hpp"

namespace mpiprep::extract::hdf5 {
namespace {

// Debian's parallel libhdf5 is built without --enable-threadsafe: two threads inside the
// library at once corrupt its global state (ID tables, metadata cache, error stacks). Every
// HDF5 extraction in this process therefore holds this one mutex. It is the only mutable
// global in mpiprep on purpose: the thing it guards is itself process-global. The io-layer
// reads below (signature, superblock, tail sample) stay outside it.
std::mutex& library_mutex() {
  static std::mutex m;
  return m;
}

// A file libhdf5 cannot open by path is read whole through the io layer, up to this size.
constexpr std::uint64_t kMaxImageBytes = std::uint64_t{256} << 20;

struct VisitState {
  std::vector<ObjectMeta> objects;
  // What libhdf5 must have read for us, estimated from the metadata it reports (see extract).
  std::uint64_t metadata_bytes = 0;
  bool estimate_bytes = true;  // false when the reads are measured: skip the extra queries
  std::exception_ptr fatal;    // a non-HDF5 failure (bad_alloc): stops the visit, rethrown
};

// libhdf5 reads through its own sec2 driver, invisible to our io layer. Linux task I/O
// accounting sees it: "rchar" in /proc/thread-self/io is the byte count this thread received
// from read(2)/pread(2). libhdf5 does all its I/O on the calling thread, and under the library
// lock nothing else runs HDF5 code, so the difference around the HDF5 section is exactly what
// libhdf5 read for this file (minus our own read of the /proc file, subtracted below). Returns
// nullopt where the file is missing (non-Linux, restricted /proc); callers then fall back to
// an estimate.
class ThreadReadMeter {
 public:
  ThreadReadMeter() : start_(sample(&start_len_)) {}
  [[nodiscard]] bool available() const noexcept { return start_.has_value(); }
  [[nodiscard]] std::optional<std::uint64_t> bytes_since_start() const {
    if (!start_) return std::nullopt;
    std::size_t len = 0;
    auto now = sample(&len);
    if (!now || *now < *start_ + start_len_) return std::nullopt;
    return *now - *start_ - start_len_;
  }

 private:
  static std::optional<std::uint64_t> sample(std::size_t* read_len) {
    const int fd = ::open("/proc/thread-self/io", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    std::array<char, 512> buf{};
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    ::close(fd);
    if (n <= 0) return std::nullopt;
    *read_len = static_cast<std::size_t>(n);
    std::string_view text(buf.data(), static_cast<std::size_t>(n));
    constexpr std::string_view kKey = "rchar: ";
    const auto at = text.find(kKey);
    if (at == std::string_view::npos) return std::nullopt;
    std::uint64_t v = 0;
    const char* first = text.data() + at + kKey.size();
    if (std::from_chars(first, text.data() + text.size(), v).ec != std::errc()) return std::nullopt;
    return v;
  }

  std::size_t start_len_ = 0;
  std::optional<std::uint64_t> start_;
};

std::string object_path(const char* name) {
  std::string_view n(name);
  if (n == ".") return "/";
  return "/" + std::string(n);
}

void describe_dataset(hid_t obj, ObjectMeta& o) {
  {
    h5::Handle space = h5::dataset_space(obj);
    h5::Extent e = h5::extent(space.get());
    o.shape = std::move(e.dims);
    o.maxshape = std::move(e.maxdims);
  }
  o.num_entries = o.shape.empty() ? -1 : o.shape.front();
  {
    h5::Handle type = h5::dataset_type(obj);
    o.dtype = dtype_string(type.get());
  }
  h5::Handle dcpl = h5::dataset_create_plist(obj);
  switch (h5::layout(dcpl.get())) {
    case H5D_COMPACT:
      o.layout = "compact";
      break;
    case H5D_CONTIGUOUS:
      o.layout = "contiguous";
      break;
    case H5D_CHUNKED:
      o.layout = "chunked";
      o.chunks = h5::chunk_dims(dcpl.get());
      break;
    case H5D_VIRTUAL:
      o.layout = "virtual";
      break;
    case H5D_LAYOUT_ERROR:
    case H5D_NLAYOUTS:
      o.layout = "unknown";
      break;
  }
  for (auto& f : h5::filters(dcpl.get()))
    o.filters.push_back(Filter{f.id, std::move(f.name), std::move(f.params)});
}

// Called by H5Ovisit for each object. No exception may cross back into libhdf5: an HDF5
// failure on one object is recorded on that object and the walk goes on; anything else stops
// the walk and is rethrown by extract().
herr_t visit_one(hid_t root, const char* name, const H5O_info_t* info, void* data) noexcept {
  auto* st = static_cast<VisitState*>(data);
  try {
    ObjectMeta o;
    o.path = object_path(name);
    switch (info->type) {
      case H5O_TYPE_GROUP:
        o.kind = "group";
        break;
      case H5O_TYPE_DATASET:
        o.kind = "dataset";
        break;
      case H5O_TYPE_NAMED_DATATYPE:
        o.kind = "datatype";
        break;
      case H5O_TYPE_UNKNOWN:
      case H5O_TYPE_NTYPES:
        o.kind = "unknown";
        break;
    }
    st->metadata_bytes += info->hdr.space.total;
    try {
      h5::Handle obj = h5::open_object(root, name);
      if (info->num_attrs > 0) {
        o.attributes = h5::attribute_names(obj.get());
        std::sort(o.attributes.begin(), o.attributes.end());
      }
      if (info->type == H5O_TYPE_DATASET) {
        describe_dataset(obj.get(), o);
      } else if (info->type == H5O_TYPE_NAMED_DATATYPE) {
        o.dtype = dtype_string(obj.get());
      } else if (info->type == H5O_TYPE_GROUP && st->estimate_bytes) {
        // The link index (B-tree or fractal heap) and name heap HDF5 walked to list members.
        H5O_info_t meta = h5::object_info(obj.get(), H5O_INFO_META_SIZE);
        st->metadata_bytes += meta.meta_size.obj.index_size + meta.meta_size.obj.heap_size +
                              meta.meta_size.attr.index_size + meta.meta_size.attr.heap_size;
      }
    } catch (const h5::H5Failure& e) {
      o.error_kind = e.kind();
      o.error_message = e.what();
    }
    st->objects.push_back(std::move(o));
    return 0;
  } catch (...) {
    st->fatal = std::current_exception();
    return -1;
  }
}

Result<std::vector<std::byte>> read_up_to(io::RandomAccessFile& file, std::uint64_t offset,
                                          std::size_t n) {
  std::vector<std::byte> buf(n);
  auto got = file.pread(offset, buf);
  if (!got.ok()) return got.error();
  buf.resize(*got);
  return buf;
}

// What one pass of libhdf5 over a file yields.
struct Walk {
  std::vector<ObjectMeta> objects;
  haddr_t root_address = 0;
  std::uint64_t hdf5_bytes = 0;  // read by libhdf5 itself (measured, else estimated)
};

// Opens `name` with `fapl` and visits every object. Takes the library lock and silences
// libhdf5's error printing for exactly the time HDF5 code runs.
Result<Walk> walk(const std::string& name, const std::function<h5::Handle()>& make_fapl,
                  std::size_t superblock_length) {
  std::scoped_lock lock(library_mutex());
  h5::ErrorSilencer quiet;
  const ThreadReadMeter meter;
  try {
    h5::Handle fapl = make_fapl();
    h5::Handle f = h5::open_file_readonly(name, fapl.get());
    Walk w;
    w.root_address = h5::object_info(f.get(), H5O_INFO_BASIC).addr;
    VisitState st;
    st.estimate_bytes = !meter.available();
    h5::visit_objects(f.get(), visit_one, &st, H5O_INFO_BASIC | H5O_INFO_NUM_ATTRS | H5O_INFO_HDR);
    if (st.fatal) std::rethrow_exception(st.fatal);
    f.close();
    fapl.close();
    w.objects = std::move(st.objects);
    // Measured where Linux task I/O accounting is available; otherwise estimated from the
    // metadata libhdf5 reports (superblock, every object header, every group's link index and
    // heap): a lower bound, since libhdf5 also reads speculatively and re-reads (measured:
    // about 3x the estimate on test_gold.nc).
    w.hdf5_bytes = meter.bytes_since_start().value_or(superblock_length + st.metadata_bytes);
    return w;
  } catch (const h5::H5Failure& e) {
    return e.to_error();
  }
}

}  // namespace

void initialize() {
  std::scoped_lock lock(library_mutex());
  (void)H5open();
}

Result<FileMeta> extract(io::RandomAccessFile& file, const ExtractOptions& /*opts*/) {
  const std::uint64_t size = file.size();

  // The io-layer part: where the superblock is, its bytes, the tail sample for the file id.
  auto where = magic::find_hdf5_superblock(file);
  if (!where.ok()) return where.error();
  if (!where->has_value())
    return make_error(ErrorKind::kCorrupt,
                      "no HDF5 signature at offset 0 or any power of two from 512 to the end");
  const std::uint64_t sb_offset = **where;
  auto sb_bytes = read_up_to(
      file, sb_offset,
      static_cast<std::size_t>(std::min<std::uint64_t>(kSuperblockMaxBytes, size - sb_offset)));
  if (!sb_bytes.ok()) return sb_bytes.error();
  const SuperblockInfo sb = parse_superblock(*sb_bytes);
  if (sb.length > 0 && sb_bytes->size() > sb.length) sb_bytes->resize(sb.length);
  const std::size_t tail_len =
      static_cast<std::size_t>(std::min<std::uint64_t>(kUuidTailBytes, size));
  auto tail = read_up_to(file, size - tail_len, tail_len);
  if (!tail.ok()) return tail.error();

  // Name truncation ourselves: the superblock records where the file should end.
  auto truncation = [&]() -> std::optional<Error> {
    if (sb_bytes->size() < 16 || (sb.length > 0 && sb_bytes->size() < sb.length))
      return make_error(ErrorKind::kTruncated, "file ends inside the HDF5 superblock at offset " +
                                                   std::to_string(sb_offset) + " (" +
                                                   std::to_string(size) + " bytes)");
    if (sb.end_of_file && *sb.end_of_file > size)
      return make_error(ErrorKind::kTruncated, "HDF5 superblock records end of file at " +
                                                   std::to_string(*sb.end_of_file) +
                                                   " but the file has " + std::to_string(size) +
                                                   " bytes");
    return std::nullopt;
  };

  auto done = walk(file.path(), h5::create_fapl_sec2, sb.length);
  if (!done.ok() && done.error().kind == ErrorKind::kMissing && size <= kMaxImageBytes) {
    // libhdf5 opens paths itself; this one exists only behind our FileSystem (in memory, or a
    // remote or replaced file). Read it through the io layer, where every byte is counted,
    // and hand libhdf5 the image through its core driver.
    auto image = read_up_to(file, 0, static_cast<std::size_t>(size));
    if (!image.ok()) return image.error();
    if (image->size() != size)
      return make_error(ErrorKind::kTruncated,
                        "file shrank while being read: " + std::to_string(image->size()) + " of " +
                            std::to_string(size) + " bytes");
    done = walk(
        file.path(), [&] { return h5::create_fapl_image(*image); }, sb.length);
  }
  if (!done.ok()) {
    Error e = std::move(done).error();
    if (e.kind == ErrorKind::kTruncated || e.kind == ErrorKind::kCorrupt) {
      if (auto t = truncation()) {
        t->message += "; libhdf5: " + e.message;
        return *t;
      }
    }
    return e;
  }

  FileMeta meta;
  meta.path = file.path();
  meta.size = static_cast<std::int64_t>(size);
  meta.format = FileFormat::kHdf5;
  meta.objects = std::move(done->objects);
  meta.uuid = file_uuid(*sb_bytes, size, done->root_address, *tail);
  // Only what libhdf5 read through its own driver; extract_file() adds the io-layer bytes
  // (signature, superblock, tail sample, and the whole image when one was needed).
  meta.bytes_read = done->hdf5_bytes;
  return meta;
}

}  // namespace mpiprep::extract::hdf5
