#include "mpiprep/schedule/protocol.hpp"

#include "mpiprep/journal/serialization.hpp"

namespace mpiprep::schedule {

template <class Archive>
void serialize(Archive& ar, WorkItem& w, const unsigned /*version*/) {
  wire::io_string(ar, w.path);
  wire::io(ar, w.size);
  wire::io(ar, w.mtime_ns);
  wire::io_as<std::uint8_t>(ar, w.hint, static_cast<std::uint8_t>(FileFormat::kParquet));
}

namespace protocol {

namespace {
template <class Archive>
void io_u64s(Archive& ar, std::vector<std::uint64_t>& v) {
  wire::io_vector(ar, v, [](Archive& a, std::uint64_t& x) { wire::io(a, x); });
}
}  // namespace

template <class Archive>
void serialize(Archive& ar, Request& r, const unsigned /*version*/) {
  wire::io(ar, r.threads);
  wire::io(ar, r.want);
  io_u64s(ar, r.returned);
  io_u64s(ar, r.result_index);
  wire::io_bytes(ar, r.results);
}

template <class Archive>
void serialize(Archive& ar, Reply& r, const unsigned /*version*/) {
  wire::io_as<std::uint8_t>(ar, r.done, std::uint8_t{1});
  io_u64s(ar, r.index);
  wire::io_vector(ar, r.items);
}

}  // namespace protocol
}  // namespace mpiprep::schedule

BOOST_CLASS_IMPLEMENTATION(mpiprep::schedule::WorkItem, boost::serialization::object_serializable)
BOOST_CLASS_TRACKING(mpiprep::schedule::WorkItem, boost::serialization::track_never)
BOOST_CLASS_IMPLEMENTATION(mpiprep::schedule::protocol::Request,
                           boost::serialization::object_serializable)
BOOST_CLASS_TRACKING(mpiprep::schedule::protocol::Request, boost::serialization::track_never)
BOOST_CLASS_IMPLEMENTATION(mpiprep::schedule::protocol::Reply,
                           boost::serialization::object_serializable)
BOOST_CLASS_TRACKING(mpiprep::schedule::protocol::Reply, boost::serialization::track_never)

namespace mpiprep::schedule::protocol {

comm::Bytes encode(const Request& r) {
  comm::Bytes out;
  wire::append_archive(out, r);
  return out;
}

comm::Bytes encode(const Reply& r) {
  comm::Bytes out;
  wire::append_archive(out, r);
  return out;
}

Result<Request> decode_request(std::span<const std::byte> bytes) {
  auto r = wire::read_archive<Request>(bytes, "schedule request");
  if (r.ok() && r->results.empty() && !r->result_index.empty())
    return make_error(ErrorKind::kCorrupt, "schedule request: result indices without results");
  return r;
}

Result<Reply> decode_reply(std::span<const std::byte> bytes) {
  auto r = wire::read_archive<Reply>(bytes, "schedule reply");
  if (r.ok() && r->index.size() != r->items.size())
    return make_error(ErrorKind::kCorrupt, "schedule reply: " + std::to_string(r->index.size()) +
                                               " indices for " + std::to_string(r->items.size()) +
                                               " items");
  return r;
}

}  // namespace mpiprep::schedule::protocol
