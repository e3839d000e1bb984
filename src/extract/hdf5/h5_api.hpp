// The one choke point between mpiprep and the libhdf5 C API (HighFive-style): RAII owners for
// hid_t, a guard that silences HDF5's automatic error printing, and checked wrappers that turn
// a failed call plus HDF5's error stack into an H5Failure carrying an ErrorKind and a message.
// Nothing outside src/extract/hdf5/ sees <hdf5.h>; H5Failure never leaves this module.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "mpiprep/core/result.hpp"

namespace mpiprep::extract::hdf5::h5 {

// A failed HDF5 call. kind is kTruncated when libhdf5 reported H5E_TRUNCATED, else kCorrupt:
// every input here was already sniffed as HDF5, so a refusal means bytes HDF5 cannot accept.
class H5Failure : public std::runtime_error {
 public:
  H5Failure(ErrorKind kind, const std::string& message)
      : std::runtime_error(message), kind_(kind) {}
  [[nodiscard]] ErrorKind kind() const noexcept { return kind_; }
  [[nodiscard]] Error to_error() const { return Error{kind_, what()}; }

 private:
  ErrorKind kind_;
};

// Summary of HDF5's current (default) error stack, which is cleared by reading it.
struct ErrorStack {
  std::string outermost;   // "H5Fopen: unable to open file"
  std::string innermost;   // the most specific entry: "H5F__super_read: truncated file: eof = ..."
  bool truncated = false;  // some entry carried the H5E_TRUNCATED minor code
  int depth = 0;
};
ErrorStack take_error_stack();

// Throws H5Failure describing `call` and the current error stack.
[[noreturn]] void fail(std::string_view call);

// Silences HDF5's automatic error printing (the "HDF5-DIAG: Error detected" dumps to stderr)
// for its lifetime and restores the previous handler. libhdf5 is not thread-safe here, so the
// guard lives inside the extractor's process-wide lock.
class ErrorSilencer {
 public:
  ErrorSilencer();
  ~ErrorSilencer();
  ErrorSilencer(const ErrorSilencer&) = delete;
  ErrorSilencer& operator=(const ErrorSilencer&) = delete;

 private:
  H5E_auto2_t old_func_ = nullptr;
  void* old_data_ = nullptr;
  bool restore_ = false;
};

// Owns one hid_t and closes it with the matching H5*close. Move-only.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer closer) noexcept : id_(id), closer_(closer) {}
  ~Handle() { reset(); }
  Handle(Handle&& o) noexcept : id_(o.id_), closer_(o.closer_) { o.id_ = H5I_INVALID_HID; }
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = o.id_;
      closer_ = o.closer_;
      o.id_ = H5I_INVALID_HID;
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  [[nodiscard]] hid_t get() const noexcept { return id_; }
  [[nodiscard]] bool valid() const noexcept { return id_ >= 0; }
  // Closes now and reports failure (a file close can fail, e.g. with objects still open).
  void close();
  void reset() noexcept;

 private:
  hid_t id_ = H5I_INVALID_HID;
  Closer closer_ = nullptr;
};

// Memory that libhdf5 allocated for us (member names, tags): freed with H5free_memory.
struct H5Free {
  void operator()(void* p) const noexcept { H5free_memory(p); }
};
using H5String = std::unique_ptr<char, H5Free>;

// ---- Checked wrappers. Each throws H5Failure on failure. ----

// Files and property lists.
Handle create_fapl_sec2();
// The core (in-memory) driver over a copy of `image`, for files libhdf5 cannot open by path.
Handle create_fapl_image(std::span<const std::byte> image);
Handle open_file_readonly(const std::string& path, hid_t fapl);

// Objects.
Handle open_object(hid_t loc, const char* name);
H5O_info_t object_info(hid_t obj, unsigned fields);
// Visits every object reachable by hard links, once each, in increasing name order.
void visit_objects(hid_t root, H5O_iterate_t op, void* data, unsigned fields);
// Attribute names of an object, in name-index order (callers sort them again byte-wise).
std::vector<std::string> attribute_names(hid_t obj);

// Datasets.
Handle dataset_space(hid_t dset);
Handle dataset_type(hid_t dset);
Handle dataset_create_plist(hid_t dset);

// Dataspaces: dims and maxdims (-1 for unlimited). A scalar or null space has rank 0.
struct Extent {
  std::vector<std::int64_t> dims, maxdims;
  bool null_space = false;
};
Extent extent(hid_t space);

// Dataset creation property lists.
H5D_layout_t layout(hid_t dcpl);
std::vector<std::int64_t> chunk_dims(hid_t dcpl);
struct FilterInfo {
  int id = 0;
  std::string name;
  std::vector<unsigned> params;
};
std::vector<FilterInfo> filters(hid_t dcpl);

// Datatypes.
H5T_class_t type_class(hid_t t);
std::size_t type_size(hid_t t);
H5T_order_t type_order(hid_t t);
H5T_sign_t type_sign(hid_t t);
bool is_variable_string(hid_t t);
H5T_cset_t string_cset(hid_t t);
bool type_equal(hid_t a, hid_t b);
int member_count(hid_t t);
std::string member_name(hid_t t, unsigned i);
Handle member_type(hid_t t, unsigned i);
std::vector<unsigned char> member_value(hid_t enum_t, unsigned i, std::size_t size);
Handle super_type(hid_t t);
std::vector<std::int64_t> array_dims(hid_t t);
std::string opaque_tag(hid_t t);  // "" when the type has no tag

// Number of open HDF5 identifiers of every kind, over all files (leak checks).
std::int64_t open_object_count();

}  // namespace mpiprep::extract::hdf5::h5
