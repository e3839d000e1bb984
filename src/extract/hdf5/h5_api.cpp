#include "extract/hdf5/h5_api.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <new>

namespace mpiprep::extract::hdf5::h5 {
namespace {

// Bounds on what a file can make us allocate (DESIGN invariant 6). HDF5 itself caps ranks at
// H5S_MAX_RANK; client data of a real filter is a handful of values.
constexpr std::size_t kMaxRank = H5S_MAX_RANK;
constexpr std::size_t kMaxFilterParams = 4096;
constexpr std::size_t kFilterNameLen = 256;

struct WalkState {
  hid_t truncated_code = H5I_INVALID_HID;
  ErrorStack stack;
};

std::string describe(const H5E_error2_t* e) {
  std::string s = e->func_name != nullptr ? e->func_name : "?";
  s += ": ";
  s += e->desc != nullptr ? e->desc : "(no description)";
  return s;
}

// Must not call API functions that clear the stack being walked; it only copies strings.
herr_t walk_cb(unsigned n, const H5E_error2_t* e, void* data) noexcept {
  auto* st = static_cast<WalkState*>(data);
  try {
    if (n == 0) st->stack.outermost = describe(e);
    st->stack.innermost = describe(e);
    if (e->min_num == st->truncated_code) st->stack.truncated = true;
    st->stack.depth = static_cast<int>(n) + 1;
  } catch (...) {
    return -1;
  }
  return 0;
}

std::int64_t to_i64(hsize_t v) {
  if (v == H5S_UNLIMITED) return -1;
  if (v > static_cast<hsize_t>(std::numeric_limits<std::int64_t>::max()))
    throw H5Failure(ErrorKind::kCorrupt, "dimension does not fit in 63 bits");
  return static_cast<std::int64_t>(v);
}

template <typename T>
T check(T ret, std::string_view call) {
  if (static_cast<long long>(ret) < 0) fail(call);
  return ret;
}

herr_t attr_name_cb(hid_t, const char* name, const H5A_info_t*, void* data) noexcept {
  try {
    static_cast<std::vector<std::string>*>(data)->emplace_back(name);
  } catch (...) {
    return -1;
  }
  return 0;
}

}  // namespace

ErrorStack take_error_stack() {
  WalkState st;
  st.truncated_code = H5E_TRUNCATED;  // read before walking: H5OPEN is safe, but keep it out
  // (A failed walk leaves depth at 0: the message then names only the call.)
  if (H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, walk_cb, &st) < 0) st.stack.depth = 0;
  H5Eclear2(H5E_DEFAULT);
  return st.stack;
}

void fail(std::string_view call) {
  ErrorStack st = take_error_stack();
  std::string msg(call);
  msg += " failed";
  if (st.depth > 0) {
    msg += ": ";
    msg += st.outermost;
    if (st.depth > 1) {
      msg += " (";
      msg += st.innermost;
      msg += ")";
    }
  }
  // The sec2 driver reports open(2) failures as "errno = N" in the innermost description; the
  // file was opened through the io layer moments before, so these are rare but real (a file
  // replaced or made unreadable in between, or a path that exists only in a MemoryFileSystem).
  ErrorKind kind = st.truncated ? ErrorKind::kTruncated : ErrorKind::kCorrupt;
  if (st.innermost.find("errno = 2,") != std::string::npos) kind = ErrorKind::kMissing;
  if (st.innermost.find("errno = 13,") != std::string::npos) kind = ErrorKind::kPermission;
  throw H5Failure(kind, msg);
}

ErrorSilencer::ErrorSilencer() {
  if (H5Eget_auto2(H5E_DEFAULT, &old_func_, &old_data_) >= 0) restore_ = true;
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

ErrorSilencer::~ErrorSilencer() {
  H5Eclear2(H5E_DEFAULT);
  if (restore_) H5Eset_auto2(H5E_DEFAULT, old_func_, old_data_);
}

void Handle::close() {
  if (!valid()) return;
  hid_t id = id_;
  id_ = H5I_INVALID_HID;
  if (closer_(id) < 0) fail("H5close");
}

void Handle::reset() noexcept {
  if (!valid()) return;
  closer_(id_);
  id_ = H5I_INVALID_HID;
}

Handle create_fapl_sec2() {
  Handle fapl(check(H5Pcreate(H5P_FILE_ACCESS), "H5Pcreate"), H5Pclose);
  check(H5Pset_fapl_sec2(fapl.get()), "H5Pset_fapl_sec2");
  // Take HDF5's shared read lock so a file being written is refused rather than misread, but do
  // not fail on filesystems where locking is disabled (common on Lustre/GPFS client mounts).
  check(H5Pset_file_locking(fapl.get(), true, true), "H5Pset_file_locking");
  return fapl;
}

Handle create_fapl_image(std::span<const std::byte> image) {
  Handle fapl(check(H5Pcreate(H5P_FILE_ACCESS), "H5Pcreate"), H5Pclose);
  check(H5Pset_fapl_core(fapl.get(), std::size_t{1} << 20, false), "H5Pset_fapl_core");
  // libhdf5 copies the image, so the caller's buffer need not outlive the open file.
  check(H5Pset_file_image(fapl.get(), const_cast<std::byte*>(image.data()), image.size()),
        "H5Pset_file_image");
  return fapl;
}

Handle open_file_readonly(const std::string& path, hid_t fapl) {
  return {check(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl), "H5Fopen"), H5Fclose};
}

Handle open_object(hid_t loc, const char* name) {
  return {check(H5Oopen(loc, name, H5P_DEFAULT), "H5Oopen"), H5Oclose};
}

H5O_info_t object_info(hid_t obj, unsigned fields) {
  H5O_info_t info{};
  check(H5Oget_info2(obj, &info, fields), "H5Oget_info");
  return info;
}

void visit_objects(hid_t root, H5O_iterate_t op, void* data, unsigned fields) {
  check(H5Ovisit2(root, H5_INDEX_NAME, H5_ITER_INC, op, data, fields), "H5Ovisit");
}

std::vector<std::string> attribute_names(hid_t obj) {
  std::vector<std::string> names;
  hsize_t idx = 0;
  check(H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_INC, &idx, attr_name_cb, &names), "H5Aiterate");
  return names;
}

Handle dataset_space(hid_t dset) { return {check(H5Dget_space(dset), "H5Dget_space"), H5Sclose}; }

Handle dataset_type(hid_t dset) { return {check(H5Dget_type(dset), "H5Dget_type"), H5Tclose}; }

Handle dataset_create_plist(hid_t dset) {
  return {check(H5Dget_create_plist(dset), "H5Dget_create_plist"), H5Pclose};
}

Extent extent(hid_t space) {
  Extent e;
  H5S_class_t cls = check(H5Sget_simple_extent_type(space), "H5Sget_simple_extent_type");
  if (cls == H5S_NULL) {
    e.null_space = true;
    return e;
  }
  int rank = check(H5Sget_simple_extent_ndims(space), "H5Sget_simple_extent_ndims");
  if (static_cast<std::size_t>(rank) > kMaxRank)
    throw H5Failure(ErrorKind::kCorrupt, "dataspace rank above H5S_MAX_RANK");
  std::array<hsize_t, kMaxRank> dims{}, maxdims{};
  check(H5Sget_simple_extent_dims(space, dims.data(), maxdims.data()), "H5Sget_simple_extent_dims");
  for (std::size_t i = 0; i < static_cast<std::size_t>(rank); ++i) {
    e.dims.push_back(to_i64(dims[i]));
    e.maxdims.push_back(to_i64(maxdims[i]));
  }
  return e;
}

H5D_layout_t layout(hid_t dcpl) { return check(H5Pget_layout(dcpl), "H5Pget_layout"); }

std::vector<std::int64_t> chunk_dims(hid_t dcpl) {
  std::array<hsize_t, kMaxRank> dims{};
  int rank = check(H5Pget_chunk(dcpl, static_cast<int>(kMaxRank), dims.data()), "H5Pget_chunk");
  std::vector<std::int64_t> out;
  for (std::size_t i = 0; i < std::min(static_cast<std::size_t>(rank), kMaxRank); ++i)
    out.push_back(to_i64(dims[i]));
  return out;
}

std::vector<FilterInfo> filters(hid_t dcpl) {
  int n = check(H5Pget_nfilters(dcpl), "H5Pget_nfilters");
  std::vector<FilterInfo> out;
  for (unsigned i = 0; i < static_cast<unsigned>(n); ++i) {
    std::vector<unsigned> cd(16);
    std::array<char, kFilterNameLen + 1> name{};
    unsigned flags = 0;
    std::size_t nelmts = cd.size();
    // filter_config is not requested: for a filter this library lacks it would only add noise
    // to the error stack. The name comes from the pipeline message, else the registered class.
    H5Z_filter_t id = check(
        H5Pget_filter2(dcpl, i, &flags, &nelmts, cd.data(), name.size(), name.data(), nullptr),
        "H5Pget_filter2");
    if (nelmts > cd.size()) {
      if (nelmts > kMaxFilterParams)
        throw H5Failure(ErrorKind::kCorrupt, "filter client data longer than 4096 values");
      cd.resize(nelmts);
      check(H5Pget_filter2(dcpl, i, &flags, &nelmts, cd.data(), name.size(), name.data(), nullptr),
            "H5Pget_filter2");
    }
    cd.resize(std::min(nelmts, cd.size()));
    name.back() = '\0';
    out.push_back(FilterInfo{static_cast<int>(id), std::string(name.data()), std::move(cd)});
  }
  return out;
}

H5T_class_t type_class(hid_t t) { return check(H5Tget_class(t), "H5Tget_class"); }

std::size_t type_size(hid_t t) {
  std::size_t s = H5Tget_size(t);
  if (s == 0) fail("H5Tget_size");
  return s;
}

H5T_order_t type_order(hid_t t) { return check(H5Tget_order(t), "H5Tget_order"); }

H5T_sign_t type_sign(hid_t t) { return check(H5Tget_sign(t), "H5Tget_sign"); }

bool is_variable_string(hid_t t) { return check(H5Tis_variable_str(t), "H5Tis_variable_str") > 0; }

H5T_cset_t string_cset(hid_t t) { return check(H5Tget_cset(t), "H5Tget_cset"); }

bool type_equal(hid_t a, hid_t b) { return check(H5Tequal(a, b), "H5Tequal") > 0; }

int member_count(hid_t t) { return check(H5Tget_nmembers(t), "H5Tget_nmembers"); }

std::string member_name(hid_t t, unsigned i) {
  H5String s(H5Tget_member_name(t, i));
  if (!s) fail("H5Tget_member_name");
  return std::string(s.get());
}

Handle member_type(hid_t t, unsigned i) {
  return {check(H5Tget_member_type(t, i), "H5Tget_member_type"), H5Tclose};
}

std::vector<unsigned char> member_value(hid_t enum_t, unsigned i, std::size_t size) {
  std::vector<unsigned char> v(size);
  check(H5Tget_member_value(enum_t, i, v.data()), "H5Tget_member_value");
  return v;
}

Handle super_type(hid_t t) { return {check(H5Tget_super(t), "H5Tget_super"), H5Tclose}; }

std::vector<std::int64_t> array_dims(hid_t t) {
  int rank = check(H5Tget_array_ndims(t), "H5Tget_array_ndims");
  if (static_cast<std::size_t>(rank) > kMaxRank)
    throw H5Failure(ErrorKind::kCorrupt, "array type rank above H5S_MAX_RANK");
  std::array<hsize_t, kMaxRank> dims{};
  check(H5Tget_array_dims2(t, dims.data()), "H5Tget_array_dims");
  std::vector<std::int64_t> out;
  for (std::size_t i = 0; i < static_cast<std::size_t>(rank); ++i) out.push_back(to_i64(dims[i]));
  return out;
}

std::string opaque_tag(hid_t t) {
  H5String s(H5Tget_tag(t));
  if (!s) {
    H5Eclear2(H5E_DEFAULT);  // an opaque type without a tag is legal
    return {};
  }
  return std::string(s.get());
}

std::int64_t open_object_count() {
  return static_cast<std::int64_t>(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL));
}

}  // namespace mpiprep::extract::hdf5::h5
