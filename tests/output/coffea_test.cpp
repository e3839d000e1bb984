// The coffea output built from metadata whose truth comes from expected.json (independent
// readers), and the atomic file writer on a real temporary directory.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "mpiprep/output/coffea.hpp"

namespace mpiprep::output {
namespace {

using Json = nlohmann::json;
const std::string kData = MPIPREP_TEST_DATA_DIR;

const Json& expected() {
  static const Json doc = [] {
    std::ifstream in(kData + "/expected.json");
    return Json::parse(in);
  }();
  return doc;
}

// FileMeta as an extractor would return it, filled from the oracle.
FileMeta meta_from_expected(const std::string& name) {
  const Json& e = expected()["files"].at(name);
  FileMeta m;
  m.path = kData + "/" + name;
  m.size = e["size"].get<std::int64_t>();
  const auto format = e["format"].get<std::string>();
  if (format == "root") {
    m.format = FileFormat::kRoot;
    m.uuid = e["header"]["fUUID"].get<std::string>();
    for (const auto& k : e["keys"]) {
      ObjectMeta o;
      o.path = k["path"].get<std::string>();
      o.cycle = k["cycle"].get<int>();
      auto cls = k["class"].get<std::string>();
      o.kind = cls == "ROOT::RNTuple" ? "RNTuple" : cls;
      for (const auto& t : e["trees"])
        if (t["path"] == o.path) o.num_entries = t["entries"].get<std::int64_t>();
      for (const auto& r : e["rntuples"])
        if (r["path"] == o.path) o.num_entries = r["entries"].get<std::int64_t>();
      m.objects.push_back(o);
    }
  } else if (format == "hdf5") {
    m.format = FileFormat::kHdf5;
    m.uuid = e["sha256"].get<std::string>().substr(0, 32);
    for (const auto& g : e["groups"]) {
      ObjectMeta o;
      o.path = g["path"].get<std::string>();
      o.kind = "group";
      m.objects.push_back(o);
    }
    for (const auto& d : e["datasets"]) {
      ObjectMeta o;
      o.path = d["path"].get<std::string>();
      o.kind = "dataset";
      o.shape = d["shape"].get<std::vector<std::int64_t>>();
      m.objects.push_back(o);
    }
  } else {
    m.format = FileFormat::kNetcdf3;
    m.error_kind = ErrorKind::kUnsupportedFormat;
    m.error_message = "NetCDF-3 classic file (magic CDF\\x01)";
  }
  return m;
}

std::int64_t oracle_entries(const std::string& file, const std::string& tree) {
  const Json& e = expected()["files"].at(file);
  for (const auto& t : e.value("trees", Json::array()))
    if (t["path"] == tree) return t["entries"].get<std::int64_t>();
  for (const auto& t : e.value("rntuples", Json::array()))
    if (t["path"] == tree) return t["entries"].get<std::int64_t>();
  for (const auto& d : e.value("datasets", Json::array()))
    if (d["path"] == tree) return d["shape"][0].get<std::int64_t>();
  throw std::runtime_error("no " + tree + " in " + file);
}

fileset::FileSpec spec(const std::string& file, std::optional<std::string> obj = std::nullopt) {
  return fileset::FileSpec{"ds", kData + "/" + file, std::move(obj)};
}

TEST(Resolve, RootTreesMatchOracle) {
  StepOptions o;
  o.step_size = 1000;
  struct Case {
    std::string file, obj;
  };
  for (const Case& c : {Case{"uproot-HZZ.root", "events"}, Case{"nano_dy.root", "Events"},
                        Case{"nano_dy.root", "Runs;1"}, Case{"uproot-nesteddirs.root", "one/two/tree"},
                        Case{"uproot-nesteddirs.root", "/three/tree"},
                        Case{"uproot-from-geant4.root", "HitStrips"},
                        Case{"ntpl001_staff_rntuple_v1-0-0-0.root", "Staff"},
                        Case{"uproot-empty.root", "tree"}}) {
    auto r = resolve(spec(c.file, c.obj), meta_from_expected(c.file), o);
    ASSERT_TRUE(r.ok()) << c.file << ": " << r.error().to_string();
    std::string bare = c.obj.substr(c.obj.front() == '/' ? 1 : 0);
    bare = bare.substr(0, bare.find(';'));
    const std::int64_t n = oracle_entries(c.file, bare);
    EXPECT_EQ(r->num_entries, n) << c.file;
    EXPECT_EQ(r->object_path, c.obj);  // kept as written, like coffea
    ASSERT_TRUE(r->steps.has_value());
    // The steps tile [0, N) (the generated cases here have no coffea overshoot).
    std::int64_t at = 0;
    for (const auto& s : *r->steps) {
      EXPECT_EQ(s[0], at);
      at = s[1];
    }
    EXPECT_EQ(at, n) << c.file;
  }
}

TEST(Resolve, RootWithoutObjectPathUsesFirstTree) {
  auto r = resolve(spec("uproot-from-geant4.root"), meta_from_expected("uproot-from-geant4.root"),
                   StepOptions{});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->object_path, "Details");  // first TTree in key order
  EXPECT_EQ(r->num_entries, oracle_entries("uproot-from-geant4.root", "Details"));
  EXPECT_EQ(r->steps, (std::vector<Step>{{0, 1}}));
  EXPECT_EQ(r->uuid, expected()["files"]["uproot-from-geant4.root"]["header"]["fUUID"]);

  auto rn = resolve(spec("ntpl001_staff_rntuple_v1-0-0-0.root"),
                    meta_from_expected("ntpl001_staff_rntuple_v1-0-0-0.root"), StepOptions{});
  ASSERT_TRUE(rn.ok());
  EXPECT_EQ(rn->object_path, "Staff");
  EXPECT_EQ(rn->num_entries, 3354);
}

TEST(Resolve, RootErrors) {
  auto meta = meta_from_expected("uproot-from-geant4.root");
  auto missing = resolve(spec("uproot-from-geant4.root", "Events"), meta, StepOptions{});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, ErrorKind::kNotFound);
  EXPECT_NE(missing.error().message.find("'Events'"), std::string::npos);

  auto histo = resolve(spec("uproot-from-geant4.root", "edep_inner"), meta, StepOptions{});
  ASSERT_FALSE(histo.ok());
  EXPECT_EQ(histo.error().kind, ErrorKind::kNotFound);
  EXPECT_NE(histo.error().message.find("TH1D"), std::string::npos);

  auto bad_cycle = resolve(spec("uproot-from-geant4.root", "Details;7"), meta, StepOptions{});
  EXPECT_EQ(bad_cycle.error().kind, ErrorKind::kNotFound);

  meta.objects[1].error_kind = ErrorKind::kUnsupportedVersion;
  meta.objects[1].error_message = "TTree version 99";
  auto undecodable = resolve(spec("uproot-from-geant4.root", "HitStrips"), meta, StepOptions{});
  EXPECT_EQ(undecodable.error().kind, ErrorKind::kUnsupportedVersion);

  auto netcdf3 = resolve(spec("CRM032_test1.nc"), meta_from_expected("CRM032_test1.nc"), {});
  ASSERT_FALSE(netcdf3.ok());
  EXPECT_EQ(netcdf3.error().kind, ErrorKind::kUnsupportedFormat);
}

TEST(Resolve, Hdf5DatasetsAndGroups) {
  StepOptions o;
  o.step_size = 30;
  auto lhe = meta_from_expected("pylhe-testfile-hpcgen.hdf5");
  auto ds = resolve(spec("pylhe-testfile-hpcgen.hdf5", "/particles"), lhe, o);
  ASSERT_TRUE(ds.ok()) << ds.error().to_string();
  EXPECT_EQ(ds->num_entries, oracle_entries("pylhe-testfile-hpcgen.hdf5", "/particles"));
  EXPECT_EQ(ds->steps->size(), 13u);  // 400 / 30 = 13.3 -> 13 steps

  // The root group's datasets disagree (100, 10, 400, 1, 3): inconsistent, naming them.
  auto root_group = resolve(spec("pylhe-testfile-hpcgen.hdf5", "/"), lhe, o);
  ASSERT_FALSE(root_group.ok());
  EXPECT_EQ(root_group.error().kind, ErrorKind::kInconsistent);
  EXPECT_NE(root_group.error().message.find("/events (100)"), std::string::npos)
      << root_group.error().message;
  EXPECT_NE(root_group.error().message.find("/init (10)"), std::string::npos);

  auto groups = meta_from_expected("ref_groups.h5");
  auto g = resolve(spec("ref_groups.h5", "/MyGroup"), groups, o);
  ASSERT_TRUE(g.ok()) << g.error().to_string();
  EXPECT_EQ(g->num_entries, 3);  // dset1 [3, 3]; Group_A/dset2 is not a direct child
  EXPECT_EQ(g->object_path, "/MyGroup");

  auto empty = resolve(spec("ref_groups.h5", "MyGroup/Group_B"), groups, o);
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().kind, ErrorKind::kNotFound);

  auto nope = resolve(spec("ref_groups.h5", "/nope"), groups, o);
  EXPECT_EQ(nope.error().kind, ErrorKind::kNotFound);

  // Agreeing group: add two datasets of the oracle's first dimension under a new group.
  ObjectMeta extra;
  extra.kind = "group";
  extra.path = "/agree";
  groups.objects.push_back(extra);
  extra.kind = "dataset";
  extra.path = "/agree/a";
  extra.shape = {77, 2};
  groups.objects.push_back(extra);
  extra.path = "/agree/b";
  extra.shape = {77};
  groups.objects.push_back(extra);
  extra.path = "/agree/scalar";
  extra.shape = {};
  groups.objects.push_back(extra);
  auto agree = resolve(spec("ref_groups.h5", "/agree"), groups, o);
  ASSERT_TRUE(agree.ok()) << agree.error().to_string();
  EXPECT_EQ(agree->num_entries, 77);
  auto scalar = resolve(spec("ref_groups.h5", "/agree/scalar"), groups, o);
  EXPECT_FALSE(scalar.ok());

  // No object path: nulls.
  auto plain = resolve(spec("test_gold.nc"), meta_from_expected("test_gold.nc"), o);
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->object_path.has_value());
  EXPECT_FALSE(plain->num_entries.has_value());
  EXPECT_FALSE(plain->steps.has_value());
  EXPECT_FALSE(plain->uuid.empty());
}

TEST(Resolve, AlignClustersUsesObjectClusters) {
  auto meta = meta_from_expected("uproot-HZZ.root");
  meta.objects[0].clusters = {0, 500, 1000, 1500, 2000, 2421};
  StepOptions o;
  o.step_size = 700;
  o.align_clusters = true;
  auto r = resolve(spec("uproot-HZZ.root", "events"), meta, o);
  ASSERT_TRUE(r.ok());
  // 1000 >= 0 + 700, 2000 >= 1000 + 700, then close at 2421.
  EXPECT_EQ(r->steps, (std::vector<Step>{{0, 1000}, {1000, 2000}, {2000, 2421}}));
  EXPECT_TRUE(r->warnings.empty());
  o.step_size = 100;  // 500-entry clusters are > 1.5 * 100
  auto w = resolve(spec("uproot-HZZ.root", "events"), meta, o);
  ASSERT_EQ(w->warnings.size(), 1u);
  EXPECT_NE(w->warnings[0].find("uproot-HZZ.root"), std::string::npos);
  EXPECT_NE(w->warnings[0].find("target step size: 100!"), std::string::npos);
}

TEST(BuildPreprocessed, CoffeaShapeFailuresAndOrder) {
  const std::string text = R"({
    "HZZ": {"files": {"uproot-HZZ.root": "events", "uproot-HZZ-lz4.root": "events",
                      "uproot-HZZ-zstd.root": "nope"},
            "metadata": {"xsec": 6077.22, "is_mc": true}},
    "Zmumu": ["uproot-Zmumu.root"],
    "netcdf": {"files": {"CRM032_test1.nc": null, "test_gold.nc": null,
                         "root://eos//x.root": "Events"}},
    "broken": {"files": {"pylhe-testfile-hpcgen.hdf5": "/"}}
  })";
  auto fs = fileset::parse_fileset_json(text, "inline", kData);
  ASSERT_TRUE(fs.ok()) << fs.error().to_string();
  std::vector<FileMeta> metas;
  for (const auto& f : fs->files)
    metas.push_back(meta_from_expected(std::filesystem::path(f.path).filename().string()));
  StepOptions o;
  o.step_size = 1000;
  Preprocessed pre = build_preprocessed(*fs, metas, o);

  // Round-trip through text, as coffea would json.load it.
  Json out = Json::parse(pre.fileset.dump());
  EXPECT_EQ(pre.files_ok, 4u);
  std::vector<std::string> names;
  for (const auto& [k, v] : pre.fileset.items()) names.push_back(k);
  EXPECT_EQ(names, (std::vector<std::string>{"HZZ", "Zmumu", "netcdf"}));  // "broken" dropped

  const Json& hzz = out["HZZ"];
  EXPECT_EQ(hzz["metadata"]["xsec"], 6077.22);
  EXPECT_TRUE(hzz["form"].is_null());
  ASSERT_EQ(hzz["files"].size(), 2u);
  const Json& f = hzz["files"][kData + "/uproot-HZZ.root"];
  EXPECT_EQ(f["object_path"], "events");
  EXPECT_EQ(f["num_entries"], oracle_entries("uproot-HZZ.root", "events"));
  EXPECT_EQ(f["steps"], Json::parse("[[0, 1211], [1211, 2421]]"));
  EXPECT_EQ(f["uuid"], expected()["files"]["uproot-HZZ.root"]["header"]["fUUID"]);
  std::vector<std::string> keys;
  for (const auto& [k, v] : pre.fileset["HZZ"]["files"].begin().value().items()) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"object_path", "steps", "num_entries", "uuid"}));

  const Json& z = out["Zmumu"]["files"][kData + "/uproot-Zmumu.root"];
  EXPECT_EQ(z["object_path"], "events");
  EXPECT_EQ(z["num_entries"], oracle_entries("uproot-Zmumu.root", "events"));
  EXPECT_TRUE(out["Zmumu"]["metadata"].is_null());

  const Json& gold = out["netcdf"]["files"][kData + "/test_gold.nc"];
  EXPECT_TRUE(gold["object_path"].is_null());
  EXPECT_TRUE(gold["steps"].is_null());
  EXPECT_TRUE(gold["num_entries"].is_null());

  ASSERT_EQ(pre.failures.size(), 4u);
  EXPECT_EQ(pre.failures[0].path, kData + "/uproot-HZZ-zstd.root");
  EXPECT_EQ(pre.failures[0].kind, ErrorKind::kNotFound);
  EXPECT_EQ(pre.failures[1].path, kData + "/CRM032_test1.nc");
  EXPECT_EQ(pre.failures[1].kind, ErrorKind::kUnsupportedFormat);
  EXPECT_EQ(pre.failures[2].dataset, "broken");
  EXPECT_EQ(pre.failures[2].kind, ErrorKind::kInconsistent);
  EXPECT_EQ(pre.failures[3].path, "root://eos//x.root");
  ASSERT_EQ(pre.warnings.size(), 1u);
  EXPECT_NE(pre.warnings[0].find("'broken'"), std::string::npos);

  Json failures = Json::parse(failures_json(pre.failures).dump());
  ASSERT_TRUE(failures.is_array());
  EXPECT_EQ(failures[0]["kind"], "not_found");
  EXPECT_EQ(failures[1]["kind"], "unsupported_format");
  EXPECT_EQ(failures[2]["kind"], "inconsistent");
  EXPECT_EQ(failures[0]["dataset"], "HZZ");
  EXPECT_FALSE(failures[3]["message"].get<std::string>().empty());

  // A file the caller has no metadata for is an internal failure, not a crash.
  Preprocessed none = build_preprocessed(*fs, std::span<const FileMeta>{}, o);
  EXPECT_EQ(none.files_ok, 0u);
  EXPECT_TRUE(none.fileset.empty());
  EXPECT_EQ(none.failures.front().kind, ErrorKind::kInternal);
}

// render_preprocessed writes byte for byte what write_outputs would write from the document:
// ROOT files with steps, HDF5 files with nulls, metadata of every JSON type, paths that need
// escaping or are not UTF-8, failures and dropped datasets, and an output with no dataset.
TEST(BuildPreprocessed, RenderedTextIsTheDocumentsDump) {
  const std::string text = R"({
    "HZZ": {"files": {"uproot-HZZ.root": "events", "uproot-HZZ-lz4.root": "events",
                      "uproot-HZZ-zstd.root": "nope"},
            "metadata": {"xsec": 6077.22, "is_mc": true, "tags": ["a", {"b": null}, []],
                         "empty": {}, "n": -3, "u": "\u00e9\"q\\"}},
    "Zmumu": ["uproot-Zmumu.root"],
    "netcdf": {"files": {"CRM032_test1.nc": null, "test_gold.nc": null}},
    "broken": {"files": {"pylhe-testfile-hpcgen.hdf5": "/"}}
  })";
  auto fs = fileset::parse_fileset_json(text, "inline", kData);
  ASSERT_TRUE(fs.ok()) << fs.error().to_string();
  std::vector<FileMeta> metas;
  for (const auto& f : fs->files)
    metas.push_back(meta_from_expected(std::filesystem::path(f.path).filename().string()));
  // Paths needing escapes: a quote, a backslash, a tab, a non-UTF-8 byte, UTF-8 (the HDF5
  // file is listed under each, with the same metadata).
  fileset::Dataset odd;
  odd.name = "odd \"names\"";
  const FileMeta gold = meta_from_expected("test_gold.nc");
  for (const std::string p : {"/d/q\"uote.nc", "/d/back\\slash.nc", "/d/tab\t.nc",
                              "/d/bad\xff.nc", "/d/\xc3\xa9t\xc3\xa9.nc"}) {
    fileset::FileSpec spec;
    spec.path = p;
    spec.dataset = odd.name;
    odd.files.push_back(spec);
    FileMeta m = gold;
    m.path = p;
    metas.push_back(m);
  }
  fs->datasets.push_back(odd);
  for (const auto& step : {std::optional<std::int64_t>(1000), std::optional<std::int64_t>()}) {
    StepOptions o;
    o.step_size = step;
    Preprocessed dom = build_preprocessed(*fs, metas, o);
    std::unordered_map<std::string_view, const FileMeta*> by_path;
    for (const auto& m : metas) by_path.emplace(m.path, &m);
    std::string rendered;
    Preprocessed pre = render_preprocessed(
        *fs,
        [&](const fileset::FileSpec& spec) -> const FileMeta* {
          auto it = by_path.find(spec.path);
          return it == by_path.end() ? nullptr : it->second;
        },
        o, rendered);
    const auto replace = nlohmann::ordered_json::error_handler_t::replace;
    EXPECT_EQ(rendered, dom.fileset.dump(1, ' ', false, replace));
    // Handed over in pieces (down to one entry a piece): the pieces and the rest are the text.
    for (const std::size_t piece : {std::size_t{1}, std::size_t{300}, std::size_t{1} << 20}) {
      std::string joined, rest;
      std::size_t pieces = 0;
      Preprocessed streamed = render_preprocessed(
          *fs,
          [&](const fileset::FileSpec& spec) -> const FileMeta* {
            auto it = by_path.find(spec.path);
            return it == by_path.end() ? nullptr : it->second;
          },
          o, rest,
          [&](std::string_view p) {
            EXPECT_GE(p.size(), piece);
            joined += p;
            ++pieces;
          },
          piece);
      EXPECT_EQ(joined + rest, rendered) << piece;
      EXPECT_EQ(pieces > 0, piece < rendered.size()) << piece;
      EXPECT_EQ(streamed.files_ok, pre.files_ok);
      EXPECT_EQ(streamed.failures.size(), pre.failures.size());
    }
    EXPECT_NE(rendered.find("\"steps\": [\n"), std::string::npos);  // steps are there
    EXPECT_EQ(pre.files_ok, dom.files_ok);
    EXPECT_EQ(pre.files_ok, 4u + 5u);
    EXPECT_TRUE(pre.fileset.is_null());
    ASSERT_EQ(pre.failures.size(), dom.failures.size());
    for (std::size_t i = 0; i < pre.failures.size(); ++i) {
      EXPECT_EQ(pre.failures[i].path, dom.failures[i].path);
      EXPECT_EQ(pre.failures[i].kind, dom.failures[i].kind);
      EXPECT_EQ(pre.failures[i].message, dom.failures[i].message);
    }
    EXPECT_EQ(pre.warnings, dom.warnings);
  }

  // Nothing preprocessed: "{}" either way.
  std::string empty;
  Preprocessed none = render_preprocessed(
      *fs, [](const fileset::FileSpec&) -> const FileMeta* { return nullptr; }, StepOptions{},
      empty);
  EXPECT_EQ(empty, "{}");
  EXPECT_EQ(build_preprocessed(*fs, std::span<const FileMeta>{}, StepOptions{})
                .fileset.dump(1, ' ', false, nlohmann::ordered_json::error_handler_t::replace),
            "{}");
  EXPECT_EQ(none.files_ok, 0u);
}

class AtomicWrite : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = std::filesystem::temp_directory_path() /
           ("mpiprep-output-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  static std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  std::size_t entries() const {
    return static_cast<std::size_t>(std::distance(std::filesystem::directory_iterator(dir_),
                                                  std::filesystem::directory_iterator()));
  }
  std::filesystem::path dir_;
};

TEST_F(AtomicWrite, CreatesAndReplacesWithoutLeftovers) {
  auto target = (dir_ / "out.json").string();
  ASSERT_TRUE(write_file_atomic(target, "first").ok());
  EXPECT_EQ(slurp(target), "first");
  std::string big(3 << 20, 'x');
  ASSERT_TRUE(write_file_atomic(target, big).ok());
  EXPECT_EQ(slurp(target), big);
  EXPECT_EQ(entries(), 1u);  // no temporary left behind
}

TEST_F(AtomicWrite, FailureKeepsTargetAndRemovesTemporary) {
  // Renaming a file over a non-empty directory fails: the directory must survive untouched.
  std::filesystem::create_directories(dir_ / "busy");
  std::ofstream(dir_ / "busy" / "keep") << "keep";
  auto s = write_file_atomic((dir_ / "busy").string(), "new");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("rename"), std::string::npos) << s.error().message;
  EXPECT_EQ(slurp(dir_ / "busy" / "keep"), "keep");
  EXPECT_EQ(entries(), 1u);

  auto missing_dir = write_file_atomic((dir_ / "no" / "such" / "f.json").string(), "x");
  ASSERT_FALSE(missing_dir.ok());
  EXPECT_EQ(missing_dir.error().kind, ErrorKind::kMissing);
}

// The same publish in pieces: nothing at the target until commit, the temporary removed when
// the writer is dropped uncommitted, the same errors as write_file_atomic.
TEST_F(AtomicWrite, InPiecesPublishesOnCommitOnly) {
  auto target = (dir_ / "out.json").string();
  ASSERT_TRUE(write_file_atomic(target, "old").ok());
  {
    auto f = AtomicFile::create(target);
    ASSERT_TRUE(f.ok()) << f.error().to_string();
    ASSERT_TRUE(f->append("new ").ok());
    ASSERT_TRUE(f->append(std::string(2 << 20, 'y')).ok());
    EXPECT_EQ(slurp(target), "old");
    EXPECT_EQ(entries(), 2u);  // the target and the temporary
    AtomicFile moved = std::move(*f);
    ASSERT_TRUE(moved.commit().ok());
  }
  EXPECT_EQ(slurp(target), "new " + std::string(2 << 20, 'y'));
  EXPECT_EQ(entries(), 1u);
  {
    auto f = AtomicFile::create(target);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE(f->append("abandoned").ok());
  }
  EXPECT_EQ(slurp(target), "new " + std::string(2 << 20, 'y'));
  EXPECT_EQ(entries(), 1u);  // dropped uncommitted: no temporary left
  auto missing = AtomicFile::create((dir_ / "no" / "such" / "f.json").string());
  ASSERT_FALSE(missing.ok());
  auto same = write_file_atomic((dir_ / "no" / "such" / "f.json").string(), "x");
  EXPECT_EQ(missing.error().kind, same.error().kind);
  EXPECT_EQ(missing.error().kind, ErrorKind::kMissing);
  std::filesystem::create_directories(dir_ / "busy");
  std::ofstream(dir_ / "busy" / "keep") << "keep";
  auto busy = AtomicFile::create((dir_ / "busy").string());
  ASSERT_TRUE(busy.ok());
  auto s = busy->commit();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("rename"), std::string::npos) << s.error().message;
}

TEST_F(AtomicWrite, WriteOutputsWritesBothFiles) {
  Preprocessed pre;
  pre.fileset = nlohmann::ordered_json::parse(R"({"ds": {"files": {}, "metadata": null, "form": null}})");
  pre.failures.push_back(FileFailure{"/a\xff.root", "ds", ErrorKind::kTruncated, "cut at 12"});
  auto fs_path = (dir_ / "pre.json").string();
  auto fail_path = (dir_ / "fail.json").string();
  ASSERT_TRUE(write_outputs(pre, fs_path, fail_path).ok());
  EXPECT_EQ(Json::parse(slurp(fs_path)), Json::parse(pre.fileset.dump()));
  Json fail = Json::parse(slurp(fail_path));
  ASSERT_EQ(fail.size(), 1u);
  EXPECT_EQ(fail[0]["kind"], "truncated");
  EXPECT_EQ(fail[0]["message"], "cut at 12");
  EXPECT_EQ(fail[0]["path"], "/a\xEF\xBF\xBD.root");  // invalid UTF-8 replaced, not fatal
}

}  // namespace
}  // namespace mpiprep::output
