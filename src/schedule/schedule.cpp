#include "mpiprep/schedule/schedule.hpp"

#include <algorithm>
#include <deque>
#include <optional>
#include <thread>

#include "mpiprep/core/log.hpp"
#include "mpiprep/journal/journal.hpp"
#include "mpiprep/journal/serialization.hpp"
#include "mpiprep/schedule/protocol.hpp"
#include "schedule/executor.hpp"

namespace mpiprep::schedule {

template <class Archive>
void serialize(Archive& ar, RankStats& s, const unsigned /*version*/) {
  wire::io_as<std::int32_t>(ar, s.rank);
  wire::io_as<std::int32_t>(ar, s.threads);
  wire::io(ar, s.wall_s);
  wire::io(ar, s.busy_s);
  wire::io(ar, s.idle_s);
  wire::io(ar, s.files);
  wire::io(ar, s.failed);
  wire::io(ar, s.timeouts);
  wire::io(ar, s.bytes);
  wire::io(ar, s.bytes_read);
  wire::io(ar, s.messages_sent);
  wire::io(ar, s.messages_received);
  wire::io(ar, s.bytes_sent);
  wire::io(ar, s.bytes_received);
  wire::io(ar, s.batches);
  wire::io(ar, s.requeued);
  wire::io(ar, s.abandoned_threads);
  wire::io_string(ar, s.journal_error);
}

}  // namespace mpiprep::schedule

BOOST_CLASS_IMPLEMENTATION(mpiprep::schedule::RankStats, boost::serialization::object_serializable)
BOOST_CLASS_TRACKING(mpiprep::schedule::RankStats, boost::serialization::track_never)

namespace mpiprep::schedule {
namespace {

using detail::Clock;
using detail::Done;
using detail::Executor;
using detail::Task;

constexpr auto kMinBackoff = std::chrono::milliseconds(1);
constexpr auto kMaxBackoff = std::chrono::milliseconds(20);

Clock::duration to_duration(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

FileMeta error_meta(const WorkItem& item, ErrorKind kind, std::string message, int rank) {
  FileMeta m;
  m.path = item.path;
  m.size = item.size;
  m.mtime_ns = item.mtime_ns;
  m.format = item.hint;
  m.error_kind = kind;
  m.error_message = std::move(message);
  m.rank = rank;
  return m;
}

// Per-rank bookkeeping shared by both roles.
class RankState {
 public:
  RankState(comm::Communicator& comm, const ScheduleOptions& opt)
      : comm_(comm), opt_(opt), start_(Clock::now()) {
    stats_.rank = comm.rank();
    stats_.threads = opt.threads_per_rank;
  }

  // A result this rank extracted: count it, journal it, hand it to the callback.
  void local_result(const Done& d) {
    ++stats_.files;
    if (!d.meta.ok()) ++stats_.failed;
    if (d.timed_out) ++stats_.timeouts;
    stats_.bytes += d.item_size;
    stats_.bytes_read += static_cast<std::int64_t>(d.meta.bytes_read);
    if (opt_.journal != nullptr) {
      if (Status s = opt_.journal->append(d.meta); !s && stats_.journal_error.empty()) {
        stats_.journal_error = s.error().to_string();
        log::warn("schedule", "journal append failed, finished work is not crash-safe: " +
                                  stats_.journal_error);
      }
    }
    if (opt_.on_result) opt_.on_result(d.meta);
    if (opt_.on_result_span) opt_.on_result_span(d.meta, d.started, d.finished);
  }

  void send(int dest, int tag, const comm::Bytes& bytes) {
    comm_.send(dest, tag, bytes);
    ++stats_.messages_sent;
    stats_.bytes_sent += static_cast<std::int64_t>(bytes.size());
  }

  void received(const comm::Message& m) {
    ++stats_.messages_received;
    stats_.bytes_received += static_cast<std::int64_t>(m.data.size());
  }

  // Final numbers, then the collective gather of every rank's stats to rank 0.
  void finish(const Executor& ex, ScheduleStats* out) {
    stats_.wall_s = seconds_since(start_);
    stats_.busy_s = ex.busy_seconds();
    const int threads = std::max(1, opt_.threads_per_rank);
    stats_.idle_s = std::max(0.0, threads * stats_.wall_s - stats_.busy_s);
    stats_.abandoned_threads = ex.abandoned();
    comm::Bytes mine;
    wire::append_archive(mine, stats_);
    auto all = comm_.gather(mine, 0);
    if (out == nullptr) return;
    out->ranks.clear();
    if (comm_.rank() != 0) {
      out->ranks.push_back(stats_);
      return;
    }
    for (std::size_t r = 0; r < all.size(); ++r) {
      if (r == 0) {
        out->ranks.push_back(stats_);
        continue;
      }
      auto s = wire::read_archive<RankStats>(all[r], "schedule stats of rank " + std::to_string(r));
      if (s.ok()) {
        out->ranks.push_back(s.value());
      } else {
        ++out->decode_errors;
        out->problems.push_back(s.error().message);
        RankStats blank;
        blank.rank = static_cast<int>(r);
        out->ranks.push_back(blank);
      }
    }
  }

  RankStats& stats() { return stats_; }
  comm::Communicator& comm() { return comm_; }

 private:
  comm::Communicator& comm_;
  const ScheduleOptions& opt_;
  const Clock::time_point start_;
  RankStats stats_;
};

// ---- Rank 0 --------------------------------------------------------------------------------

class Dispatcher {
 public:
  Dispatcher(comm::Communicator& comm, const std::vector<WorkItem>& items, const ExtractFn& fn,
             const ScheduleOptions& opt, ScheduleStats* stats)
      : items_(items),
        fn_(fn),
        opt_(opt),
        stats_(stats),
        rank_(comm, opt),
        results_(items.size()),
        state_(items.size(), kPending),
        owner_(items.size(), -1),
        dispatched_(items.size(), 0),
        unresolved_(items.size()),
        done_sent_(static_cast<std::size_t>(comm.size()), 0),
        workers_left_(comm.size() - 1),
        worker_threads_(static_cast<std::size_t>(comm.size()), std::max(1, opt.threads_per_rank)) {
    const Predictor predict =
        opt.predict ? opt.predict
                    : Predictor([&m = opt.cost_model](const WorkItem& w) { return m.predict(w); });
    cost_.resize(items.size());
    double total_cost = 0;
    for (std::size_t i = 0; i < items.size(); ++i) {
      const double c = predict(items[i]);
      cost_[i] = c > 0.0 ? c : 0.0;  // NaN and negatives count as free
      total_cost += cost_[i];
    }
    pools_.resize(opt.static_split ? static_cast<std::size_t>(comm.size()) : 1);
    pool_cost_.assign(pools_.size(), 0.0);
    if (opt.static_split) {
      // Rank r's slice is [r*n/P, (r+1)*n/P): input order, no cost ordering.
      const std::size_t n = items.size(), p = pools_.size();
      for (std::size_t r = 0; r < p; ++r)
        for (std::size_t i = r * n / p; i < (r + 1) * n / p; ++i) {
          pools_[r].push_back(i);
          pool_cost_[r] += cost_[i];
        }
    } else {
      const auto order = largest_first(items, predict);
      pools_[0].assign(order.begin(), order.end());
      pool_cost_[0] = total_cost;
    }
    total_threads_ = std::max(1, opt.threads_per_rank) * comm.size();
    if (stats_ != nullptr) *stats_ = ScheduleStats{};
  }

  std::vector<FileMeta> run() {
    Executor ex(fn_, opt_.threads_per_rank, opt_.timeout_s, 0, opt_.max_abandoned_threads);
    comm::Communicator& comm = rank_.comm();
    const auto poll = to_duration(opt_.poll_interval_s);
    for (;;) {
      if (!stopping_ && opt_.stop != nullptr && opt_.stop->load(std::memory_order_acquire)) {
        stopping_ = true;
        if (stats_ != nullptr) stats_->stopped = true;
        std::vector<std::uint64_t> back;
        for (const Task& t : ex.take_queued()) back.push_back(t.index);
        give_back(0, back);
        const std::size_t left = drain_pool();
        log::info("schedule", "stop requested: dispatching no more work; " +
                                  std::to_string(left) + " files not started, " +
                                  std::to_string(unresolved_) + " still running");
      }
      while (auto m = comm.try_recv(comm::kAnySource, protocol::kTagRequest)) handle(*m);
      if (stopping_) drain_pool();
      ex.check_timeouts();
      for (Done& d : ex.take_done()) {
        rank_.local_result(d);
        resolve(d.index, std::move(d.meta), 0);
      }
      // Feed rank 0's own threads straight from the pool (no message needed): one running
      // and one queued item per thread, so a thread never waits for the main thread to wake
      // up between two small files. If every thread is stuck on a slow file, the queued items
      // go back to the pool for the workers, as a worker would give them back.
      const bool stalled =
          opt_.requeue_after_s > 0 && ex.all_stuck_longer_than(opt_.requeue_after_s);
      if (stalled && ex.queued() > 0) {
        std::vector<std::uint64_t> back;
        for (const Task& t : ex.take_queued()) back.push_back(t.index);
        give_back(0, back);
      }
      const std::size_t lookahead = opt_.threads_per_rank > 0 ? 1 : 0;
      while (!stalled && !pool(0).empty() && ex.free_slots(lookahead) > 0) {
        const std::size_t i = take(0);
        ex.push({Task{i, items_[i]}});
        ++rank_.stats().batches;
      }
      if (opt_.on_progress) {
        DispatchProgress p;
        p.total = items_.size();
        p.not_started = not_started_;
        p.done = items_.size() - unresolved_ - not_started_;
        p.failed = failed_;
        opt_.on_progress(p);
      }
      if (unresolved_ == 0 && workers_left_ == 0 && ex.idle()) break;
      if (opt_.threads_per_rank == 0 && ex.queued() == 0) {
        std::this_thread::sleep_for(poll);
      } else {
        ex.wait_or_run(poll);
      }
    }
    rank_.finish(ex, stats_);
    return std::move(results_);
  }

 private:
  enum : std::uint8_t { kPending = 0, kResolved = 1, kLost = 2, kNotRun = 3 };

  // Stopping: whatever is in the pool will not run. Returns how many items that was.
  std::size_t drain_pool() {
    std::size_t n = 0;
    for (auto& pool : pools_) {
      while (!pool.empty()) {
        const std::size_t i = pool.front();
        pool.pop_front();
        if (state_[i] != kPending) continue;
        state_[i] = kNotRun;
        owner_[i] = -1;
        --unresolved_;
        ++not_started_;
        ++n;
        if (stats_ != nullptr) stats_->not_run.push_back(i);
      }
    }
    std::fill(pool_cost_.begin(), pool_cost_.end(), 0.0);
    return n;
  }

  void problem(std::string what) {
    log::warn("schedule", what);
    if (stats_ != nullptr) stats_->problems.push_back(std::move(what));
  }
  void decode_error(std::string what) {
    if (stats_ != nullptr) ++stats_->decode_errors;
    problem(std::move(what));
  }

  // The pool rank r takes from: the shared one, or its own slice (static split).
  std::size_t pool_of(int r) const {
    return opt_.static_split ? static_cast<std::size_t>(r) : 0;
  }
  std::deque<std::size_t>& pool(int r) { return pools_[pool_of(r)]; }

  std::size_t take(int to) {
    std::deque<std::size_t>& pool = this->pool(to);
    double& pool_cost = pool_cost_[pool_of(to)];
    const std::size_t i = pool.front();
    pool.pop_front();
    pool_cost = std::max(0.0, pool_cost - cost_[i]);
    owner_[i] = to;
    if (dispatched_[i] == 0) {
      dispatched_[i] = 1;
      if (stats_ != nullptr) stats_->dispatch_order.push_back(i);
    }
    return i;
  }

  // Largest first, up to batch_cost_s per wanted item, at most a guided share of what is left.
  std::vector<std::size_t> take_batch(int to, std::uint32_t want) {
    std::vector<std::size_t> batch;
    std::deque<std::size_t>& pool = this->pool(to);
    if (pool.empty() || want == 0) return batch;
    const double threads = static_cast<double>(worker_threads_[static_cast<std::size_t>(to)]);
    // Guided self-scheduling only makes sense for a shared pool.
    const double guided = opt_.static_split
                              ? opt_.batch_cost_s * want
                              : threads * pool_cost_[0] / (2.0 * total_threads_);
    const double cap = std::min(opt_.batch_cost_s * want, guided);
    const std::size_t max_items = std::max<std::size_t>(1, opt_.max_batch_items);
    double sum = 0;
    while (!pool.empty() && batch.size() < max_items) {
      const double c = cost_[pool.front()];
      if (!batch.empty() && sum + c > cap) break;
      sum += c;
      batch.push_back(take(to));
    }
    return batch;
  }

  void resolve(std::size_t i, FileMeta meta, int from) {
    if (i >= items_.size()) {
      decode_error("rank " + std::to_string(from) + " sent a result for item " + std::to_string(i) +
                   " of " + std::to_string(items_.size()));
      return;
    }
    if (state_[i] == kResolved) {
      problem("duplicate result for " + items_[i].path + " from rank " + std::to_string(from));
      return;
    }
    if (state_[i] == kNotRun) {
      problem("result for " + items_[i].path + " from rank " + std::to_string(from) +
              ", which was not handed out");
      return;
    }
    if (state_[i] == kPending) --unresolved_;
    // kLost: a real result arriving after its message was given up on replaces the error.
    if (state_[i] == kLost) --failed_;
    if (!meta.ok()) ++failed_;
    state_[i] = kResolved;
    results_[i] = std::move(meta);
  }

  // A worker's message was undecodable: whatever it had not reported yet is lost.
  void mark_lost(int r, const std::string& why) {
    for (std::size_t i = 0; i < items_.size(); ++i) {
      if (state_[i] != kPending || owner_[i] != r) continue;
      results_[i] = error_meta(items_[i], ErrorKind::kInternal, why, r);
      state_[i] = kLost;
      --unresolved_;
      ++failed_;
    }
  }

  void handle(const comm::Message& m) {
    rank_.received(m);
    const int r = m.source;
    protocol::Reply reply;
    auto req = protocol::decode_request(m.data);
    if (!req) {
      const std::string why =
          "request from rank " + std::to_string(r) + " undecodable: " + req.error().message;
      decode_error(why);
      mark_lost(r, why);
    } else {
      worker_threads_[static_cast<std::size_t>(r)] =
          std::max(1, static_cast<int>(std::min<std::uint32_t>(req->threads, 1u << 16)));
      total_threads_ = 0;
      for (int t : worker_threads_) total_threads_ += t;
      give_back(r, req->returned);
      if (stopping_) drain_pool();
      if (!req->result_index.empty()) {
        auto metas = wire::decode(req->results);
        if (!metas || metas->size() != req->result_index.size()) {
          const std::string why = "result batch from rank " + std::to_string(r) + " undecodable: " +
                                  (metas ? std::to_string(metas->size()) + " results for " +
                                               std::to_string(req->result_index.size()) + " indices"
                                         : metas.error().message);
          decode_error(why);
          for (std::uint64_t i : req->result_index) {
            if (i < items_.size())
              resolve(static_cast<std::size_t>(i),
                      error_meta(items_[static_cast<std::size_t>(i)], ErrorKind::kInternal, why, r),
                      r);
          }
        } else {
          for (std::size_t k = 0; k < metas->size(); ++k)
            resolve(static_cast<std::size_t>(req->result_index[k]), std::move((*metas)[k]), r);
        }
      }
      if (unresolved_ > 0 && !stopping_) {
        for (std::size_t i : take_batch(r, req->want)) {
          reply.index.push_back(i);
          reply.items.push_back(items_[i]);
        }
      }
    }
    if (unresolved_ == 0) {
      reply.done = true;
      if (done_sent_[static_cast<std::size_t>(r)] == 0) {
        done_sent_[static_cast<std::size_t>(r)] = 1;
        --workers_left_;
      }
    }
    rank_.send(r, protocol::kTagReply, protocol::encode(reply));
  }

  // Queued items a stuck worker hands back go to the front, in their original order.
  void give_back(int r, const std::vector<std::uint64_t>& returned) {
    for (auto it = returned.rbegin(); it != returned.rend(); ++it) {
      const std::uint64_t i = *it;
      if (i >= items_.size() || state_[i] != kPending || owner_[i] != r) {
        problem("rank " + std::to_string(r) + " returned item " + std::to_string(i) +
                " it does not hold");
        continue;
      }
      owner_[i] = -1;
      pool(r).push_front(static_cast<std::size_t>(i));
      pool_cost_[pool_of(r)] += cost_[i];
      ++rank_.stats().requeued;
    }
  }

  const std::vector<WorkItem>& items_;
  const ExtractFn& fn_;
  const ScheduleOptions& opt_;
  ScheduleStats* stats_;
  RankState rank_;

  std::vector<double> cost_;
  std::vector<std::deque<std::size_t>> pools_;  // one shared pool, or one per rank (static)
  std::vector<double> pool_cost_;              // predicted seconds left in each pool
  std::vector<FileMeta> results_;
  std::vector<std::uint8_t> state_;
  std::vector<int> owner_;
  std::vector<std::uint8_t> dispatched_;
  std::size_t unresolved_;
  std::size_t not_started_ = 0;  // kNotRun items
  std::size_t failed_ = 0;       // resolved or lost items whose result is an error
  std::vector<std::uint8_t> done_sent_;
  int workers_left_;
  std::vector<int> worker_threads_;
  int total_threads_ = 1;
  bool stopping_ = false;
};

// ---- Other ranks ---------------------------------------------------------------------------

class Worker {
 public:
  Worker(comm::Communicator& comm, const ExtractFn& fn, const ScheduleOptions& opt,
         ScheduleStats* stats)
      : fn_(fn), opt_(opt), stats_(stats), rank_(comm, opt) {}

  void run() {
    Executor ex(fn_, opt_.threads_per_rank, opt_.timeout_s, rank_.comm().rank(),
                opt_.max_abandoned_threads);
    comm::Communicator& comm = rank_.comm();
    const auto poll = to_duration(opt_.poll_interval_s);
    const auto slow_poll = std::max<Clock::duration>(poll, std::chrono::milliseconds(1));
    const std::size_t capacity = static_cast<std::size_t>(std::max(1, opt_.threads_per_rank));
    bool outstanding = false, done = false, last_wanted = false;
    auto backoff = std::chrono::duration_cast<Clock::duration>(kMinBackoff);
    Clock::time_point next_request = Clock::now();
    std::vector<std::uint64_t> out_index;
    std::vector<FileMeta> out_meta;
    Clock::time_point oldest_out{};

    for (;;) {
      ex.check_timeouts();
      for (Done& d : ex.take_done()) {
        rank_.local_result(d);
        if (out_index.empty()) oldest_out = Clock::now();
        out_index.push_back(d.index);
        out_meta.push_back(std::move(d.meta));
      }
      if (outstanding) {
        if (auto m = comm.try_recv(0, protocol::kTagReply)) {
          rank_.received(*m);
          outstanding = false;
          auto reply = protocol::decode_reply(m->data);
          if (!reply)
            throw FatalError("rank " + std::to_string(comm.rank()) + ": " +
                             reply.error().to_string());
          if (reply->done) {
            done = true;
          } else if (reply->items.empty()) {
            if (last_wanted) {  // nothing to hand out right now: ask again a little later
              next_request = Clock::now() + backoff;
              backoff = std::min<Clock::duration>(backoff * 2, kMaxBackoff);
            }
          } else {
            backoff = std::chrono::duration_cast<Clock::duration>(kMinBackoff);
            ++rank_.stats().batches;
            std::vector<Task> tasks;
            tasks.reserve(reply->items.size());
            for (std::size_t k = 0; k < reply->items.size(); ++k)
              tasks.push_back(
                  Task{static_cast<std::size_t>(reply->index[k]), std::move(reply->items[k])});
            ex.push(std::move(tasks));
          }
        }
      }
      if (done) {
        // Rank 0 says every item has a result, so nothing is left here to report (results
        // of messages rank 0 gave up on are only journaled).
        if (ex.idle()) break;
        ex.wait_or_run(poll);
        continue;
      }
      if (!stopped_ && opt_.stop != nullptr && opt_.stop->load(std::memory_order_acquire)) {
        stopped_ = true;  // give queued items back, take no more, keep reporting results
        next_request = Clock::now();
      }
      if (!outstanding)
        maybe_request(ex, capacity, next_request, last_wanted, out_index, out_meta, oldest_out,
                      outstanding);
      if (opt_.threads_per_rank == 0 && ex.queued() == 0) {
        std::this_thread::sleep_for(outstanding ? poll : slow_poll);
      } else {
        ex.wait_or_run(outstanding ? poll : slow_poll);
      }
    }
    rank_.finish(ex, stats_);
  }

 private:
  void maybe_request(Executor& ex, std::size_t capacity, Clock::time_point& next_request,
                     bool& last_wanted, std::vector<std::uint64_t>& out_index,
                     std::vector<FileMeta>& out_meta, Clock::time_point oldest_out,
                     bool& outstanding) {
    const auto now = Clock::now();
    // Every thread stuck on one file for a while: don't let more work pile up behind them.
    const bool stalled = opt_.requeue_after_s > 0 && ex.all_stuck_longer_than(opt_.requeue_after_s);
    const std::size_t queued = ex.queued();
    // Prefetch: ask while the last queued items are still running, so the next batch is here
    // when a thread frees up.
    const bool need_work = queued < capacity && !stalled && !stopped_ && now >= next_request;
    const bool give_back = (stalled || stopped_) && queued > 0;
    // Stopped: rank 0 answers `done` only to a request, so keep asking (for nothing) now and then.
    const bool heartbeat = stopped_ && now >= next_request;
    const bool flush =
        out_index.size() >= std::max<std::size_t>(1, opt_.results_per_message) ||
        (!out_index.empty() &&
         std::chrono::duration<double>(now - oldest_out).count() >= opt_.result_flush_s);
    if (!need_work && !give_back && !flush && !heartbeat) return;
    if (stopped_) next_request = now + std::chrono::milliseconds(20);

    protocol::Request req;
    req.threads = static_cast<std::uint32_t>(capacity);
    req.want = need_work ? static_cast<std::uint32_t>(capacity - queued) : 0;
    if (give_back) {
      for (Task& t : ex.take_queued()) req.returned.push_back(t.index);
      rank_.stats().requeued += static_cast<std::int64_t>(req.returned.size());
    }
    if (!out_index.empty()) {
      req.result_index = std::move(out_index);
      req.results = wire::encode(out_meta);
      out_index.clear();
      out_meta.clear();
    }
    rank_.send(0, protocol::kTagRequest, protocol::encode(req));
    outstanding = true;
    last_wanted = req.want > 0;
  }

  const ExtractFn& fn_;
  const ScheduleOptions& opt_;
  ScheduleStats* stats_;
  RankState rank_;
  bool stopped_ = false;
};

}  // namespace

std::vector<FileMeta> run_schedule(comm::Communicator& comm, const std::vector<WorkItem>& items,
                                   const ExtractFn& fn, const ScheduleOptions& options,
                                   ScheduleStats* stats) {
  ScheduleOptions opt = options;
  if (opt.threads_per_rank < 0) opt.threads_per_rank = 0;
  if (opt.threads_per_rank == 0) opt.timeout_s = 0;  // nobody could watch the main thread
  if (comm.rank() == 0) {
    Dispatcher d(comm, items, fn, opt, stats);
    return d.run();
  }
  if (stats != nullptr) *stats = ScheduleStats{};
  Worker w(comm, fn, opt, stats);
  w.run();
  return {};
}

}  // namespace mpiprep::schedule
