// Test-only helpers to write HDF5 files with the C API: an owning id and a checked call, so a
// failing setup step fails the test instead of producing a half-written file.
#pragma once

#include <hdf5.h>

#include <stdexcept>
#include <string>

namespace mpiprep::testing_support {

class H5Id {
 public:
  H5Id(hid_t id, herr_t (*closer)(hid_t), const char* what) : id_(id), closer_(closer) {
    if (id_ < 0) throw std::runtime_error(std::string("HDF5 call failed: ") + what);
  }
  ~H5Id() {
    if (id_ >= 0) closer_(id_);
  }
  H5Id(const H5Id&) = delete;
  H5Id& operator=(const H5Id&) = delete;
  operator hid_t() const { return id_; }  // NOLINT(google-explicit-constructor)

 private:
  hid_t id_;
  herr_t (*closer_)(hid_t);
};

inline void h5_check(herr_t r, const char* what) {
  if (r < 0) throw std::runtime_error(std::string("HDF5 call failed: ") + what);
}

// Open HDF5 identifiers over all files: 0 when nothing leaked.
inline long long h5_open_ids() {
  return static_cast<long long>(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL));
}

}  // namespace mpiprep::testing_support
