#include "mpiprep/fileset/fileset.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace mpiprep::fileset {
namespace {

using OrderedJson = nlohmann::ordered_json;

// Fileset JSON and list files are small compared to the data; this cap only stops a wrong
// argument (a multi-GB data file given as @list) from exhausting memory.
constexpr std::uint64_t kMaxTextFile = std::uint64_t{1} << 31;
// Bytes read to decide whether an input without a .json suffix is a JSON object.
constexpr std::size_t kSniffBytes = 512;

bool ends_with_icase(std::string_view s, std::string_view suffix) {
  if (s.size() < suffix.size()) return false;
  auto tail = s.substr(s.size() - suffix.size());
  return std::equal(tail.begin(), tail.end(), suffix.begin(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
  });
}

std::string_view trim(std::string_view s) {
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::string parent_dir(const std::string& abs_path) {
  auto parent = std::filesystem::path(abs_path).parent_path().string();
  return parent.empty() ? std::string("/") : parent;
}

Result<std::string> read_text(io::FileSystem& fs, const std::string& path, std::string_view what) {
  auto file = fs.open(path);
  if (!file) {
    return make_error(file.error().kind,
                      std::string(what) + " " + path + ": " + file.error().message);
  }
  std::uint64_t size = (*file)->size();
  if (size > kMaxTextFile) {
    return make_error(ErrorKind::kCorrupt, std::string(what) + " " + path + ": too large (" +
                                               std::to_string(size) + " bytes)");
  }
  auto bytes = (*file)->read_exact(0, static_cast<std::size_t>(size));
  if (!bytes) {
    return make_error(bytes.error().kind,
                      std::string(what) + " " + path + ": " + bytes.error().message);
  }
  std::string text(bytes->size(), '\0');
  std::transform(bytes->begin(), bytes->end(), text.begin(),
                 [](std::byte b) { return static_cast<char>(b); });
  return text;
}

// Whether the file's first non-blank byte is '{': cheap test before parsing a whole file.
bool starts_like_json_object(io::FileSystem& fs, const std::string& path) {
  auto file = fs.open(path);
  if (!file) return false;
  std::vector<std::byte> head(static_cast<std::size_t>(
      std::min<std::uint64_t>((*file)->size(), kSniffBytes)));
  auto n = (*file)->pread(0, head);
  if (!n) return false;
  for (std::size_t i = 0; i < *n; ++i) {
    auto c = static_cast<char>(head[i]);
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    return c == '{';
  }
  return false;
}

// One file found by a directory walk, with the stat taken while listing its directory.
struct Found {
  std::string path;
  std::optional<io::FileStat> stat;
};

// Accumulates datasets in order of first appearance and removes duplicate paths.
class Builder {
 public:
  Builder() : seen_(0, PathHash{&fs_.files}, PathEq{&fs_.files}) {}
  Builder(const Builder&) = delete;  // seen_ points into fs_
  Builder& operator=(const Builder&) = delete;

  Dataset& dataset(const std::string& name) {
    // Files come dataset by dataset: skip the hash lookup while the name repeats.
    if (last_ < fs_.datasets.size() && fs_.datasets[last_].name == name) return fs_.datasets[last_];
    auto [it, inserted] = index_.try_emplace(name, fs_.datasets.size());
    if (inserted) {
      Dataset d;
      d.name = name;
      fs_.datasets.push_back(std::move(d));
    }
    last_ = it->second;
    return fs_.datasets[it->second];
  }

  void set_metadata(const std::string& name, const OrderedJson& metadata) {
    Dataset& d = dataset(name);
    if (metadata.is_null()) return;
    if (d.metadata.is_null()) {
      d.metadata = metadata;
    } else if (d.metadata != metadata) {
      fs_.warnings.push_back("dataset '" + name +
                             "' is given twice with different metadata; keeping the first");
    }
  }

  void add(const std::string& dataset_name, std::string abs_path,
           std::optional<std::string> object_path,
           std::optional<io::FileStat> stat = std::nullopt) {
    Dataset& d = dataset(dataset_name);  // a dataset exists even if all its files are dups
    catch_up();
    // Append first, then index it: one hash of the path, and the set holds indices, not copies.
    fs_.files.push_back(FileSpec{dataset_name, std::move(abs_path), std::move(object_path)});
    fs_.walk_stats.push_back(stat);
    auto [it, inserted] = seen_.insert(fs_.files.size() - 1);
    indexed_ = fs_.files.size();
    if (!inserted) {
      FileSpec dup = std::move(fs_.files.back());
      fs_.files.pop_back();
      fs_.walk_stats.pop_back();
      const std::size_t first = *it;
      auto [dit, new_dup] = dups_.try_emplace(first, fs_.duplicates.size());
      if (new_dup) {
        fs_.duplicates.push_back(
            Duplicate{std::move(dup.path), fs_.files[first].dataset, dataset_name, 2});
      } else {
        ++fs_.duplicates[dit->second].occurrences;
      }
      return;
    }
    d.files.push_back(fs_.files.back());
  }

  // Adds files known to be distinct (one directory walk). As the first input (the common
  // single-directory run) they are not hashed at all: nothing can duplicate them until a
  // later add(), which indexes them first.
  // `found`: the files in order, as consecutive batches.
  void add_distinct(const std::string& dataset_name,
                    const std::vector<std::vector<Found>*>& found) {
    std::size_t n = 0;
    for (const auto* batch : found) n += batch->size();
    if (!fs_.files.empty()) {
      reserve(dataset_name, n);
      for (auto* batch : found)
        for (auto& f : *batch) add(dataset_name, std::move(f.path), std::nullopt, f.stat);
      return;
    }
    Dataset& d = dataset(dataset_name);
    fs_.files.reserve(n);
    d.files.reserve(n);
    fs_.walk_stats.reserve(n);
    for (auto* batch : found) {
      for (auto& f : *batch) {
        fs_.files.push_back(FileSpec{dataset_name, std::move(f.path), std::nullopt});
        d.files.push_back(fs_.files.back());
        fs_.walk_stats.push_back(f.stat);
      }
      std::vector<Found>().swap(*batch);
    }
  }

  // Room for `n` more files (a directory walk knows its count): no rehash or regrowth.
  void reserve(const std::string& dataset_name, std::size_t n) {
    // Geometric, so many directory inputs do not reallocate once each.
    auto grow = [n](auto& v) {
      if (v.capacity() < v.size() + n) v.reserve(std::max(v.size() + n, 2 * v.capacity()));
    };
    grow(dataset(dataset_name).files);
    grow(fs_.files);
    grow(fs_.walk_stats);
    if (seen_reserved_ < seen_.size() + n) {
      seen_reserved_ = std::max(seen_.size() + n, 2 * seen_reserved_);
      seen_.reserve(seen_reserved_);
    }
  }

  void reject(const std::string& dataset_name, std::string entry, Error error) {
    dataset(dataset_name);
    fs_.rejected.push_back(Rejected{dataset_name, std::move(entry), std::move(error)});
  }

  // Adds one path as written in an input; URLs are rejected, file:// is a local path.
  void add_entry(const std::string& dataset_name, std::string_view entry, std::string_view base,
                 std::optional<std::string> object_path) {
    if (is_url(entry)) {
      std::string_view local = entry;
      bool is_file_url = false;
      for (std::string_view prefix : {"file://localhost/", "file:///"}) {
        if (local.size() >= prefix.size() && ends_with_icase(local.substr(0, prefix.size()), prefix)) {
          local.remove_prefix(prefix.size() - 1);  // keep the leading '/'
          is_file_url = true;
          break;
        }
      }
      if (!is_file_url) {
        reject(dataset_name, std::string(entry),
               make_error(ErrorKind::kUnsupportedFormat,
                          "remote URLs are not supported: " + std::string(entry)));
        return;
      }
      add(dataset_name, normalize_path(local, base), std::move(object_path));
      return;
    }
    add(dataset_name, normalize_path(entry, base), std::move(object_path));
  }

  void warn(std::string message) { fs_.warnings.push_back(std::move(message)); }
  Fileset take() && { return std::move(fs_); }

 private:
  // The set of paths seen, as indices into fs_.files (hashed and compared by path).
  struct PathHash {
    const std::vector<FileSpec>* files;
    std::size_t operator()(std::size_t i) const {
      return std::hash<std::string_view>{}((*files)[i].path);
    }
  };
  struct PathEq {
    const std::vector<FileSpec>* files;
    bool operator()(std::size_t a, std::size_t b) const {
      return (*files)[a].path == (*files)[b].path;
    }
  };
  Fileset fs_;
  std::unordered_map<std::string, std::size_t> index_;
  std::size_t last_ = static_cast<std::size_t>(-1);
  // Files deferred by add_distinct enter the set at the next add().
  void catch_up() {
    if (indexed_ >= fs_.files.size()) return;
    if (seen_reserved_ < fs_.files.size()) {
      seen_reserved_ = fs_.files.size();
      seen_.reserve(seen_reserved_);
    }
    for (std::size_t i = indexed_; i < fs_.files.size(); ++i) seen_.insert(i);
    indexed_ = fs_.files.size();
  }

  std::unordered_set<std::size_t, PathHash, PathEq> seen_;
  std::size_t indexed_ = 0;  // fs_.files[0, indexed_) are in seen_
  std::size_t seen_reserved_ = 0;
  std::unordered_map<std::size_t, std::size_t> dups_;  // fs_.files index -> fs_.duplicates index
};

Error json_error(std::string_view source, const std::string& why) {
  return make_error(ErrorKind::kCorrupt, "fileset JSON " + std::string(source) + ": " + why);
}

// One file's value in a {"path": value} mapping: null, a string, or a preprocessed entry.
Result<std::optional<std::string>> object_path_of(const OrderedJson& value,
                                                  std::string_view source,
                                                  const std::string& dataset,
                                                  const std::string& path) {
  const OrderedJson* v = &value;
  if (value.is_object()) {
    auto it = value.find("object_path");
    if (it == value.end()) return std::optional<std::string>{};
    v = &*it;
  }
  if (v->is_null()) return std::optional<std::string>{};
  if (v->is_string()) {
    auto s = v->get<std::string>();
    if (s.empty()) return std::optional<std::string>{};
    return std::optional<std::string>{std::move(s)};
  }
  return json_error(source, "dataset '" + dataset + "', file '" + path +
                                "': object path must be a string or null, not " +
                                std::string(v->type_name()));
}

Status add_file_list(Builder& b, const OrderedJson& list, std::string_view source,
                     const std::string& dataset, const std::string& cwd) {
  for (const auto& item : list) {
    if (!item.is_string()) {
      return json_error(source, "dataset '" + dataset + "': file list entries must be strings, not " +
                                    std::string(item.type_name()));
    }
    auto entry = item.get<std::string>();
    if (entry.empty()) return json_error(source, "dataset '" + dataset + "': empty file path");
    b.add_entry(dataset, entry, cwd, std::nullopt);
  }
  return {};
}

Status add_file_map(Builder& b, const OrderedJson& map, std::string_view source,
                    const std::string& dataset, const std::string& cwd) {
  for (const auto& [path, value] : map.items()) {
    if (path.empty()) return json_error(source, "dataset '" + dataset + "': empty file path");
    auto obj = object_path_of(value, source, dataset, path);
    if (!obj) return std::move(obj).error();
    b.add_entry(dataset, path, cwd, std::move(*obj));
  }
  return {};
}

Status add_fileset_json(Builder& b, std::string_view text, std::string_view source,
                        const std::string& cwd) {
  OrderedJson doc;
  try {
    doc = OrderedJson::parse(text);
  } catch (const nlohmann::json::exception& e) {
    // parse_error, and out_of_range for a number that overflows a double (1e999; found by
    // fuzz/fileset_fuzzer).
    return json_error(source, std::string("invalid JSON: ") + e.what());
  }
  if (!doc.is_object()) {
    return json_error(source, std::string("top level must be an object of datasets, not ") +
                                  doc.type_name());
  }
  for (const auto& [name, info] : doc.items()) {
    b.dataset(name);
    Status st;
    if (info.is_array()) {
      st = add_file_list(b, info, source, name, cwd);
    } else if (info.is_object()) {
      auto files = info.find("files");
      if (files == info.end()) {
        st = add_file_map(b, info, source, name, cwd);  // coffea: a dict without "files"
      } else {
        if (auto md = info.find("metadata"); md != info.end()) b.set_metadata(name, *md);
        if (files->is_object()) {
          st = add_file_map(b, *files, source, name, cwd);
        } else if (files->is_array()) {
          st = add_file_list(b, *files, source, name, cwd);
        } else {
          st = json_error(source, "dataset '" + name +
                                      "': \"files\" must be an object or an array, not " +
                                      files->type_name());
        }
      }
    } else {
      st = json_error(source, "dataset '" + name + "' must be an object or an array, not " +
                                  info.type_name());
    }
    if (!st) return st;
  }
  return {};
}

Status add_list_file(Builder& b, io::FileSystem& fs, const std::string& list_path,
                     const std::string& dataset) {
  auto text = read_text(fs, list_path, "list file");
  if (!text) return std::move(text).error();
  std::string base = parent_dir(list_path);
  std::string_view rest = *text;
  std::size_t line_no = 0;
  while (!rest.empty()) {
    auto nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    ++line_no;
    line = trim(line);
    if (line.empty() || line.front() == '#') continue;
    if (line.front() == '"') {
      // A JSON string literal: the escape for paths with newlines, leading or trailing
      // spaces, a leading '#' or '"' ("a\nb", "\u00e9" or the UTF-8 itself).
      std::string path;
      try {
        auto j = nlohmann::json::parse(line);
        if (!j.is_string()) throw std::runtime_error("not a string");
        path = j.get<std::string>();
      } catch (const std::exception&) {
        return make_error(ErrorKind::kCorrupt,
                          "list file " + list_path + " line " + std::to_string(line_no) +
                              ": a line starting with '\"' must be one JSON string literal "
                              "(the escape for paths with newlines or surrounding spaces)");
      }
      if (path.empty() || path.find('\0') != std::string::npos)
        return make_error(ErrorKind::kCorrupt, "list file " + list_path + " line " +
                                                   std::to_string(line_no) +
                                                   ": empty path or NUL in a quoted path");
      b.add_entry(dataset, path, base, std::nullopt);
      continue;
    }
    b.add_entry(dataset, line, base, std::nullopt);
  }
  return {};
}

// The walk of one directory input: a queue of directories that `threads` workers list (and
// whose matching files they stat) concurrently. Each worker keeps its own finds and warnings;
// they are merged and sorted at the end, so the result does not depend on the thread count.
class Walker {
 public:
  Walker(io::FileSystem& fs, const ExpandOptions& options) : fs_(fs), options_(options) {}

  // The files found under `root`, sorted by path, into `found` (replaced) as consecutive
  // batches (owned by the walker); warnings appended.
  Status run(const std::string& root, std::vector<std::vector<Found>*>& found,
             std::vector<std::string>& warnings) {
    queue_.push_back({root, 0});
    const int nthreads = std::clamp(options_.threads, 1, 64);
    parts_.assign(static_cast<std::size_t>(nthreads), Part{});
    auto& parts = parts_;
    if (nthreads == 1) {
      work(parts[0]);
    } else {
      std::vector<std::thread> pool;
      pool.reserve(parts.size());
      for (auto& part : parts) pool.emplace_back([this, &part] { work(part); });
      for (auto& t : pool) t.join();
    }
    // The first failure in path order, whichever thread met it first.
    const Part* failed = nullptr;
    for (const auto& part : parts)
      if (part.error && (failed == nullptr || part.error_dir < failed->error_dir)) failed = &part;
    if (failed != nullptr) return *failed->error;
    // Every directory's finds (each batch sorted, as listed in name order), batches in the
    // order of their first path: no vector growing by doubling, no copy into one vector. That
    // order is the sorted one unless a directory holds files that sort after one of its
    // subdirectories' files ("d/z" after "d/c/y"): then they are merged into one batch and
    // sorted there.
    found.clear();
    for (auto& part : parts)
      for (auto& batch : part.found)
        if (!batch.empty()) found.push_back(&batch);
    std::sort(found.begin(), found.end(),
              [](const std::vector<Found>* x, const std::vector<Found>* y) {
                return by_path(x->front(), y->front());
              });
    bool sorted = true;
    for (std::size_t i = 1; i < found.size() && sorted; ++i)
      sorted = by_path(found[i - 1]->back(), found[i]->front());
    if (!sorted) {
      std::size_t n = 0;
      for (const auto* batch : found) n += batch->size();
      auto& all = merged_;  // not in a part: that would move the batches `found` points to
      all.reserve(n);
      for (auto* batch : found) {
        for (auto& f : *batch) all.push_back(std::move(f));
        std::vector<Found>().swap(*batch);
      }
      std::sort(all.begin(), all.end(), by_path);
      found.assign(1, &all);
    }
    std::vector<std::string> new_warnings;
    for (auto& part : parts)
      for (auto& w : part.warnings) new_warnings.push_back(std::move(w));
    std::sort(new_warnings.begin(), new_warnings.end());
    for (auto& w : new_warnings) warnings.push_back(std::move(w));
    return {};
  }

 private:
  struct Dir {
    std::string path;
    int depth;
  };
  struct Part {
    std::vector<std::vector<Found>> found;  // one batch per directory listed
    std::vector<std::string> warnings;
    std::optional<Error> error;
    std::string error_dir;
  };

  void work(Part& part) {
    std::unique_lock lock(mu_);
    for (;;) {
      cv_.wait(lock, [this] { return stop_ || !queue_.empty() || busy_ == 0; });
      if (stop_ || queue_.empty()) break;  // failed, or nothing queued and nobody listing
      Dir dir = std::move(queue_.back());
      queue_.pop_back();
      ++busy_;
      lock.unlock();
      std::vector<Dir> subdirs;
      auto st = list(dir, part, subdirs);
      lock.lock();
      --busy_;
      if (!st) {
        part.error = st.error();
        part.error_dir = dir.path;
        stop_ = true;
      }
      for (auto& d : subdirs) queue_.push_back(std::move(d));
      cv_.notify_all();
    }
    cv_.notify_all();
  }

  static bool by_path(const Found& x, const Found& y) { return x.path < y.path; }

  Status list(const Dir& dir, Part& part, std::vector<Dir>& subdirs) {
    if (dir.depth > options_.max_depth) {
      return make_error(ErrorKind::kInconsistent,
                        "directory " + dir.path + ": deeper than " +
                            std::to_string(options_.max_depth) + " levels (symlink loop?)");
    }
    const std::string& glob = options_.glob;
    auto matches = [&glob](std::string_view name) {
      // fnmatch needs a NUL-terminated name; readdir's names are, and so is a std::string.
      return glob.empty() || ::fnmatch(glob.c_str(), std::string(name).c_str(), 0) == 0;
    };
    // Stat what will be kept (matching files) and what must be told apart (unknown types,
    // symlinks): a stat the survey would otherwise make again with a full path resolution.
    io::StatSelector want = [&matches](std::string_view name, io::EntryType type) {
      return type == io::EntryType::kUnknown || (type == io::EntryType::kFile && matches(name));
    };
    auto entries = fs_.list_dir_stat(dir.path, want);
    if (!entries) {
      return make_error(entries.error().kind,
                        "directory " + dir.path + ": " + entries.error().message);
    }
    // Entries in name order, so the batch comes out sorted (one directory: same prefix):
    // sorting indices by the short names is much cheaper than sorting the full paths.
    std::vector<std::uint32_t> order(entries->size());
    for (std::uint32_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&entries](std::uint32_t a, std::uint32_t b) {
      return (*entries)[a].name < (*entries)[b].name;
    });
    std::vector<Found>& batch = part.found.emplace_back();
    batch.reserve(entries->size());
    for (const std::uint32_t at : order) {
      auto& entry = (*entries)[at];
      const std::string& name = entry.name;
      if (name == "." || name == "..") continue;
      // One allocation of the final size (operator+ would make two: "dir/", then grown).
      std::string child;
      child.reserve(dir.path.size() + 1 + name.size());
      if (dir.path != "/") child.append(dir.path);
      child.push_back('/');
      child.append(name);
      // The listing's type spares a stat per file; only symlinks and entries of unknown type
      // need one to tell directories from files.
      bool is_directory = entry.type == io::EntryType::kDirectory;
      if (entry.type == io::EntryType::kUnknown) {
        if (!entry.stat) {
          auto st = fs_.stat(child);
          if (!st) {
            // A dangling symlink or a file removed during the walk: not worth failing the run.
            part.warnings.push_back("skipping " + child + ": " + st.error().message);
            continue;
          }
          entry.stat = *st;
        }
        is_directory = entry.stat->is_directory;
      }
      if (is_directory) {
        subdirs.push_back({std::move(child), dir.depth + 1});
      } else if ((entry.type == io::EntryType::kFile && entry.stat) || matches(name)) {
        // (a listed file with a stat was selected, so it matched)
        batch.push_back({std::move(child), entry.stat});
      }
    }
    return {};
  }

  io::FileSystem& fs_;
  const ExpandOptions& options_;
  std::vector<Part> parts_;  // per thread; their batches are run()'s result
  std::vector<Found> merged_;  // run()'s result when the batches' order was not the sorted one
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Dir> queue_;
  int busy_ = 0;
  bool stop_ = false;
};

Status add_directory(Builder& b, io::FileSystem& fs, const std::string& dir,
                     const ExpandOptions& options, const std::string& dataset) {
  std::vector<std::vector<Found>*> found;
  std::vector<std::string> warnings;
  Walker walker(fs, options);
  if (auto s = walker.run(dir, found, warnings); !s) return s;  // sorted by path
  for (auto& w : warnings) b.warn(std::move(w));
  if (found.empty()) {
    b.warn("directory " + dir + ": no files" +
           (options.glob.empty() ? std::string() : " matching '" + options.glob + "'"));
  }
  b.add_distinct(dataset, found);
  return {};
}

Status add_input(Builder& b, io::FileSystem& fs, const std::string& input,
                 const ExpandOptions& options, const std::string& cwd) {
  const std::string& dataset = options.dataset;
  if (input.empty()) return make_error(ErrorKind::kMissing, "empty input path");
  if (input.front() == '@') {
    if (input.size() == 1) return make_error(ErrorKind::kMissing, "'@' without a list file name");
    return add_list_file(b, fs, normalize_path(std::string_view(input).substr(1), cwd), dataset);
  }
  if (is_url(input)) {
    b.add_entry(dataset, input, cwd, std::nullopt);  // rejected, or a file:// path
    return {};
  }
  std::string path = normalize_path(input, cwd);
  auto st = fs.stat(path);
  if (!st) return make_error(st.error().kind, "input " + input + ": " + st.error().message);
  if (st->is_directory) return add_directory(b, fs, path, options, dataset);
  bool json_suffix = ends_with_icase(path, ".json");
  if (json_suffix || (static_cast<std::uint64_t>(st->size) <= kMaxTextFile &&
                      starts_like_json_object(fs, path))) {
    auto text = read_text(fs, path, "fileset JSON");
    if (!text) return std::move(text).error();
    if (json_suffix) return add_fileset_json(b, *text, path, cwd);
    // Recognized by content: only a document that parses as an object is a fileset; anything
    // else starting with '{' is just a (strange) data file that extraction will classify.
    try {
      if (OrderedJson::parse(*text).is_object()) return add_fileset_json(b, *text, path, cwd);
    } catch (const nlohmann::json::exception&) {
    }
  }
  b.add(dataset, std::move(path), std::nullopt);
  return {};
}

}  // namespace

const Dataset* Fileset::find_dataset(std::string_view name) const {
  for (const auto& d : datasets)
    if (d.name == name) return &d;
  return nullptr;
}

bool is_url(std::string_view entry) noexcept {
  auto sep = entry.find("://");
  if (sep == std::string_view::npos || sep == 0) return false;
  if (std::isalpha(static_cast<unsigned char>(entry[0])) == 0) return false;
  for (std::size_t i = 1; i < sep; ++i) {
    auto c = static_cast<unsigned char>(entry[i]);
    if (std::isalnum(c) == 0 && c != '+' && c != '-' && c != '.') return false;
  }
  return true;
}

std::string normalize_path(std::string_view path, std::string_view base) {
  std::filesystem::path p{std::string(path)};
  if (p.is_relative()) p = std::filesystem::path(std::string(base)) / p;
  auto s = p.lexically_normal().string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

Result<Fileset> parse_fileset_json(std::string_view text, std::string_view source,
                                   const std::string& cwd) {
  Builder b;
  if (auto s = add_fileset_json(b, text, source, cwd); !s) return s.error();
  return std::move(b).take();
}

Result<Fileset> expand(std::span<const std::string> inputs, const ExpandOptions& options,
                       io::FileSystem& fs) {
  std::string cwd = options.cwd.empty() ? std::filesystem::current_path().string()
                                        : normalize_path(options.cwd, "/");
  Builder b;
  for (const auto& input : inputs) {
    if (auto s = add_input(b, fs, input, options, cwd); !s) return s.error();
  }
  return std::move(b).take();
}

}  // namespace mpiprep::fileset
