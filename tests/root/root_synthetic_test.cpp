// The reader on files written from scratch by FileBuilder: key lists with several cycles,
// 64-bit keys in small files, big-file headers, nested and empty directories, a real
// TTree record (nano_dy's Events) re-stored with every codec in many blocks, and broken
// structures (unsupported compression/version, corrupted key lists, directory loops).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "mpiprep/extract/root/reader.hpp"
#include "root_codec_util.hpp"
#include "root_file_builder.hpp"
#include "root_test_util.hpp"

namespace mpiprep::extract::root {
namespace {

using testing::DirSpec;
using testing::FileBuilder;
using testing::ObjectSpec;

std::vector<std::byte> junk(std::size_t n, int seed) {
  std::vector<std::byte> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::byte>((i * 31 + static_cast<std::size_t>(seed)) & 0xff);
  return v;
}

std::shared_ptr<DirSpec> dir(std::string name, std::vector<testing::Entry> entries,
                             std::string cls = "TDirectory") {
  auto d = std::make_shared<DirSpec>();
  d->name = std::move(name);
  d->title = d->name;
  d->class_name = std::move(cls);
  d->entries = std::move(entries);
  return d;
}

DirSpec nested_layout() {
  DirSpec top;
  top.entries.emplace_back(ObjectSpec{"TParameter<int>", "##Params", "", 1, false, junk(40, 1)});
  top.entries.emplace_back(ObjectSpec{"TParameter<int>", "##Params", "", 2, false, junk(40, 2)});
  top.entries.emplace_back(ObjectSpec{"TH1D", "h1", "a histogram", 1, true, junk(300, 3)});
  top.entries.emplace_back(dir("sub", {ObjectSpec{"TGraph", "g", "", 1, false, junk(100, 4)},
                                       dir("deeper", {ObjectSpec{"TNamed", "x", "", 3, true, junk(20, 5)}},
                                           "TDirectoryFile")}));
  top.entries.emplace_back(dir("empty", {}));
  return top;
}

void expect_nested_keys(const RootFileInfo& info) {
  struct K {
    std::string path, cls;
    int cycle;
  };
  const std::vector<K> want = {{"##Params", "TParameter<int>", 1}, {"##Params", "TParameter<int>", 2},
                               {"h1", "TH1D", 1},                  {"sub", "TDirectory", 1},
                               {"sub/g", "TGraph", 1},             {"sub/deeper", "TDirectoryFile", 1},
                               {"sub/deeper/x", "TNamed", 3},      {"empty", "TDirectory", 1}};
  ASSERT_EQ(info.keys.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(info.keys[i].path, want[i].path) << i;
    EXPECT_EQ(info.keys[i].class_name, want[i].cls) << i;
    EXPECT_EQ(info.keys[i].cycle, want[i].cycle) << i;
  }
  EXPECT_EQ(info.keys[2].version, 1004);  // a 64-bit key in a small file
  EXPECT_EQ(info.keys[2].title, "a histogram");
  EXPECT_EQ(info.directories, (std::vector<std::string>{"sub", "sub/deeper", "empty"}));
  EXPECT_TRUE(info.trees.empty());
  EXPECT_TRUE(info.object_errors.empty());
}

TEST(SyntheticFile, KeyListsCyclesAndNestedDirectories) {
  FileBuilder b(false, 101);
  auto info = read_bytes(b.build(nested_layout()));
  ASSERT_TRUE(info.ok()) << info.error().to_string();
  EXPECT_FALSE(info->header.big_file);
  expect_nested_keys(*info);
  EXPECT_EQ(info->header.uuid_string(), "10111213-1415-1617-1819-1a1b1c1d1e1f");
  const FileMeta m = to_file_meta(*info, true);
  ASSERT_EQ(m.objects.size(), 8u);
  EXPECT_EQ(m.objects[0].kind, "TParameter<int>");
  EXPECT_EQ(m.objects[1].cycle, 2);
  EXPECT_EQ(m.objects[3].kind, "TDirectory");
  EXPECT_EQ(m.objects[5].kind, "TDirectoryFile");
  EXPECT_EQ(m.objects[6].path, "sub/deeper/x");
  EXPECT_EQ(m.objects[6].num_entries, -1);
  EXPECT_EQ(m.compression, "zlib:1");
}

TEST(SyntheticFile, BigFileHeaderWith64BitDirectories) {
  FileBuilder b(true, 505);
  auto info = read_bytes(b.build(nested_layout()));
  ASSERT_TRUE(info.ok()) << info.error().to_string();
  EXPECT_TRUE(info->header.big_file);
  EXPECT_EQ(info->header.version, 1062400);
  EXPECT_EQ(info->header.dir_version, 1005);
  EXPECT_EQ(info->compression.to_string(), "zstd:5");
  expect_nested_keys(*info);
}

TEST(SyntheticFile, TopDirectoryWithoutKeys) {
  DirSpec top;
  top.no_keys = true;
  FileBuilder b;
  auto info = read_bytes(b.build(top));
  ASSERT_TRUE(info.ok()) << info.error().to_string();
  EXPECT_TRUE(info->keys.empty());
  EXPECT_TRUE(to_file_meta(*info, true).objects.empty());
}

// The decompressed Events record of nano_dy.root (855 KB), for re-storing.
struct TreeRecord {
  std::vector<std::byte> payload;
  KeyInfo key;
  FileMeta reference;  // what the reader says about the original file's Events tree
};

const TreeRecord& events_record() {
  static const TreeRecord r = [] {
    TreeRecord out;
    auto info = read_test_file("nano_dy.root");
    if (!info.ok()) throw std::runtime_error(info.error().to_string());
    const TreeInfo& t = info->trees.at(0);
    out.payload.assign(t.record.begin(), t.record.end());
    EXPECT_EQ(out.payload.size(), t.record_bytes);
    out.key = info->keys.at(t.key_index);
    out.reference = to_file_meta(*info, true);
    return out;
  }();
  return r;
}

std::vector<std::byte> file_with_tree(const std::vector<std::byte>& on_disk, std::int32_t objlen, bool in_subdir) {
  const TreeRecord& r = events_record();
  // Same class/name/title and key version as the original: streamed references inside the
  // record count from the key's first byte, so the key header must keep its length.
  ObjectSpec tree{"TTree", r.key.name, r.key.title, 1, false, on_disk, objlen};
  EXPECT_EQ(FileBuilder::keylen(false, tree.class_name, tree.name, tree.title), r.key.keylen);
  DirSpec top;
  top.entries.emplace_back(ObjectSpec{"TH1F", "before", "", 1, false, junk(64, 9)});
  if (in_subdir) {
    top.entries.emplace_back(dir("data", {tree}));
  } else {
    top.entries.emplace_back(tree);
  }
  return FileBuilder().build(top);
}

void expect_same_tree(const FileMeta& got, const std::string& path) {
  const ObjectMeta* want = events_record().reference.find_object("Events");
  const ObjectMeta* o = got.find_object(path);
  ASSERT_NE(want, nullptr);
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->kind, "TTree");
  EXPECT_EQ(o->error_kind, ErrorKind::kNone) << o->error_message;
  EXPECT_EQ(o->num_entries, want->num_entries);
  EXPECT_EQ(o->n_columns_total, want->n_columns_total);
  EXPECT_EQ(o->columns, want->columns);
  EXPECT_EQ(o->clusters, want->clusters);
}

class StoredTree : public ::testing::TestWithParam<Algorithm> {};

TEST_P(StoredTree, EventsRecordInManyBlocks) {
  const auto& payload = events_record().payload;
  std::vector<std::byte> on_disk =
      GetParam() == Algorithm::kNone ? payload : make_record(payload, GetParam(), 100'000);
  if (GetParam() != Algorithm::kNone) {
    EXPECT_EQ(count_blocks(on_disk), (payload.size() + 99'999) / 100'000);
  }
  auto info = read_bytes(file_with_tree(on_disk, static_cast<std::int32_t>(payload.size()), true));
  ASSERT_TRUE(info.ok()) << info.error().to_string();
  ASSERT_EQ(info->trees.size(), 1u);
  EXPECT_EQ(info->trees[0].path, "data/Events");
  expect_same_tree(to_file_meta(*info, true), "data/Events");
}

INSTANTIATE_TEST_SUITE_P(AllCodecs, StoredTree,
                         ::testing::Values(Algorithm::kZlib, Algorithm::kLzma, Algorithm::kLz4, Algorithm::kZstd,
                                           Algorithm::kNone),
                         [](const auto& p) { return std::string(algorithm_label(p.param)); });

TEST(SyntheticFile, OldCsCompressionIsAnObjectError) {
  const auto& payload = events_record().payload;
  std::vector<std::byte> cs(kBlockHeaderSize + 1000);
  write_block_header(cs, "CS", 8, 1000, static_cast<std::uint32_t>(std::min<std::size_t>(payload.size(), kMaxBlockBytes)));
  auto info = read_bytes(file_with_tree(cs, static_cast<std::int32_t>(payload.size()), false));
  ASSERT_TRUE(info.ok()) << info.error().to_string();  // the file is fine, one object is not
  ASSERT_EQ(info->object_errors.size(), 1u);
  EXPECT_EQ(info->object_errors[0].kind, ErrorKind::kUnsupportedCompression);
  const FileMeta m = to_file_meta(*info, true);
  const ObjectMeta* o = m.find_object("Events");
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->error_kind, ErrorKind::kUnsupportedCompression);
  EXPECT_NE(o->error_message.find("CS"), std::string::npos);
  EXPECT_EQ(o->num_entries, -1);
  EXPECT_EQ(m.objects.size(), 2u);
}

TEST(SyntheticFile, UnknownTreeVersionIsAnObjectError) {
  auto payload = events_record().payload;
  // The TTree header: 4-byte byte count, then the 2-byte class version (20 here).
  ASSERT_EQ(payload[5], std::byte{20});
  payload[5] = std::byte{15};
  auto info = read_bytes(file_with_tree(payload, static_cast<std::int32_t>(payload.size()), false));
  ASSERT_TRUE(info.ok()) << info.error().to_string();
  ASSERT_EQ(info->object_errors.size(), 1u);
  const ObjectError& e = info->object_errors[0];
  EXPECT_EQ(e.kind, ErrorKind::kUnsupportedVersion);
  EXPECT_NE(e.message.find("TTree class version 15"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("object at byte 0 of the record"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("'Events;1'"), std::string::npos) << e.message;
  EXPECT_TRUE(info->trees.empty());
}

TEST(SyntheticFile, UnknownBranchVersionIsAnObjectError) {
  auto payload = events_record().payload;
  // First "TBranch" class tag: its object's version follows the NUL and the byte count.
  const std::string needle = "TBranch";
  auto it = std::search(payload.begin(), payload.end(), needle.begin(), needle.end(),
                        [](std::byte a, char b) { return a == static_cast<std::byte>(b); });
  ASSERT_NE(it, payload.end());
  const auto at = static_cast<std::size_t>(it - payload.begin()) + needle.size() + 1 + 4;
  ASSERT_EQ(payload[at + 1], std::byte{13});
  payload[at + 1] = std::byte{99};
  auto info = read_bytes(file_with_tree(payload, static_cast<std::int32_t>(payload.size()), false));
  ASSERT_TRUE(info.ok());
  ASSERT_EQ(info->object_errors.size(), 1u);
  EXPECT_NE(info->object_errors[0].message.find("TBranch class version 99"), std::string::npos)
      << info->object_errors[0].message;
}


// A TTree class version without a hand-written layout (21, which ROOT has not written yet)
// is decoded from the file's StreamerInfo when that describes it: here nano_dy's own
// StreamerInfo with the TTree v20 entry relabelled v21, and the Events record relabelled
// too. Without the StreamerInfo the same record is an unsupported-version object error.
TEST(SyntheticFile, UnknownTreeVersionDecodedFromStreamerInfo) {
  const auto file = load_bytes(test_path("nano_dy.root"));
  auto original = read_test_file("nano_dy.root");
  ASSERT_TRUE(original.ok());
  // The StreamerInfo record: key header (fObjlen at 6, fKeylen at 14), then the payload.
  const auto at = static_cast<std::size_t>(original->header.seek_info);
  auto be = [&](std::size_t p, int n) {
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i) v = (v << 8) | std::to_integer<std::uint64_t>(file[p + static_cast<std::size_t>(i)]);
    return v;
  };
  const auto nbytes = static_cast<std::size_t>(be(at, 4));
  const auto objlen = static_cast<std::size_t>(be(at + 6, 4));
  const auto keylen = static_cast<std::size_t>(be(at + 14, 2));
  std::vector<std::byte> infos(objlen);
  Decompressor dec;
  ASSERT_TRUE(dec.decompress(std::span(file).subspan(at + keylen, nbytes - keylen), infos).ok());
  // TStreamerInfo "TTree": TNamed (..."\x05TTree" + title), fCheckSum, fClassVersion = 20.
  const std::string needle = "\x05TTree";
  bool relabelled = false;
  for (auto it = infos.begin(); !relabelled;) {
    it = std::search(it, infos.end(), needle.begin(), needle.end(),
                     [](std::byte a, char b) { return a == static_cast<std::byte>(b); });
    ASSERT_NE(it, infos.end());
    auto p = static_cast<std::size_t>(it - infos.begin()) + needle.size();
    p += 1 + std::to_integer<std::size_t>(infos[p]);  // title
    if (infos[p + 4] == std::byte{0} && infos[p + 7] == std::byte{20}) {
      infos[p + 7] = std::byte{21};
      relabelled = true;
    }
    ++it;
  }
  auto tree = events_record().payload;
  ASSERT_EQ(tree[5], std::byte{20});
  tree[5] = std::byte{21};

  const TreeRecord& r = events_record();
  ObjectSpec tspec{"TTree", r.key.name, r.key.title, 1, false, tree, -1};
  DirSpec top;
  top.entries.emplace_back(tspec);
  ObjectSpec ispec{"TList", "StreamerInfo", "Doubly linked list", 1, false, infos, -1};
  ASSERT_EQ(FileBuilder::keylen(false, ispec.class_name, ispec.name, ispec.title), static_cast<int>(keylen));
  {
    FileBuilder b;
    b.set_streamer_info(ispec);
    auto info = read_bytes(b.build(top));
    ASSERT_TRUE(info.ok()) << info.error().to_string();
    EXPECT_TRUE(info->object_errors.empty()) << info->object_errors[0].message;
    ASSERT_EQ(info->trees.size(), 1u);
    EXPECT_EQ(info->trees[0].version, 21);
    EXPECT_TRUE(info->trees[0].used_streamer_info);
    EXPECT_TRUE(info->streamer_info_read);
    expect_same_tree(to_file_meta(*info, true), "Events");
  }
  {
    FileBuilder b;  // no StreamerInfo at all
    auto info = read_bytes(b.build(top));
    ASSERT_TRUE(info.ok());
    ASSERT_EQ(info->object_errors.size(), 1u);
    EXPECT_EQ(info->object_errors[0].kind, ErrorKind::kUnsupportedVersion);
    EXPECT_NE(info->object_errors[0].message.find("TTree class version 21"), std::string::npos);
    EXPECT_NE(info->object_errors[0].message.find("no StreamerInfo"), std::string::npos)
        << info->object_errors[0].message;
  }
}


// A TNtuple is its own header around a TTree, then fNvar. Built from the Events record: the
// 6 header bytes shift every streamed position, so the key header is made 6 bytes shorter
// to keep the references (counted from the key start) pointing where they did.
TEST(SyntheticFile, NtupleWrapsATree) {
  const TreeRecord& r = events_record();
  std::vector<std::byte> nt;
  const auto count = static_cast<std::uint32_t>(2 + r.payload.size() + 4) | 0x40000000u;
  for (int i = 0; i < 4; ++i) nt.push_back(static_cast<std::byte>(count >> (24 - 8 * i)));
  nt.push_back(std::byte{0});
  nt.push_back(std::byte{2});  // TNtuple class version
  nt.insert(nt.end(), r.payload.begin(), r.payload.end());
  for (const int b : {0, 0, 0, 3}) nt.push_back(static_cast<std::byte>(b));  // fNvar
  ObjectSpec spec{"TNtuple", "Even", "", 1, false, nt, -1};
  ASSERT_EQ(FileBuilder::keylen(false, spec.class_name, spec.name, spec.title) + 6, r.key.keylen);
  DirSpec top;
  top.entries.emplace_back(spec);
  auto info = read_bytes(FileBuilder().build(top));
  ASSERT_TRUE(info.ok()) << info.error().to_string();
  ASSERT_TRUE(info->object_errors.empty()) << info->object_errors[0].message;
  ASSERT_EQ(info->trees.size(), 1u);
  EXPECT_EQ(info->trees[0].class_name, "TNtuple");
  const FileMeta m = to_file_meta(*info, true);
  ASSERT_EQ(m.objects.size(), 1u);
  EXPECT_EQ(m.objects[0].kind, "TTree");
  expect_same_tree(m, "Even");
}

// --- broken key lists and directories: per-file errors -----------------------------------

std::vector<std::byte> simple_file(FileBuilder& b) {
  DirSpec top;
  top.entries.emplace_back(ObjectSpec{"TH1D", "a", "", 1, false, junk(50, 1)});
  top.entries.emplace_back(dir("d", {ObjectSpec{"TH1D", "b", "", 1, false, junk(50, 2)}}));
  return b.build(top);
}

// Offset of the top key list (from the header's directory record).
std::size_t top_key_list(const std::vector<std::byte>& f) {
  auto info = read_bytes(f);
  EXPECT_TRUE(info.ok());
  return static_cast<std::size_t>(info->header.seek_keys);
}

void put_be32(std::vector<std::byte>& f, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) f[at + static_cast<std::size_t>(i)] = static_cast<std::byte>(v >> (24 - 8 * i));
}

TEST(SyntheticFile, CorruptedKeyCountIsAFileError) {
  FileBuilder b;
  auto f = simple_file(b);
  const std::size_t list = top_key_list(f);
  const int list_keylen = FileBuilder::keylen(false, "TDirectory", "synthetic.root", "");
  put_be32(f, list + static_cast<std::size_t>(list_keylen), 0x7fffffff);
  auto info = read_bytes(f);
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().kind, ErrorKind::kCorrupt);
  EXPECT_NE(info.error().message.find("keys cannot fit"), std::string::npos) << info.error().message;
}

TEST(SyntheticFile, KeyPointingPastTheEndIsAFileError) {
  FileBuilder b;
  auto f = simple_file(b);
  const std::size_t list = top_key_list(f);
  const int list_keylen = FileBuilder::keylen(false, "TDirectory", "synthetic.root", "");
  // First listed key: fSeekKey at +18 of the key header.
  put_be32(f, list + static_cast<std::size_t>(list_keylen) + 4 + 18, static_cast<std::uint32_t>(f.size() - 10));
  auto info = read_bytes(f);
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().kind, ErrorKind::kCorrupt);
  EXPECT_NE(info.error().message.find("'a;1'"), std::string::npos) << info.error().message;
}

TEST(SyntheticFile, KeyWithInconsistentSizesIsAFileError) {
  FileBuilder b;
  auto f = simple_file(b);
  const std::size_t list = top_key_list(f);
  const int list_keylen = FileBuilder::keylen(false, "TDirectory", "synthetic.root", "");
  put_be32(f, list + static_cast<std::size_t>(list_keylen) + 4, 3);  // fNbytes < fKeylen
  auto info = read_bytes(f);
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().kind, ErrorKind::kCorrupt);
}

TEST(SyntheticFile, DirectoryLoopIsAFileError) {
  FileBuilder b;
  auto f = simple_file(b);
  const std::size_t top_list = top_key_list(f);
  // Point subdirectory d's record at the top key list: d would contain itself.
  const std::int64_t d_seek = b.seek_of("d");
  ASSERT_GT(d_seek, 0);
  const int d_keylen = FileBuilder::keylen(false, "TDirectory", "d", "d");
  const std::size_t rec = static_cast<std::size_t>(d_seek) + static_cast<std::size_t>(d_keylen);
  put_be32(f, rec + 2 + 4 + 4 + 4 + 4 + 4 + 4, static_cast<std::uint32_t>(top_list));
  auto info = read_bytes(f);
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().kind, ErrorKind::kCorrupt);
  EXPECT_NE(info.error().message.find("reuses the key list"), std::string::npos) << info.error().message;
}

TEST(SyntheticFile, NotRootAndTooShort) {
  auto info = read_bytes({std::byte{'r'}, std::byte{'o'}, std::byte{'o'}});
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().kind, ErrorKind::kUnsupportedFormat);
  std::vector<std::byte> hdf5(600, std::byte{0});
  const char sig[] = "\x89HDF\r\n\x1a\n";
  for (int i = 0; i < 8; ++i) hdf5[static_cast<std::size_t>(i)] = static_cast<std::byte>(sig[i]);
  EXPECT_EQ(read_bytes(hdf5).error().kind, ErrorKind::kUnsupportedFormat);
  std::vector<std::byte> stub = {std::byte{'r'}, std::byte{'o'}, std::byte{'o'}, std::byte{'t'}, std::byte{0}};
  EXPECT_EQ(read_bytes(stub).error().kind, ErrorKind::kTruncated);
}

}  // namespace
}  // namespace mpiprep::extract::root
