// The scan pipeline with ranks as threads (no MPI): the dispatcher, collectives and the serial
// cache commit work through the Communicator interface alone, and the result equals a serial
// run's.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <mutex>

#include <nlohmann/json.hpp>

#include "cli/scan_fixture.hpp"
#include "mpiprep/cli/scan.hpp"

namespace mpiprep::cli {
namespace {

namespace fs = std::filesystem;
using mpiprep::testing::slurp;

ScanOptions options_for(const fs::path& dir, const std::string& name) {
  ScanOptions o;
  o.inputs = {(dir / "fileset.json").string()};
  o.cache_path = (dir / (name + "-cache.h5")).string();
  o.output_path = (dir / (name + ".json")).string();
  o.text_report = false;
  o.threads = 1;
  return o;
}

TEST(ScanThreads, ThreeThreadRanksMatchSerial) {
  auto dir = fs::path(::testing::TempDir()) / "mpiprep-scan-threads";
  mpiprep::testing::make_fixture(dir);

  comm::SerialCommunicator serial;
  io::CountingFileSystem serial_fs(io::default_file_system());
  auto ref = run_scan(serial, serial_fs, options_for(dir, "serial"));
  EXPECT_EQ(ref.exit_code, 1);
  EXPECT_EQ(ref.misses, 12);

  std::mutex mu;
  std::vector<ScanOutcome> outcomes;
  comm::run_in_threads(3, [&](comm::Communicator& c) {
    io::CountingFileSystem rank_fs(io::default_file_system());  // one per rank, as in MPI
    auto o = run_scan(c, rank_fs, options_for(dir, "threads"));
    std::lock_guard lock(mu);
    outcomes.push_back(o);
  });
  ASSERT_EQ(outcomes.size(), 3u);
  for (const auto& o : outcomes) {
    EXPECT_EQ(o.files, 12);
    EXPECT_EQ(o.misses, 12);
    EXPECT_EQ(o.failed, 1);
    EXPECT_EQ(o.exit_code, 1);
    EXPECT_EQ(o.opens, 12u);  // every data file exactly once, whichever rank took it
  }
  EXPECT_EQ(slurp((dir / "threads.json").string()), slurp((dir / "serial.json").string()));
}

TEST(ScanThreads, BadInputStopsEveryRankWithExitCode2) {
  auto dir = fs::path(::testing::TempDir()) / "mpiprep-scan-bad";
  fs::create_directories(dir);
  std::atomic<int> fatal{0};
  comm::run_in_threads(2, [&](comm::Communicator& c) {
    ScanOptions o;
    o.inputs = {(dir / "does-not-exist.json").string()};
    o.cache_path = (dir / "cache.h5").string();
    o.text_report = false;
    io::CountingFileSystem fs(io::default_file_system());
    try {
      (void)run_scan(c, fs, o);
    } catch (const CollectiveFatalError& e) {
      EXPECT_EQ(e.exit_code(), 2);
      EXPECT_NE(std::string(e.what()).find("does-not-exist.json"), std::string::npos) << e.what();
      fatal.fetch_add(1);
    }
  });
  EXPECT_EQ(fatal.load(), 2);
}

TEST(ScanThreads, UnwritableCacheDirectoryIsFatalBeforeAnyExtraction) {
  auto dir = fs::path(::testing::TempDir()) / "mpiprep-scan-nodir";
  mpiprep::testing::make_fixture(dir);
  comm::SerialCommunicator c;
  ScanOptions o = options_for(dir, "x");
  o.cache_path = (dir / "no" / "such" / "dir" / "cache.h5").string();
  io::CountingFileSystem fs(io::default_file_system());
  EXPECT_THROW((void)run_scan(c, fs, o), CollectiveFatalError);
  EXPECT_EQ(fs.counters().opens.load(), 1u);  // the fileset JSON only: no data file opened
}


// Passes everything to `base`, but removes `victim` from disk while a directory listing is
// being statted, just before its own stat: the race of a file that vanishes between readdir
// and the walk's stat of it.
class VanishingFileSystem final : public io::ForwardingFileSystem {
 public:
  VanishingFileSystem(io::FileSystem& base, std::string victim)
      : ForwardingFileSystem(base), victim_(std::move(victim)) {}
  Result<std::vector<io::DirEntry>> list_dir_stat(const std::string& path,
                                                  const io::StatSelector& want) override {
    const fs::path victim(victim_);
    return base_.list_dir_stat(path, [&](std::string_view name, io::EntryType type) {
      if (fs::path(path) == victim.parent_path() && name == victim.filename().string())
        fs::remove(victim);
      return want(name, type);
    });
  }

 private:
  std::string victim_;
};

// A directory of HDF5 files (three subdirectories) for directory-input scans.
fs::path make_tree(const fs::path& dir) {
  fs::remove_all(dir);
  const char* names[] = {"pylhe-testfile-hpcgen.hdf5", "issue672.nc", "test_gold.nc",
                         "indexes_2_0.h5"};
  for (int d = 0; d < 3; ++d) {
    const auto sub = dir / "tree" / ("d" + std::to_string(d));
    fs::create_directories(sub);
    for (int i = 0; i < 4; ++i)
      fs::copy_file(fs::path(MPIPREP_TEST_DATA_DIR) / names[i],
                    sub / ("f" + std::to_string(i) + (i == 0 ? ".hdf5" : i == 3 ? ".h5" : ".nc")));
  }
  return dir / "tree";
}

ScanOptions tree_options(const fs::path& dir, const std::vector<std::string>& inputs,
                         const std::string& name) {
  ScanOptions o;
  o.inputs = inputs;
  o.cache_path = (dir / (name + "-cache.h5")).string();
  o.output_path = (dir / (name + ".json")).string();
  o.text_report = false;
  o.progress = "none";
  o.threads = 2;
  return o;
}

// A directory input is statted by the walk (relative to each directory) and not again by the
// survey; its output is byte-identical to the same files given as a list, cold and warm.
TEST(ScanThreads, DirectoryInputIsStattedOnceAndMatchesAList) {
  auto dir = fs::path(::testing::TempDir()) / "mpiprep-scan-dirwalk";
  const fs::path tree = make_tree(dir);
  std::string list;
  std::vector<std::string> all;
  for (const auto& e : fs::recursive_directory_iterator(tree))
    if (e.is_regular_file()) all.push_back(e.path().string());
  std::sort(all.begin(), all.end());
  for (const auto& p : all) list += p + "\n";
  std::ofstream(dir / "list.txt") << list;

  comm::SerialCommunicator c;
  for (int run = 0; run < 2; ++run) {  // cold, then warm
    io::CountingFileSystem dir_fs(io::default_file_system());
    auto d = run_scan(c, dir_fs, tree_options(dir, {tree.string()}, "dir"));
    io::CountingFileSystem list_fs(io::default_file_system());
    auto l = run_scan(c, list_fs, tree_options(dir, {"@" + (dir / "list.txt").string()}, "list"));
    EXPECT_EQ(d.exit_code, 0);
    EXPECT_EQ(l.exit_code, 0);
    EXPECT_EQ(d.files, 12);
    EXPECT_EQ(d.hits, run == 0 ? 0 : 12);
    EXPECT_EQ(l.hits, d.hits);
    if (run == 1) {
      // Warm: the input's stat and one stat per file (the walk's) for the directory; one per
      // file (the survey's) for the list. No file is opened either way.
      EXPECT_EQ(d.stats, 1u + 12u);
      EXPECT_EQ(l.stats, 12u);
      EXPECT_EQ(d.opens, 0u);
    }
    EXPECT_EQ(slurp((dir / "dir.json").string()), slurp((dir / "list.json").string()));
  }
}

// A file that disappears between the directory listing and the walk's stat of it is reported
// as it was before the walk took stats: the survey stats it, and it is a `missing` failure.
TEST(ScanThreads, FileVanishingDuringTheWalkIsAMissingFailure) {
  auto dir = fs::path(::testing::TempDir()) / "mpiprep-scan-vanish";
  const fs::path tree = make_tree(dir);
  const std::string victim = (tree / "d1" / "f2.nc").string();
  comm::SerialCommunicator c;
  VanishingFileSystem vanishing(io::default_file_system(), victim);
  io::CountingFileSystem counting(vanishing);
  auto o = run_scan(c, counting, tree_options(dir, {tree.string()}, "vanish"));
  EXPECT_FALSE(fs::exists(victim));
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_EQ(o.files, 12);  // listed, so still one of the inputs
  EXPECT_EQ(o.failed, 1);
  EXPECT_EQ(o.misses, 11);
  auto failures = nlohmann::json::parse(slurp((dir / "vanish.json.failures.json").string()));
  ASSERT_EQ(failures.size(), 1u) << failures.dump();
  EXPECT_EQ(failures[0]["path"], victim);
  EXPECT_EQ(failures[0]["kind"], "missing");
  // The survey's stat error, naming the call and the path.
  const std::string msg = failures[0]["message"];
  EXPECT_NE(msg.find("stat"), std::string::npos) << msg;
  EXPECT_NE(msg.find(victim), std::string::npos) << msg;
  auto out = nlohmann::json::parse(slurp((dir / "vanish.json").string()));
  EXPECT_EQ(out["default"]["files"].size(), 11u);
  EXPECT_FALSE(out["default"]["files"].contains(victim));
}

// The output walks datasets in order while the flat file list is in input order: a dataset
// that gets files from two inputs with another dataset in between makes the output's
// sequential guess fail, and the path-index fallback must find every file's own metadata.
// Interleaved inputs must give exactly the output of one fileset listing the same datasets.
TEST(ScanThreads, InterleavedDatasetsFindEveryFilesMetadata) {
  auto dir = fs::path(::testing::TempDir()) / "mpiprep-scan-interleaved";
  fs::remove_all(dir);
  fs::create_directories(dir / "data");
  auto copy = [&](const char* name) {
    auto to = dir / "data" / name;
    fs::copy_file(fs::path(MPIPREP_TEST_DATA_DIR) / name, to);
    return to.string();
  };
  const std::string a1 = copy("uproot-HZZ.root"), b1 = copy("nano_dy.root"),
                    a2 = copy("uproot-Zmumu.root"), b2 = copy("pylhe-testfile-hpcgen.hdf5");
  // Input 1: A = {a1}, B = {b1, b2}; input 2 (a list, --dataset A): a2. Flat order a1 b1 b2 a2;
  // output order a1 a2 b1 b2.
  nlohmann::ordered_json first = {{"A", {{"files", {{a1, "events"}}}}},
                                  {"B", {{"files", {{b1, "Events"}, {b2, "/events"}}}}}};
  std::ofstream(dir / "first.json") << first.dump(1);
  std::ofstream(dir / "second.txt") << a2 << "\n";
  nlohmann::ordered_json whole = {{"A", {{"files", {{a1, "events"}, {a2, nullptr}}}}},
                                  {"B", {{"files", {{b1, "Events"}, {b2, "/events"}}}}}};
  std::ofstream(dir / "whole.json") << whole.dump(1);

  comm::SerialCommunicator c;
  for (int run = 0; run < 2; ++run) {  // cold (extracted metas), then warm (cache hits)
    io::CountingFileSystem fs1(io::default_file_system());
    auto o1 = tree_options(dir, {(dir / "first.json").string(), "@" + (dir / "second.txt").string()},
                           "interleaved");
    o1.dataset = "A";
    auto r1 = run_scan(c, fs1, o1);
    io::CountingFileSystem fs2(io::default_file_system());
    auto r2 = run_scan(c, fs2, tree_options(dir, {(dir / "whole.json").string()}, "whole"));
    EXPECT_EQ(r1.exit_code, 0) << slurp((dir / "interleaved.json.failures.json").string());
    EXPECT_EQ(r1.failed, 0);
    EXPECT_EQ(r1.files, 4);
    EXPECT_EQ(r2.exit_code, 0);
    const std::string t1 = slurp((dir / "interleaved.json").string());
    EXPECT_EQ(t1, slurp((dir / "whole.json").string()));
    auto j = nlohmann::json::parse(t1);
    // Each file has its own entry count (a wrong index would give another file's).
    EXPECT_EQ(j["A"]["files"][a1]["num_entries"], 2421);
    EXPECT_EQ(j["A"]["files"][a2]["num_entries"], 2304);
    EXPECT_EQ(j["B"]["files"][b1]["num_entries"], 40);
    EXPECT_NE(j["B"]["files"][b2]["num_entries"], j["B"]["files"][b1]["num_entries"]);
  }
}

}  // namespace
}  // namespace mpiprep::cli
