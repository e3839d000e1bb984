// Graceful stop: SIGTERM, SIGUSR1, SIGUSR2 and SIGINT only set a flag (the handler does nothing
// else, so it is async-signal-safe); the scheduler and the scan poll it, stop taking work, flush
// the journal and commit what is finished. Slurm (`--signal`) and Grid Engine (`-notify`) send
// such a signal before the kill; mpirun forwards SIGTERM/SIGUSR1/SIGUSR2 to every rank.
#pragma once

#include <atomic>

namespace mpiprep::stop {

// Installs the handlers (sigaction, SA_RESTART). Idempotent. Call after MPI_Init, so they
// replace whatever the MPI library installed for these signals.
void install_signal_handlers();

// The flag the handlers set. Lock-free, so reading it anywhere is safe.
[[nodiscard]] const std::atomic<bool>& flag() noexcept;
[[nodiscard]] bool requested() noexcept;
// The signal that set the flag (0 if none or set by request()).
[[nodiscard]] int signal_number() noexcept;
// Sets the flag as a signal would (tests).
void request() noexcept;
// Clears the flag (tests that run several scans in one process).
void reset() noexcept;

}  // namespace mpiprep::stop
