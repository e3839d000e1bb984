// The cache module's single choke point for libhdf5 (HighFive-style): RAII handles, an error
// silencer so HDF5 never prints its error stack, and typed 1-D dataset/attribute helpers. Every
// failed HDF5 call becomes an H5Error carrying the innermost message of HDF5's error stack.
#pragma once

#include <hdf5.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mpiprep::cache::h5 {

class H5Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A cache file whose content is not what we wrote (wrong type/size/shape): a structure error,
// as opposed to HDF5 failing to read it.
class StructureError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Turns off HDF5's automatic error printing for its lifetime and restores the previous
// handler afterwards. Every public cache entry point that touches HDF5 holds one.
class ErrorSilencer {
 public:
  ErrorSilencer();
  ~ErrorSilencer();
  ErrorSilencer(const ErrorSilencer&) = delete;
  ErrorSilencer& operator=(const ErrorSilencer&) = delete;

 private:
  H5E_auto2_t func_ = nullptr;
  void* data_ = nullptr;
};

// One line describing HDF5's current error stack (outermost and innermost messages); clears it.
std::string take_error_stack();
[[noreturn]] void fail(std::string_view what);

class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  ~Handle() { reset(); }
  Handle(Handle&& o) noexcept : id_(std::exchange(o.id_, H5I_INVALID_HID)), closer_(o.closer_) {}
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = std::exchange(o.id_, H5I_INVALID_HID);
      closer_ = o.closer_;
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  [[nodiscard]] hid_t get() const noexcept { return id_; }
  // Closes now and reports failure (H5Fclose is where buffered data reaches the file).
  void close(std::string_view what);
  void reset() noexcept;

 private:
  hid_t id_ = H5I_INVALID_HID;
  Closer closer_ = nullptr;
};

// Wraps a freshly returned id; throws H5Error if it is negative.
Handle checked(hid_t id, Handle::Closer closer, std::string_view what);
void check(herr_t status, std::string_view what);

// Element types of the cache's datasets: little-endian in the file, native in memory.
enum class Elem : std::uint8_t { kU8, kI32, kU32, kI64, kU64, kF64, kEnumFormat, kEnumErrorKind };
std::size_t elem_size(Elem e) noexcept;

template <typename T>
constexpr Elem elem_of() noexcept;
template <>
constexpr Elem elem_of<char>() noexcept {
  return Elem::kU8;
}
template <>
constexpr Elem elem_of<std::uint8_t>() noexcept {
  return Elem::kU8;
}
template <>
constexpr Elem elem_of<std::int32_t>() noexcept {
  return Elem::kI32;
}
template <>
constexpr Elem elem_of<std::uint32_t>() noexcept {
  return Elem::kU32;
}
template <>
constexpr Elem elem_of<std::int64_t>() noexcept {
  return Elem::kI64;
}
template <>
constexpr Elem elem_of<std::uint64_t>() noexcept {
  return Elem::kU64;
}
template <>
constexpr Elem elem_of<double>() noexcept {
  return Elem::kF64;
}

// File type for an element kind (enum types are created, the others are library constants).
Handle file_type(Elem e);
// Memory type: the native equivalent (for enums, the same enum over native uint8).
Handle mem_type(Elem e);

struct WriteSpec {
  std::uint64_t n = 0;         // elements (identical on every rank)
  const void* data = nullptr;  // rank with data; others pass nullptr
  bool compress = false;       // shuffle + deflate, chunked
};

// Creates a 1-D dataset `name` and writes it. With `select_all` false this rank contributes
// no elements (parallel write where rank 0 holds the data); dxpl selects collective transfer.
void write_dataset(hid_t file, const std::string& name, Elem e, const WriteSpec& spec, hid_t dxpl,
                   bool select_all);

// Reads a whole 1-D dataset into raw bytes after checking its type against `e`, its rank, and
// its size against `max_bytes` and the space it occupies in a file of `file_bytes` bytes.
// For enum columns, `enum_names` receives the file's (value -> name) table.
struct EnumTable {
  std::vector<std::pair<std::uint8_t, std::string>> members;
};
// `resize(n)` sizes the destination for n elements and returns where to read them, or nullptr
// to check the dataset and learn its size without reading it.
void read_dataset(hid_t file, const std::string& name, Elem e, std::uint64_t max_bytes,
                  std::uint64_t file_bytes, EnumTable* enum_names,
                  const std::function<void*(std::uint64_t)>& resize);

void create_group(hid_t file, const char* name);

void write_string_attr(hid_t obj, const char* name, std::string_view value);
void write_u64_attr(hid_t obj, const char* name, std::uint64_t value);
void write_i32_attr(hid_t obj, const char* name, std::int32_t value);
// nullopt if the attribute does not exist; throws StructureError on a wrong type.
std::optional<std::string> read_string_attr(hid_t obj, const char* name);
std::optional<std::uint64_t> read_u64_attr(hid_t obj, const char* name);
std::optional<std::int64_t> read_int_attr(hid_t obj, const char* name);

// File access property lists.
Handle sec2_fapl();                      // serial, file locking off (we have our own lock)
// Read-only access to a file image in memory (the core driver; HDF5 copies the bytes).
Handle image_fapl(const void* data, std::size_t size);
Handle core_fapl();                      // in memory, no backing store (file image writer)
Handle mpio_fapl(const void* mpi_comm);  // parallel over the MPI_Comm pointed to
Handle collective_dxpl();                // H5FD_MPIO_COLLECTIVE
Handle default_dxpl();

}  // namespace mpiprep::cache::h5
