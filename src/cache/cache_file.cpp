#include "cache_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <xxhash.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <new>

#include "mpiprep/io/file_system.hpp"
#include "posix.hpp"
#include "seal.hpp"
#include "tables_v1.hpp"

namespace mpiprep::cache {
namespace {

template <typename T>
h5::Elem elem_for(ColumnKind kind) {
  switch (kind) {
    case ColumnKind::kEnumFormat:
      return h5::Elem::kEnumFormat;
    case ColumnKind::kEnumErrorKind:
      return h5::Elem::kEnumErrorKind;
    case ColumnKind::kPlain:
      break;
  }
  return h5::elem_of<T>();
}

// Maps the file's enum values to this build's codes by member name, so a reordering of
// ErrorKind or FileFormat in a later version cannot misread old caches. Names this build does
// not know become kInternal (a transient kind: the file is simply re-extracted) or kUnknown.
void remap_enum(std::vector<std::uint8_t>& values, const h5::EnumTable& table, ColumnKind kind) {
  std::uint8_t map[256];
  const std::uint8_t fallback = kind == ColumnKind::kEnumFormat
                                    ? static_cast<std::uint8_t>(FileFormat::kUnknown)
                                    : static_cast<std::uint8_t>(ErrorKind::kInternal);
  std::fill(std::begin(map), std::end(map), fallback);
  for (const auto& [value, name] : table.members)
    map[value] = kind == ColumnKind::kEnumFormat
                     ? static_cast<std::uint8_t>(format_from_name(name))
                     : static_cast<std::uint8_t>(error_kind_from_name(name));
  for (auto& v : values) v = map[v];
}

ReadOutcome rejected(LoadStatus status, ErrorKind kind, std::string reason, bool movable) {
  ReadOutcome out;
  out.status = status;
  out.kind = kind;
  out.reason = std::move(reason);
  out.movable = movable;
  return out;
}

bool same_file(const std::string& path, const FileId& id) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && st.st_dev == id.dev && st.st_ino == id.ino;
}

// Reads every dataset of a catalogue (v1 or v2 tables) from an open file; enum columns are
// collected for remapping after the checksum. `skip` names a dataset whose size is checked
// and recorded but whose elements are left in the file.
template <typename TablesT>
void read_datasets(hid_t file, TablesT& t, std::uint64_t max_table_bytes, std::uint64_t file_bytes,
                   std::vector<std::pair<std::vector<std::uint8_t>*,
                                         std::pair<h5::EnumTable, ColumnKind>>>& enums,
                   const char* skip, std::uint64_t* skipped_count) {
  for_each_dataset(t, [&](const std::string& name, auto& vec, ColumnKind kind) {
    using T = typename std::decay_t<decltype(vec)>::value_type;
    h5::EnumTable table;
    const bool lazy = skip != nullptr && name == skip;
    h5::read_dataset(file, name, elem_for<T>(kind), max_table_bytes, file_bytes,
                     kind == ColumnKind::kPlain ? nullptr : &table,
                     [&vec, lazy, skipped_count](std::uint64_t n) -> void* {
                       if (lazy) {
                         *skipped_count = n;
                         return nullptr;
                       }
                       vec.resize(static_cast<std::size_t>(n));
                       return vec.data();
                     });
    if constexpr (std::is_same_v<T, std::uint8_t>) {
      if (kind != ColumnKind::kPlain) enums.push_back({&vec, {std::move(table), kind}});
    }
  });
}

// A name for an in-memory image. Not the cache's path: the core driver refuses to open an image
// under the name of a file that exists; and unique, because libhdf5 treats two open files of
// the same name as one.
std::string image_name() {
  static std::atomic<std::uint64_t> counter{0};
  return fmt::format("mpiprep-cache-image-{}-{}", ::getpid(), counter.fetch_add(1));
}

ReadOutcome read_impl(const std::vector<char>& image, const std::string& path,
                      std::uint64_t max_table_bytes, ReadMode mode) {
  h5::Handle fapl = h5::image_fapl(image.data(), image.size());
  hid_t fid = H5Fopen(image_name().c_str(), H5F_ACC_RDONLY, fapl.get());
  if (fid < 0)
    return rejected(LoadStatus::kCorrupt, ErrorKind::kCorrupt,
                    "not a readable HDF5 file: " + h5::take_error_stack(), true);
  h5::Handle file(fid, H5Fclose);
  const std::uint64_t file_bytes = image.size();

  ReadOutcome out;
  out.file_bytes = file_bytes;
  Header& hd = out.header;
  auto format = h5::read_string_attr(file.get(), "format");
  if (!format)
    return rejected(LoadStatus::kForeign, ErrorKind::kUnsupportedFormat,
                    "an HDF5 file without a 'format' attribute: not an mpiprep cache", true);
  hd.format = *format;
  if (hd.format != kFormatName)
    return rejected(LoadStatus::kForeign, ErrorKind::kUnsupportedFormat,
                    fmt::format("format attribute is '{}', not '{}'", hd.format, kFormatName),
                    true);
  auto version = h5::read_int_attr(file.get(), "format_version");
  if (!version) throw h5::StructureError("no 'format_version' attribute");
  if (*version > kFormatVersion)
    return rejected(LoadStatus::kForeign, ErrorKind::kUnsupportedVersion,
                    fmt::format("cache format version {} is newer than this mpiprep's {}", *version,
                                kFormatVersion),
                    true);
  if (*version < 1) throw h5::StructureError(fmt::format("format version {} is invalid", *version));
  hd.format_version = static_cast<std::int32_t>(*version);
  auto generation = h5::read_u64_attr(file.get(), "generation");
  auto checksum = h5::read_u64_attr(file.get(), "checksum");
  if (!generation || !checksum) throw h5::StructureError("no 'generation' or 'checksum' attribute");
  hd.generation = *generation;
  hd.checksum = *checksum;
  hd.writer_version = h5::read_string_attr(file.get(), "writer_version").value_or("");
  hd.created_utc = h5::read_string_attr(file.get(), "created_utc").value_or("");
  if (mode == ReadMode::kHeader) {
    out.status = LoadStatus::kLoaded;
    return out;
  }

  std::vector<std::pair<std::vector<std::uint8_t>*, std::pair<h5::EnumTable, ColumnKind>>> enums;
  auto mismatch = [&hd](std::uint64_t computed) {
    return rejected(
        LoadStatus::kCorrupt, ErrorKind::kCorrupt,
        fmt::format("checksum mismatch: stored {:016x}, computed {:016x}", hd.checksum, computed),
        true);
  };
  if (hd.format_version == 1) {
    // Read v1, write v2: the whole v1 file, checked as v1 always was, then converted.
    v1::Tables t;
    read_datasets(file.get(), t, max_table_bytes, file_bytes, enums, nullptr, nullptr);
    file.close("close " + path);
    const std::uint64_t computed = v1::content_checksum(t, hd.format_version, hd.generation);
    if (computed != hd.checksum) return mismatch(computed);
    for (auto& [vec, te] : enums) remap_enum(*vec, te.first, te.second);
    if (Status s = v1::validate(t); !s.ok())
      return rejected(LoadStatus::kCorrupt, ErrorKind::kCorrupt, "structure: " + s.error().message,
                      true);
    out.tables = v1::upgrade(t);
    out.status = LoadStatus::kLoaded;
    return out;
  }

  Tables& t = out.tables;
  const bool lazy = mode == ReadMode::kLazy;
  read_datasets(file.get(), t, max_table_bytes, file_bytes, enums, lazy ? kValuesDataset : nullptr,
                &t.values_count);
  file.close("close " + path);
  t.values_loaded = !lazy;
  if (!lazy) t.values_count = t.values.data.size();

  // The checksum covers the bytes as written, so enum values are remapped only afterwards.
  const std::uint64_t computed = content_checksum(t, hd.format_version, hd.generation);
  if (computed != hd.checksum) return mismatch(computed);
  for (auto& [vec, te] : enums) remap_enum(*vec, te.first, te.second);
  if (Status s = validate(t); !s.ok())
    return rejected(LoadStatus::kCorrupt, ErrorKind::kCorrupt, "structure: " + s.error().message,
                    true);
  out.status = LoadStatus::kLoaded;
  return out;
}

}  // namespace

namespace {

ReadOutcome read_once(const std::string& path, std::uint64_t max_table_bytes, ReadMode mode) {
  // One descriptor pins the inode we examine: its size, its seal, its identity, its bytes.
  // O_NONBLOCK: a FIFO in the cache's place must not hang the run.
  int raw = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (raw < 0) {
    const int err = errno;
    if (err == ENOENT) return rejected(LoadStatus::kMissing, ErrorKind::kMissing, "", false);
    // Unreadable (EACCES, EIO) is not proof of damage: reported, never moved.
    return rejected(LoadStatus::kCorrupt, io::errno_error(err, "open cache", path).kind,
                    fmt::format("cannot open cache {}: {}", path, std::strerror(err)), false);
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{raw};
  struct stat st {};
  if (::fstat(raw, &st) != 0)
    return rejected(LoadStatus::kCorrupt, ErrorKind::kIo, "fstat " + path, false);
  const FileId id{st.st_dev, st.st_ino};
  if (!S_ISREG(st.st_mode)) {
    // A directory or special file where the cache should be: in the way, so moved aside.
    ReadOutcome r =
        rejected(LoadStatus::kCorrupt, ErrorKind::kCorrupt, path + " is not a regular file", true);
    r.id = id;
    return r;
  }
  const auto file_bytes = static_cast<std::uint64_t>(st.st_size);

  ReadOutcome out;
  auto finish = [&](ReadOutcome r) {
    r.file_bytes = file_bytes;
    r.id = id;
    return r;
  };
  // Invariant 6: the file's size bounds the one allocation made from it.
  if (file_bytes > max_table_bytes)
    return finish(rejected(LoadStatus::kCorrupt, ErrorKind::kCorrupt,
                           fmt::format("{} bytes, over the cache size cap", file_bytes), true));
  auto image = std::make_shared<std::vector<char>>();
  try {
    image->resize(static_cast<std::size_t>(file_bytes));
  } catch (const std::bad_alloc&) {
    return finish(rejected(LoadStatus::kCorrupt, ErrorKind::kCorrupt,
                           "cache too large to load (out of memory)", false));
  }
  std::size_t got = 0;
  while (got < image->size()) {
    const ssize_t n = ::pread(raw, image->data() + got, image->size() - got,
                              static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      return finish(rejected(LoadStatus::kCorrupt, ErrorKind::kIo,
                             fmt::format("cannot read cache {}: {}", path, std::strerror(errno)),
                             false));
    if (n == 0) break;  // shrank under us: the seal check reports it
    got += static_cast<std::size_t>(n);
  }
  image->resize(got);

  // The seal first: damaged bytes must never reach libhdf5's parser (see seal.hpp).
  SealCheck seal = check_seal(std::span<const char>(image->data(), image->size()));
  if (seal.verdict == SealVerdict::kForeign) {
    out = rejected(LoadStatus::kForeign, ErrorKind::kUnsupportedFormat, seal.reason, true);
  } else if (seal.verdict != SealVerdict::kOk) {
    out = rejected(LoadStatus::kCorrupt, ErrorKind::kCorrupt, seal.reason, true);
  } else {
    try {
      out = read_impl(*image, path, max_table_bytes, mode);
      if (out.status == LoadStatus::kLoaded && (out.header.generation != seal.info.generation ||
                                                out.header.checksum != seal.info.checksum))
        out = rejected(LoadStatus::kCorrupt, ErrorKind::kCorrupt,
                       "the seal and the root attributes disagree", true);
    } catch (const h5::StructureError& e) {
      out = rejected(LoadStatus::kCorrupt, ErrorKind::kCorrupt, e.what(), true);
    } catch (const h5::H5Error& e) {
      out = rejected(LoadStatus::kCorrupt, ErrorKind::kCorrupt, e.what(), true);
    } catch (const std::bad_alloc&) {
      out = rejected(LoadStatus::kCorrupt, ErrorKind::kCorrupt,
                     "tables too large to load (out of memory)", true);
    } catch (const std::length_error& e) {
      out = rejected(LoadStatus::kCorrupt, ErrorKind::kCorrupt, e.what(), true);
    }
  }
  if (out.status == LoadStatus::kLoaded && !out.tables.values_loaded) out.image = std::move(image);
  return finish(std::move(out));
}

}  // namespace

ReadOutcome read_cache_file(const std::string& path, std::uint64_t max_table_bytes, ReadMode mode) {
  h5::ErrorSilencer quiet;
  return read_once(path, max_table_bytes, mode);
}

Status load_values(const std::vector<char>& image, std::uint64_t max_table_bytes, Tables& t) {
  if (t.values_loaded) return Status::success();
  h5::ErrorSilencer quiet;
  std::vector<std::int64_t> data;
  try {
    h5::Handle fapl = h5::image_fapl(image.data(), image.size());
    h5::Handle file =
        h5::checked(H5Fopen(image_name().c_str(), H5F_ACC_RDONLY, fapl.get()), H5Fclose,
                    "open image");
    h5::read_dataset(file.get(), kValuesDataset, h5::Elem::kI64, max_table_bytes, image.size(),
                     nullptr, [&data](std::uint64_t n) -> void* {
                       data.resize(static_cast<std::size_t>(n));
                       return data.data();
                     });
    file.close("close image");
  } catch (const std::exception& e) {  // H5Error, StructureError, bad_alloc, length_error
    return make_error(ErrorKind::kCorrupt, std::string(kValuesDataset) + ": " + e.what());
  }
  if (data.size() != t.values_count)
    return make_error(ErrorKind::kCorrupt,
                      fmt::format("{}: {} elements, {} when first read", kValuesDataset,
                                  data.size(), t.values_count));
  const std::uint64_t h = XXH64(data.data(), data.size() * sizeof(std::int64_t), 0);
  if (h != t.values.data_xxh64.at(0))
    return make_error(ErrorKind::kCorrupt,
                      fmt::format("{}: xxh64 {:016x}, the checksum covered {:016x}", kValuesDataset,
                                  h, t.values.data_xxh64[0]));
  t.values.data = std::move(data);
  t.values_loaded = true;
  if (Status s = validate_values(t); !s.ok()) {
    t.values.data.clear();
    t.values_loaded = false;
    return s;
  }
  return Status::success();
}

bool still_same_file(const std::string& path, const FileId& id) { return same_file(path, id); }

std::vector<std::uint64_t> dataset_sizes(const Tables& t) {
  std::vector<std::uint64_t> sizes;
  for_each_dataset(t, [&sizes](const std::string&, const auto& vec, ColumnKind) {
    sizes.push_back(vec.size());
  });
  return sizes;
}

namespace {

// Groups, datasets and root attributes of the plan into an open, empty file.
void fill_cache_file(hid_t file, const WritePlan& plan, const Tables* tables, bool parallel) {
  for (const char* g : kGroups) h5::create_group(file, g);

  h5::Handle dxpl = parallel ? h5::collective_dxpl() : h5::default_dxpl();
  // Ranks without tables walk an empty Tables for the names and element types; the sizes
  // come from the plan, identical everywhere, as parallel HDF5 requires for creation.
  static const Tables kEmpty{};
  const Tables& walk = tables != nullptr ? *tables : kEmpty;
  std::size_t i = 0;
  for_each_dataset(walk, [&](const std::string& name, const auto& vec, ColumnKind kind) {
    using T = typename std::decay_t<decltype(vec)>::value_type;
    if (i >= plan.sizes.size()) throw h5::H5Error("write plan has too few dataset sizes");
    h5::WriteSpec spec;
    spec.n = plan.sizes[i++];
    spec.compress = plan.compress;
    if (tables != nullptr) {
      if (vec.size() != spec.n) throw h5::H5Error("write plan disagrees with the tables: " + name);
      spec.data = vec.data();
    }
    h5::write_dataset(file, name, elem_for<T>(kind), spec, dxpl.get(), tables != nullptr);
  });

  const Header& hd = plan.header;
  h5::write_string_attr(file, "format", hd.format);
  h5::write_i32_attr(file, "format_version", hd.format_version);
  h5::write_u64_attr(file, "generation", hd.generation);
  h5::write_string_attr(file, "writer_version", hd.writer_version);
  h5::write_string_attr(file, "created_utc", hd.created_utc);
  h5::write_u64_attr(file, "checksum", hd.checksum);
  h5::write_string_attr(file, "checksum_algorithm", "xxh64");
}

h5::Handle userblock_fcpl() {
  h5::Handle fcpl = h5::checked(H5Pcreate(H5P_FILE_CREATE), H5Pclose, "H5Pcreate(fcpl)");
  // Room for the seal (seal.hpp), written once the file is complete.
  h5::check(H5Pset_userblock(fcpl.get(), kUserBlockSize), "H5Pset_userblock");
  return fcpl;
}

}  // namespace

void write_cache_file(const WritePlan& plan, const Tables* tables, hid_t fapl, bool parallel) {
  h5::Handle fcpl = userblock_fcpl();
  h5::Handle file = h5::checked(H5Fcreate(plan.temp_path.c_str(), H5F_ACC_EXCL, fcpl.get(), fapl),
                                H5Fclose, "create " + plan.temp_path);
  fill_cache_file(file.get(), plan, tables, parallel);
  file.close("close " + plan.temp_path);
}

std::vector<std::byte> write_cache_image(const WritePlan& plan, const Tables& tables) {
  h5::Handle fcpl = userblock_fcpl();
  h5::Handle fapl = h5::core_fapl();
  h5::Handle file = h5::checked(H5Fcreate(plan.temp_path.c_str(), H5F_ACC_TRUNC, fcpl.get(),
                                          fapl.get()),
                                H5Fclose, "create in memory " + plan.temp_path);
  fill_cache_file(file.get(), plan, &tables, false);
  h5::check(H5Fflush(file.get(), H5F_SCOPE_GLOBAL), "flush " + plan.temp_path);
  // The image starts at the superblock: the user block is not part of it (libhdf5 1.10).
  const ssize_t n = H5Fget_file_image(file.get(), nullptr, 0);
  if (n <= 0) h5::fail("H5Fget_file_image (size)");
  std::vector<std::byte> image(kUserBlockSize + static_cast<std::size_t>(n));
  if (H5Fget_file_image(file.get(), image.data() + kUserBlockSize,
                        static_cast<std::size_t>(n)) != n)
    h5::fail("H5Fget_file_image");
  file.close("close " + plan.temp_path);
  return image;
}

}  // namespace mpiprep::cache
