#include "mpiprep/cli/jobscript.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace mpiprep::cli {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string shipped(Scheduler s) {
  return read_file(std::string(MPIPREP_SOURCE_DIR) + "/" + std::string(template_path(s)));
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// Lines of `rendered` that are not in `base` (multiset difference is enough for these files).
std::vector<std::string> added(const std::string& base, const std::string& rendered) {
  auto b = lines_of(base);
  std::vector<std::string> out;
  for (const auto& l : lines_of(rendered)) {
    auto it = std::find(b.begin(), b.end(), l);
    if (it == b.end()) {
      out.push_back(l);
    } else {
      b.erase(it);
    }
  }
  return out;
}

bool bash_syntax_ok(const std::string& script) {
  const std::string path = std::string(MPIPREP_BINARY_DIR) + "/jobscript_test_syntax.sh";
  std::ofstream(path) << script;
  return std::system(("bash -n " + path).c_str()) == 0;
}

JobScriptOptions defaults(Scheduler s) {
  JobScriptOptions o;
  o.scheduler = s;
  return o;
}

class BothSchedulers : public ::testing::TestWithParam<Scheduler> {};

TEST_P(BothSchedulers, EmbeddedTemplateIsTheShippedFile) {
  const auto text = shipped(GetParam());
  ASSERT_FALSE(text.empty()) << template_path(GetParam());
  EXPECT_EQ(std::string(job_template(GetParam())), text);
}

TEST_P(BothSchedulers, DefaultsRenderTheShippedFilePlusAMarker) {
  auto r = render_jobscript(defaults(GetParam()));
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto base = shipped(GetParam());
  auto extra = added(base, *r);
  ASSERT_EQ(extra.size(), 1u);
  EXPECT_EQ(extra[0].rfind("# Rendered by `mpiprep jobscript`", 0), 0u) << extra[0];
  EXPECT_EQ(lines_of(*r).size(), lines_of(base).size() + 1);
  EXPECT_TRUE(bash_syntax_ok(*r));
}

TEST_P(BothSchedulers, EveryValueLandsQuotedOnItsLine) {
  auto o = defaults(GetParam());
  o.ranks = "64";
  o.time = "26:30:00";
  o.mem = "4G";
  o.job_name = "dy-2018";
  o.mpiprep = "/opt/mpiprep/bin/mpiprep";
  o.cache = "/lus/proj/.mpiprep-cache.h5";
  o.output = "out/run1";
  o.reports = "/home/u/reports";
  o.launcher = "mpirun";
  o.scan_args = {"--step-size", "200000", "--glob", "*.root", "--io-depth=8"};
  o.inputs = {"fileset.json", "@more.txt"};
  auto r = render_jobscript(o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto extra = lines_of(*r);
  std::vector<std::string> expect = {
      "MPIPREP='/opt/mpiprep/bin/mpiprep'", "CACHE='/lus/proj/.mpiprep-cache.h5'",
      "OUT='out/run1'", "REPORTS='/home/u/reports'", "LAUNCH='mpirun'",
      "SCAN_ARGS=('--step-size' '200000' '--glob' '*.root' '--io-depth=8')",
      "INPUTS=('fileset.json' '@more.txt')"};
  if (GetParam() == Scheduler::kSlurm) {
    for (const char* l : {"#SBATCH --ntasks=64", "#SBATCH --time=26:30:00",
                          "#SBATCH --mem-per-cpu=4G", "#SBATCH --job-name=dy-2018",
                          "#SBATCH --signal=B:TERM@120"}) {
      expect.emplace_back(l);
    }
  } else {
    for (const char* l : {"#$ -pe mpi 64", "#$ -l h_rt=26:30:00,s_rt=26:28:00",
                          "#$ -l h_vmem=4G", "#$ -N dy-2018"}) {
      expect.emplace_back(l);
    }
  }
  for (const auto& e : expect) {
    EXPECT_NE(std::find(extra.begin(), extra.end(), e), extra.end()) << "missing: " << e;
  }
  EXPECT_TRUE(bash_syntax_ok(*r));
}

TEST_P(BothSchedulers, RejectsShellInjectionInEveryValue) {
  const std::vector<std::string> evil = {"$(touch /tmp/pwned)", "`id`", "a;b",  "a b",
                                         "it's",                "a\nb", "a|b",  "a&b",
                                         "a>b",                 "-rf",  "",     "x\\y",
                                         "${HOME}"};
  for (const auto& v : evil) {
    for (int field = 0; field < 6; ++field) {
      auto o = defaults(GetParam());
      switch (field) {
        case 0: o.cache = v; break;
        case 1: o.output = v; break;
        case 2: o.reports = v; break;
        case 3: o.mpiprep = v; break;
        case 4: o.inputs = {v}; break;
        default:
          if (v.rfind('-', 0) == 0) continue;  // an option name is fine as a scan option
          o.scan_args = {v};
          break;
      }
      auto r = render_jobscript(o);
      EXPECT_FALSE(r.ok()) << "field " << field << " accepted: " << v;
      if (!r.ok()) {
        EXPECT_EQ(r.error().kind, ErrorKind::kInconsistent);
      }
    }
  }
}

TEST_P(BothSchedulers, RejectsBadNumbersAndNames) {
  for (const char* ranks : {"0", "-4", "4;ls", "0x10", "4.0", "", " 4", "1e3", "9999999999"}) {
    auto o = defaults(GetParam());
    o.ranks = ranks;
    EXPECT_FALSE(render_jobscript(o).ok()) << ranks;
  }
  for (const char* name : {"1job", "a b", "a;b", "x$y"}) {
    auto o = defaults(GetParam());
    o.job_name = name;
    EXPECT_FALSE(render_jobscript(o).ok()) << name;
  }
  for (const char* mem : {"4GB", "G", "4 G", "4G;x", "-4G"}) {
    auto o = defaults(GetParam());
    o.mem = mem;
    EXPECT_FALSE(render_jobscript(o).ok()) << mem;
  }
  auto o = defaults(GetParam());
  o.launcher = "srun;id";
  EXPECT_FALSE(render_jobscript(o).ok());
}

INSTANTIATE_TEST_SUITE_P(Jobs, BothSchedulers,
                         ::testing::Values(Scheduler::kSlurm, Scheduler::kUge));

TEST(Walltime, ParsesStrictly) {
  EXPECT_EQ(*parse_walltime("--time", "01:00:00"), 3600);
  EXPECT_EQ(*parse_walltime("--time", "1:02:03"), 3723);
  EXPECT_EQ(*parse_walltime("--time", "100:00:00"), 360000);
  for (const char* bad : {"", "1:00", "01:60:00", "01:00:60", "00:00:30", "1:2:3", "a1:00:00",
                          "01:00:00;id", "01:00:00 ", "12345:00:00", "-1:00:00", "1-00:00:00"}) {
    EXPECT_FALSE(parse_walltime("--time", bad).ok()) << bad;
  }
}

TEST(Walltime, ShortLimitsStopAQuarterBeforeTheEnd) {
  JobScriptOptions o;
  o.time = "00:04:00";
  auto r = render_jobscript(o);
  ASSERT_TRUE(r.ok());
  EXPECT_NE(r->find("#SBATCH --signal=B:TERM@60\n"), std::string::npos);
  o.scheduler = Scheduler::kUge;
  r = render_jobscript(o);
  ASSERT_TRUE(r.ok());
  EXPECT_NE(r->find("#$ -l h_rt=00:04:00,s_rt=00:03:00\n"), std::string::npos);
}

TEST(Slurm, NodesAndCpusPerTask) {
  JobScriptOptions o;
  o.ranks = "8";
  o.nodes = "2";
  o.cpus_per_task = "4";
  auto r = render_jobscript(o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_NE(r->find("#SBATCH --nodes=2\n"), std::string::npos);
  EXPECT_NE(r->find("#SBATCH --cpus-per-task=4\n"), std::string::npos);
  o.nodes = "9";  // more nodes than ranks
  EXPECT_FALSE(render_jobscript(o).ok());
  o.nodes.reset();
  o.scheduler = Scheduler::kUge;  // no --cpus-per-task there
  EXPECT_FALSE(render_jobscript(o).ok());
  o.cpus_per_task.reset();
  o.launcher = "srun";  // Grid Engine starts ranks with mpirun
  EXPECT_FALSE(render_jobscript(o).ok());
}

TEST(ShellQuote, EscapesSingleQuotes) {
  EXPECT_EQ(shell_quote("a b"), "'a b'");
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
}

}  // namespace
}  // namespace mpiprep::cli
