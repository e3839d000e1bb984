#include "mpiprep/comm/communicator.hpp"

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

namespace mpiprep::comm {

int Communicator::next_collective_tag() {
  // Every rank calls collectives in the same order, so the sequence agrees across ranks.
  collective_seq_ = (collective_seq_ + 1) % (1 << 20);
  return kCollectiveTagBase + collective_seq_;
}

void Communicator::recv_into(int source, int tag, std::span<std::byte> buf) {
  Message m = recv(source, tag);
  if (m.data.size() != buf.size())
    throw std::runtime_error("message of " + std::to_string(m.data.size()) + " bytes, expected " +
                             std::to_string(buf.size()));
  if (!buf.empty()) std::memcpy(buf.data(), m.data.data(), buf.size());
}

void Communicator::barrier() {
  Bytes none;
  (void)gather(none, 0);
  bcast(none, 0);
}

void Communicator::bcast(Bytes& data, int root) {
  const int tag = next_collective_tag();
  if (rank() == root) {
    for (int r = 0; r < size(); ++r)
      if (r != root) send(r, tag, data);
  } else {
    data = recv(root, tag).data;
  }
}

std::vector<Bytes> Communicator::gather(const Bytes& mine, int root) {
  const int tag = next_collective_tag();
  std::vector<Bytes> all;
  if (rank() != root) {
    send(root, tag, mine);
    return all;
  }
  all.resize(static_cast<std::size_t>(size()));
  all[static_cast<std::size_t>(root)] = mine;
  for (int i = 1; i < size(); ++i) {
    Message m = recv(kAnySource, tag);
    all[static_cast<std::size_t>(m.source)] = std::move(m.data);
  }
  return all;
}

namespace {
template <typename T, typename Op>
T reduce_via_root(Communicator& c, T v, Op op) {
  auto parts = c.gather(to_bytes(v), 0);
  Bytes out;
  if (c.rank() == 0) {
    T acc = v;
    for (int r = 1; r < c.size(); ++r) acc = op(acc, from_bytes<T>(parts[static_cast<std::size_t>(r)]));
    out = to_bytes(acc);
  }
  c.bcast(out, 0);
  return from_bytes<T>(out);
}
}  // namespace

double Communicator::allreduce_max(double v) {
  return reduce_via_root(*this, v, [](double a, double b) { return std::max(a, b); });
}
double Communicator::allreduce_min(double v) {
  return reduce_via_root(*this, v, [](double a, double b) { return std::min(a, b); });
}
double Communicator::allreduce_sum(double v) {
  return reduce_via_root(*this, v, [](double a, double b) { return a + b; });
}
std::int64_t Communicator::allreduce_sum(std::int64_t v) {
  return reduce_via_root(*this, v, [](std::int64_t a, std::int64_t b) { return a + b; });
}

// ---- Serial --------------------------------------------------------------------------------

namespace {
bool matches(const Message& m, int source, int tag) {
  return (source == kAnySource || m.source == source) && (tag == kAnyTag || m.tag == tag);
}
}  // namespace

void SerialCommunicator::send(int dest, int tag, std::span<const std::byte> data) {
  if (dest != 0) throw std::out_of_range("SerialCommunicator::send to rank " + std::to_string(dest));
  queue_.push_back(Message{0, tag, Bytes(data.begin(), data.end())});
}

Message SerialCommunicator::recv(int source, int tag) {
  auto m = try_recv(source, tag);
  if (!m) throw std::logic_error("SerialCommunicator::recv would block forever");
  return std::move(*m);
}

std::optional<Message> SerialCommunicator::try_recv(int source, int tag) {
  auto it = std::find_if(queue_.begin(), queue_.end(),
                         [&](const Message& m) { return matches(m, source, tag); });
  if (it == queue_.end()) return std::nullopt;
  Message m = std::move(*it);
  queue_.erase(it);
  return m;
}

void SerialCommunicator::abort(int exit_code) { std::_Exit(exit_code); }

// ---- Threads -------------------------------------------------------------------------------

namespace {

struct AbortedError : std::runtime_error {
  AbortedError() : std::runtime_error("communicator aborted") {}
};

struct Hub {
  explicit Hub(int n) : boxes(static_cast<std::size_t>(n)) {}
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::deque<Message>> boxes;
  bool aborted = false;
};

class ThreadCommunicator final : public Communicator {
 public:
  ThreadCommunicator(Hub& hub, int rank) : hub_(hub), rank_(rank) {}
  [[nodiscard]] int rank() const override { return rank_; }
  [[nodiscard]] int size() const override { return static_cast<int>(hub_.boxes.size()); }

  void send(int dest, int tag, std::span<const std::byte> data) override {
    if (dest < 0 || dest >= size()) throw std::out_of_range("send to rank " + std::to_string(dest));
    {
      std::lock_guard lock(hub_.mu);
      if (hub_.aborted) throw AbortedError();
      hub_.boxes[static_cast<std::size_t>(dest)].push_back(
          Message{rank_, tag, Bytes(data.begin(), data.end())});
    }
    hub_.cv.notify_all();
  }

  Message recv(int source, int tag) override {
    std::unique_lock lock(hub_.mu);
    for (;;) {
      if (hub_.aborted) throw AbortedError();
      if (auto m = take(source, tag)) return std::move(*m);
      hub_.cv.wait(lock);
    }
  }

  std::optional<Message> try_recv(int source, int tag) override {
    std::lock_guard lock(hub_.mu);
    if (hub_.aborted) throw AbortedError();
    return take(source, tag);
  }

  [[noreturn]] void abort(int /*exit_code*/) override {
    {
      std::lock_guard lock(hub_.mu);
      hub_.aborted = true;
    }
    hub_.cv.notify_all();
    throw AbortedError();
  }

 private:
  std::optional<Message> take(int source, int tag) {
    auto& box = hub_.boxes[static_cast<std::size_t>(rank_)];
    auto it = std::find_if(box.begin(), box.end(),
                           [&](const Message& m) { return matches(m, source, tag); });
    if (it == box.end()) return std::nullopt;
    Message m = std::move(*it);
    box.erase(it);
    return m;
  }

  Hub& hub_;
  int rank_;
};

}  // namespace

void run_in_threads(int n, const std::function<void(Communicator&)>& fn) {
  Hub hub(n);
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(n));
  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(n));
  for (int r = 0; r < n; ++r) {
    threads.emplace_back([&, r] {
      ThreadCommunicator comm(hub, r);
      try {
        fn(comm);
      } catch (...) {
        errors[static_cast<std::size_t>(r)] = std::current_exception();
        {
          std::lock_guard lock(hub.mu);
          hub.aborted = true;  // release ranks blocked in recv
        }
        hub.cv.notify_all();
      }
    });
  }
  for (auto& t : threads) t.join();
  // Report the original failure, not the AbortedError it caused elsewhere.
  for (auto& e : errors) {
    if (!e) continue;
    try {
      std::rethrow_exception(e);
    } catch (const AbortedError&) {
      continue;
    } catch (...) {
      throw;
    }
  }
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace mpiprep::comm
