// One rank's local extraction: a queue of tasks fed by the main thread, K threads running the
// ExtractFn (or the main thread itself when K = 0), a done list drained by the main thread,
// and the timeout watchdog. Private to the schedule module.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "mpiprep/schedule/schedule.hpp"

namespace mpiprep::schedule::detail {

using Clock = std::chrono::steady_clock;

struct Task {
  std::size_t index = 0;
  WorkItem item;
};

struct Done {
  std::size_t index = 0;
  std::int64_t item_size = 0;
  bool timed_out = false;
  FileMeta meta;
  Clock::time_point started{};   // when a thread took the task
  Clock::time_point finished{};  // when fn returned (or the watchdog gave up)
};

class Executor {
 public:
  // threads = 0: nothing runs until the owner calls run_one().
  // After `max_abandoned` abandoned threads the executor fails fast: tasks become kTimeout
  // results without running fn (see ScheduleOptions::max_abandoned_threads).
  Executor(const ExtractFn& fn, int threads, double timeout_s, int rank, int max_abandoned = 16);
  ~Executor();  // stops and joins the live threads; abandoned ones are already detached
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  void push(std::vector<Task> tasks);
  [[nodiscard]] std::vector<Done> take_done();
  // Removes the queued, unstarted tasks (to give them back).
  [[nodiscard]] std::vector<Task> take_queued();

  [[nodiscard]] std::size_t queued() const;
  [[nodiscard]] std::size_t running() const;
  // How many more tasks fit if each thread may have `lookahead_per_thread` tasks queued
  // behind the one it runs (threads = 0 counts as one thread).
  [[nodiscard]] std::size_t free_slots(std::size_t lookahead_per_thread = 0) const;
  // Nothing queued, nothing running, nothing done waiting to be taken.
  [[nodiscard]] bool idle() const;
  // True when every thread is running a task that started more than `age_s` ago.
  [[nodiscard]] bool all_stuck_longer_than(double age_s) const;

  // Blocks until a task finishes or `d` passes (threads > 0), or runs one queued task on the
  // calling thread (threads = 0; returns at once when the queue is empty).
  void wait_or_run(Clock::duration d);

  // Watchdog: every running task older than the timeout becomes a kTimeout Done; its thread
  // is detached and replaced. Returns how many were abandoned now.
  std::size_t check_timeouts();

  [[nodiscard]] int threads() const { return threads_; }
  [[nodiscard]] double busy_seconds() const;  // thread-seconds inside fn (finished tasks)
  [[nodiscard]] std::int64_t abandoned() const { return abandoned_; }

 private:
  // Shared with the threads by shared_ptr: an abandoned thread keeps it alive after the
  // Executor is gone, so it never touches freed memory.
  struct Slot {
    bool running = false;
    bool abandoned = false;
    Task task;
    Clock::time_point start{};
  };
  struct Shared {
    Shared(ExtractFn f, int r) : fn(std::move(f)), rank(r) {}
    const ExtractFn fn;
    const int rank;
    std::mutex mu;
    std::condition_variable work_cv;
    std::condition_variable done_cv;
    std::deque<Task> queue;
    std::vector<Done> done;
    std::size_t running = 0;
    bool stop = false;
    std::string fail_fast;  // non-empty: tasks fail with this message, fn is not called
    double busy_s = 0;
  };

  static void thread_main(std::shared_ptr<Shared> sh, std::shared_ptr<Slot> slot);
  static Done finish(const Shared& sh, Task task, FileMeta meta, double seconds);
  void start_thread(std::size_t i);

  std::shared_ptr<Shared> sh_;
  const int threads_;
  const double timeout_s_;
  const int max_abandoned_;
  std::vector<std::shared_ptr<Slot>> slots_;
  std::vector<std::thread> workers_;
  std::int64_t abandoned_ = 0;
};

// Runs fn, turning an exception into a kInternal FileMeta (a bad file is data, not a crash).
FileMeta call_extract(const ExtractFn& fn, const WorkItem& item);

}  // namespace mpiprep::schedule::detail
