// Writes small ROOT files from scratch (header, TFile key and top directory record, object
// records, TDirectory records, key lists) so the reader can be tested on layouts the shared
// test files do not have: several cycles, 64-bit keys, big-file headers, nested and empty
// directories, records stored with any codec, and deliberately broken structures.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace mpiprep::extract::root::testing {

struct ObjectSpec {
  std::string class_name;
  std::string name;
  std::string title;
  int cycle = 1;
  bool big_key = false;            // key version 1004 (64-bit seeks)
  std::vector<std::byte> on_disk;  // the bytes after the key header
  std::int32_t objlen = -1;        // -1: same as on_disk (stored uncompressed)
};

struct DirSpec;
using Entry = std::variant<ObjectSpec, std::shared_ptr<DirSpec>>;

struct DirSpec {
  std::string class_name = "TDirectory";
  std::string name;
  std::string title;
  int cycle = 1;
  std::vector<Entry> entries;
  bool no_keys = false;  // write fSeekKeys = 0
};

class FileBuilder {
 public:
  explicit FileBuilder(bool big_file = false, std::int32_t fcompress = 101) : big_(big_file), compress_(fcompress) {}

  // A StreamerInfo record (fSeekInfo/fNbytesInfo point at it), written after the objects.
  void set_streamer_info(ObjectSpec info) { streamer_info_ = std::move(info); }

  std::vector<std::byte> build(const DirSpec& top) {
    out_.assign(kBegin, std::byte{0});
    // TFile key + name/title, then the top directory record (patched at the end).
    const std::string fname = "synthetic.root";
    const std::string ftitle = "built by mpiprep tests";
    const std::size_t tfile_at = out_.size();
    const int tfile_keylen = keylen(false, "TFile", fname, ftitle);
    write_key_header(false, 0, 0, static_cast<std::int16_t>(tfile_keylen), 1, static_cast<std::int64_t>(tfile_at), 0,
                     "TFile", fname, ftitle);
    put_tstring(fname);
    put_tstring(ftitle);
    nbytes_name_ = static_cast<std::int32_t>(out_.size() - tfile_at);
    top_dir_at_ = out_.size();
    out_.resize(out_.size() + kDirPad, std::byte{0});
    const auto [seek_keys, nbytes_keys] = write_directory(top, static_cast<std::int64_t>(tfile_at));
    patch_dir_record(top_dir_at_, top.no_keys ? 0 : seek_keys, nbytes_keys, static_cast<std::int64_t>(tfile_at));
    if (streamer_info_.has_value()) {
      const Written w = write_object(*streamer_info_, static_cast<std::int64_t>(tfile_at));
      seek_info_ = w.seek;
      nbytes_info_ = w.nbytes;
    }
    patch_header();
    return out_;
  }

  // Where the named object's record starts (after build()).
  std::int64_t seek_of(const std::string& name) const {
    for (const auto& [n, s] : seeks_) {
      if (n == name) return s;
    }
    return -1;
  }

  static int keylen(bool big_key, const std::string& cls, const std::string& name, const std::string& title) {
    return 4 + 2 + 4 + 4 + 2 + 2 + (big_key ? 16 : 8) + tsize(cls) + tsize(name) + tsize(title);
  }

 private:
  static constexpr std::size_t kBegin = 100;
  static constexpr std::size_t kDirPad = 60;

  static int tsize(const std::string& s) { return static_cast<int>(s.size() < 255 ? 1 + s.size() : 5 + s.size()); }

  void put(std::uint64_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; --i) out_.push_back(static_cast<std::byte>((v >> (8 * i)) & 0xff));
  }
  void patch(std::size_t at, std::uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out_[at + static_cast<std::size_t>(i)] = static_cast<std::byte>((v >> (8 * (bytes - 1 - i))) & 0xff);
  }
  void put_tstring(const std::string& s) {
    if (s.size() < 255) {
      put(s.size(), 1);
    } else {
      put(255, 1);
      put(s.size(), 4);
    }
    for (const char c : s) out_.push_back(static_cast<std::byte>(c));
  }

  void write_key_header(bool big_key, std::int32_t nbytes, std::int32_t objlen, std::int16_t keylen, int cycle,
                        std::int64_t seek_key, std::int64_t seek_pdir, const std::string& cls,
                        const std::string& name, const std::string& title) {
    put(static_cast<std::uint32_t>(nbytes), 4);
    put(big_key ? 1004 : 4, 2);
    put(static_cast<std::uint32_t>(objlen), 4);
    put(0x6a3c1e00, 4);  // fDatime
    put(static_cast<std::uint16_t>(keylen), 2);
    put(static_cast<std::uint16_t>(cycle), 2);
    if (big_key) {
      put(static_cast<std::uint64_t>(seek_key), 8);
      put(static_cast<std::uint64_t>(seek_pdir), 8);
    } else {
      put(static_cast<std::uint32_t>(seek_key), 4);
      put(static_cast<std::uint32_t>(seek_pdir), 4);
    }
    put_tstring(cls);
    put_tstring(name);
    put_tstring(title);
  }

  struct Written {
    bool big_key;
    std::int32_t nbytes, objlen;
    std::int16_t keylen;
    int cycle;
    std::int64_t seek;
    std::string cls, name, title;
  };

  Written write_object(const ObjectSpec& o, std::int64_t pdir) {
    Written w{o.big_key, 0, 0, static_cast<std::int16_t>(keylen(o.big_key, o.class_name, o.name, o.title)), o.cycle,
              static_cast<std::int64_t>(out_.size()), o.class_name, o.name, o.title};
    w.nbytes = w.keylen + static_cast<std::int32_t>(o.on_disk.size());
    w.objlen = o.objlen >= 0 ? o.objlen : static_cast<std::int32_t>(o.on_disk.size());
    write_key_header(w.big_key, w.nbytes, w.objlen, w.keylen, w.cycle, w.seek, pdir, w.cls, w.name, w.title);
    out_.insert(out_.end(), o.on_disk.begin(), o.on_disk.end());
    seeks_.emplace_back(o.name, w.seek);
    return w;
  }

  // Post-order: children first, then this directory's key list. Returns (seek, nbytes) of it.
  std::pair<std::int64_t, std::int32_t> write_directory(const DirSpec& d, std::int64_t self_seek) {
    std::vector<Written> keys;
    for (const Entry& e : d.entries) {
      if (const auto* o = std::get_if<ObjectSpec>(&e)) {
        keys.push_back(write_object(*o, self_seek));
      } else {
        const DirSpec& sub = *std::get<std::shared_ptr<DirSpec>>(e);
        // The subdirectory's record first (so its seek is known), patched once its keys exist.
        Written w{false, 0, 0, static_cast<std::int16_t>(keylen(false, sub.class_name, sub.name, sub.title)),
                  sub.cycle, static_cast<std::int64_t>(out_.size()), sub.class_name, sub.name, sub.title};
        w.objlen = static_cast<std::int32_t>(kDirPad);
        w.nbytes = w.keylen + w.objlen;
        write_key_header(false, w.nbytes, w.objlen, w.keylen, w.cycle, w.seek, self_seek, w.cls, w.name, w.title);
        const std::size_t rec_at = out_.size();
        out_.resize(out_.size() + kDirPad, std::byte{0});
        const auto [sk, nk] = write_directory(sub, w.seek);
        patch_dir_record(rec_at, sub.no_keys ? 0 : sk, nk, self_seek);
        seeks_.emplace_back(sub.name, w.seek);
        keys.push_back(w);
      }
    }
    const auto list_at = static_cast<std::int64_t>(out_.size());
    const std::string lname = d.name.empty() ? "synthetic.root" : d.name;
    const int lkeylen = keylen(false, "TDirectory", lname, "");
    const std::size_t header_at = out_.size();
    write_key_header(false, 0, 0, static_cast<std::int16_t>(lkeylen), 1, list_at, self_seek, "TDirectory", lname, "");
    put(keys.size(), 4);
    for (const Written& w : keys) {
      write_key_header(w.big_key, w.nbytes, w.objlen, w.keylen, w.cycle, w.seek, self_seek, w.cls, w.name, w.title);
    }
    const auto nbytes = static_cast<std::int32_t>(out_.size() - header_at);
    patch(header_at, static_cast<std::uint32_t>(nbytes), 4);
    patch(header_at + 6, static_cast<std::uint32_t>(nbytes - lkeylen), 4);
    return {list_at, nbytes};
  }

  void patch_dir_record(std::size_t at, std::int64_t seek_keys, std::int32_t nbytes_keys, std::int64_t parent) {
    const bool big = big_;
    std::size_t p = at;
    patch(p, big ? 1005 : 5, 2);
    p += 2;
    patch(p, 0x6a3c1e00, 4);
    p += 4;
    patch(p, 0x6a3c1e00, 4);
    p += 4;
    patch(p, static_cast<std::uint32_t>(nbytes_keys), 4);
    p += 4;
    patch(p, static_cast<std::uint32_t>(nbytes_name_), 4);
    p += 4;
    const int w = big ? 8 : 4;
    patch(p, static_cast<std::uint64_t>(at), w);  // fSeekDir (approximately: not read)
    p += static_cast<std::size_t>(w);
    patch(p, static_cast<std::uint64_t>(parent), w);
    p += static_cast<std::size_t>(w);
    patch(p, static_cast<std::uint64_t>(seek_keys), w);
  }

  void patch_header() {
    const int w = big_ ? 8 : 4;
    const char magic[] = "root";
    for (std::size_t i = 0; i < 4; ++i) out_[i] = static_cast<std::byte>(magic[i]);
    std::size_t p = 4;
    auto field = [&](std::uint64_t v, int bytes) {
      patch(p, v, bytes);
      p += static_cast<std::size_t>(bytes);
    };
    field(big_ ? 1062400 : 62400, 4);
    field(kBegin, 4);
    field(out_.size(), w);  // fEND
    field(0, w);            // fSeekFree
    field(0, 4);            // fNbytesFree
    field(0, 4);            // nfree
    field(static_cast<std::uint32_t>(nbytes_name_), 4);
    field(big_ ? 8 : 4, 1);  // fUnits
    field(static_cast<std::uint32_t>(compress_), 4);
    field(static_cast<std::uint64_t>(seek_info_), w);     // fSeekInfo
    field(static_cast<std::uint32_t>(nbytes_info_), 4);  // fNbytesInfo
    field(1, 2);  // UUID version
    for (int i = 0; i < 16; ++i) field(static_cast<std::uint64_t>(0x10 + i), 1);
  }

  bool big_;
  std::int32_t compress_;
  std::vector<std::byte> out_;
  std::int32_t nbytes_name_ = 0;
  std::size_t top_dir_at_ = 0;
  std::vector<std::pair<std::string, std::int64_t>> seeks_;
  std::optional<ObjectSpec> streamer_info_;
  std::int64_t seek_info_ = 0;
  std::int32_t nbytes_info_ = 0;
};

}  // namespace mpiprep::extract::root::testing
