// FileSystem::list_dir_stat: the directory walk's stats relative to the open directory must
// say what stat() says, only for the entries asked for; an entry that vanishes between the
// listing and its stat has none (the caller's stat then reports it), and file systems that do
// not implement it stat nothing.
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "mpiprep/io/file_system.hpp"

namespace mpiprep::io {
namespace {

namespace fs = std::filesystem;

class ListDirStat : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = fs::temp_directory_path() /
           ("mpiprep-lds-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    fs::create_directories(dir_ / "sub");
    for (int i = 0; i < 5; ++i) {
      std::ofstream(dir_ / ("f" + std::to_string(i) + ".h5")) << std::string(100u * static_cast<unsigned>(i), 'x');
    }
    fs::last_write_time(dir_ / "f2.h5", fs::file_time_type::clock::now() - std::chrono::hours(50));
    std::ofstream(dir_ / "notes.txt") << "n";
    fs::create_symlink(dir_ / "f4.h5", dir_ / "link.h5");
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(ListDirStat, SelectedEntriesCarryWhatStatSays) {
  PosixFileSystem posix;
  CountingFileSystem counting(posix);
  StatSelector want = [](std::string_view name, EntryType type) {
    return type != EntryType::kDirectory && name.size() > 3 && name.substr(name.size() - 3) == ".h5";
  };
  auto entries = counting.list_dir_stat(dir_.string(), want);
  ASSERT_TRUE(entries.ok()) << entries.error().to_string();
  EXPECT_EQ(entries->size(), 8u);  // f0..f4, notes.txt, link.h5, sub
  std::size_t with_stat = 0;
  for (const auto& e : *entries) {
    const bool h5 = e.name.size() > 3 && e.name.substr(e.name.size() - 3) == ".h5";
    if (!h5) {
      EXPECT_FALSE(e.stat.has_value()) << e.name;  // not asked for
      continue;
    }
    ASSERT_TRUE(e.stat.has_value()) << e.name;
    ++with_stat;
    auto st = posix.stat((dir_ / e.name).string());  // follows the symlink, as the walk does
    ASSERT_TRUE(st.ok());
    EXPECT_EQ(e.stat->size, st->size) << e.name;
    EXPECT_EQ(e.stat->mtime_ns, st->mtime_ns) << e.name;
    EXPECT_TRUE(e.stat->is_regular) << e.name;
    EXPECT_FALSE(e.stat->is_directory) << e.name;
  }
  EXPECT_EQ(with_stat, 6u);
  EXPECT_EQ(counting.counters().stats.load(), 6u);  // each relative stat counts as a stat
  for (const auto& e : *entries) {
    if (e.name == "sub") {
      EXPECT_EQ(e.type, EntryType::kDirectory);
    }
    if (e.name == "f1.h5") {
      EXPECT_EQ(e.type, EntryType::kFile);
    }
  }
}

TEST_F(ListDirStat, AnEntryThatVanishesBeforeItsStatHasNone) {
  PosixFileSystem posix;
  const std::string victim = (dir_ / "f3.h5").string();
  // The selector runs between readdir and fstatat: removing the file there is the race.
  StatSelector want = [&](std::string_view name, EntryType) {
    if (name == "f3.h5") fs::remove(victim);
    return true;
  };
  auto entries = posix.list_dir_stat(dir_.string(), want);
  ASSERT_TRUE(entries.ok());
  bool seen = false;
  for (const auto& e : *entries) {
    if (e.name != "f3.h5") {
      EXPECT_TRUE(e.stat.has_value()) << e.name;
      continue;
    }
    seen = true;
    EXPECT_FALSE(e.stat.has_value());
  }
  EXPECT_TRUE(seen);
  auto st = posix.stat(victim);  // what the caller falls back to: the ordinary error
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().kind, ErrorKind::kMissing);
}

TEST_F(ListDirStat, DefaultImplementationStatsNothingAndMissingDirectoryIsAnError) {
  MemoryFileSystem mem;
  mem.add("/d/a.h5", std::vector<std::byte>(3));
  auto entries = mem.list_dir_stat("/d", [](std::string_view, EntryType) { return true; });
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].name, "a.h5");
  EXPECT_FALSE((*entries)[0].stat.has_value());

  PosixFileSystem posix;
  RetryingFileSystem retrying(posix);
  auto missing = retrying.list_dir_stat((dir_ / "nope").string(), {});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, ErrorKind::kMissing);
  EXPECT_NE(missing.error().message.find("nope"), std::string::npos) << missing.error().message;
}

}  // namespace
}  // namespace mpiprep::io
