// A counting allocation hook for tests of bounded memory (issue 5, item 7): this test binary
// replaces malloc/calloc/realloc/aligned allocation (which operator new, HDF5 and the
// decompressors all go through) with thin wrappers over glibc that record the largest single
// request while a Probe is alive. The request is recorded before glibc sees it, so a huge
// request that fails (and throws std::bad_alloc) is still seen.
#pragma once
#include <cstddef>

namespace mpiprep::testing {

class AllocProbe {
 public:
  AllocProbe();   // starts recording (peak reset to 0)
  ~AllocProbe();  // stops recording
  AllocProbe(const AllocProbe&) = delete;
  AllocProbe& operator=(const AllocProbe&) = delete;
  // Largest single allocation requested since construction, in bytes.
  [[nodiscard]] static std::size_t peak();
  // Number of allocations recorded (to check the hook is live at all).
  [[nodiscard]] static std::size_t count();
};

}  // namespace mpiprep::testing
