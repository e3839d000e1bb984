// HDF5 datatype -> numpy-style type string, the form inspect JSON and the cache store. The rule
// matches h5py/numpy where numpy has a spelling and is documented in dtype.cpp where it has not.
#pragma once

#include <hdf5.h>

#include <string>

namespace mpiprep::extract::hdf5 {

// Throws h5::H5Failure when libhdf5 cannot describe the type.
std::string dtype_string(hid_t type);

}  // namespace mpiprep::extract::hdf5
