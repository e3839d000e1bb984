#include "h5.hpp"

#include <mpi.h>

#include <libdeflate.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <limits>

#include "mpiprep/core/meta.hpp"
#include "mpiprep/core/result.hpp"

namespace mpiprep::cache::h5 {
namespace {

// Tables at or above this size are chunked and compressed; smaller ones stay contiguous
// (compression would save little and empty datasets cannot be chunked with fixed dims).
constexpr std::uint64_t kCompressMinBytes = 16 * 1024;
constexpr std::uint64_t kChunkBytes = 1 << 20;
// deflate cannot expand data by more than ~1032:1; anything claiming more is corrupt.
constexpr std::uint64_t kMaxInflateRatio = 1100;

struct StackWalk {
  std::string outer;
  std::string inner;
};

herr_t walk_cb(unsigned n, const H5E_error2_t* err, void* client) {
  auto* w = static_cast<StackWalk*>(client);
  std::string desc = err->desc != nullptr ? err->desc : "";
  if (n == 0) w->inner = desc;  // H5E_WALK_UPWARD starts at the innermost frame
  w->outer = desc;
  return 0;
}

// Enum members: every value whose stable name round-trips, so values added to ErrorKind or
// FileFormat later are picked up without touching this file.
template <typename E, typename NameFn, typename FromFn>
std::vector<std::pair<std::uint8_t, std::string>> enum_members(NameFn name, FromFn from) {
  std::vector<std::pair<std::uint8_t, std::string>> out;
  for (unsigned i = 0; i < 256; ++i) {
    auto e = static_cast<E>(i);
    auto n = name(e);
    if (from(n) != e) break;
    out.emplace_back(static_cast<std::uint8_t>(i), std::string(n));
  }
  return out;
}

Handle make_enum(Elem e, hid_t base) {
  Handle t = checked(H5Tenum_create(base), H5Tclose, "H5Tenum_create");
  auto members =
      e == Elem::kEnumFormat
          ? enum_members<FileFormat>([](FileFormat f) { return format_name(f); },
                                     [](std::string_view n) { return format_from_name(n); })
          : enum_members<ErrorKind>([](ErrorKind k) { return error_kind_name(k); },
                                    [](std::string_view n) { return error_kind_from_name(n); });
  for (const auto& [value, name] : members) {
    std::uint8_t v = value;
    check(H5Tenum_insert(t.get(), name.c_str(), &v), "H5Tenum_insert");
  }
  return t;
}

Handle borrowed(hid_t id) { return Handle(id, nullptr); }

void check_type(hid_t ftype, Elem e, const std::string& name, EnumTable* enum_names) {
  H5T_class_t cls = H5Tget_class(ftype);
  std::size_t size = H5Tget_size(ftype);
  bool ok = false;
  switch (e) {
    case Elem::kU8:
    case Elem::kI32:
    case Elem::kU32:
    case Elem::kI64:
    case Elem::kU64: {
      bool want_signed = e == Elem::kI32 || e == Elem::kI64;
      ok = cls == H5T_INTEGER && size == elem_size(e) &&
           (H5Tget_sign(ftype) == H5T_SGN_2) == want_signed && H5Tget_order(ftype) == H5T_ORDER_LE;
      break;
    }
    case Elem::kF64:
      ok = cls == H5T_FLOAT && size == 8 && H5Tget_order(ftype) == H5T_ORDER_LE;
      break;
    case Elem::kEnumFormat:
    case Elem::kEnumErrorKind: {
      if (cls != H5T_ENUM || size != 1) break;
      int n = H5Tget_nmembers(ftype);
      if (n < 0 || n > 256) break;
      Handle super = checked(H5Tget_super(ftype), H5Tclose, "H5Tget_super");
      if (H5Tget_class(super.get()) != H5T_INTEGER || H5Tget_sign(super.get()) != H5T_SGN_NONE)
        break;
      if (enum_names != nullptr) {
        enum_names->members.clear();
        for (int i = 0; i < n; ++i) {
          std::uint8_t v = 0;
          check(H5Tget_member_value(ftype, static_cast<unsigned>(i), &v), "H5Tget_member_value");
          char* mname = H5Tget_member_name(ftype, static_cast<unsigned>(i));
          if (mname == nullptr) fail("H5Tget_member_name");
          enum_names->members.emplace_back(v, std::string(mname));
          H5free_memory(mname);
        }
      }
      ok = true;
      break;
    }
  }
  if (!ok) throw StructureError("dataset '" + name + "' has an unexpected element type");
}

}  // namespace

ErrorSilencer::ErrorSilencer() {
  H5Eget_auto2(H5E_DEFAULT, &func_, &data_);
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

ErrorSilencer::~ErrorSilencer() { H5Eset_auto2(H5E_DEFAULT, func_, data_); }

std::string take_error_stack() {
  StackWalk w;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, walk_cb, &w);
  H5Eclear2(H5E_DEFAULT);
  if (w.inner.empty()) return "no HDF5 error detail";
  if (w.outer == w.inner) return w.inner;
  return w.outer + " (" + w.inner + ")";
}

void fail(std::string_view what) {
  std::string msg(what);
  msg += ": ";
  msg += take_error_stack();
  throw H5Error(msg);
}

void Handle::close(std::string_view what) {
  if (id_ < 0 || closer_ == nullptr) return;
  herr_t s = closer_(std::exchange(id_, H5I_INVALID_HID));
  if (s < 0) fail(what);
}

void Handle::reset() noexcept {
  if (id_ >= 0 && closer_ != nullptr) {
    closer_(id_);
    H5Eclear2(H5E_DEFAULT);
  }
  id_ = H5I_INVALID_HID;
}

Handle checked(hid_t id, Handle::Closer closer, std::string_view what) {
  if (id < 0) fail(what);
  return Handle(id, closer);
}

void check(herr_t status, std::string_view what) {
  if (status < 0) fail(what);
}

std::size_t elem_size(Elem e) noexcept {
  switch (e) {
    case Elem::kU8:
    case Elem::kEnumFormat:
    case Elem::kEnumErrorKind:
      return 1;
    case Elem::kI32:
    case Elem::kU32:
      return 4;
    case Elem::kI64:
    case Elem::kU64:
    case Elem::kF64:
      return 8;
  }
  return 1;
}

Handle file_type(Elem e) {
  switch (e) {
    case Elem::kU8:
      return borrowed(H5T_STD_U8LE);
    case Elem::kI32:
      return borrowed(H5T_STD_I32LE);
    case Elem::kU32:
      return borrowed(H5T_STD_U32LE);
    case Elem::kI64:
      return borrowed(H5T_STD_I64LE);
    case Elem::kU64:
      return borrowed(H5T_STD_U64LE);
    case Elem::kF64:
      return borrowed(H5T_IEEE_F64LE);
    case Elem::kEnumFormat:
    case Elem::kEnumErrorKind:
      return make_enum(e, H5T_STD_U8LE);
  }
  return borrowed(H5T_STD_U8LE);
}

Handle mem_type(Elem e) {
  switch (e) {
    case Elem::kU8:
      return borrowed(H5T_NATIVE_UINT8);
    case Elem::kI32:
      return borrowed(H5T_NATIVE_INT32);
    case Elem::kU32:
      return borrowed(H5T_NATIVE_UINT32);
    case Elem::kI64:
      return borrowed(H5T_NATIVE_INT64);
    case Elem::kU64:
      return borrowed(H5T_NATIVE_UINT64);
    case Elem::kF64:
      return borrowed(H5T_NATIVE_DOUBLE);
    case Elem::kEnumFormat:
    case Elem::kEnumErrorKind:
      return make_enum(e, H5T_NATIVE_UINT8);
  }
  return borrowed(H5T_NATIVE_UINT8);
}

void write_dataset(hid_t file, const std::string& name, Elem e, const WriteSpec& spec, hid_t dxpl,
                   bool select_all) {
  const std::size_t esize = elem_size(e);
  hsize_t dims[1] = {static_cast<hsize_t>(spec.n)};
  Handle space = checked(H5Screate_simple(1, dims, nullptr), H5Sclose, "H5Screate_simple");
  Handle dcpl = checked(H5Pcreate(H5P_DATASET_CREATE), H5Pclose, "H5Pcreate(dcpl)");
  // Every byte is written, so fill values would only cost a second pass over the file.
  check(H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_NEVER), "H5Pset_fill_time");
  if (spec.compress && spec.n * esize >= kCompressMinBytes) {
    hsize_t chunk[1] = {std::max<hsize_t>(1, std::min<hsize_t>(spec.n, kChunkBytes / esize))};
    check(H5Pset_chunk(dcpl.get(), 1, chunk), "H5Pset_chunk");
    if (esize > 1) check(H5Pset_shuffle(dcpl.get()), "H5Pset_shuffle");
    check(H5Pset_deflate(dcpl.get(), 4), "H5Pset_deflate");
  }
  Handle ftype = file_type(e);
  Handle dset = checked(H5Dcreate2(file, name.c_str(), ftype.get(), space.get(), H5P_DEFAULT,
                                   dcpl.get(), H5P_DEFAULT),
                        H5Dclose, "create dataset " + name);
  if (spec.n == 0) {
    dset.close("close dataset " + name);
    return;
  }
  Handle mtype = mem_type(e);
  Handle fspace = checked(H5Dget_space(dset.get()), H5Sclose, "H5Dget_space");
  Handle mspace = checked(H5Screate_simple(1, dims, nullptr), H5Sclose, "H5Screate_simple");
  // A rank without data still takes part in the collective write with an empty selection;
  // HDF5 wants a non-null buffer pointer even then.
  static const std::uint64_t kDummy = 0;
  const void* buf = spec.data;
  if (!select_all) {
    check(H5Sselect_none(fspace.get()), "H5Sselect_none");
    check(H5Sselect_none(mspace.get()), "H5Sselect_none");
    buf = &kDummy;
  } else if (buf == nullptr) {
    throw H5Error("write " + name + ": no data on the writing rank");
  }
  check(H5Dwrite(dset.get(), mtype.get(), mspace.get(), fspace.get(), dxpl, buf),
        "write dataset " + name);
  dset.close("close dataset " + name);
}

namespace {

// A chunked dataset whose pipeline is [shuffle,] deflate, read chunk by chunk with
// H5Dread_chunk and inflated with libdeflate (about twice zlib's speed; libhdf5 will not let
// its predefined deflate filter be replaced), each chunk straight into `out`. False, with
// `out` unspecified, when anything is not as expected (another layout, type or filter, a
// missing chunk, data that does not inflate to exactly one chunk): the caller then reads the
// dataset with H5Dread, which reports real damage in its own words.
bool read_chunks_inflating(hid_t dset, hid_t ftype, hid_t mtype, std::size_t esize,
                           std::uint64_t n, std::uint64_t file_bytes, void* out) {
  if (H5Tequal(ftype, mtype) <= 0 || H5Tget_size(ftype) != esize) return false;
  Handle dcpl(H5Dget_create_plist(dset), H5Pclose);
  if (dcpl.get() < 0 || H5Pget_layout(dcpl.get()) != H5D_CHUNKED) return false;
  hsize_t cdims[1] = {0};
  if (H5Pget_chunk(dcpl.get(), 1, cdims) != 1 || cdims[0] == 0) return false;
  const int nfilters = H5Pget_nfilters(dcpl.get());
  if (nfilters < 1 || nfilters > 2) return false;
  int deflate_at = -1, shuffle_at = -1;
  for (int i = 0; i < nfilters; ++i) {
    unsigned flags = 0;
    std::size_t nvals = 0;
    const H5Z_filter_t id = H5Pget_filter2(dcpl.get(), static_cast<unsigned>(i), &flags, &nvals,
                                           nullptr, 0, nullptr, nullptr);
    if (id == H5Z_FILTER_DEFLATE && deflate_at < 0)
      deflate_at = i;
    else if (id == H5Z_FILTER_SHUFFLE && shuffle_at < 0 && i == 0)
      shuffle_at = i;
    else
      return false;
  }
  if (deflate_at < 0 || (nfilters == 2 && shuffle_at != 0)) return false;
  const std::uint64_t chunk_elems = cdims[0];
  if (chunk_elems > (std::uint64_t{1} << 40) / esize) return false;
  const std::size_t chunk_bytes = static_cast<std::size_t>(chunk_elems * esize);
  const std::uint64_t expected = (n + chunk_elems - 1) / chunk_elems;
  hsize_t nchunks = 0;
  if (H5Dget_num_chunks(dset, H5S_ALL, &nchunks) < 0 || nchunks != expected) {
    H5Eclear2(H5E_DEFAULT);
    return false;
  }
  struct Decompressor {
    libdeflate_decompressor* d = libdeflate_alloc_decompressor();
    ~Decompressor() { libdeflate_free_decompressor(d); }
  } dec;
  if (dec.d == nullptr) return false;
  std::vector<unsigned char> raw, chunk(chunk_bytes);
  auto* dst = static_cast<unsigned char*>(out);
  std::vector<char> seen(static_cast<std::size_t>(nchunks), 0);
  for (hsize_t i = 0; i < nchunks; ++i) {
    hsize_t offset[1] = {0};
    unsigned mask = 0;
    haddr_t addr = 0;
    hsize_t stored = 0;
    if (H5Dget_chunk_info(dset, H5S_ALL, i, offset, &mask, &addr, &stored) < 0 ||
        stored == 0 || stored > file_bytes || offset[0] % chunk_elems != 0 || offset[0] >= n) {
      H5Eclear2(H5E_DEFAULT);
      return false;
    }
    const auto at = static_cast<std::size_t>(offset[0] / chunk_elems);
    if (seen[at] != 0) return false;
    seen[at] = 1;
    raw.resize(static_cast<std::size_t>(stored));
    std::uint32_t filters = 0;
    if (H5Dread_chunk(dset, H5P_DEFAULT, offset, &filters, raw.data()) < 0) {
      H5Eclear2(H5E_DEFAULT);
      return false;
    }
    const unsigned char* data = raw.data();
    if ((filters & (1u << deflate_at)) == 0) {
      std::size_t in_used = 0, got = 0;
      if (libdeflate_zlib_decompress_ex(dec.d, raw.data(), raw.size(), chunk.data(), chunk_bytes,
                                        &in_used, &got) != LIBDEFLATE_SUCCESS ||
          got != chunk_bytes)
        return false;
      data = chunk.data();
    } else if (raw.size() != chunk_bytes) {
      return false;
    }
    const std::uint64_t first = offset[0];
    const std::size_t count = static_cast<std::size_t>(std::min(chunk_elems, n - first));
    unsigned char* to = dst + first * esize;
    if (shuffle_at == 0 && (filters & 1u) == 0 && esize > 1) {
      // HDF5's shuffle stores byte b of element k at b * chunk_elems + k.
      const auto ce = static_cast<std::size_t>(chunk_elems);
      for (std::size_t k = 0; k < count; ++k)
        for (std::size_t b = 0; b < esize; ++b) to[k * esize + b] = data[b * ce + k];
    } else {
      std::memcpy(to, data, count * esize);
    }
  }
  return true;
}

}  // namespace

void read_dataset(hid_t file, const std::string& name, Elem e, std::uint64_t max_bytes,
                  std::uint64_t file_bytes, EnumTable* enum_names,
                  const std::function<void*(std::uint64_t)>& resize) {
  if (H5Lexists(file, name.c_str(), H5P_DEFAULT) <= 0) {
    H5Eclear2(H5E_DEFAULT);
    throw StructureError("dataset '" + name + "' is missing");
  }
  Handle dset = checked(H5Dopen2(file, name.c_str(), H5P_DEFAULT), H5Dclose, "open " + name);
  Handle ftype = checked(H5Dget_type(dset.get()), H5Tclose, "H5Dget_type " + name);
  check_type(ftype.get(), e, name, enum_names);
  Handle space = checked(H5Dget_space(dset.get()), H5Sclose, "H5Dget_space " + name);
  int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank != 1) throw StructureError("dataset '" + name + "' is not one-dimensional");
  hsize_t dims[1] = {0};
  check(H5Sget_simple_extent_dims(space.get(), dims, nullptr), "extent " + name);
  const std::size_t esize = elem_size(e);
  // Invariant 6: the element count comes from the file; bound it before allocating.
  if (dims[0] > max_bytes / esize)
    throw StructureError("dataset '" + name + "' claims " + std::to_string(dims[0]) +
                         " elements, over the table size cap");
  const std::uint64_t bytes = dims[0] * esize;
  const std::uint64_t stored = H5Dget_storage_size(dset.get());
  if (stored > file_bytes)
    throw StructureError("dataset '" + name + "' claims more storage than the file holds");
  if (bytes > stored * kMaxInflateRatio + 4096)
    throw StructureError("dataset '" + name + "' claims " + std::to_string(bytes) +
                         " bytes but stores only " + std::to_string(stored));
  void* out = resize(dims[0]);
  if (bytes == 0 || out == nullptr) return;
  // Reading with the file's own type (for enums) or its native equivalent: raw values, no
  // conversion, so the checksum sees exactly the bytes that were written.
  Handle mtype =
      (e == Elem::kEnumFormat || e == Elem::kEnumErrorKind)
          ? checked(H5Tget_native_type(ftype.get(), H5T_DIR_ASCEND), H5Tclose, "H5Tget_native_type")
          : mem_type(e);
  if (read_chunks_inflating(dset.get(), ftype.get(), mtype.get(), esize, dims[0], file_bytes, out))
    return;
  check(H5Dread(dset.get(), mtype.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, out),
        "read dataset " + name);
}

void create_group(hid_t file, const char* name) {
  Handle g = checked(H5Gcreate2(file, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose,
                     std::string("create group ") + name);
  g.close(std::string("close group ") + name);
}

void write_string_attr(hid_t obj, const char* name, std::string_view value) {
  // Variable-length UTF-8: h5py returns these as str.
  Handle type = checked(H5Tcopy(H5T_C_S1), H5Tclose, "H5Tcopy");
  check(H5Tset_size(type.get(), H5T_VARIABLE), "H5Tset_size");
  check(H5Tset_cset(type.get(), H5T_CSET_UTF8), "H5Tset_cset");
  Handle space = checked(H5Screate(H5S_SCALAR), H5Sclose, "H5Screate");
  Handle attr = checked(H5Acreate2(obj, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
                        H5Aclose, std::string("create attribute ") + name);
  std::string copy(value);
  const char* p = copy.c_str();
  check(H5Awrite(attr.get(), type.get(), &p), std::string("write attribute ") + name);
  attr.close(std::string("close attribute ") + name);
}

namespace {
template <typename T>
void write_scalar_attr(hid_t obj, const char* name, hid_t ftype, hid_t mtype, T value) {
  Handle space = checked(H5Screate(H5S_SCALAR), H5Sclose, "H5Screate");
  Handle attr = checked(H5Acreate2(obj, name, ftype, space.get(), H5P_DEFAULT, H5P_DEFAULT),
                        H5Aclose, std::string("create attribute ") + name);
  check(H5Awrite(attr.get(), mtype, &value), std::string("write attribute ") + name);
  attr.close(std::string("close attribute ") + name);
}

std::optional<Handle> open_attr(hid_t obj, const char* name) {
  htri_t exists = H5Aexists(obj, name);
  if (exists < 0) fail(std::string("H5Aexists ") + name);
  if (exists == 0) return std::nullopt;
  return checked(H5Aopen(obj, name, H5P_DEFAULT), H5Aclose, std::string("open attribute ") + name);
}

void check_scalar(hid_t attr, const char* name) {
  Handle space = checked(H5Aget_space(attr), H5Sclose, "H5Aget_space");
  if (H5Sget_simple_extent_type(space.get()) != H5S_SCALAR)
    throw StructureError(std::string("attribute '") + name + "' is not a scalar");
}
}  // namespace

void write_u64_attr(hid_t obj, const char* name, std::uint64_t value) {
  write_scalar_attr(obj, name, H5T_STD_U64LE, H5T_NATIVE_UINT64, value);
}

void write_i32_attr(hid_t obj, const char* name, std::int32_t value) {
  write_scalar_attr(obj, name, H5T_STD_I32LE, H5T_NATIVE_INT32, value);
}

std::optional<std::string> read_string_attr(hid_t obj, const char* name) {
  auto attr = open_attr(obj, name);
  if (!attr) return std::nullopt;
  check_scalar(attr->get(), name);
  Handle ftype = checked(H5Aget_type(attr->get()), H5Tclose, "H5Aget_type");
  if (H5Tget_class(ftype.get()) != H5T_STRING)
    throw StructureError(std::string("attribute '") + name + "' is not a string");
  htri_t vlen = H5Tis_variable_str(ftype.get());
  if (vlen < 0) fail("H5Tis_variable_str");
  if (vlen > 0) {
    Handle mtype = checked(H5Tcopy(H5T_C_S1), H5Tclose, "H5Tcopy");
    check(H5Tset_size(mtype.get(), H5T_VARIABLE), "H5Tset_size");
    check(H5Tset_cset(mtype.get(), H5Tget_cset(ftype.get())), "H5Tset_cset");
    char* p = nullptr;
    check(H5Aread(attr->get(), mtype.get(), &p), std::string("read attribute ") + name);
    std::string out = p != nullptr ? std::string(p, strnlen(p, 1 << 16)) : std::string();
    if (p != nullptr) H5free_memory(p);
    return out;
  }
  // Fixed-length strings (a foreign writer): bounded by the type's size.
  std::size_t size = H5Tget_size(ftype.get());
  if (size == 0 || size > (1 << 16))
    throw StructureError(std::string("attribute '") + name + "' has an implausible size");
  std::string buf(size, '\0');
  check(H5Aread(attr->get(), ftype.get(), buf.data()), std::string("read attribute ") + name);
  buf.resize(strnlen(buf.c_str(), size));
  return buf;
}

std::optional<std::uint64_t> read_u64_attr(hid_t obj, const char* name) {
  auto attr = open_attr(obj, name);
  if (!attr) return std::nullopt;
  check_scalar(attr->get(), name);
  Handle ftype = checked(H5Aget_type(attr->get()), H5Tclose, "H5Aget_type");
  if (H5Tget_class(ftype.get()) != H5T_INTEGER || H5Tget_size(ftype.get()) != 8 ||
      H5Tget_sign(ftype.get()) != H5T_SGN_NONE)
    throw StructureError(std::string("attribute '") + name + "' is not a uint64");
  std::uint64_t v = 0;
  check(H5Aread(attr->get(), H5T_NATIVE_UINT64, &v), std::string("read attribute ") + name);
  return v;
}

std::optional<std::int64_t> read_int_attr(hid_t obj, const char* name) {
  auto attr = open_attr(obj, name);
  if (!attr) return std::nullopt;
  check_scalar(attr->get(), name);
  Handle ftype = checked(H5Aget_type(attr->get()), H5Tclose, "H5Aget_type");
  if (H5Tget_class(ftype.get()) != H5T_INTEGER || H5Tget_size(ftype.get()) > 8)
    throw StructureError(std::string("attribute '") + name + "' is not an integer");
  std::int64_t v = 0;
  // HDF5 converts any integer width; an out-of-range unsigned value saturates, which the
  // caller's range checks then reject.
  check(H5Aread(attr->get(), H5T_NATIVE_INT64, &v), std::string("read attribute ") + name);
  return v;
}

Handle sec2_fapl() {
  Handle fapl = checked(H5Pcreate(H5P_FILE_ACCESS), H5Pclose, "H5Pcreate(fapl)");
  check(H5Pset_fapl_sec2(fapl.get()), "H5Pset_fapl_sec2");
  // Our own lock file serializes writers and rename makes publication atomic, so HDF5's
  // flock() adds nothing and fails on some parallel filesystems.
  check(H5Pset_file_locking(fapl.get(), false, true), "H5Pset_file_locking");
  return fapl;
}

namespace {

// File image callbacks that never copy: by default libhdf5 copies an image into the property
// list and again into the open file (two copies of the whole cache, 10 MB of memory written
// and faulted in for a 10^5-file cache). The files opened from an image are read-only, so
// every "allocation" can be the caller's buffer itself, as H5LTopen_file_image does with
// H5LT_FILE_IMAGE_DONT_COPY. The caller keeps the buffer alive while the file is open.
struct ImageView {
  const void* data;
  std::size_t size;
  std::atomic<int> refs{1};
};

void* image_malloc(std::size_t size, H5FD_file_image_op_t op, void* udata) {
  auto* v = static_cast<ImageView*>(udata);
  if (size != v->size) return nullptr;  // only the image itself is ever asked for
  switch (op) {
    case H5FD_FILE_IMAGE_OP_PROPERTY_LIST_SET:
    case H5FD_FILE_IMAGE_OP_PROPERTY_LIST_COPY:
    case H5FD_FILE_IMAGE_OP_PROPERTY_LIST_GET:
    case H5FD_FILE_IMAGE_OP_FILE_OPEN:
      return const_cast<void*>(v->data);
    default:
      return nullptr;
  }
}

void* image_memcpy(void* dest, const void* src, std::size_t /*size*/, H5FD_file_image_op_t,
                   void* /*udata*/) {
  return dest == src ? dest : nullptr;  // every "copy" is of the image onto itself
}

void* image_realloc(void*, std::size_t, H5FD_file_image_op_t, void*) {
  return nullptr;  // read-only: never resized
}

herr_t image_free(void*, H5FD_file_image_op_t, void*) { return 0; }  // the caller's buffer

void* image_udata_copy(void* udata) {
  static_cast<ImageView*>(udata)->refs.fetch_add(1);
  return udata;
}

herr_t image_udata_free(void* udata) {
  auto* v = static_cast<ImageView*>(udata);
  if (v->refs.fetch_sub(1) == 1) delete v;
  return 0;
}

}  // namespace

Handle image_fapl(const void* data, std::size_t size) {
  Handle fapl = checked(H5Pcreate(H5P_FILE_ACCESS), H5Pclose, "H5Pcreate(fapl)");
  // The core driver reads from memory; without a backing store nothing is ever written.
  check(H5Pset_fapl_core(fapl.get(), std::size_t{1} << 20, false), "H5Pset_fapl_core");
  auto* view = new ImageView{data, size};
  H5FD_file_image_callbacks_t cb{};
  cb.image_malloc = image_malloc;
  cb.image_memcpy = image_memcpy;
  cb.image_realloc = image_realloc;
  cb.image_free = image_free;
  cb.udata_copy = image_udata_copy;
  cb.udata_free = image_udata_free;
  cb.udata = view;
  const herr_t set = H5Pset_file_image_callbacks(fapl.get(), &cb);  // takes its own reference
  image_udata_free(view);                                           // drops ours
  check(set, "H5Pset_file_image_callbacks");
  check(H5Pset_file_image(fapl.get(), const_cast<void*>(data), size), "H5Pset_file_image");
  return fapl;
}

Handle core_fapl() {
  Handle fapl = checked(H5Pcreate(H5P_FILE_ACCESS), H5Pclose, "H5Pcreate(fapl)");
  // Grows in 4 MiB steps; nothing is ever written to a file by the driver itself.
  check(H5Pset_fapl_core(fapl.get(), std::size_t{4} << 20, false), "H5Pset_fapl_core");
  return fapl;
}

Handle mpio_fapl(const void* mpi_comm) {
  Handle fapl = checked(H5Pcreate(H5P_FILE_ACCESS), H5Pclose, "H5Pcreate(fapl)");
  MPI_Comm comm = *static_cast<const MPI_Comm*>(mpi_comm);
  check(H5Pset_fapl_mpio(fapl.get(), comm, MPI_INFO_NULL), "H5Pset_fapl_mpio");
  check(H5Pset_file_locking(fapl.get(), false, true), "H5Pset_file_locking");
  // Metadata is tiny; collective metadata writes avoid every rank writing it independently.
  check(H5Pset_coll_metadata_write(fapl.get(), true), "H5Pset_coll_metadata_write");
  return fapl;
}

Handle collective_dxpl() {
  Handle dxpl = checked(H5Pcreate(H5P_DATASET_XFER), H5Pclose, "H5Pcreate(dxpl)");
  check(H5Pset_dxpl_mpio(dxpl.get(), H5FD_MPIO_COLLECTIVE), "H5Pset_dxpl_mpio");
  return dxpl;
}

Handle default_dxpl() { return borrowed(H5P_DEFAULT); }

}  // namespace mpiprep::cache::h5
