#include "alloc_probe.hpp"

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>

extern "C" {
void* __libc_malloc(std::size_t n);
void* __libc_calloc(std::size_t n, std::size_t m);
void* __libc_realloc(void* p, std::size_t n);
void* __libc_memalign(std::size_t align, std::size_t n);
}

namespace {
std::atomic<bool> g_on{false};
std::atomic<std::size_t> g_peak{0};
std::atomic<std::size_t> g_count{0};

inline void note(std::size_t n) noexcept {
  if (!g_on.load(std::memory_order_relaxed)) return;
  g_count.fetch_add(1, std::memory_order_relaxed);
  std::size_t p = g_peak.load(std::memory_order_relaxed);
  while (n > p && !g_peak.compare_exchange_weak(p, n, std::memory_order_relaxed)) {
  }
}
}  // namespace

extern "C" {
void* malloc(std::size_t n) noexcept {
  note(n);
  return __libc_malloc(n);
}
void* calloc(std::size_t n, std::size_t m) noexcept {
  note(m != 0 && n > SIZE_MAX / m ? SIZE_MAX : n * m);
  return __libc_calloc(n, m);
}
void* realloc(void* p, std::size_t n) noexcept {
  note(n);
  return __libc_realloc(p, n);
}
int posix_memalign(void** out, std::size_t align, std::size_t n) noexcept {
  note(n);
  void* p = __libc_memalign(align, n);
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}
void* aligned_alloc(std::size_t align, std::size_t n) noexcept {
  note(n);
  return __libc_memalign(align, n);
}
void* memalign(std::size_t align, std::size_t n) noexcept {
  note(n);
  return __libc_memalign(align, n);
}
}

namespace mpiprep::testing {
AllocProbe::AllocProbe() {
  g_peak.store(0);
  g_count.store(0);
  g_on.store(true);
}
AllocProbe::~AllocProbe() { g_on.store(false); }
std::size_t AllocProbe::peak() { return g_peak.load(); }
std::size_t AllocProbe::count() { return g_count.load(); }
}  // namespace mpiprep::testing
