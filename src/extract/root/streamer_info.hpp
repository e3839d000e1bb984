// Internal: the file's TStreamerInfo list (the "StreamerInfo" key at fSeekInfo), decoded far
// enough to lay out a class version member by member. The TTree decoder falls back on it for
// class versions it has no hand-written layout for, as uproot and jsroot do.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mpiprep/core/result.hpp"

namespace mpiprep::extract::root {

// TVirtualStreamerInfo type codes used by the generic walker.
namespace streamer_type {
inline constexpr int kBase = 0;
inline constexpr int kOffsetL = 20;  // + basic type: fixed-size array
inline constexpr int kOffsetP = 40;  // + basic type: array whose length is another member
inline constexpr int kCharStar = 7;
inline constexpr int kDouble32 = 9;
inline constexpr int kFloat16 = 19;
inline constexpr int kObject = 61;
inline constexpr int kAny = 62;
inline constexpr int kObjectp = 63;
inline constexpr int kObjectP = 64;
inline constexpr int kTString = 65;
inline constexpr int kTObject = 66;
inline constexpr int kTNamed = 67;
inline constexpr int kAnyp = 68;
inline constexpr int kAnyP = 69;
inline constexpr int kSTLp = 71;
inline constexpr int kSTL = 300;
inline constexpr int kStreamer = 500;
inline constexpr int kStreamLoop = 501;
}  // namespace streamer_type

struct StreamerElement {
  std::string element_class;  // "TStreamerBase", "TStreamerBasicType", ...
  std::string name;
  std::string type_name;
  std::string count_name;  // TStreamerBasicPointer / TStreamerLoop: the length member
  int type = 0;
  int size = 0;
  int array_length = 0;
  int base_version = -1;  // TStreamerBase
};

struct StreamerClass {
  std::string name;
  int version = 0;
  std::vector<StreamerElement> elements;
};

struct StreamerInfos {
  std::vector<StreamerClass> classes;
  [[nodiscard]] const StreamerClass* find(std::string_view name, int version) const {
    for (const StreamerClass& c : classes) {
      if (c.version == version && c.name == name) return &c;
    }
    return nullptr;
  }
};

// Size in bytes of a basic type code (1..19, without kOffsetL/kOffsetP), 0 if not basic or
// not of fixed size (kCharStar, Double32_t, Float16_t).
int basic_type_size(int type) noexcept;

// Decodes the uncompressed StreamerInfo record (a TList of TStreamerInfo). Errors: kCorrupt,
// kUnsupportedVersion.
[[nodiscard]] Result<StreamerInfos> parse_streamer_infos(std::span<const std::byte> payload, std::uint32_t keylen);

}  // namespace mpiprep::extract::root
