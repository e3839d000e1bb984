#include "schedule/executor.hpp"

#include <algorithm>
#include <exception>
#include <string>

namespace mpiprep::schedule::detail {

FileMeta call_extract(const ExtractFn& fn, const WorkItem& item) {
  try {
    return fn(item);
  } catch (const std::exception& e) {
    FileMeta m;
    m.error_kind = ErrorKind::kInternal;
    m.error_message = std::string("extractor threw: ") + e.what();
    return m;
  } catch (...) {
    FileMeta m;
    m.error_kind = ErrorKind::kInternal;
    m.error_message = "extractor threw a non-standard exception";
    return m;
  }
}

Done Executor::finish(const Shared& sh, Task task, FileMeta meta, double seconds) {
  if (meta.path.empty()) {
    meta.path = task.item.path;
    meta.size = task.item.size;
    meta.mtime_ns = task.item.mtime_ns;
    if (meta.format == FileFormat::kUnknown) meta.format = task.item.hint;
  }
  if (meta.extract_seconds == 0.0) meta.extract_seconds = seconds;
  meta.rank = sh.rank;
  Done d;
  d.index = task.index;
  d.item_size = task.item.size;
  d.meta = std::move(meta);
  return d;
}

Executor::Executor(const ExtractFn& fn, int threads, double timeout_s, int rank,
                   int max_abandoned)
    : sh_(std::make_shared<Shared>(fn, rank)),
      threads_(threads < 0 ? 0 : threads),
      timeout_s_(timeout_s),
      max_abandoned_(std::max(0, max_abandoned)) {
  slots_.resize(static_cast<std::size_t>(threads_));
  workers_.resize(static_cast<std::size_t>(threads_));
  for (std::size_t i = 0; i < slots_.size(); ++i) start_thread(i);
}

void Executor::start_thread(std::size_t i) {
  slots_[i] = std::make_shared<Slot>();
  workers_[i] = std::thread(&Executor::thread_main, sh_, slots_[i]);
}

Executor::~Executor() {
  {
    std::lock_guard lock(sh_->mu);
    sh_->stop = true;
  }
  sh_->work_cv.notify_all();
  for (auto& t : workers_)
    if (t.joinable()) t.join();
}

void Executor::thread_main(std::shared_ptr<Shared> sh, std::shared_ptr<Slot> slot) {
  for (;;) {
    Task task;
    {
      std::unique_lock lock(sh->mu);
      sh->work_cv.wait(lock, [&] { return sh->stop || !sh->queue.empty(); });
      if (sh->stop) return;
      task = std::move(sh->queue.front());
      sh->queue.pop_front();
      slot->running = true;
      slot->task = task;
      slot->start = Clock::now();
      ++sh->running;
      if (!sh->fail_fast.empty()) {
        FileMeta meta;
        meta.error_kind = ErrorKind::kTimeout;
        meta.error_message = sh->fail_fast;
        slot->running = false;
        --sh->running;
        sh->done.push_back(finish(*sh, std::move(task), std::move(meta), 0.0));
        sh->done_cv.notify_all();
        continue;
      }
    }
    const auto t0 = Clock::now();
    FileMeta meta = call_extract(sh->fn, task.item);
    const auto t1 = Clock::now();
    const double secs = std::chrono::duration<double>(t1 - t0).count();
    {
      std::lock_guard lock(sh->mu);
      // The watchdog already reported this file as a timeout and replaced this thread: drop
      // the late result and leave (the slot and `sh` are ours through the shared_ptrs).
      if (slot->abandoned) return;
      slot->running = false;
      --sh->running;
      sh->busy_s += secs;
      Done d = finish(*sh, std::move(task), std::move(meta), secs);
      d.started = t0;
      d.finished = t1;
      sh->done.push_back(std::move(d));
    }
    sh->done_cv.notify_all();
  }
}

void Executor::push(std::vector<Task> tasks) {
  if (tasks.empty()) return;
  {
    std::lock_guard lock(sh_->mu);
    for (Task& t : tasks) sh_->queue.push_back(std::move(t));
  }
  sh_->work_cv.notify_all();
}

std::vector<Done> Executor::take_done() {
  std::lock_guard lock(sh_->mu);
  std::vector<Done> out;
  out.swap(sh_->done);
  return out;
}

std::vector<Task> Executor::take_queued() {
  std::lock_guard lock(sh_->mu);
  std::vector<Task> out(std::make_move_iterator(sh_->queue.begin()),
                        std::make_move_iterator(sh_->queue.end()));
  sh_->queue.clear();
  return out;
}

std::size_t Executor::queued() const {
  std::lock_guard lock(sh_->mu);
  return sh_->queue.size();
}

std::size_t Executor::running() const {
  std::lock_guard lock(sh_->mu);
  return sh_->running;
}

std::size_t Executor::free_slots(std::size_t lookahead_per_thread) const {
  std::lock_guard lock(sh_->mu);
  const std::size_t cap =
      (threads_ == 0 ? 1 : static_cast<std::size_t>(threads_)) * (1 + lookahead_per_thread);
  const std::size_t used = sh_->running + sh_->queue.size();
  return used >= cap ? 0 : cap - used;
}

bool Executor::idle() const {
  std::lock_guard lock(sh_->mu);
  return sh_->queue.empty() && sh_->running == 0 && sh_->done.empty();
}

bool Executor::all_stuck_longer_than(double age_s) const {
  if (threads_ == 0) return false;
  std::lock_guard lock(sh_->mu);
  const auto now = Clock::now();
  for (const auto& s : slots_) {
    if (!s->running) return false;
    if (std::chrono::duration<double>(now - s->start).count() < age_s) return false;
  }
  return true;
}

void Executor::wait_or_run(Clock::duration d) {
  if (threads_ > 0) {
    std::unique_lock lock(sh_->mu);
    sh_->done_cv.wait_for(lock, d, [&] { return !sh_->done.empty(); });
    return;
  }
  Task task;
  {
    std::lock_guard lock(sh_->mu);
    if (sh_->queue.empty()) return;
    task = std::move(sh_->queue.front());
    sh_->queue.pop_front();
    ++sh_->running;
  }
  const auto t0 = Clock::now();
  FileMeta meta = call_extract(sh_->fn, task.item);
  const auto t1 = Clock::now();
  const double secs = std::chrono::duration<double>(t1 - t0).count();
  std::lock_guard lock(sh_->mu);
  --sh_->running;
  sh_->busy_s += secs;
  Done done = finish(*sh_, std::move(task), std::move(meta), secs);
  done.started = t0;
  done.finished = t1;
  sh_->done.push_back(std::move(done));
}

std::size_t Executor::check_timeouts() {
  if (timeout_s_ <= 0 || threads_ == 0) return 0;
  std::size_t n = 0;
  std::lock_guard lock(sh_->mu);
  const auto now = Clock::now();
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    Slot& s = *slots_[i];
    if (!s.running) continue;
    const double age = std::chrono::duration<double>(now - s.start).count();
    if (age < timeout_s_) continue;
    s.abandoned = true;
    --sh_->running;
    sh_->busy_s += age;
    FileMeta meta;
    meta.error_kind = ErrorKind::kTimeout;
    meta.error_message = "extraction exceeded the " + std::to_string(timeout_s_) +
                         " s timeout; the reading thread was abandoned";
    Done d = finish(*sh_, s.task, std::move(meta), age);
    d.timed_out = true;
    d.started = s.start;
    d.finished = now;
    sh_->done.push_back(std::move(d));
    // The stuck thread keeps its own references to the slot and the shared state.
    workers_[i].detach();
    start_thread(i);
    ++abandoned_;
    ++n;
  }
  if (n > 0 && abandoned_ >= max_abandoned_ && sh_->fail_fast.empty()) {
    sh_->fail_fast = "not extracted: rank " + std::to_string(sh_->rank) + " abandoned " +
                     std::to_string(abandoned_) + " threads stuck past the " +
                     std::to_string(timeout_s_) +
                     " s timeout (limit " + std::to_string(max_abandoned_) +
                     "); the filesystem looks hung, so this rank stopped opening files";
  }
  return n;
}

double Executor::busy_seconds() const {
  std::lock_guard lock(sh_->mu);
  return sh_->busy_s;
}

}  // namespace mpiprep::schedule::detail
