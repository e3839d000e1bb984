// A bad file is data, not a crash: every test file cut at many offsets, with random bytes
// flipped, files of random bytes, the inputs the fuzzer once crashed on; and the reader
// used from 4 threads at once gives the same answers as serially.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "extract/root/streamer.hpp"
#include "mpiprep/extract/root/reader.hpp"
#include "root_test_util.hpp"

namespace mpiprep::extract::root {
namespace {

// A compact summary of what the reader says, to compare runs.
std::string summary(const RootFileInfo& info) {
  const FileMeta m = to_file_meta(info, true);
  std::string s = m.uuid + " " + m.compression + "\n";
  for (const ObjectMeta& o : m.objects) {
    s += o.path + ";" + std::to_string(o.cycle) + " " + o.kind + " n=" + std::to_string(o.num_entries) +
         " cols=" + std::to_string(o.n_columns_total) + " err=" + std::string(error_kind_name(o.error_kind)) + "\n";
    for (const ColumnView c : o.columns) s += "  " + std::string(c.name) + ":" + std::string(c.type) + "\n";
    for (const auto c : o.clusters) s += " " + std::to_string(c);
    s += "\n";
  }
  return s;
}

std::vector<std::byte> with_fend(std::vector<std::byte> f, std::uint64_t end) {
  if (f.size() < 24) return f;
  const auto v = (std::to_integer<std::uint32_t>(f[4]) << 24) | (std::to_integer<std::uint32_t>(f[5]) << 16) |
                 (std::to_integer<std::uint32_t>(f[6]) << 8) | std::to_integer<std::uint32_t>(f[7]);
  const int w = static_cast<std::int32_t>(v) >= 1000000 ? 8 : 4;
  for (int i = 0; i < w; ++i) {
    f[static_cast<std::size_t>(12 + i)] = static_cast<std::byte>((end >> (8 * (w - 1 - i))) & 0xff);
  }
  return f;
}

class EveryFile : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    bytes_ = load_bytes(test_path(GetParam()));
    ASSERT_FALSE(bytes_.empty());
    auto full = read_bytes(bytes_);
    ASSERT_TRUE(full.ok()) << full.error().to_string();
    reference_ = summary(*full);
  }
  std::vector<std::byte> bytes_;
  std::string reference_;
};

// Cut at every 997th byte and at each of the first 512: always an error, and the header's
// fEND makes it "truncated" (or "not ROOT" before the magic is complete).
TEST_P(EveryFile, TruncatedAnywhereIsAnError) {
  std::set<std::size_t> cuts;
  for (std::size_t c = 0; c < 512 && c < bytes_.size(); ++c) cuts.insert(c);
  for (std::size_t c = 997; c < bytes_.size(); c += 997) cuts.insert(c);
  for (const std::size_t cut : cuts) {
    std::vector<std::byte> part(bytes_.begin(), bytes_.begin() + static_cast<std::ptrdiff_t>(cut));
    auto info = read_bytes(std::move(part));
    ASSERT_FALSE(info.ok()) << "cut at " << cut;
    const ErrorKind want = cut < 4 ? ErrorKind::kUnsupportedFormat : ErrorKind::kTruncated;
    EXPECT_EQ(info.error().kind, want) << "cut at " << cut << ": " << info.error().to_string();
    EXPECT_FALSE(info.error().message.empty());
  }
}

// The same cuts with fEND rewritten to the cut: the header no longer gives it away, so the
// deeper structures must catch it. Success is allowed only with the same answer as the
// complete file (the cut removed nothing the reader needs): never a wrong number.
TEST_P(EveryFile, TruncatedWithConsistentHeaderNeverLies) {
  int errors = 0;
  for (std::size_t cut = 24; cut < bytes_.size(); cut += (cut < 600 ? 7 : 397)) {
    std::vector<std::byte> part(bytes_.begin(), bytes_.begin() + static_cast<std::ptrdiff_t>(cut));
    auto info = read_bytes(with_fend(std::move(part), cut));
    if (info.ok()) {
      EXPECT_EQ(summary(*info), reference_) << "cut at " << cut;
    } else {
      ++errors;
      const ErrorKind k = info.error().kind;
      EXPECT_TRUE(k == ErrorKind::kTruncated || k == ErrorKind::kCorrupt) << info.error().to_string();
    }
  }
  EXPECT_GT(errors, 0);
}

// Deterministic corruption: flip 1-4 bytes at pseudo-random places (half of them inside the
// metadata records the reader actually decodes). Any outcome but a crash or hang is fine;
// the sanitizer build turns memory errors into failures.
TEST_P(EveryFile, RandomlyCorruptedBytesNeverCrash) {
  auto full = read_bytes(bytes_);
  ASSERT_TRUE(full.ok());
  std::vector<std::pair<std::size_t, std::size_t>> hot = {{0, std::min<std::size_t>(bytes_.size(), 300)}};
  hot.emplace_back(static_cast<std::size_t>(full->header.seek_keys), static_cast<std::size_t>(full->header.nbytes_keys));
  for (const TreeInfo& t : full->trees) {
    const KeyInfo& k = full->keys[t.key_index];
    hot.emplace_back(static_cast<std::size_t>(k.seek_key), static_cast<std::size_t>(k.nbytes));
  }
  std::uint64_t x = 0x9e3779b97f4a7c15ull ^ bytes_.size();
  auto next = [&x] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  int ok = 0;
  for (int round = 0; round < 300; ++round) {
    std::vector<std::byte> f = bytes_;
    const int flips = 1 + static_cast<int>(next() % 4);
    for (int i = 0; i < flips; ++i) {
      std::size_t at = 0;
      if (next() % 2 == 0) {
        const auto& [b, n] = hot[next() % hot.size()];
        at = b + (n > 0 ? next() % n : 0);
      } else {
        at = next() % f.size();
      }
      if (at < f.size()) f[at] ^= static_cast<std::byte>(1 + next() % 255);
    }
    auto info = read_bytes(std::move(f));
    if (info.ok()) {
      ++ok;
      (void)summary(*info);  // the model must be walkable
    } else {
      EXPECT_NE(info.error().kind, ErrorKind::kInternal) << info.error().to_string();
      EXPECT_FALSE(info.error().message.empty());
    }
  }
  RecordProperty("survived", ok);
}

INSTANTIATE_TEST_SUITE_P(AllRootFiles, EveryFile, ::testing::ValuesIn(root_test_files()), [](const auto& p) {
  std::string n = p.param;
  for (char& ch : n) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return n;
});

TEST(Robustness, RandomBytesAreAnError) {
  std::uint64_t x = 42;
  auto next = [&x] {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    return x >> 33;
  };
  for (int i = 0; i < 500; ++i) {
    std::vector<std::byte> f(static_cast<std::size_t>(next() % 4096));
    for (auto& b : f) b = static_cast<std::byte>(next());
    if (i % 2 == 1 && f.size() >= 4) {  // with the magic, so the header decoder runs
      f[0] = std::byte{'r'};
      f[1] = std::byte{'o'};
      f[2] = std::byte{'o'};
      f[3] = std::byte{'t'};
      if (i % 4 == 1) f = with_fend(std::move(f), f.size());
    }
    auto info = read_bytes(std::move(f));
    EXPECT_FALSE(info.ok()) << i;
  }
}

// The fast path for TBranches and TBranchElements never decides whether a record is valid: on
// damaged tree records (the inflated payloads of every test file's trees, with bytes flipped
// or cut short) it gives up and the general decoder must then produce exactly the model or
// the error it produces on its own.
TEST(Robustness, FastPathAgreesWithGeneralDecoderOnDamagedRecords) {
  std::uint64_t x = 0x2545f4914f6cdd1dull;
  auto next = [&x] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  int compared = 0;
  int decoded = 0;
  for (const auto& name : root_test_files()) {
    auto full = read_test_file(name);
    ASSERT_TRUE(full.ok()) << name;
    for (const TreeInfo& t : full->trees) {
      const KeyInfo& k = full->keys[t.key_index];
      const std::vector<std::byte> record(t.record.begin(), t.record.end());
      auto compare = [&](std::vector<std::byte> bytes, const std::string& what) {
        const std::size_t n = bytes.size();
        auto buffer = std::make_shared<std::byte[]>(std::max<std::size_t>(n, 1));
        std::copy(bytes.begin(), bytes.end(), buffer.get());
        const std::shared_ptr<const std::byte[]> owner = std::move(buffer);
        const std::span<const std::byte> payload(owner.get(), n);
        TreeParseOptions fast;
        TreeParseOptions general;
        general.fast_paths = false;
        TreeInfo a;
        TreeInfo b;
        const Status sa = parse_tree(owner, payload, static_cast<std::uint32_t>(k.keylen), k.class_name, "test", a, fast);
        const Status sb = parse_tree(owner, payload, static_cast<std::uint32_t>(k.keylen), k.class_name, "test", b, general);
        ++compared;
        ASSERT_EQ(sa.ok(), sb.ok()) << name << " " << what << ": " << (sa.ok() ? sb.error().to_string() : sa.error().to_string());
        if (sa.ok()) {
          ++decoded;
          RootFileInfo ia;
          RootFileInfo ib;
          ia.trees.push_back(std::move(a));
          ib.trees.push_back(std::move(b));
          EXPECT_EQ(tree_dump(ia), tree_dump(ib)) << name << " " << what;
        } else {
          EXPECT_EQ(sa.error().kind, sb.error().kind) << name << " " << what;
          EXPECT_EQ(sa.error().message, sb.error().message) << name << " " << what;
        }
      };
      compare(record, "intact");
      if (record.empty()) continue;
      // Cut short at 150 places, and 1-3 bytes flipped in 300 rounds.
      for (int i = 0; i < 150; ++i) {
        const std::size_t cut = next() % record.size();
        compare(std::vector<std::byte>(record.begin(), record.begin() + static_cast<std::ptrdiff_t>(cut)),
                "cut at " + std::to_string(cut));
      }
      for (int round = 0; round < 300; ++round) {
        std::vector<std::byte> f = record;
        const int flips = 1 + static_cast<int>(next() % 3);
        for (int i = 0; i < flips; ++i) f[next() % f.size()] ^= static_cast<std::byte>(1 + next() % 255);
        compare(std::move(f), "flips round " + std::to_string(round));
      }
    }
  }
  EXPECT_GT(compared, 1000);
  EXPECT_GT(decoded, 0);
}

// The agreement tests above mean something only if the fast path runs: it must take every
// TBranch and TBranchElement of its shapes in the test files' trees (plain NanoAOD branches,
// split objects with sub-branches and TLeafElement leaves, STL containers), and nothing when
// it is off.
TEST(Robustness, FastPathTakesEveryBranchOfTheTestFiles) {
  std::size_t total = 0;
  std::size_t elements = 0;
  for (const auto& name : root_test_files()) {
    auto full = read_test_file(name);
    ASSERT_TRUE(full.ok()) << name;
    for (const TreeInfo& t : full->trees) {
      const KeyInfo& k = full->keys[t.key_index];
      std::size_t taken = 0;
      TreeParseOptions fast;
      fast.fast_branches = &taken;
      TreeInfo a;
      ASSERT_TRUE(parse_tree(t.buffer, t.record, static_cast<std::uint32_t>(k.keylen), k.class_name, "test", a, fast).ok())
          << name;
      std::size_t eligible = 0;
      // Its shapes: TBranch v10-v13 bases without baskets inside the tree record (ROOT 4's
      // TBranch v8 in from-geant4.root goes to the general decoder), TBranchElement v8-v10.
      for (const BranchInfo& b : a.branches) {
        const bool base = b.base_version >= 10 && b.base_version <= 13 && b.embedded_baskets == 0;
        const bool element = b.class_name == "TBranchElement" && b.version >= 8 && b.version <= 10;
        if (base && (b.class_name == "TBranch" || element)) ++eligible;
        if (base && element) ++elements;
      }
      EXPECT_EQ(taken, eligible) << name << " " << t.path;
      total += taken;
      std::size_t general_taken = 0;
      TreeParseOptions general;
      general.fast_paths = false;
      general.fast_branches = &general_taken;
      TreeInfo b;
      ASSERT_TRUE(parse_tree(t.buffer, t.record, static_cast<std::uint32_t>(k.keylen), k.class_name, "test", b, general).ok());
      EXPECT_EQ(general_taken, 0u) << name;
    }
  }
  EXPECT_GT(total, 1500u);    // nano_dy.root alone: 1,507
  EXPECT_GT(elements, 60u);   // fullsplit (43), stl_containers (26)
}

// Files the fuzzer (or a reviewer) found to break an earlier version: each must now give an
// error or a result, without crashing.
TEST(Robustness, Regressions) {
  const std::filesystem::path dir = MPIPREP_ROOT_REGRESSIONS_DIR;
  std::size_t n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (!entry.is_regular_file() || entry.path().extension() == ".md") continue;
    ++n;
    auto info = read_bytes(load_bytes(entry.path().string()));
    if (info.ok()) {
      (void)summary(*info);
    } else {
      EXPECT_NE(info.error().kind, ErrorKind::kInternal) << entry.path();
    }
  }
  EXPECT_GT(n, 0u) << "no regression inputs in " << dir;
}

// No global state: 4 threads reading all files at once agree with a serial read.
TEST(Robustness, FourThreadsReadConcurrently) {
  std::map<std::string, std::string> want;
  for (const auto& name : root_test_files()) {
    auto info = read_test_file(name);
    ASSERT_TRUE(info.ok());
    want[name] = summary(*info);
  }
  std::atomic<int> mismatches{0};
  std::atomic<int> reads{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 5; ++round) {
        // Each thread walks the files in a different order.
        const auto& files = root_test_files();
        for (std::size_t i = 0; i < files.size(); ++i) {
          const auto& name = files[(i * static_cast<std::size_t>(2 * t + 1) + static_cast<std::size_t>(round)) % files.size()];
          auto info = read_test_file(name);
          ++reads;
          if (!info.ok() || summary(*info) != want.at(name)) ++mismatches;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_EQ(reads.load(), 4 * 5 * static_cast<int>(root_test_files().size()));
}

}  // namespace
}  // namespace mpiprep::extract::root
