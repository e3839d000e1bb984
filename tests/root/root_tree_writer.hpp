// Writes TTree v20 records from scratch for tests: TBranch v13 with one TLeafI each, nested
// sub-branches, fBasketEntry/fBasketSeek arrays with several baskets (so several clusters,
// which none of the shared test files has), fClusterRangeEnd/fClusterSize. Used by
// root_cluster_test.cpp and by root_write_cluster_file (the file for the CLI test of
// `scan --align-clusters`).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace mpiprep::extract::root::testing {

struct BranchSpec {
  std::string name;
  std::int64_t entries = 0;
  // Starts of the baskets written as keys (fBasketEntry[0..n)), the next start is
  // fBasketEntry[n]; fWriteBasket = n (the open basket).
  std::vector<std::int64_t> basket_entry;
  std::uint32_t max_baskets = 10;
  std::vector<BranchSpec> children;
};

// Big-endian record writer with byte counts patched on close.
class RecordWriter {
 public:
  std::vector<std::byte> out;

  void put(std::uint64_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<std::byte>((v >> (8 * i)) & 0xff));
  }
  void tstring(const std::string& s) {
    put(s.size(), 1);  // short strings only
    for (const char c : s) out.push_back(static_cast<std::byte>(c));
  }
  // Opens an object with a byte count and a class version; close() patches the count.
  std::size_t open(int version) {
    const std::size_t at = out.size();
    put(0, 4);
    put(static_cast<std::uint16_t>(version), 2);
    return at;
  }
  void close(std::size_t at) {
    const std::uint64_t count = out.size() - at - 4;
    for (int i = 0; i < 4; ++i) {
      out[at + static_cast<std::size_t>(i)] =
          static_cast<std::byte>(((count | 0x40000000u) >> (8 * (3 - i))) & 0xff);
    }
  }
  void tobject() {
    put(1, 2);           // version
    put(0, 4);           // fUniqueID
    put(0x03000000, 4);  // fBits
  }
  void tnamed(const std::string& name, const std::string& title) {
    const std::size_t h = open(1);
    tobject();
    tstring(name);
    tstring(title);
    close(h);
  }
  // read_object_any with a new class tag (every object names its class: valid streaming,
  // and no reference offsets that would depend on the key length).
  std::size_t open_any(const std::string& cls) {
    const std::size_t at = out.size();
    put(0, 4);
    put(0xFFFFFFFF, 4);
    for (const char c : cls) out.push_back(static_cast<std::byte>(c));
    out.push_back(std::byte{0});
    return at;
  }
  std::size_t obj_array(std::uint32_t n) {
    const std::size_t h = open(3);
    tobject();
    tstring("");
    put(n, 4);
    put(0, 4);  // fLowerBound
    return h;
  }

  void leaf_i(const std::string& name) {
    const std::size_t any = open_any("TLeafI");
    const std::size_t h = open(1);
    const std::size_t base = open(2);
    tnamed(name, name);
    put(1, 4);  // fLen
    put(4, 4);  // fLenType
    put(0, 4);  // fOffset
    put(0, 1);  // fIsRange
    put(0, 1);  // fIsUnsigned
    put(0, 4);  // fLeafCount: null
    close(base);
    put(0, 4);  // fMinimum
    put(0, 4);  // fMaximum
    close(h);
    close(any);
  }

  void branch(const BranchSpec& b) {
    const std::size_t any = open_any("TBranch");
    const std::size_t h = open(13);
    tnamed(b.name, b.name + "/I");
    const std::size_t fill = open(2);
    put(0, 2);
    put(1001, 2);
    close(fill);
    const auto n = static_cast<std::uint32_t>(b.basket_entry.size());
    put(101, 4);    // fCompress
    put(32000, 4);  // fBasketSize
    put(0, 4);      // fEntryOffsetLen
    put(n, 4);      // fWriteBasket
    put(static_cast<std::uint64_t>(b.entries), 8);  // fEntryNumber
    const std::size_t io = open(1);                 // ROOT::TIOFeatures
    put(0, 1);
    close(io);
    put(0, 4);              // fOffset
    put(b.max_baskets, 4);  // fMaxBaskets
    put(99, 4);             // fSplitLevel
    put(static_cast<std::uint64_t>(b.entries), 8);  // fEntries
    put(0, 8);                                      // fFirstEntry
    put(1000, 8);                                   // fTotBytes
    put(500, 8);                                    // fZipBytes
    const std::size_t children = obj_array(static_cast<std::uint32_t>(b.children.size()));
    for (const BranchSpec& c : b.children) branch(c);
    close(children);
    const std::size_t leaves = obj_array(1);
    leaf_i(b.name);
    close(leaves);
    close(obj_array(0));  // fBaskets
    put(1, 1);            // fBasketBytes
    for (std::uint32_t i = 0; i < b.max_baskets; ++i) put(i < n ? 100 : 0, 4);
    put(1, 1);  // fBasketEntry: the starts, then the open basket's start (= fEntries)
    for (std::uint32_t i = 0; i < b.max_baskets; ++i) {
      put(static_cast<std::uint64_t>(i < n ? b.basket_entry[i] : (i == n ? b.entries : 0)), 8);
    }
    put(1, 1);  // fBasketSeek
    for (std::uint32_t i = 0; i < b.max_baskets; ++i) put(i < n ? 4096 + 1000 * i : 0, 8);
    tstring("");  // fFileName
    close(h);
    close(any);
  }

  void tree(std::int64_t entries, const std::vector<std::int64_t>& range_end,
            const std::vector<std::int64_t>& range_size, const std::vector<BranchSpec>& branches) {
    const std::size_t h = open(20);
    tnamed("Events", "synthetic multi-cluster tree");
    const std::size_t line = open(2);
    put(0, 6);
    close(line);
    const std::size_t fill = open(2);
    put(0, 4);
    close(fill);
    const std::size_t marker = open(2);
    put(0, 8);
    close(marker);
    put(static_cast<std::uint64_t>(entries), 8);  // fEntries
    put(1000, 8);                                 // fTotBytes
    put(500, 8);                                  // fZipBytes
    put(500, 8);                                  // fSavedBytes
    put(500, 8);                                  // fFlushedBytes
    put(0x3ff0000000000000ull, 8);                // fWeight = 1.0
    put(0, 4);                                    // fTimerInterval
    put(25, 4);                                   // fScanField
    put(0, 4);                                    // fUpdate
    put(0, 4);                                    // fDefaultEntryOffsetLen
    put(range_end.size(), 4);                     // fNClusterRange
    put(1000000000000ull, 8);                     // fMaxEntries
    put(1000000000000ull, 8);                     // fMaxEntryLoop
    put(0, 8);                                    // fMaxVirtualSize
    put(static_cast<std::uint64_t>(-300000000ll), 8);  // fAutoSave
    put(100, 8);                                       // fAutoFlush
    put(1000000, 8);                                   // fEstimate
    put(range_end.empty() ? 0 : 1, 1);
    for (const auto x : range_end) put(static_cast<std::uint64_t>(x), 8);
    put(range_size.empty() ? 0 : 1, 1);
    for (const auto x : range_size) put(static_cast<std::uint64_t>(x), 8);
    const std::size_t io = open(1);
    put(0, 1);
    close(io);
    const std::size_t arr = obj_array(static_cast<std::uint32_t>(branches.size()));
    for (const BranchSpec& b : branches) branch(b);
    close(arr);
    close(obj_array(0));  // fLeaves (the reader stops after fBranches; skipped by byte count)
    close(h);
  }
};

}  // namespace mpiprep::extract::root::testing
