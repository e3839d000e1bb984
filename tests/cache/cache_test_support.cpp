#include "cache_test_support.hpp"

#include <sys/fsuid.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <stdexcept>

namespace mpiprep::cache::testing {
namespace fs = std::filesystem;

TempDir::TempDir() {
  std::string tmpl = std::string(MPIPREP_BINARY_DIR) + "/tmp-cache-test-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  // Tests may leave the directory read-only; make it writable again so it can be removed.
  fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ec);
  fs::remove_all(path_, ec);
}

std::vector<std::string> TempDir::list() const {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(path_)) names.push_back(e.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

AsNobody::AsNobody() : root_(::geteuid() == 0) {
  if (root_) {
    prev_gid_ = static_cast<unsigned>(::setfsgid(65534));
    prev_uid_ = static_cast<unsigned>(::setfsuid(65534));
  }
}

AsNobody::~AsNobody() {
  if (root_) {
    ::setfsuid(prev_uid_);
    ::setfsgid(prev_gid_);
  }
}

int test_versions(FileFormat f) noexcept { return 10 + static_cast<int>(f); }
int test_versions_root_bumped(FileFormat f) noexcept {
  return f == FileFormat::kRoot ? 99 : test_versions(f);
}

Columns make_columns(int n, int variant) {
  static const char* kTypes[] = {"float",   "int32_t",       "bool",      "uint64_t",
                                 "float[]", "vector<float>", "double[3]", "uint8_t"};
  Columns cols;
  for (int i = 0; i < n; ++i)
    cols.add("Branch_" + std::to_string(variant) + "_" + std::to_string(i) +
                 (i % 7 == 0 ? "_with_a_rather_long_name_beyond_sso" : ""),
             kTypes[(i + variant) % 8]);
  return cols;
}

FileMeta make_root_file(const std::string& path, const Columns& columns, int seed) {
  FileMeta m;
  m.path = path;
  m.size = 1000000 + seed * 17;
  m.mtime_ns = 1700000000123456789LL + seed;
  m.format = FileFormat::kRoot;
  m.uuid = "a9490124-3648-11ea-89e9-f5b55c90" + std::to_string(1000 + seed);
  m.compression = "zlib:" + std::to_string(1 + seed % 9);
  m.extract_seconds = 0.125 + seed * 1e-3;
  m.bytes_read = 92000 + static_cast<std::uint64_t>(seed);
  m.rank = seed % 4;

  ObjectMeta events;
  events.path = "Events";
  events.kind = "TTree";
  events.title = "Events title " + std::to_string(seed);
  events.cycle = 1 + seed % 3;
  events.num_entries = 1000 + seed;
  events.columns = columns;
  events.n_columns_total = static_cast<std::int64_t>(columns.size()) + 12;
  events.clusters = {0, 300 + seed, 700 + seed, 1000 + seed};
  events.attributes = {"fAutoFlush"};
  m.objects.push_back(events);

  ObjectMeta runs;
  runs.path = "dir/Runs";
  runs.kind = "TTree";
  runs.title = "Runs";
  runs.cycle = 2;
  runs.num_entries = 1;
  runs.columns = {Column{"run", "uint32_t"}, Column{"genEventSumw", "double"}};
  runs.n_columns_total = 2;
  runs.clusters = {0, 1};
  m.objects.push_back(runs);

  ObjectMeta hist;
  hist.path = "hists/h_pt";
  hist.kind = "TH1D";
  hist.title = "p_{T} [GeV] \xce\xbc";  // UTF-8 survives
  hist.cycle = 5;
  hist.error_kind = ErrorKind::kUnsupportedVersion;
  hist.error_message = "TH1D version 99 not decoded";
  m.objects.push_back(hist);

  m.error_kind = ErrorKind::kNone;
  return m;
}

FileMeta make_hdf5_file(const std::string& path, int seed) {
  FileMeta m;
  m.path = path;
  m.size = 60801 + seed;
  m.mtime_ns = 1600000000000000000LL + seed * 1000;
  m.format = FileFormat::kHdf5;
  m.uuid = "hdf5-content-" + std::to_string(seed);
  m.extract_seconds = 0.0042;
  m.bytes_read = 4096;
  m.rank = 1;

  ObjectMeta root;
  root.path = "/";
  root.kind = "group";
  root.attributes = {"CLASS", "PYTABLES_FORMAT_VERSION", "TITLE", "VERSION"};
  m.objects.push_back(root);

  ObjectMeta ds;
  ds.path = "/grp/table";
  ds.kind = "dataset";
  ds.num_entries = 1024 + seed;
  ds.shape = {1024 + seed, 8};
  ds.maxshape = {-1, 8};
  ds.chunks = {128, 8};
  ds.dtype = "<f4";
  ds.layout = "chunked";
  ds.filters = {Filter{2, "shuffle", {4}}, Filter{1, "deflate", {6}},
                Filter{32015, "", {3, 0, 4294967295u}}};
  ds.attributes = {"units", "long_name", "_FillValue"};
  m.objects.push_back(ds);

  ObjectMeta contiguous;
  contiguous.path = "/events";
  contiguous.kind = "dataset";
  contiguous.num_entries = 100;
  contiguous.shape = {100, 10};
  contiguous.maxshape = {100, 10};
  contiguous.dtype = "compound";
  contiguous.layout = "contiguous";
  m.objects.push_back(contiguous);

  ObjectMeta scalar;
  scalar.path = "/scalar";
  scalar.kind = "dataset";
  scalar.num_entries = -1;
  scalar.dtype = "string(4,ascii)";
  scalar.layout = "compact";
  scalar.error_kind = ErrorKind::kInconsistent;
  scalar.error_message = "scalar dataset in a group of tables";
  m.objects.push_back(scalar);
  return m;
}

FileMeta make_failed_file(const std::string& path, ErrorKind kind, int seed) {
  FileMeta m;
  m.path = path;
  m.size = 12345 + seed;
  m.mtime_ns = 1500000000000000000LL + seed;
  m.format = kind == ErrorKind::kUnsupportedFormat ? FileFormat::kNetcdf3 : FileFormat::kRoot;
  m.error_kind = kind;
  m.error_message = std::string(error_kind_name(kind)) + " at offset " + std::to_string(seed);
  m.extract_seconds = 0.5;
  m.bytes_read = 100;
  m.rank = 3;
  return m;
}

std::string test_data_dir() { return MPIPREP_TEST_DATA_DIR; }

namespace {
const nlohmann::json& expected() {
  static const nlohmann::json j = [] {
    std::ifstream in(test_data_dir() + "/expected.json");
    if (!in) throw std::runtime_error("cannot read expected.json");
    return nlohmann::json::parse(in);
  }();
  return j;
}
}  // namespace

FileMeta expected_root_meta(const std::string& data_file, const std::string& path) {
  const auto& f = expected().at("files").at(data_file);
  FileMeta m;
  m.path = path;
  m.size = f.at("size").get<std::int64_t>();
  m.mtime_ns = 1;
  m.format = FileFormat::kRoot;
  m.uuid = f.at("header").at("fUUID").get<std::string>();
  m.compression = f.at("compression").at("algorithm").get<std::string>() + ":" +
                  std::to_string(f.at("compression").at("level").get<int>());
  for (const auto& t : f.at("trees")) {
    ObjectMeta o;
    o.path = t.at("path").get<std::string>();
    o.kind = t.at("className").get<std::string>();
    o.title = t.at("title").get<std::string>();
    o.cycle = t.at("cycle").get<int>();
    o.num_entries = t.at("entries").get<std::int64_t>();
    o.n_columns_total = t.at("nAllBranches").get<std::int64_t>();
    for (const auto& b : t.at("topBranches")) {
      std::string type = b.at("leaves").empty() ? b.at("class").get<std::string>()
                                                : b.at("leaves")[0].at("type").get<std::string>();
      o.columns.add(b.at("name").get<std::string>(), type);
    }
    o.clusters = {0, o.num_entries};
    m.objects.push_back(std::move(o));
  }
  return m;
}

FileMeta expected_hdf5_meta(const std::string& data_file, const std::string& path) {
  const auto& f = expected().at("files").at(data_file);
  FileMeta m;
  m.path = path;
  m.size = f.at("size").get<std::int64_t>();
  m.mtime_ns = 2;
  m.format = FileFormat::kHdf5;
  for (const auto& g : f.at("groups")) {
    ObjectMeta o;
    o.path = g.at("path").get<std::string>();
    o.kind = "group";
    m.objects.push_back(std::move(o));
  }
  for (const auto& d : f.at("datasets")) {
    ObjectMeta o;
    o.path = d.at("path").get<std::string>();
    o.kind = "dataset";
    o.shape = d.at("shape").get<std::vector<std::int64_t>>();
    o.num_entries = o.shape.empty() ? -1 : o.shape[0];
    o.maxshape = d.at("maxshape").get<std::vector<std::int64_t>>();
    if (!d.at("chunks").is_null()) o.chunks = d.at("chunks").get<std::vector<std::int64_t>>();
    o.dtype = d.at("dtype").get<std::string>();
    o.layout = d.at("layout").get<std::string>();
    for (const auto& fl : d.at("filters"))
      o.filters.push_back(Filter{fl.at("id").get<int>(), fl.at("name").get<std::string>(),
                                 fl.at("params").get<std::vector<unsigned>>()});
    o.attributes = d.at("attributeNames").get<std::vector<std::string>>();
    m.objects.push_back(std::move(o));
  }
  return m;
}

std::vector<char> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<char>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_bytes(const std::string& path, const std::vector<char>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace mpiprep::cache::testing
