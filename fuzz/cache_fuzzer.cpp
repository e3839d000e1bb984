// HDF5 cache loader fuzzer: the input is written to a temporary file and loaded with
// Cache::load (inspection mode: nothing moved aside). Any crash, sanitizer report, leak or
// hang is a bug; a rejected cache is fine.
//
// The seal (an xxh64 over the whole file, checked before libhdf5 parses a byte) and the
// content checksum reject every byte-level mutation of a real cache, so byte mutations alone
// never get past the seal. This harness therefore brings its own structure-aware mutator
// (LLVMFuzzerCustomMutator): it decodes the input as a cache (every dataset of the catalogue
// for_each_dataset, read with its element type but none of the loader's checks), changes
// values of the tables (offsets, lengths, counts, string blobs, enum codes, dataset sizes,
// root attributes), writes the result with the commit's own writer, recomputes the content
// checksum and reseals it. The loader then gets past the seal and the checksum and exercises
// the table checks (validate) and the row decoding behind them. The mutator walks the tables
// generically (each dataset by its element type), so it follows the table layout wherever
// tables.hpp takes it. One input in 8 is mutated bytewise instead (the seal and header checks).
//
// MPIPREP_FUZZ_RESEAL=1 additionally reseals each input before loading (so byte mutations
// reach libhdf5's parser: libhdf5 1.10 itself can crash on damaged object headers, which is
// why the seal exists, so findings in that mode are in libhdf5 unless the stack says
// otherwise). Seeds: small caches written by the commit (fuzz/corpus/cache).
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "cache/cache_file.hpp"
#include "cache/h5.hpp"
#include "cache/seal.hpp"
#include "cache/tables.hpp"
#include "mpiprep/cache/cache.hpp"

using namespace mpiprep;
using namespace mpiprep::cache;

extern "C" std::size_t LLVMFuzzerMutate(std::uint8_t* data, std::size_t size,
                                        std::size_t max_size);

namespace {

const std::string& temp_dir() {
  static const std::string dir = [] {
    char d[] = "/tmp/mpiprep-cache-fuzz-XXXXXX";
    if (mkdtemp(d) == nullptr) std::abort();
    return std::string(d);
  }();
  return dir;
}

bool write_file(const std::string& path, const std::uint8_t* data, std::size_t size) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return false;
  const bool ok = size == 0 || std::fwrite(data, 1, size, f) == size;
  return std::fclose(f) == 0 && ok;
}

std::vector<std::uint8_t> read_file(const std::string& path) {
  std::vector<std::uint8_t> out;
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return out;
  std::uint8_t buf[65536];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) out.insert(out.end(), buf, buf + n);
  std::fclose(f);
  return out;
}

template <typename T>
h5::Elem elem_for(ColumnKind kind) {
  if (kind == ColumnKind::kEnumFormat) return h5::Elem::kEnumFormat;
  if (kind == ColumnKind::kEnumErrorKind) return h5::Elem::kEnumErrorKind;
  return h5::elem_of<T>();
}

struct Decoded {
  Tables tables;
  std::int32_t format_version = kFormatVersion;
  std::uint64_t generation = 1;
};

// The input as tables, without the loader's checks (only the seal and the element types):
// mutated tables that the loader rejects can be mutated further.
bool decode(const std::uint8_t* data, std::size_t size, Decoded& out) {
  if (size <= kUserBlockSize) return false;
  const std::string path = temp_dir() + "/decode.h5";
  if (!write_file(path, data, size)) return false;
  bool ok = false;
  if (check_seal(path, size).verdict == SealVerdict::kOk) {
    h5::ErrorSilencer quiet;
    try {
      h5::Handle fapl = h5::sec2_fapl();
      h5::Handle file = h5::checked(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get()), H5Fclose,
                                    "open");
      out.format_version =
          static_cast<std::int32_t>(h5::read_int_attr(file.get(), "format_version").value_or(1));
      out.generation = h5::read_u64_attr(file.get(), "generation").value_or(1);
      for_each_dataset(out.tables, [&](const std::string& name, auto& vec, ColumnKind kind) {
        using T = typename std::decay_t<decltype(vec)>::value_type;
        h5::EnumTable names;
        h5::read_dataset(file.get(), name, elem_for<T>(kind), 16u << 20, size,
                         kind == ColumnKind::kPlain ? nullptr : &names,
                         [&vec](std::uint64_t n) -> void* {
                           vec.resize(static_cast<std::size_t>(n));
                           return vec.data();
                         });
      });
      ok = true;
    } catch (const std::exception&) {
      ok = false;
    }
  }
  ::unlink(path.c_str());
  return ok;
}

// Writes tables as the commit does (same writer, content checksum, seal); empty on failure.
std::vector<std::uint8_t> encode(const Decoded& d, bool fix_checksum, std::uint64_t stale_checksum,
                                 bool compress) {
  const std::string path = temp_dir() + "/encode.h5";
  ::unlink(path.c_str());
  WritePlan plan;
  plan.temp_path = path;
  plan.sizes = dataset_sizes(d.tables);
  plan.header = Header{std::string(kFormatName), d.format_version, d.generation,
                       std::string(writer_version()), "2026-11-22T00:00:00Z",
                       fix_checksum ? content_checksum(d.tables, d.format_version, d.generation)
                                    : stale_checksum};
  plan.compress = compress;
  std::vector<std::uint8_t> out;
  {
    h5::ErrorSilencer quiet;
    try {
      h5::Handle fapl = h5::sec2_fapl();
      write_cache_file(plan, &d.tables, fapl.get(), false);
      if (seal_file(path, plan.header.generation, plan.header.checksum).ok()) out = read_file(path);
    } catch (const std::exception&) {
      out.clear();
    }
  }
  ::unlink(path.c_str());
  return out;
}

// Values that tend to sit on a check's boundary, for a column of n elements.
template <typename T>
T interesting(std::mt19937_64& rng, std::size_t n, const std::vector<T>& v) {
  if constexpr (std::is_floating_point_v<T>) {
    const T choices[] = {0, -1, 1e300, -0.0, std::numeric_limits<T>::infinity(),
                         std::numeric_limits<T>::quiet_NaN(), std::numeric_limits<T>::denorm_min()};
    return choices[rng() % std::size(choices)];
  } else {
    const std::uint64_t last = v.empty() ? 0 : static_cast<std::uint64_t>(v.back());
    const std::uint64_t choices[] = {0,
                                     1,
                                     static_cast<std::uint64_t>(-1),
                                     n,
                                     n + 1,
                                     n - 1,
                                     last,
                                     last + 1,
                                     last - 1,
                                     static_cast<std::uint64_t>(std::numeric_limits<T>::max()),
                                     static_cast<std::uint64_t>(std::numeric_limits<T>::min()),
                                     0x7fffffffu,
                                     0x80000000u,
                                     std::uint64_t{1} << 32,
                                     std::uint64_t{1} << 62,
                                     rng() % 64,
                                     rng()};
    return static_cast<T>(choices[rng() % std::size(choices)]);
  }
}

template <typename T>
void mutate_column(std::vector<T>& v, std::mt19937_64& rng) {
  const std::size_t n = v.size();
  auto pick = [&] { return static_cast<std::size_t>(rng() % n); };
  switch (rng() % 10) {
    case 0:
    case 1:
      if (n > 0) v[pick()] = interesting(rng, n, v);
      break;
    case 2:
      if (n > 0) {  // flip one bit
        T& x = v[pick()];
        unsigned char b[sizeof(T)];
        std::memcpy(b, &x, sizeof(T));
        b[rng() % sizeof(T)] ^= static_cast<unsigned char>(1u << (rng() % 8));
        std::memcpy(&x, b, sizeof(T));
      }
      break;
    case 3:
      if (n > 1) v[pick()] = v[pick()];
      break;
    case 4:
      if (n > 0) {
        T& x = v[pick()];
        if constexpr (std::is_floating_point_v<T>) {
          x = x * 2 + 1;
        } else {
          // Wrapping arithmetic (modular conversion back to T).
          x = static_cast<T>(static_cast<std::uint64_t>(x) + rng() % 5 - 2);
        }
      }
      break;
    case 5:
      if (n > 0) v.erase(v.begin() + static_cast<std::ptrdiff_t>(pick()));
      break;
    case 6:
      if (n > 0) {
        const std::size_t i = pick();
        v.insert(v.begin() + static_cast<std::ptrdiff_t>(i), v[i]);
      } else {
        v.push_back(T{});
      }
      break;
    case 7:
      if (n > 0) v.resize(static_cast<std::size_t>(rng() % n));
      break;
    case 8:
      if (n > 1) std::swap(v[pick()], v[pick()]);
      break;
    default: {  // libFuzzer's byte-level mutations over the column's raw bytes
      const std::size_t bytes = n * sizeof(T);
      const std::size_t cap = bytes + 64 * sizeof(T);
      std::vector<std::uint8_t> raw(cap);
      if (bytes > 0) std::memcpy(raw.data(), v.data(), bytes);
      const std::size_t got = LLVMFuzzerMutate(raw.data(), bytes, cap);
      v.resize(got / sizeof(T));
      if (!v.empty()) std::memcpy(v.data(), raw.data(), v.size() * sizeof(T));
    }
  }
}

std::size_t dataset_count(const Tables& t) {
  std::size_t n = 0;
  for_each_dataset(t, [&n](const std::string&, const auto&, ColumnKind) { ++n; });
  return n;
}

// Mutates one dataset, mostly a non-empty one.
void mutate_one(Tables& t, std::mt19937_64& rng) {
  std::vector<std::size_t> nonempty;
  std::size_t i = 0;
  for_each_dataset(t, [&](const std::string&, const auto& vec, ColumnKind) {
    if (!vec.empty()) nonempty.push_back(i);
    ++i;
  });
  const std::size_t target = !nonempty.empty() && rng() % 8 != 0
                                 ? nonempty[rng() % nonempty.size()]
                                 : static_cast<std::size_t>(rng() % i);
  i = 0;
  for_each_dataset(t, [&](const std::string&, auto& vec, ColumnKind) {
    if (i++ == target) mutate_column(vec, rng);
  });
}

}  // namespace

extern "C" std::size_t LLVMFuzzerCustomMutator(std::uint8_t* data, std::size_t size,
                                               std::size_t max_size, unsigned int seed) {
  // MPIPREP_FUZZ_PLAIN=1: byte mutations only, as before the mutator (for comparisons).
  static const bool plain = std::getenv("MPIPREP_FUZZ_PLAIN") != nullptr;
  std::mt19937_64 rng(seed);
  Decoded d;
  if (plain || rng() % 8 == 0 || !decode(data, size, d))
    return LLVMFuzzerMutate(data, size, max_size);
  const std::uint64_t stale = content_checksum(d.tables, d.format_version, d.generation);
  const int rounds = 1 + static_cast<int>(rng() % 3);
  for (int r = 0; r < rounds; ++r) {
    if (rng() % 16 == 0) {
      const std::int32_t versions[] = {0, 1, kFormatVersion, kFormatVersion + 1, -1};
      d.format_version = versions[rng() % std::size(versions)];
    } else if (rng() % 16 == 0) {
      d.generation = rng() % 2 == 0 ? 0 : rng();
    } else {
      mutate_one(d.tables, rng);
    }
  }
  const std::vector<std::uint8_t> out = encode(d, rng() % 16 != 0, stale, rng() % 4 == 0);
  if (out.empty() || out.size() > max_size) return LLVMFuzzerMutate(data, size, max_size);
  std::memcpy(data, out.data(), out.size());
  return out.size();
}

// Crossover: one dataset of the second cache replaces the same dataset of the first.
extern "C" std::size_t LLVMFuzzerCustomCrossOver(const std::uint8_t* data1, std::size_t size1,
                                                 const std::uint8_t* data2, std::size_t size2,
                                                 std::uint8_t* out, std::size_t max_out_size,
                                                 unsigned int seed) {
  if (std::getenv("MPIPREP_FUZZ_PLAIN") != nullptr) return 0;
  std::mt19937_64 rng(seed);
  Decoded a, b;
  if (!decode(data1, size1, a) || !decode(data2, size2, b)) return 0;
  std::vector<const void*> from;
  for_each_dataset(b.tables, [&from](const std::string&, const auto& vec, ColumnKind) {
    from.push_back(&vec);
  });
  const std::size_t target = static_cast<std::size_t>(rng() % dataset_count(a.tables));
  std::size_t i = 0;
  for_each_dataset(a.tables, [&](const std::string&, auto& vec, ColumnKind) {
    if (i == target) vec = *static_cast<const std::decay_t<decltype(vec)>*>(from[i]);
    ++i;
  });
  const std::vector<std::uint8_t> bytes = encode(a, true, 0, false);
  if (bytes.empty() || bytes.size() > max_out_size) return 0;
  std::memcpy(out, bytes.data(), bytes.size());
  return bytes.size();
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool reseal = std::getenv("MPIPREP_FUZZ_RESEAL") != nullptr;
  const std::string path = temp_dir() + "/cache.h5";
  if (reseal && size > kUserBlockSize) {
    // seal_file writes only over an empty (zeroed) user block, as HDF5 leaves it.
    // The seal's copies of generation and checksum (offsets 40, 48) are kept.
    std::uint64_t generation = 0, checksum = 0;
    std::memcpy(&generation, data + 40, 8);
    std::memcpy(&checksum, data + 48, 8);
    std::vector<std::uint8_t> copy(data, data + size);
    std::fill(copy.begin(), copy.begin() + kUserBlockSize, 0);
    if (!write_file(path, copy.data(), copy.size())) std::abort();
    (void)seal_file(path, generation, checksum);
  } else if (!write_file(path, data, size)) {
    std::abort();
  }
  LoadOptions opts;
  opts.move_aside = false;
  opts.max_table_bytes = 64u << 20;
  auto l = Cache::load(path, opts);
  static const bool debug = std::getenv("MPIPREP_FUZZ_DEBUG") != nullptr;
  if (debug) std::fprintf(stderr, "load: %s %s\n", std::string(load_status_name(l.report.status)).c_str(), l.report.reason.c_str());
  if (l.report.status == LoadStatus::kLoaded) {
    for (const std::string& p : l.cache.paths()) {
      (void)l.cache.get(p);
      (void)l.cache.info(p);
    }
  }
  ::unlink(path.c_str());
  return 0;
}
