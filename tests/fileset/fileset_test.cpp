#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <optional>
#include <fstream>
#include <random>

#include "mpiprep/fileset/fileset.hpp"
#include "mpiprep/io/file_system.hpp"

namespace mpiprep::fileset {
namespace {

std::vector<std::byte> bytes(const std::string& s) {
  std::vector<std::byte> b(s.size());
  std::memcpy(b.data(), s.data(), s.size());
  return b;
}

std::vector<std::string> paths(const std::vector<FileSpec>& files) {
  std::vector<std::string> out;
  for (const auto& f : files) out.push_back(f.path);
  return out;
}

ExpandOptions opts(std::string cwd = "/work") {
  ExpandOptions o;
  o.cwd = std::move(cwd);
  return o;
}

Result<Fileset> run(io::FileSystem& fs, std::vector<std::string> inputs,
                    const ExpandOptions& o = opts()) {
  return expand(inputs, o, fs);
}

TEST(NormalizePath, MakesAbsoluteAndLexicallyNormal) {
  EXPECT_EQ(normalize_path("a/b.root", "/base"), "/base/a/b.root");
  EXPECT_EQ(normalize_path("./a/../b//c.root", "/base/"), "/base/b/c.root");
  EXPECT_EQ(normalize_path("/x/y/", "/base"), "/x/y");
  EXPECT_EQ(normalize_path("../../..", "/base"), "/");
  EXPECT_EQ(normalize_path("/", "/base"), "/");
}

TEST(IsUrl, Schemes) {
  EXPECT_TRUE(is_url("root://eos.cern.ch//store/a.root"));
  EXPECT_TRUE(is_url("https://x/y"));
  EXPECT_TRUE(is_url("file:///a/b"));
  EXPECT_TRUE(is_url("xrootd+ssl://h/p"));
  EXPECT_FALSE(is_url("/data/a.root"));
  EXPECT_FALSE(is_url("rel/a://b"));  // '/' cannot be in a scheme
  EXPECT_FALSE(is_url("://x"));
  EXPECT_FALSE(is_url("1abc://x"));
}

TEST(FilesetJson, AllCoffeaForms) {
  const std::string text = R"({
    "mapped": {"files": {"a.root": "Events", "/abs/b.root": null,
                          "c.root": {"object_path": "tree", "steps": [[0, 5]]}},
               "metadata": {"xsec": 1.5, "zz": true, "aa": [1, 2]}},
    "listed": ["d.root", "sub/../e.root"],
    "files_list": {"files": ["f.root"]},
    "bare_map": {"g.root": "Events"}
  })";
  auto r = parse_fileset_json(text, "mem.json", "/cwd");
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  const Fileset& fs = *r;
  ASSERT_EQ(fs.datasets.size(), 4u);
  EXPECT_EQ(fs.datasets[0].name, "mapped");
  EXPECT_EQ(fs.datasets[1].name, "listed");
  EXPECT_EQ(fs.datasets[2].name, "files_list");
  EXPECT_EQ(fs.datasets[3].name, "bare_map");

  const Dataset& m = fs.datasets[0];
  ASSERT_EQ(m.files.size(), 3u);
  EXPECT_EQ(m.files[0], (FileSpec{"mapped", "/cwd/a.root", "Events"}));
  EXPECT_EQ(m.files[1], (FileSpec{"mapped", "/abs/b.root", std::nullopt}));
  EXPECT_EQ(m.files[2], (FileSpec{"mapped", "/cwd/c.root", "tree"}));
  // Metadata unchanged, key order included.
  EXPECT_EQ(m.metadata.dump(), R"({"xsec":1.5,"zz":true,"aa":[1,2]})");

  EXPECT_EQ(paths(fs.datasets[1].files), (std::vector<std::string>{"/cwd/d.root", "/cwd/e.root"}));
  EXPECT_TRUE(fs.datasets[1].metadata.is_null());
  EXPECT_EQ(paths(fs.datasets[2].files), (std::vector<std::string>{"/cwd/f.root"}));
  ASSERT_EQ(fs.datasets[3].files.size(), 1u);
  EXPECT_EQ(fs.datasets[3].files[0].object_path, "Events");

  // The flat list is in input order.
  EXPECT_EQ(paths(fs.files),
            (std::vector<std::string>{"/cwd/a.root", "/abs/b.root", "/cwd/c.root", "/cwd/d.root",
                                      "/cwd/e.root", "/cwd/f.root", "/cwd/g.root"}));
  EXPECT_EQ(fs.files[4].dataset, "listed");
  EXPECT_TRUE(fs.duplicates.empty());
  EXPECT_TRUE(fs.rejected.empty());
}

TEST(FilesetJson, DuplicatesWithinAndAcrossDatasets) {
  const std::string text = R"({
    "one": {"files": {"x.root": "Events", "./x.root": "Other", "y.root": null}},
    "two": ["/cwd/y.root", "z.root", "/cwd/sub/../y.root"]
  })";
  auto r = parse_fileset_json(text, "mem.json", "/cwd");
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(paths(r->files), (std::vector<std::string>{"/cwd/x.root", "/cwd/y.root", "/cwd/z.root"}));
  // First occurrence kept, with its object path.
  EXPECT_EQ(r->files[0].object_path, "Events");
  ASSERT_EQ(r->duplicates.size(), 2u);
  EXPECT_EQ(r->duplicates[0].path, "/cwd/x.root");
  EXPECT_EQ(r->duplicates[0].first_dataset, "one");
  EXPECT_EQ(r->duplicates[0].dataset, "one");
  EXPECT_EQ(r->duplicates[0].occurrences, 2);
  EXPECT_EQ(r->duplicates[1].path, "/cwd/y.root");
  EXPECT_EQ(r->duplicates[1].first_dataset, "one");
  EXPECT_EQ(r->duplicates[1].dataset, "two");
  EXPECT_EQ(r->duplicates[1].occurrences, 3);  // reported once, counted thrice
  EXPECT_EQ(r->find_dataset("two")->files.size(), 1u);
}

TEST(FilesetJson, RemoteUrlsAreRejectedEntries) {
  const std::string text = R"({"ds": {"files": {
    "root://eos.cern.ch//store/a.root": "Events", "file:///data/b.root": "Events",
    "https://h/c.root": null, "d.root": null}}})";
  auto r = parse_fileset_json(text, "mem.json", "/cwd");
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(paths(r->files), (std::vector<std::string>{"/data/b.root", "/cwd/d.root"}));
  ASSERT_EQ(r->rejected.size(), 2u);
  EXPECT_EQ(r->rejected[0].entry, "root://eos.cern.ch//store/a.root");
  EXPECT_EQ(r->rejected[0].dataset, "ds");
  EXPECT_NE(r->rejected[0].error.message.find("remote URLs are not supported"), std::string::npos);
  EXPECT_EQ(r->rejected[1].entry, "https://h/c.root");
}

TEST(FilesetJson, MalformedInputsAreErrors) {
  struct Case {
    const char* text;
    const char* needle;
  };
  const Case cases[] = {
      {R"({"ds": ["a.root",)", "invalid JSON"},
      {R"(["a.root"])", "top level must be an object"},
      {R"({"ds": 3})", "dataset 'ds' must be an object or an array"},
      {R"({"ds": {"files": "a.root"}})", "\"files\" must be an object or an array"},
      {R"({"ds": [1, 2]})", "file list entries must be strings"},
      {R"({"ds": {"files": {"a.root": 7}}})", "object path must be a string or null"},
      {R"({"ds": {"files": {"": null}}})", "empty file path"},
      // A number overflowing a double is nlohmann's out_of_range, not a parse_error: it used
      // to escape as an exception (found by fuzz/fileset_fuzzer).
      {R"({"ds": 1e999})", "invalid JSON"},
      {R"({"ds": {"files": ["a.root"], "metadata": {"x": -7e77777}}})", "invalid JSON"},
  };
  for (const auto& c : cases) {
    auto r = parse_fileset_json(c.text, "bad.json", "/cwd");
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.error().kind, ErrorKind::kCorrupt);
    EXPECT_NE(r.error().message.find(c.needle), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("bad.json"), std::string::npos) << r.error().message;
  }
}

TEST(Expand, MemoryFileSystemInputsOfEveryKind) {
  io::MemoryFileSystem fs;
  fs.add("/work/sets/fileset.json", bytes(R"({"ds1": {"files": {"data/a.root": "Events"},
      "metadata": {"k": "v"}}})"));
  // Recognized by content: no .json suffix.
  fs.add("/work/sets/fs.txt", bytes("  \n{\"ds2\": [\"/abs/b.root\"]}"));
  fs.add("/work/lists/files.txt",
         bytes("# comment\n\n  c.root  \nsub/d.root\r\n/abs/e.root\nroot://x//f.root\n"));
  fs.add("/work/dir/z.root", bytes("root"));
  fs.add("/work/dir/a.h5", bytes("x"));
  fs.add("/work/dir/sub/m.root", bytes("root"));
  fs.add("/work/dir/sub/deeper/b.root", bytes("root"));
  fs.add("/work/single.root", bytes("root"));

  ExpandOptions o = opts();
  o.dataset = "mine";
  o.glob = "*.root";
  auto r = run(fs, {"sets/fileset.json", "sets/fs.txt", "@lists/files.txt", "dir", "single.root"}, o);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(paths(r->files),
            (std::vector<std::string>{"/work/data/a.root", "/abs/b.root", "/work/lists/c.root",
                                      "/work/lists/sub/d.root", "/abs/e.root",
                                      "/work/dir/sub/deeper/b.root", "/work/dir/sub/m.root",
                                      "/work/dir/z.root", "/work/single.root"}));
  ASSERT_EQ(r->datasets.size(), 3u);
  EXPECT_EQ(r->datasets[0].name, "ds1");
  EXPECT_EQ(r->datasets[0].metadata.dump(), R"({"k":"v"})");
  EXPECT_EQ(r->datasets[1].name, "ds2");
  EXPECT_EQ(r->datasets[2].name, "mine");
  EXPECT_EQ(r->datasets[2].files.size(), 7u);
  ASSERT_EQ(r->rejected.size(), 1u);
  EXPECT_EQ(r->rejected[0].entry, "root://x//f.root");
  EXPECT_EQ(r->rejected[0].dataset, "mine");
}

TEST(Expand, DirectoryWithoutGlobIsSortedAndComplete) {
  io::MemoryFileSystem fs;
  for (std::string p : {"/d/q/2.h5", "/d/b.root", "/d/q/1.root", "/d/a.txt", "/d/c/x"})
    fs.add(p, bytes("x"));
  auto r = run(fs, {"/d"});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(paths(r->files), (std::vector<std::string>{"/d/a.txt", "/d/b.root", "/d/c/x",
                                                       "/d/q/1.root", "/d/q/2.h5"}));
  EXPECT_EQ(r->datasets.at(0).name, "default");
  EXPECT_TRUE(r->warnings.empty());

  ExpandOptions o = opts();
  o.glob = "*.parquet";
  auto none = run(fs, {"/d"}, o);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->files.empty());
  ASSERT_EQ(none->warnings.size(), 1u);
  EXPECT_NE(none->warnings[0].find("*.parquet"), std::string::npos);
}

TEST(Expand, MissingThingsAreClearErrors) {
  io::MemoryFileSystem fs;
  fs.add("/work/bad.json", bytes("{\"ds\": [}"));
  fs.add("/work/a.root", bytes("root"));

  auto missing = run(fs, {"a.root", "nope.root"});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, ErrorKind::kMissing);
  EXPECT_NE(missing.error().message.find("nope.root"), std::string::npos);

  auto no_list = run(fs, {"@files.txt"});
  ASSERT_FALSE(no_list.ok());
  EXPECT_EQ(no_list.error().kind, ErrorKind::kMissing);
  EXPECT_NE(no_list.error().message.find("list file /work/files.txt"), std::string::npos);

  auto bad = run(fs, {"bad.json"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().kind, ErrorKind::kCorrupt);
  EXPECT_NE(bad.error().message.find("/work/bad.json"), std::string::npos);
  EXPECT_NE(bad.error().message.find("invalid JSON"), std::string::npos);

  // A plain remote URL input is a rejected entry, not a fatal error.
  auto url = run(fs, {"root://host//x.root", "a.root"});
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->files.size(), 1u);
  EXPECT_EQ(url->rejected.size(), 1u);
}

TEST(Expand, SameDatasetFromTwoInputsMerges) {
  io::MemoryFileSystem fs;
  fs.add("/work/a.json", bytes(R"({"ds": {"files": ["1.root"], "metadata": {"v": 1}}})"));
  fs.add("/work/b.json", bytes(R"({"ds": {"files": ["2.root", "1.root"], "metadata": {"v": 2}}})"));
  auto r = run(fs, {"a.json", "b.json"});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  ASSERT_EQ(r->datasets.size(), 1u);
  EXPECT_EQ(paths(r->datasets[0].files), (std::vector<std::string>{"/work/1.root", "/work/2.root"}));
  EXPECT_EQ(r->datasets[0].metadata["v"], 1);
  EXPECT_EQ(r->warnings.size(), 1u);
  EXPECT_EQ(r->duplicates.size(), 1u);
}

// Real files in a temporary directory through the POSIX file system.
class ExpandPosix : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    root_ = std::filesystem::temp_directory_path() /
            ("mpiprep-fileset-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    std::filesystem::create_directories(root_ / "data" / "run1");
    std::filesystem::create_directories(root_ / "data" / "run2");
    std::filesystem::create_directories(root_ / "empty");
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  void write(const std::filesystem::path& rel, const std::string& content) {
    std::ofstream(root_ / rel, std::ios::binary) << content;
  }
  std::filesystem::path root_;
};

TEST_F(ExpandPosix, DirectoriesListsAndJson) {
  write("data/run2/b.root", "root");
  write("data/run1/a.root", "root");
  write("data/run1/notes.txt", "text");
  write("data/run1/c.ROOT", "root");  // fnmatch is case-sensitive
  write("list.txt", "data/run1/a.root\n# data/run2/b.root\n\n/elsewhere/x.root\n");
  write("set", R"({"json_ds": {"files": {"rel.root": "Events"}}})");
  std::filesystem::create_symlink(root_ / "data", root_ / "data" / "run2" / "loop");

  io::PosixFileSystem fs;
  ExpandOptions o;
  o.cwd = root_.string();
  o.glob = "*.root";
  o.max_depth = 6;
  o.dataset = "walked";
  auto loop = expand(std::vector<std::string>{"data"}, o, fs);
  ASSERT_FALSE(loop.ok());
  EXPECT_NE(loop.error().message.find("symlink loop"), std::string::npos);

  std::filesystem::remove(root_ / "data" / "run2" / "loop");
  std::vector<std::string> inputs = {(root_ / "data").string(), "@list.txt", "set", "empty"};
  auto r = expand(inputs, o, fs);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  const std::string base = root_.string();
  EXPECT_EQ(paths(r->files),
            (std::vector<std::string>{base + "/data/run1/a.root", base + "/data/run2/b.root",
                                      "/elsewhere/x.root", base + "/rel.root"}));
  ASSERT_EQ(r->duplicates.size(), 1u);
  EXPECT_EQ(r->duplicates[0].path, base + "/data/run1/a.root");
  EXPECT_EQ(r->find_dataset("json_ds")->files.at(0).object_path, "Events");
  EXPECT_EQ(r->warnings.size(), 1u);  // the empty directory

  // A file that merely starts with '{' but is not JSON is a plain input file.
  write("weird.dat", "{not json");
  auto w = expand(std::vector<std::string>{"weird.dat"}, o, fs);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(paths(w->files), (std::vector<std::string>{base + "/weird.dat"}));
}

// The walk takes regular files and directories from the listing's entry types, stats kept
// files and what the listing could not type (symlinks) relative to their directory, and never
// a directory: symlinked directories are still followed and a dangling symlink is still
// skipped with a warning.
TEST_F(ExpandPosix, WalkStatsOnlyWhatTheListingCannotType) {
  write("data/run1/a.root", "root");
  write("data/run1/b.root", "root");
  write("data/run2/c.root", "root");
  std::filesystem::create_directories(root_ / "other");
  write("other/d.root", "root");
  std::filesystem::create_symlink(root_ / "other", root_ / "data" / "linked");
  std::filesystem::create_symlink(root_ / "nowhere.root", root_ / "data" / "dangling.root");

  io::PosixFileSystem posix;
  io::CountingFileSystem fs(posix);
  ExpandOptions o;
  o.glob = "*.root";
  auto r = expand(std::vector<std::string>{(root_ / "data").string()}, o, fs);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  const std::string base = (root_ / "data").string();
  EXPECT_EQ(paths(r->files),
            (std::vector<std::string>{base + "/linked/d.root", base + "/run1/a.root",
                                      base + "/run1/b.root", base + "/run2/c.root"}));
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_NE(r->warnings[0].find("dangling.root"), std::string::npos) << r->warnings[0];
  // The input itself; the directory symlink and the four files, each once and relative to
  // its directory (list_dir_stat); the dangling link, whose relative stat failed, once by path
  // for its error message. No directory is statted.
  EXPECT_EQ(fs.counters().stats.load(), 7u);
  // Every kept file carries the walk's stat, and it is what stat(2) says.
  ASSERT_EQ(r->walk_stats.size(), r->files.size());
  for (std::size_t i = 0; i < r->files.size(); ++i) {
    const io::FileStat* ws = r->walk_stat(i);
    ASSERT_NE(ws, nullptr) << r->files[i].path;
    auto st = posix.stat(r->files[i].path);
    ASSERT_TRUE(st.ok());
    EXPECT_EQ(ws->size, st->size);
    EXPECT_EQ(ws->mtime_ns, st->mtime_ns);
    EXPECT_TRUE(ws->is_regular);
    EXPECT_FALSE(ws->is_directory);
  }
}

// The walk's stats agree with stat() for files of different sizes and times, non-matching
// names are neither kept nor statted, and the result does not depend on the thread count.
TEST_F(ExpandPosix, WalkStatsAgreeWithStatAndThreadsChangeNothing) {
  for (int d = 0; d < 12; ++d) {
    const auto sub = "data/run1/d" + std::to_string(d);
    std::filesystem::create_directories(root_ / sub / "deeper");
    for (int f = 0; f < 7; ++f) {
      write(sub + "/f" + std::to_string(f) + ".h5", std::string(static_cast<std::size_t>(d * 7 + f), 'x'));
      write(sub + "/skip" + std::to_string(f) + ".txt", "no");
    }
    write(sub + "/deeper/g.h5", std::string(static_cast<std::size_t>(1000 + d), 'y'));
    std::filesystem::last_write_time(root_ / sub / "f3.h5",
                                     std::filesystem::file_time_type::clock::now() -
                                         std::chrono::hours(24 * (d + 1)));
  }
  std::filesystem::create_directories(root_ / "data" / "run1" / "d0" / "extra");
  write("data/run1/d0/extra/u.h5", "u");
  io::PosixFileSystem posix;
  ExpandOptions o;
  o.glob = "*.h5";
  std::optional<Fileset> serial;
  for (int threads : {1, 2, 4, 16}) {
    io::CountingFileSystem fs(posix);
    o.threads = threads;
    auto r = expand(std::vector<std::string>{(root_ / "data").string()}, o, fs);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    ASSERT_EQ(r->files.size(), 12u * 8 + 1);
    ASSERT_EQ(r->walk_stats.size(), r->files.size());
    // The input, then each .h5 file once: no .txt file and no directory is statted.
    EXPECT_EQ(fs.counters().stats.load(), 1u + r->files.size()) << threads << " threads";
    for (std::size_t i = 0; i < r->files.size(); ++i) {
      const io::FileStat* ws = r->walk_stat(i);
      ASSERT_NE(ws, nullptr) << r->files[i].path;
      auto st = posix.stat(r->files[i].path);
      ASSERT_TRUE(st.ok());
      EXPECT_EQ(ws->size, st->size) << r->files[i].path;
      EXPECT_EQ(ws->mtime_ns, st->mtime_ns) << r->files[i].path;
      EXPECT_TRUE(ws->is_regular);
    }
    EXPECT_TRUE(std::is_sorted(r->files.begin(), r->files.end(),
                               [](const FileSpec& a, const FileSpec& b) { return a.path < b.path; }));
    if (!serial) {
      serial = std::move(*r);
      continue;
    }
    EXPECT_EQ(r->files, serial->files) << threads << " threads";
    EXPECT_EQ(r->warnings, serial->warnings);
    ASSERT_EQ(r->datasets.size(), 1u);
    EXPECT_EQ(r->datasets[0].files, serial->datasets[0].files);
  }
}

// Files of a directory that sort on both sides of a subdirectory's files ("d/a", "d/m/x",
// "d/z"), and sibling names around '/' ("b", "b-c", "b.d": '-' and '.' sort before '/'): the
// walk's output is the bytewise sorted list whatever the thread count.
TEST_F(ExpandPosix, WalkOrderIsBytewiseSortedAcrossInterleavedDirectories) {
  const std::vector<std::string> names = {
      "d/a.h5",   "d/m/x.h5", "d/m/n/y.h5", "d/z.h5",   "b/f.h5",  "b-c/f.h5",
      "b.d/f.h5", "b/b/f.h5", "b/0.h5",     "b/~.h5",   "e.h5",    "d/m/zz.h5"};
  for (const auto& n : names) {
    std::filesystem::create_directories((root_ / "t" / n).parent_path());
    write("t/" + n, "x");
  }
  std::vector<std::string> expected;
  for (const auto& n : names) expected.push_back((root_ / "t" / n).string());
  std::sort(expected.begin(), expected.end());
  io::PosixFileSystem posix;
  for (int threads : {1, 2, 4}) {
    ExpandOptions o;
    o.glob = "*.h5";
    o.threads = threads;
    auto r = expand(std::vector<std::string>{(root_ / "t").string()}, o, posix);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    std::vector<std::string> got;
    for (const auto& f : r->files) got.push_back(f.path);
    EXPECT_EQ(got, expected) << threads << " threads";
    ASSERT_EQ(r->walk_stats.size(), r->files.size());
    for (std::size_t i = 0; i < r->files.size(); ++i) {
      const auto& ws = r->walk_stats[i];
      ASSERT_TRUE(ws.has_value());
      EXPECT_EQ(ws.value().size, std::int64_t{1});
    }
    ASSERT_EQ(r->datasets.size(), 1u);
    EXPECT_EQ(r->datasets[0].files, r->files);
  }
}

// A directory input followed by a list naming one of its files again: the walk's files are
// indexed for duplicate detection when the second input arrives, and the stats stay aligned.
TEST_F(ExpandPosix, WalkedFilesAreStillDeduplicatedAgainstLaterInputs) {
  write("data/run1/a.root", "aa");
  write("data/run2/b.root", "bbb");
  write("list.txt", "data/run2/b.root\nother.root\n");
  io::PosixFileSystem fs;
  ExpandOptions o;
  o.cwd = root_.string();
  o.glob = "*.root";
  auto r = expand(std::vector<std::string>{"data", "@list.txt"}, o, fs);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  const std::string base = root_.string();
  EXPECT_EQ(paths(r->files), (std::vector<std::string>{base + "/data/run1/a.root",
                                                       base + "/data/run2/b.root",
                                                       base + "/other.root"}));
  ASSERT_EQ(r->duplicates.size(), 1u);
  EXPECT_EQ(r->duplicates[0].path, base + "/data/run2/b.root");
  ASSERT_EQ(r->walk_stats.size(), 3u);
  ASSERT_TRUE(r->walk_stats[1].has_value());
  EXPECT_EQ(r->walk_stats[1].value_or(io::FileStat{}).size, 3);
  EXPECT_FALSE(r->walk_stats[2].has_value());  // from the list: the survey stats it
}


// Inputs the fileset fuzzer crashed on (fuzz/fileset_fuzzer.cpp: first byte even = fileset
// JSON, odd = list file; the rest is the text), fed the same way: an Error or a Fileset, never
// an exception.
TEST(FuzzRegressions, EveryCrashInputIsHandled) {
  const std::string dir = std::string(MPIPREP_FILESET_REGRESSIONS_DIR);
  std::size_t n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::string bytes(static_cast<std::size_t>(std::filesystem::file_size(entry.path())), '\0');
    in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    ASSERT_FALSE(bytes.empty()) << entry.path();
    const bool json = (static_cast<unsigned char>(bytes[0]) & 1) == 0;
    io::MemoryFileSystem mfs;
    std::vector<std::byte> text(bytes.size() - 1);
    for (std::size_t i = 1; i < bytes.size(); ++i) text[i - 1] = static_cast<std::byte>(bytes[i]);
    const std::string input = json ? "/work/fileset.json" : "/work/files.txt";
    mfs.add(input, std::move(text));
    const std::vector<std::string> inputs{input};
    EXPECT_NO_THROW({ (void)expand(inputs, ExpandOptions{}, mfs); }) << entry.path();
    ++n;
  }
  EXPECT_GE(n, 1u);
}

}  // namespace
}  // namespace mpiprep::fileset
