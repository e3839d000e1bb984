// Error values and Result<T>: per-file failures are values, not exceptions.
// An Error carries a machine-readable kind (stable strings, used in the cache, the failures
// file and inspect JSON) and a human-readable message that names the offset or object.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace mpiprep {

enum class ErrorKind : std::uint8_t {
  kNone = 0,
  kMissing,                 // file does not exist
  kPermission,              // EACCES/EPERM
  kIo,                      // read error (EIO, ESTALE, ...) after retries
  kTruncated,               // a structure points past the end of the file
  kCorrupt,                 // bytes that cannot be what they claim (bad magic, bad checksum)
  kUnsupportedFormat,       // not ROOT/HDF5 (NetCDF-3, Parquet, unknown)
  kUnsupportedVersion,      // a known class at a version we do not decode
  kUnsupportedCompression,  // e.g. ROOT's old "CS" algorithm
  kNotFound,                // object_path not in the file
  kInconsistent,            // e.g. a group's datasets disagree on their first dimension
  kTimeout,                 // watchdog fired
  kInternal,                // a bug: should never be seen
};

// Stable names: these strings are part of the cache and output formats.
std::string_view error_kind_name(ErrorKind kind) noexcept;
ErrorKind error_kind_from_name(std::string_view name) noexcept;

struct Error {
  ErrorKind kind = ErrorKind::kInternal;
  std::string message;
  // The errno behind a system-call failure (set by io::errno_error), 0 otherwise: lets callers
  // decide on retries and report causes without parsing the message. Not serialized.
  int sys_errno = 0;

  [[nodiscard]] std::string to_string() const;
};

// Result<T>: either a value or an Error. [[nodiscard]] so an unchecked status is a warning
// (and, with -Werror, a build failure).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}          // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}      // NOLINT(google-explicit-constructor)

  [[nodiscard]] bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & { check(); return std::get<0>(v_); }
  const T& value() const& { check(); return std::get<0>(v_); }
  T&& value() && { check(); return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }

 private:
  void check() const {
    if (!ok()) throw std::logic_error("Result::value() on error: " + std::get<1>(v_).to_string());
  }
  std::variant<T, Error> v_;
};

// Result<void> equivalent.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT
  static Status success() { return {}; }
  [[nodiscard]] bool ok() const noexcept { return ok_; }
  explicit operator bool() const noexcept { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_{};
  bool ok_ = true;
};

inline Error make_error(ErrorKind kind, std::string message) {
  return Error{kind, std::move(message)};
}

// Infrastructure failure (cache unwritable, bad arguments, MPI trouble): an exception, caught
// at the top of main, which aborts the communicator. Carries the exit code to use.
class FatalError : public std::runtime_error {
 public:
  explicit FatalError(const std::string& what, int exit_code = 2)
      : std::runtime_error(what), exit_code_(exit_code) {}
  int exit_code() const noexcept { return exit_code_; }

 private:
  int exit_code_;
};

}  // namespace mpiprep
