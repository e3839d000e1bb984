// root_dump FILE [--branches | --dump-records DIR]: header, keys, trees (entries, clusters,
// top branches with their types, optionally every branch with its leaves), RNTuples, object
// errors. --dump-records writes each decompressed TTree record as a seed for
// fuzz/root_tree_fuzzer ([keylen u16 BE][class selector u8][payload]).
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "mpiprep/extract/root/reader.hpp"

using namespace mpiprep;
using namespace mpiprep::extract::root;

namespace {

void print_branch(const TreeInfo& t, std::uint32_t bi, int depth) {
  const BranchInfo& b = t.branches[bi];
  std::printf("%*s%.*s [%.*s v%d/%d] type=%s entries=%lld baskets=%u+%u offsets=", 2 * depth + 4, "",
              static_cast<int>(b.name.size()), b.name.data(), static_cast<int>(b.class_name.size()),
              b.class_name.data(), b.version, b.base_version, branch_type_name(t, b).c_str(),
              static_cast<long long>(b.entries), b.normal_baskets, b.embedded_baskets);
  const auto offs = t.entry_offsets(b);
  for (std::size_t i = 0; i < offs.size() && i < 8; ++i) std::printf("%s%lld", i ? "," : "", static_cast<long long>(offs[i]));
  if (offs.size() > 8) std::printf(",...(%zu)", offs.size());
  std::printf("\n");
  for (const std::uint32_t l : t.leaf_ids(b)) {
    const LeafInfo& leaf = t.leaves[l];
    std::printf("%*s  leaf %.*s [%.*s] title=%.*s len=%d unsigned=%d count=%d(%.*s) etype=%d -> %s\n", 2 * depth + 4, "",
                static_cast<int>(leaf.name.size()), leaf.name.data(), static_cast<int>(leaf.class_name.size()),
                leaf.class_name.data(), static_cast<int>(leaf.title.size()), leaf.title.data(), leaf.len,
                leaf.is_unsigned, leaf.has_leaf_count, static_cast<int>(leaf.leaf_count_name.size()),
                leaf.leaf_count_name.data(), leaf.element_type, leaf_type_name(leaf).c_str());
  }
  for (const std::uint32_t c : t.children(b)) print_branch(t, c, depth + 1);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: root_dump FILE [--branches]\n");
    return 2;
  }
  const bool branches = argc > 2 && std::strcmp(argv[2], "--branches") == 0;
  const char* dump_dir = argc > 3 && std::strcmp(argv[2], "--dump-records") == 0 ? argv[3] : nullptr;
  io::PosixFileSystem fs;
  auto file = fs.open(argv[1]);
  if (!file.ok()) {
    std::fprintf(stderr, "%s\n", file.error().to_string().c_str());
    return 1;
  }
  auto info = read_root_file(**file);
  if (!info.ok()) {
    std::printf("ERROR %s\n", info.error().to_string().c_str());
    return 1;
  }
  const FileHeader& h = info->header;
  std::printf("version=%d begin=%d big=%d end=%lld compress=%d (%s) uuid=%s seek_keys=%lld nbytes_keys=%d\n",
              h.version, h.begin, h.big_file, static_cast<long long>(h.end), h.compress,
              info->compression.to_string().c_str(), h.uuid_string().c_str(),
              static_cast<long long>(h.seek_keys), h.nbytes_keys);
  std::printf("reads=%u bytes_read=%llu\n", info->reads, static_cast<unsigned long long>(info->bytes_read));
  for (const KeyInfo& k : info->keys) {
    std::printf("key %s;%d %s title='%s' seek=%lld nbytes=%d objlen=%d keyv=%d\n", k.path.c_str(), k.cycle,
                k.class_name.c_str(), k.title.c_str(), static_cast<long long>(k.seek_key), k.nbytes, k.objlen,
                k.version);
  }
  for (const ObjectError& e : info->object_errors) {
    std::printf("object error %s: %s\n", info->keys[e.key_index].path.c_str(), e.message.c_str());
  }
  for (const TreeInfo& t : info->trees) {
    if (dump_dir != nullptr) {
      const KeyInfo& k = info->keys[t.key_index];
      std::string name = std::string(dump_dir) + "/" + std::to_string(k.seek_key) + "-" + k.name;
      for (char& ch : name) {
        if (ch == ';' || ch == ' ') ch = '_';
      }
      std::ofstream out(name, std::ios::binary);
      const char head[3] = {static_cast<char>(k.keylen >> 8), static_cast<char>(k.keylen & 0xff),
                            static_cast<char>(k.class_name == "TNtuple" ? 1 : k.class_name == "TNtupleD" ? 2 : 0)};
      out.write(head, 3);
      const auto payload = t.record;
      out.write(reinterpret_cast<const char*>(payload.data()), static_cast<std::streamsize>(payload.size()));
    }
    std::printf("tree %s;%d v%d entries=%lld tot=%lld zip=%lld autoflush=%lld top=%zu all=%zu record=%llu\n",
                t.path.c_str(), t.cycle, t.version, static_cast<long long>(t.entries),
                static_cast<long long>(t.tot_bytes), static_cast<long long>(t.zip_bytes),
                static_cast<long long>(t.auto_flush.value_or(-1)), t.top.size(), t.count_all_branches(),
                static_cast<unsigned long long>(t.record_bytes));
    std::printf("  clusters:");
    for (const auto c : common_entry_offsets(t)) std::printf(" %lld", static_cast<long long>(c));
    std::printf("\n");
    if (branches) {
      for (const std::uint32_t b : t.top) print_branch(t, b, 0);
    } else {
      for (const std::uint32_t b : t.top) {
        std::printf("    %.*s: %s\n", static_cast<int>(t.branches[b].name.size()), t.branches[b].name.data(),
                    branch_type_name(t, t.branches[b]).c_str());
      }
    }
  }
  for (const RNTupleInfo& nt : info->rntuples) {
    std::printf("rntuple %s;%d v%u.%u.%u.%u entries=%lld clusters=%llu fields=%zu name=%s writer=%s\n",
                nt.path.c_str(), nt.cycle, nt.version_epoch, nt.version_major, nt.version_minor,
                nt.version_patch, static_cast<long long>(nt.entries),
                static_cast<unsigned long long>(nt.n_clusters), nt.fields.size(), nt.name.c_str(),
                nt.writer.c_str());
    for (const std::uint32_t f : nt.top_fields) {
      std::printf("    %s: %s\n", nt.fields[f].name.c_str(), nt.fields[f].type_name.c_str());
    }
  }
  return 0;
}
