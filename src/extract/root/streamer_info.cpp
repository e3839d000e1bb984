// TList of TStreamerInfo → StreamerInfos. Layouts: TStreamerInfo (TNamed, fCheckSum,
// fClassVersion, fElements), TStreamerElement (TNamed, fType, fSize, fArrayLength,
// fArrayDim, fMaxIndex, fTypeName), TStreamerBase (+fBaseVersion), TStreamerBasicPointer
// and TStreamerLoop (+fCountVersion, fCountName, fCountClass), as in ROOT's
// TStreamerElement.cxx and uproot's streamers.py.
#include "extract/root/streamer_info.hpp"

#include "extract/root/object_stream.hpp"

namespace mpiprep::extract::root {
namespace {

constexpr std::size_t kMaxElements = 1u << 16;

class InfoParser : private ObjectStream {
 public:
  InfoParser(Cursor& c, std::uint32_t keylen, StreamerInfos& out) : ObjectStream(c, keylen), out_(out) {}

  void list() {
    const VersionHeader h = version_header("TList");
    if (!c_.ok()) return;
    if (h.version > 3) tobject();
    (void)c_.tstring();  // fName
    const std::int32_t n = c_.i32();
    if (!c_.ok()) return;
    if (n < 0 || static_cast<std::size_t>(n) > c_.remaining() / 4) {
      return c_.fail_corrupt("TList of " + std::to_string(n) + " objects does not fit");
    }
    for (std::int32_t i = 0; i < n && c_.ok(); ++i) {
      const ObjectTag tag = object_tag();
      if (!c_.ok()) return;
      if (tag.kind == ObjectTag::kNew && tag.cls == "TStreamerInfo") {
        info(tag);
      }
      skip_object(tag);
      const std::uint8_t option = c_.u8();  // TList stores an option string per entry
      c_.skip(option);
    }
    end_object(h);
  }

 private:
  void info(const ObjectTag& tag) {
    const VersionHeader h = version_header("TStreamerInfo");
    if (!c_.ok()) return;
    StreamerClass sc;
    std::string_view name;
    std::string_view title;
    tnamed(name, title);
    sc.name = std::string(name);
    (void)c_.u32();  // fCheckSum
    sc.version = c_.i32();
    const ObjectTag arr = object_tag();
    if (c_.ok() && arr.kind == ObjectTag::kNew && arr.cls == "TObjArray") {
      VersionHeader ah;
      const std::size_t n = obj_array_header(ah);
      if (n > kMaxElements) return c_.fail_corrupt("too many streamer elements");
      for (std::size_t i = 0; i < n && c_.ok(); ++i) {
        const ObjectTag et = object_tag();
        if (!c_.ok()) return;
        if (et.kind == ObjectTag::kNew && et.cls.starts_with("TStreamer")) {
          sc.elements.push_back(element(et));
        }
        skip_object(et);
      }
      end_object(ah);
    }
    skip_object(arr);
    end_object(h);
    if (c_.ok() && tag.end != kNoEnd && c_.pos() > tag.end) return c_.fail_corrupt("TStreamerInfo overran its byte count");
    if (c_.ok()) out_.classes.push_back(std::move(sc));
  }

  StreamerElement element(const ObjectTag& tag) {
    StreamerElement e;
    e.element_class = std::string(tag.cls);
    const VersionHeader h = version_header(tag.cls);
    if (!c_.ok()) return e;
    // Every concrete element class wraps the TStreamerElement base in its own header;
    // TStreamerSTLstring has TStreamerSTL in between.
    VersionHeader middle;
    if (tag.cls == "TStreamerSTLstring") middle = version_header("TStreamerSTL");
    VersionHeader base = h;
    if (tag.cls != "TStreamerElement") base = version_header("TStreamerElement");
    if (!c_.ok()) return e;
    std::string_view name;
    std::string_view title;
    tnamed(name, title);
    e.name = std::string(name);
    e.type = c_.i32();
    e.size = c_.i32();
    e.array_length = c_.i32();
    (void)c_.i32();  // fArrayDim
    if (base.version == 1) {
      const std::int32_t n = c_.i32();
      if (n < 0 || n > 5) {
        c_.fail_corrupt("bad fMaxIndex length");
        return e;
      }
      c_.skip(4 * static_cast<std::size_t>(n));
    } else {
      c_.skip(5 * 4);  // fMaxIndex[5]
    }
    e.type_name = std::string(c_.tstring());
    if (e.type == 11 && (e.type_name == "Bool_t" || e.type_name == "bool")) e.type = 18;
    end_object(base);
    if (tag.cls == "TStreamerBase" && h.version >= 2) e.base_version = c_.i32();
    if (tag.cls == "TStreamerBasicPointer" || tag.cls == "TStreamerLoop") {
      (void)c_.i32();  // fCountVersion
      e.count_name = std::string(c_.tstring());
      (void)c_.tstring();  // fCountClass
    }
    end_object(middle);
    end_object(h);
    return e;
  }

  StreamerInfos& out_;
};

}  // namespace

int basic_type_size(int type) noexcept {
  switch (type) {
    case 1:   // kChar
    case 10:  // kLegacyChar
    case 11:  // kUChar
    case 18:  // kBool
      return 1;
    case 2:   // kShort
    case 12:  // kUShort
      return 2;
    case 3:   // kInt
    case 5:   // kFloat
    case 6:   // kCounter
    case 13:  // kUInt
    case 15:  // kBits
      return 4;
    case 4:   // kLong
    case 8:   // kDouble
    case 14:  // kULong
    case 16:  // kLong64
    case 17:  // kULong64
      return 8;
    default:
      return 0;
  }
}

Result<StreamerInfos> parse_streamer_infos(std::span<const std::byte> payload, std::uint32_t keylen) {
  StreamerInfos out;
  Cursor c(payload, "the StreamerInfo record");
  InfoParser p(c, keylen, out);
  p.list();
  if (!c.ok()) return c.error();
  return out;
}

}  // namespace mpiprep::extract::root
