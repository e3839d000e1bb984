// POSIX file operations the cache needs beyond reading (publication, durability, naming), in
// one place: each returns a Status naming the operation, path and errno text.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "mpiprep/core/result.hpp"

namespace mpiprep::cache::posix {

// Parent directory of a path ("." for a bare name).
std::string parent_dir(const std::string& path);
std::string hostname();
// "YYYYmmddTHHMMSS" in UTC, and the ISO form "YYYY-mm-ddTHH:MM:SSZ".
std::string utc_stamp(std::int64_t unix_seconds);
std::string utc_iso(std::int64_t unix_seconds);
std::int64_t now_unix();
std::uint64_t random_u64();

[[nodiscard]] Status require_writable_dir(const std::string& dir);
[[nodiscard]] Status fsync_path(const std::string& path);  // open O_RDONLY + fsync
[[nodiscard]] Status fsync_dir(const std::string& dir);
[[nodiscard]] Status rename_over(const std::string& from, const std::string& to);
// Renames without replacing an existing target (renameat2 RENAME_NOREPLACE, or a
// stat-then-rename fallback on filesystems without it). kIo with EEXIST if taken.
[[nodiscard]] Status rename_noreplace(const std::string& from, const std::string& to);
void remove_quietly(const std::string& path) noexcept;

// Moves a rejected cache to "<path>.corrupt-<UTC stamp>" (adding "-1", "-2", ... if taken).
// Returns the new name.
[[nodiscard]] Result<std::string> move_aside(const std::string& path);

}  // namespace mpiprep::cache::posix
