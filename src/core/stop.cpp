#include "mpiprep/core/stop.hpp"

#include <csignal>

namespace mpiprep::stop {
namespace {

std::atomic<bool> g_flag{false};
std::atomic<int> g_signal{0};
static_assert(std::atomic<bool>::is_always_lock_free && std::atomic<int>::is_always_lock_free,
              "the signal handler may only touch lock-free atomics");

extern "C" void on_signal(int sig) {
  g_signal.store(sig, std::memory_order_relaxed);
  g_flag.store(true, std::memory_order_release);
}

}  // namespace

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  for (int sig : {SIGTERM, SIGUSR1, SIGUSR2, SIGINT}) ::sigaction(sig, &sa, nullptr);
}

const std::atomic<bool>& flag() noexcept { return g_flag; }
bool requested() noexcept { return g_flag.load(std::memory_order_acquire); }
int signal_number() noexcept { return g_signal.load(std::memory_order_relaxed); }
void request() noexcept { g_flag.store(true, std::memory_order_release); }
void reset() noexcept {
  g_signal.store(0, std::memory_order_relaxed);
  g_flag.store(false, std::memory_order_release);
}

}  // namespace mpiprep::stop
