// The communicator seen by library code (Caliper-style): a virtual interface whose default is
// serial, with an MPI implementation for real runs and an in-process one (threads) for unit
// tests of the dispatcher and collectives. Library code never names MPI_COMM_WORLD.
//
// Collectives are implemented here on top of point-to-point messages, so an implementation only
// has to provide send/recv/probe; MpiCommunicator overrides them with real MPI collectives.
#pragma once

#include <cstddef>
#include <cstring>
#include <functional>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

namespace mpiprep::comm {

using Bytes = std::vector<std::byte>;

inline constexpr int kAnySource = -1;
inline constexpr int kAnyTag = -1;
// Tags at or above this value are reserved for the collectives below.
inline constexpr int kCollectiveTagBase = 1 << 20;

struct Message {
  int source = 0;
  int tag = 0;
  Bytes data;
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  [[nodiscard]] virtual int rank() const = 0;
  [[nodiscard]] virtual int size() const = 0;

  // Local. Sends are buffered: they complete without a matching receive being posted.
  virtual void send(int dest, int tag, std::span<const std::byte> data) = 0;
  // Local. Blocks until a message matching (source, tag) arrives.
  virtual Message recv(int source, int tag) = 0;
  // Local. Non-blocking: a matching message if one has arrived.
  virtual std::optional<Message> try_recv(int source, int tag) = 0;
  // Local. recv() straight into `buf`, which must be the message's exact size (else
  // std::runtime_error): large payloads land where they are used, without a copy. The default
  // receives and copies; MPI receives in place.
  virtual void recv_into(int source, int tag, std::span<std::byte> buf);
  // Local. Aborts every rank (after an exception, so no rank is left in a collective).
  [[noreturn]] virtual void abort(int exit_code) = 0;

  // Collective. Default implementations go through rank 0.
  virtual void barrier();
  // Collective. data is replaced by root's on every other rank.
  virtual void bcast(Bytes& data, int root);
  // Collective. On root: one entry per rank (its own included); elsewhere: empty.
  virtual std::vector<Bytes> gather(const Bytes& mine, int root);
  // Collective.
  virtual double allreduce_max(double v);
  virtual double allreduce_min(double v);
  virtual double allreduce_sum(double v);
  virtual std::int64_t allreduce_sum(std::int64_t v);

  // Non-null only for MPI: a pointer to the MPI_Comm, for parallel HDF5 (H5Pset_fapl_mpio).
  [[nodiscard]] virtual const void* mpi_comm_handle() const { return nullptr; }

 private:
  int next_collective_tag();
  int collective_seq_ = 0;
};

// One rank, no MPI. Point-to-point goes to self.
class SerialCommunicator final : public Communicator {
 public:
  [[nodiscard]] int rank() const override { return 0; }
  [[nodiscard]] int size() const override { return 1; }
  void send(int dest, int tag, std::span<const std::byte> data) override;
  Message recv(int source, int tag) override;
  std::optional<Message> try_recv(int source, int tag) override;
  [[noreturn]] void abort(int exit_code) override;

 private:
  std::vector<Message> queue_;
};

// N ranks as N threads of one process: run(n, fn) calls fn(comm) on n threads and joins them.
// An exception on any thread is rethrown by run() after all threads finished or were
// released (abort() wakes every blocked rank with an exception).
void run_in_threads(int n, const std::function<void(Communicator&)>& fn);

// Serializes a trivially-copyable value to bytes and back (for small collective payloads).
template <typename T>
Bytes to_bytes(const T& v) {
  Bytes b(sizeof(T));
  std::memcpy(b.data(), &v, sizeof(T));
  return b;
}
template <typename T>
T from_bytes(std::span<const std::byte> b) {
  T v{};
  std::memcpy(&v, b.data(), sizeof(T) <= b.size() ? sizeof(T) : b.size());
  return v;
}

}  // namespace mpiprep::comm
