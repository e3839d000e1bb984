#include "mpiprep/comm/mpi_communicator.hpp"

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <stdexcept>
#include <string>
#include <thread>

namespace mpiprep::comm {
namespace {

void check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, msg, &len);
  throw std::runtime_error(std::string(what) + ": " + std::string(msg, static_cast<std::size_t>(len)));
}

// Waits for a non-blocking collective without burning the core: MPI_Test in a loop for
// 200 us, then sleeps between tests (50 us, doubling to 1 ms). Open MPI's blocking collectives
// busy-poll, so a rank waiting for rank 0's serial phases (input walk, cache load, output)
// used a whole core for nothing, which on a shared or oversubscribed node is taken from rank 0.
// Used for the small first stage of each collective (sizes, barrier, reductions), where ranks
// wait for each other; bulk data moves with blocking calls once everyone is there, so a large
// broadcast is not slowed by sleeping intermediate ranks.
void wait_politely(MPI_Request& req, const char* what) {
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  auto pause = std::chrono::microseconds(50);
  for (;;) {
    int done = 0;
    check(MPI_Test(&req, &done, MPI_STATUS_IGNORE), what);
    if (done != 0) return;
    if (Clock::now() - t0 < std::chrono::microseconds(200)) continue;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(1000));
  }
}

int to_count(std::size_t n) {
  if (n > static_cast<std::size_t>(INT_MAX)) throw std::length_error("MPI message over 2 GiB");
  return static_cast<int>(n);
}

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator() {
    check(MPI_Comm_dup(MPI_COMM_WORLD, &comm_), "MPI_Comm_dup");
    MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
  }
  ~MpiCommunicator() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Comm_free(&comm_);
  }
  MpiCommunicator(const MpiCommunicator&) = delete;
  MpiCommunicator& operator=(const MpiCommunicator&) = delete;

  [[nodiscard]] int rank() const override { return rank_; }
  [[nodiscard]] int size() const override { return size_; }

  void send(int dest, int tag, std::span<const std::byte> data) override {
    // Messages here are small record batches; MPI_Send of those is eager (buffered) in practice,
    // and the dispatcher never has two ranks sending large messages to each other at once.
    check(MPI_Send(data.data(), to_count(data.size()), MPI_BYTE, dest, tag, comm_), "MPI_Send");
  }

  Message recv(int source, int tag) override {
    MPI_Status st;
    check(MPI_Probe(src(source), tg(tag), comm_, &st), "MPI_Probe");
    return receive_probed(st);
  }

  void recv_into(int source, int tag, std::span<std::byte> buf) override {
    MPI_Status st;
    check(MPI_Recv(buf.data(), to_count(buf.size()), MPI_BYTE, src(source), tg(tag), comm_, &st),
          "MPI_Recv");
    int n = 0;
    check(MPI_Get_count(&st, MPI_BYTE, &n), "MPI_Get_count");
    if (static_cast<std::size_t>(n) != buf.size())
      throw std::runtime_error("MPI_Recv: message of " + std::to_string(n) + " bytes, expected " +
                               std::to_string(buf.size()));
  }

  std::optional<Message> try_recv(int source, int tag) override {
    MPI_Status st;
    int flag = 0;
    check(MPI_Iprobe(src(source), tg(tag), comm_, &flag, &st), "MPI_Iprobe");
    if (!flag) return std::nullopt;
    return receive_probed(st);
  }

  [[noreturn]] void abort(int exit_code) override {
    MPI_Abort(comm_, exit_code);
    std::abort();
  }

  void barrier() override {
    MPI_Request req = MPI_REQUEST_NULL;
    check(MPI_Ibarrier(comm_, &req), "MPI_Ibarrier");
    wait_politely(req, "MPI_Ibarrier");
  }

  void bcast(Bytes& data, int root) override {
    unsigned long long n = data.size();
    MPI_Request req = MPI_REQUEST_NULL;
    check(MPI_Ibcast(&n, 1, MPI_UNSIGNED_LONG_LONG, root, comm_, &req), "MPI_Ibcast");
    wait_politely(req, "MPI_Ibcast");
    data.resize(n);
    check(MPI_Bcast(data.data(), to_count(n), MPI_BYTE, root, comm_), "MPI_Bcast");
  }

  std::vector<Bytes> gather(const Bytes& mine, int root) override {
    int n = to_count(mine.size());
    std::vector<int> counts(rank_ == root ? static_cast<std::size_t>(size_) : 0);
    MPI_Request req = MPI_REQUEST_NULL;
    check(MPI_Igather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, root, comm_, &req),
          "MPI_Igather");
    wait_politely(req, "MPI_Igather");
    std::vector<int> displs;
    Bytes flat;
    if (rank_ == root) {
      displs.resize(counts.size());
      std::size_t total = 0;
      for (std::size_t i = 0; i < counts.size(); ++i) {
        displs[i] = to_count(total);
        total += static_cast<std::size_t>(counts[i]);
      }
      flat.resize(total);
    }
    check(MPI_Gatherv(mine.data(), n, MPI_BYTE, flat.data(), counts.data(), displs.data(),
                      MPI_BYTE, root, comm_),
          "MPI_Gatherv");
    std::vector<Bytes> out;
    if (rank_ == root) {
      out.resize(counts.size());
      for (std::size_t i = 0; i < counts.size(); ++i)
        out[i].assign(flat.begin() + displs[i], flat.begin() + displs[i] + counts[i]);
    }
    return out;
  }

  double allreduce_max(double v) override { return reduce(v, MPI_MAX); }
  double allreduce_min(double v) override { return reduce(v, MPI_MIN); }
  double allreduce_sum(double v) override { return reduce(v, MPI_SUM); }
  std::int64_t allreduce_sum(std::int64_t v) override {
    long long in = v, out = 0;
    MPI_Request req = MPI_REQUEST_NULL;
    check(MPI_Iallreduce(&in, &out, 1, MPI_LONG_LONG, MPI_SUM, comm_, &req), "MPI_Iallreduce");
    wait_politely(req, "MPI_Iallreduce");
    return out;
  }

  [[nodiscard]] const void* mpi_comm_handle() const override { return &comm_; }

 private:
  static int src(int s) { return s == kAnySource ? MPI_ANY_SOURCE : s; }
  static int tg(int t) { return t == kAnyTag ? MPI_ANY_TAG : t; }

  double reduce(double v, MPI_Op op) {
    double out = 0;
    MPI_Request req = MPI_REQUEST_NULL;
    check(MPI_Iallreduce(&v, &out, 1, MPI_DOUBLE, op, comm_, &req), "MPI_Iallreduce");
    wait_politely(req, "MPI_Iallreduce");
    return out;
  }

  Message receive_probed(const MPI_Status& st) {
    int count = 0;
    MPI_Get_count(&st, MPI_BYTE, &count);
    Message m;
    m.source = st.MPI_SOURCE;
    m.tag = st.MPI_TAG;
    m.data.resize(static_cast<std::size_t>(count));
    check(MPI_Recv(m.data.data(), count, MPI_BYTE, st.MPI_SOURCE, st.MPI_TAG, comm_,
                   MPI_STATUS_IGNORE),
          "MPI_Recv");
    return m;
  }

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  int size_ = 1;
};

}  // namespace

std::unique_ptr<Communicator> make_mpi_world_communicator() {
  return std::make_unique<MpiCommunicator>();
}

MpiSession::MpiSession(int* argc, char*** argv) {
  int provided = 0;
  // FUNNELED: only the main thread of a rank calls MPI (ROOT extraction threads do not).
  MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
}

MpiSession::~MpiSession() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

}  // namespace mpiprep::comm
