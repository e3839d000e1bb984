// One logger for the whole program: `[elapsed][rNNN] LEVEL module: message` on stderr.
// Ranks above 0 print warnings and errors only unless verbose; the rank and verbosity are set
// once by main. Thread-safe (one write per line).
#pragma once

#include <string_view>

namespace mpiprep::log {

enum class Level { kDebug = 0, kInfo, kWarn, kError };

void configure(int rank, bool verbose, bool debug = false);
bool enabled(Level level) noexcept;
void write(Level level, std::string_view module, std::string_view message);

inline void debug(std::string_view module, std::string_view msg) { write(Level::kDebug, module, msg); }
inline void info(std::string_view module, std::string_view msg) { write(Level::kInfo, module, msg); }
inline void warn(std::string_view module, std::string_view msg) { write(Level::kWarn, module, msg); }
inline void error(std::string_view module, std::string_view msg) { write(Level::kError, module, msg); }

}  // namespace mpiprep::log
