// Messages between the dispatcher (rank 0) and workers. Public so tests can play a rogue
// worker; nothing else should need it.
//
// Strict alternation per worker: a worker sends a Request only when it has no Request
// unanswered, and rank 0 sends a Reply only in answer to a Request. So two ranks never sit in
// blocking sends to each other (large MPI messages use a rendezvous protocol, and crossed
// rendezvous sends deadlock). Results ride on Requests: a worker that needs no work still
// sends a Request (want = 0) to deliver results or to return queued items.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "mpiprep/comm/communicator.hpp"
#include "mpiprep/core/result.hpp"
#include "mpiprep/schedule/cost_model.hpp"

namespace mpiprep::schedule::protocol {

inline constexpr int kTagRequest = 0x5C01;
inline constexpr int kTagReply = 0x5C02;

struct Request {
  std::uint32_t threads = 1;                // extraction threads of the sender
  std::uint32_t want = 0;                   // items wanted now (0: none)
  std::vector<std::uint64_t> returned;      // queued, unstarted items given back (straggler)
  std::vector<std::uint64_t> result_index;  // item index of each result, in order
  std::vector<std::byte> results;           // wire::encode of the FileMeta, same order
};

struct Reply {
  bool done = false;                 // every item has a result: finish and leave
  std::vector<std::uint64_t> index;  // item indices (rank 0's input order)
  std::vector<WorkItem> items;       // same order; empty with !done: none now, ask again later
};

comm::Bytes encode(const Request& r);
comm::Bytes encode(const Reply& r);
// Never throw: garbage is ErrorKind::kCorrupt.
[[nodiscard]] Result<Request> decode_request(std::span<const std::byte> bytes);
[[nodiscard]] Result<Reply> decode_reply(std::span<const std::byte> bytes);

}  // namespace mpiprep::schedule::protocol
