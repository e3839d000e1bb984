// The dtype spelling, derived from h5py's reading of the test files (tests/data/expected.json):
//
//   integer, float   numpy typestr: byte order ('<' little, '>' big, '|' one byte) + kind
//                    ('i' signed, 'u' unsigned, 'f' float) + size in bytes: "<i8", ">f4", "|u1".
//   string           top level: "string(N,ascii)" / "string(N,utf-8)" for fixed length N (h5py's
//                    string_dtype), "string(vlen,utf-8)" for variable length. Inside a compound,
//                    array or vlen, a fixed string is numpy's "|SN" (as h5py gives for compound
//                    members) and a variable-length one stays "string(vlen,<enc>)".
//   compound         "compound{name:member,...}" in member order: "compound{a:<i4,b:|S4}".
//   enum             "enum(<base>){NAME=value,...}" in member order: h5py's bool is
//                    "enum(|i1){FALSE=0,TRUE=1}".
//   array            "array(<base>,(d0,d1,...))": numpy's subarray dtype (base, shape).
//   vlen sequence    "vlen(<base>)".
//   reference        "ref(object)", "ref(region)" (h5py's ref_dtype / regionref_dtype).
//   opaque           "opaque(N)" or "opaque(N,tag)": numpy would say "|VN" and lose the tag.
//   bitfield         read as the unsigned integer of its size, as h5py does: PyTables stores
//                    its bool columns as 8-bit bitfields and h5py reports "|u1".
//   time             "time(N)" (deprecated HDF5 class, never written by h5py or netCDF).
#include "extract/hdf5/dtype.hpp"

#include <cstdint>
#include <string>
#include <vector>

#include "extract/hdf5/h5_api.hpp"

namespace mpiprep::extract::hdf5 {
namespace {

std::string byte_order_char(hid_t t, std::size_t size) {
  if (size == 1) return "|";
  return h5::type_order(t) == H5T_ORDER_BE ? ">" : "<";
}

std::string number(hid_t t, char kind) {
  std::size_t size = h5::type_size(t);
  return byte_order_char(t, size) + kind + std::to_string(size);
}

// An enum value arrives as raw bytes of the base integer type.
std::string enum_value(const std::vector<unsigned char>& bytes, bool big_endian, bool is_signed) {
  std::uint64_t u = 0;
  const std::size_t n = bytes.size() > 8 ? 8 : bytes.size();
  for (std::size_t i = 0; i < n; ++i) {
    std::size_t idx = big_endian ? i : n - 1 - i;
    u = (u << 8) | bytes[idx];
  }
  if (is_signed && n > 0 && n < 8 && (u >> (8 * n - 1)) != 0) u |= ~std::uint64_t{0} << (8 * n);
  if (is_signed) return std::to_string(static_cast<std::int64_t>(u));
  return std::to_string(u);
}

// Types nest (compound of arrays of compounds...); a crafted file could nest deeply.
constexpr int kMaxNesting = 32;

std::string describe(hid_t t, bool nested, int depth) {
  if (depth > kMaxNesting) throw h5::H5Failure(ErrorKind::kCorrupt, "datatype nested too deeply");
  switch (h5::type_class(t)) {
    case H5T_INTEGER:
      return number(t, h5::type_sign(t) == H5T_SGN_NONE ? 'u' : 'i');
    case H5T_FLOAT:
      return number(t, 'f');
    case H5T_STRING: {
      const bool vlen = h5::is_variable_string(t);
      const std::string enc = h5::string_cset(t) == H5T_CSET_UTF8 ? "utf-8" : "ascii";
      if (vlen) return "string(vlen," + enc + ")";
      const std::size_t size = h5::type_size(t);
      if (nested) return "|S" + std::to_string(size);
      return "string(" + std::to_string(size) + "," + enc + ")";
    }
    case H5T_BITFIELD:
      return number(t, 'u');
    case H5T_OPAQUE: {
      std::string s = "opaque(" + std::to_string(h5::type_size(t));
      if (std::string tag = h5::opaque_tag(t); !tag.empty()) s += "," + tag;
      return s + ")";
    }
    case H5T_COMPOUND: {
      std::string s = "compound{";
      const int n = h5::member_count(t);
      for (unsigned i = 0; i < static_cast<unsigned>(n); ++i) {
        if (i > 0) s += ",";
        h5::Handle mt = h5::member_type(t, i);
        s += h5::member_name(t, i) + ":" + describe(mt.get(), true, depth + 1);
      }
      return s + "}";
    }
    case H5T_REFERENCE: {
      if (h5::type_equal(t, H5T_STD_REF_OBJ)) return "ref(object)";
      if (h5::type_equal(t, H5T_STD_REF_DSETREG)) return "ref(region)";
      return "ref(" + std::to_string(h5::type_size(t)) + ")";
    }
    case H5T_ENUM: {
      h5::Handle base = h5::super_type(t);
      const std::size_t size = h5::type_size(base.get());
      const bool big = h5::type_order(base.get()) == H5T_ORDER_BE;
      const bool is_signed = h5::type_sign(base.get()) != H5T_SGN_NONE;
      std::string s = "enum(" + describe(base.get(), true, depth + 1) + "){";
      const int n = h5::member_count(t);
      for (unsigned i = 0; i < static_cast<unsigned>(n); ++i) {
        if (i > 0) s += ",";
        s += h5::member_name(t, i) + "=" + enum_value(h5::member_value(t, i, size), big, is_signed);
      }
      return s + "}";
    }
    case H5T_VLEN: {
      h5::Handle base = h5::super_type(t);
      return "vlen(" + describe(base.get(), true, depth + 1) + ")";
    }
    case H5T_ARRAY: {
      h5::Handle base = h5::super_type(t);
      std::string s = "array(" + describe(base.get(), true, depth + 1) + ",(";
      const auto dims = h5::array_dims(t);
      for (std::size_t i = 0; i < dims.size(); ++i) {
        if (i > 0) s += ",";
        s += std::to_string(dims[i]);
      }
      return s + "))";
    }
    case H5T_TIME:
      return "time(" + std::to_string(h5::type_size(t)) + ")";
    case H5T_NO_CLASS:
    case H5T_NCLASSES:
      break;
  }
  return "unknown";
}

}  // namespace

std::string dtype_string(hid_t type) { return describe(type, false, 0); }

}  // namespace mpiprep::extract::hdf5
