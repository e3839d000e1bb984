// The scan pipeline with ranks as threads (no MPI): the dispatcher, collectives and the serial
// cache commit work through the Communicator interface alone, and the result equals a serial
// run's.
#include <gtest/gtest.h>

#include <filesystem>
#include <mutex>

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

}  // namespace
}  // namespace mpiprep::cli
