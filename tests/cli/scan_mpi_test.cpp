// The scan pipeline end to end with the real MPI communicator, at every rank count CTest runs
// it with (1, 2, 4): cold, warm (all hits, no data file opened: the io layer's counters, summed
// over ranks), one touched file (exactly one miss), a step-size change served from the cache,
// and output identical to a serial run of the same fileset.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>

#include "cli/scan_fixture.hpp"
#include "mpiprep/cache/cache.hpp"
#include "mpiprep/cli/scan.hpp"
#include "mpiprep/comm/mpi_communicator.hpp"
#include "mpiprep/output/meta_json.hpp"

namespace mpiprep::cli {
namespace {

namespace fs = std::filesystem;
using mpiprep::testing::expected_json;
using mpiprep::testing::fixture_files;
using mpiprep::testing::slurp;

constexpr std::int64_t kFiles = 12;  // fixture_files().size()

struct ScanRun {
  ScanOutcome outcome;
  std::string output;  // the coffea JSON text (rank 0)
};

class ScanMpi : public ::testing::Test {
 protected:
  void SetUp() override {
    comm_ = comm::make_mpi_world_communicator();
    dir_ = fs::path(MPIPREP_BINARY_DIR) / "tests" / "cli" /
           ("scan-mpi-np" + std::to_string(comm_->size()));
    if (comm_->rank() == 0) mpiprep::testing::make_fixture(dir_);
    comm_->barrier();
  }

  ScanOptions options(const std::string& name) const {
    ScanOptions o;
    o.inputs = {(dir_ / "fileset.json").string()};
    o.cache_path = (dir_ / "cache.h5").string();
    o.output_path = (dir_ / (name + ".json")).string();
    o.failures_path = (dir_ / (name + ".failures.json")).string();
    o.report_json_path = (dir_ / (name + ".report.json")).string();
    o.text_report = false;
    o.threads = 1;
    return o;
  }

  ScanRun scan(comm::Communicator& c, const ScanOptions& o) const {
    io::CountingFileSystem counting(io::default_file_system());
    ScanRun r;
    r.outcome = run_scan(c, counting, o);
    if (c.rank() == 0) r.output = slurp(o.output_path);
    return r;
  }

  std::unique_ptr<comm::Communicator> comm_;
  fs::path dir_;
};

// coffea's rule, computed independently of src/output: n = max(round(N/s), 1), size = ceil(N/n).
std::vector<std::array<std::int64_t, 2>> coffea_steps(std::int64_t n_entries, std::int64_t step) {
  auto n = std::max<std::int64_t>(std::llround(std::nearbyint(static_cast<double>(n_entries) /
                                                              static_cast<double>(step))),
                                  1);
  auto size = static_cast<std::int64_t>(
      std::ceil(static_cast<double>(n_entries) / static_cast<double>(n)));
  std::vector<std::array<std::int64_t, 2>> steps;
  for (std::int64_t i = 0; i < n; ++i) steps.push_back({i * size, std::min((i + 1) * size, n_entries)});
  return steps;
}

TEST_F(ScanMpi, ColdWarmTouchedAndIdenticalToSerial) {
  auto& c = *comm_;
  const bool root = c.rank() == 0;

  // Cold: everything extracted, the NetCDF-3 file fails, the cache is written.
  ScanRun cold = scan(c, options("cold"));
  EXPECT_EQ(cold.outcome.files, kFiles);
  EXPECT_EQ(cold.outcome.hits, 0);
  EXPECT_EQ(cold.outcome.misses, kFiles);
  EXPECT_EQ(cold.outcome.failed, 1);
  EXPECT_EQ(cold.outcome.exit_code, 1);
  EXPECT_TRUE(cold.outcome.committed);
  EXPECT_EQ(cold.outcome.opens, static_cast<std::uint64_t>(kFiles));  // each file once, any rank

  if (root) {
    auto out = nlohmann::json::parse(cold.output);
    auto exp = expected_json()["files"];
    auto entry = [&](const char* ds, const char* name) {
      return out.at(ds).at("files").at((dir_ / "data" / name).string());
    };
    // Trees and datasets against the independent readers' ground truth.
    auto tree_entries = [&](const char* name, const char* tree) -> std::int64_t {
      for (const auto& t : exp[name]["trees"])
        if (t["path"] == tree) return t["entries"].get<std::int64_t>();
      for (const auto& t : exp[name]["rntuples"])
        if (t["path"] == tree) return t["entries"].get<std::int64_t>();
      ADD_FAILURE() << name << " has no tree " << tree << " in expected.json";
      return -1;
    };
    EXPECT_EQ(entry("dy", "nano_dy.root")["num_entries"], tree_entries("nano_dy.root", "Events"));
    EXPECT_EQ(entry("hzz", "uproot-HZZ-lzma.root")["num_entries"],
              tree_entries("uproot-HZZ-lzma.root", "events"));
    EXPECT_EQ(entry("nested", "uproot-nesteddirs.root")["num_entries"],
              tree_entries("uproot-nesteddirs.root", "one/two/tree"));
    EXPECT_EQ(entry("ntuple", "ntpl001_staff_rntuple_v1-0-0-0.root")["num_entries"],
              tree_entries("ntpl001_staff_rntuple_v1-0-0-0.root", "Staff"));
    // No object_path on a ROOT file: the first TTree is chosen and named.
    EXPECT_EQ(entry("zmumu", "uproot-Zmumu.root")["object_path"], "events");
    EXPECT_EQ(entry("zmumu", "uproot-Zmumu.root")["num_entries"],
              tree_entries("uproot-Zmumu.root", "events"));
    // HDF5: first dimension of the named dataset; no object_path -> nulls, no steps.
    for (const auto& d : exp["issue672.nc"]["datasets"]) {
      if (d["path"] == "/azi_angle_trip") {
        EXPECT_EQ(entry("h5", "issue672.nc")["num_entries"], d["shape"][0]);
      }
    }
    EXPECT_TRUE(entry("h5", "test_gold.nc")["object_path"].is_null());
    EXPECT_TRUE(entry("h5", "test_gold.nc")["num_entries"].is_null());
    EXPECT_TRUE(entry("h5", "test_gold.nc")["steps"].is_null());
    // UUID as coffea prints it.
    EXPECT_EQ(entry("hzz", "uproot-HZZ.root")["uuid"], "76a647e8-03ee-11e2-9717-668ba983beef");
    // The failed file is in the failures list, not the output.
    EXPECT_FALSE(out["h5"]["files"].contains((dir_ / "data" / "CRM032_test1.nc").string()));
    auto failures = nlohmann::json::parse(slurp((dir_ / "cold.failures.json").string()));
    ASSERT_EQ(failures.size(), 1u);
    EXPECT_EQ(failures[0]["kind"], "unsupported_format");
    EXPECT_EQ(failures[0]["path"], (dir_ / "data" / "CRM032_test1.nc").string());
    // The report JSON has every rank.
    auto report = nlohmann::json::parse(slurp((dir_ / "cold.report.json").string()));
    EXPECT_EQ(report["io"]["opens"], kFiles);
  }

  // Warm: all hits (the permanent NetCDF-3 failure included), no data file opened, no commit.
  ScanRun warm = scan(c, options("warm"));
  EXPECT_EQ(warm.outcome.hits, kFiles);
  EXPECT_EQ(warm.outcome.misses, 0);
  EXPECT_EQ(warm.outcome.opens, 0u);
  EXPECT_FALSE(warm.outcome.committed);
  EXPECT_EQ(warm.outcome.exit_code, 1);
  if (root) {
    EXPECT_EQ(warm.output, cold.output);
  }

  // One touched file: exactly one miss, one open, same output.
  if (root) {
    auto p = dir_ / "data" / "uproot-HZZ-zstd.root";
    fs::last_write_time(p, fs::last_write_time(p) + std::chrono::seconds(7));
  }
  c.barrier();
  ScanRun touched = scan(c, options("touched"));
  EXPECT_EQ(touched.outcome.misses, 1);
  EXPECT_EQ(touched.outcome.hits, kFiles - 1);
  EXPECT_EQ(touched.outcome.opens, 1u);
  EXPECT_TRUE(touched.outcome.committed);
  if (root) {
    EXPECT_EQ(touched.output, cold.output);
  }

  // A different step size is served from the cache: steps are recomputed, nothing re-read.
  auto o = options("steps");
  o.step_size = 1000;
  ScanRun steps = scan(c, o);
  EXPECT_EQ(steps.outcome.opens, 0u);
  EXPECT_EQ(steps.outcome.misses, 0);
  if (root) {
    auto out = nlohmann::json::parse(steps.output);
    auto f = out["hzz"]["files"][(dir_ / "data" / "uproot-HZZ.root").string()];
    auto want = coffea_steps(f["num_entries"].get<std::int64_t>(), 1000);
    ASSERT_EQ(f["steps"].size(), want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(f["steps"][i][0], want[i][0]);
      EXPECT_EQ(f["steps"][i][1], want[i][1]);
    }
  }

  // The same fileset scanned by one process with a fresh cache gives byte-identical output and
  // the same cached metadata: the result does not depend on the rank count.
  if (root) {
    comm::SerialCommunicator serial;
    auto so = options("serial");
    so.cache_path = (dir_ / "serial-cache.h5").string();
    ScanRun ref = scan(serial, so);
    EXPECT_EQ(ref.output, cold.output);
    auto a = cache::Cache::load((dir_ / "cache.h5").string());
    auto b = cache::Cache::load(so.cache_path);
    ASSERT_EQ(a.report.status, cache::LoadStatus::kLoaded);
    ASSERT_EQ(b.report.status, cache::LoadStatus::kLoaded);
    EXPECT_EQ(a.cache.paths(), b.cache.paths());
    for (const auto& path : a.cache.paths()) {
      auto ma = a.cache.get(path);
      auto mb = b.cache.get(path);
      ASSERT_TRUE(ma && mb) << path;
      EXPECT_EQ(output::to_json(*ma).dump(), output::to_json(*mb).dump()) << path;
    }
  }
}

}  // namespace
}  // namespace mpiprep::cli
