#include "mpiprep/schedule/schedule.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "mpiprep/journal/journal.hpp"
#include "mpiprep/journal/serialization.hpp"
#include "mpiprep/schedule/protocol.hpp"
#include "schedule_test_support.hpp"

namespace mpiprep::schedule {
namespace {

using testing::index_of;
using testing::ok_meta;
using testing::run;

using namespace std::chrono_literals;

// Items "/t/<i>" with varied sizes and formats; index_of parses the index back.
std::vector<WorkItem> make_items(std::size_t n, std::int64_t size_step = 1 << 20) {
  std::vector<WorkItem> items;
  for (std::size_t i = 0; i < n; ++i) {
    WorkItem w;
    w.path = "/t/" + std::to_string(i);
    w.size = static_cast<std::int64_t>((i * 7919) % 1000) * size_step;
    w.mtime_ns = static_cast<std::int64_t>(i) * 1000;
    w.hint = i % 4 == 0 ? FileFormat::kHdf5 : FileFormat::kRoot;
    items.push_back(w);
  }
  return items;
}

// Per-item call counters owned by the ExtractFn (shared_ptr captured by value).
struct Counters {
  explicit Counters(std::size_t n) : calls(n) {}
  std::vector<std::atomic<int>> calls;
  std::atomic<int> started{0};
};

// ---- cost model and protocol ---------------------------------------------------------------

TEST(CostModel, MonotoneInSizeAndFormatAware) {
  CostModel m;
  WorkItem small{"/a", 1 << 20, 0, FileFormat::kRoot};
  WorkItem big{"/b", std::int64_t{2} << 30, 0, FileFormat::kRoot};
  WorkItem h5{"/c", std::int64_t{2} << 30, 0, FileFormat::kHdf5};
  WorkItem unknown{"/d", std::int64_t{2} << 30, 0, FileFormat::kUnknown};
  EXPECT_GT(m.predict(big), m.predict(small));
  EXPECT_GT(m.predict(big), m.predict(h5));
  EXPECT_GT(m.predict(h5), m.predict(unknown));
  EXPECT_NEAR(m.predict(big) - m.predict(small), m.root_per_mib_s * 2047, 1e-12);
  EXPECT_GT(m.predict(WorkItem{"/z", 0, 0, FileFormat::kRoot}), 0.0);
}

TEST(CostModel, LargestFirstIsStableDescending) {
  std::vector<WorkItem> items = {{"/0", 5, 0, FileFormat::kRoot},
                                 {"/1", 9, 0, FileFormat::kRoot},
                                 {"/2", 5, 0, FileFormat::kRoot},
                                 {"/3", 1, 0, FileFormat::kRoot},
                                 {"/4", 9, 0, FileFormat::kRoot}};
  auto order = largest_first(items, [](const WorkItem& w) { return static_cast<double>(w.size); });
  EXPECT_EQ(order, (std::vector<std::size_t>{1, 4, 0, 2, 3}));
}

TEST(CostModel, NanAndNegativePredictionsAreSafe) {
  const auto items = std::vector<WorkItem>{{"/0", 1, 0, FileFormat::kRoot},
                                           {"/1", 2, 0, FileFormat::kRoot},
                                           {"/2", 3, 0, FileFormat::kRoot}};
  auto order = largest_first(items, [](const WorkItem& w) {
    return w.size == 2 ? std::numeric_limits<double>::quiet_NaN() : (w.size == 3 ? -1.0 : 5.0);
  });
  EXPECT_EQ(order, (std::vector<std::size_t>{0, 1, 2}));
}

TEST(Protocol, RoundTripAndEveryTruncationFails) {
  protocol::Request req;
  req.threads = 3;
  req.want = 2;
  req.returned = {5, 7};
  req.result_index = {1, 2};
  std::vector<FileMeta> metas = {ok_meta(WorkItem{"/x", 1, 2, FileFormat::kRoot}),
                                 ok_meta(WorkItem{"/y", 3, 4, FileFormat::kHdf5})};
  req.results = wire::encode(metas);
  const auto bytes = protocol::encode(req);
  auto back = protocol::decode_request(bytes);
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(back->threads, 3u);
  EXPECT_EQ(back->want, 2u);
  EXPECT_EQ(back->returned, req.returned);
  EXPECT_EQ(back->result_index, req.result_index);
  EXPECT_EQ(back->results, req.results);
  for (std::size_t cut = 0; cut < bytes.size(); ++cut)
    EXPECT_FALSE(protocol::decode_request(std::span(bytes).first(cut)).ok()) << cut;

  protocol::Reply rep;
  rep.index = {4, 9};
  rep.items = {WorkItem{"/p", 10, 11, FileFormat::kHdf5},
               WorkItem{"/q", 12, 13, FileFormat::kRoot}};
  const auto rbytes = protocol::encode(rep);
  auto rback = protocol::decode_reply(rbytes);
  ASSERT_TRUE(rback.ok());
  EXPECT_FALSE(rback->done);
  ASSERT_EQ(rback->items.size(), 2u);
  EXPECT_EQ(rback->items[0].path, "/p");
  EXPECT_EQ(rback->items[0].size, 10);
  EXPECT_EQ(rback->items[0].mtime_ns, 11);
  EXPECT_EQ(rback->items[0].hint, FileFormat::kHdf5);
  EXPECT_EQ(rback->index, rep.index);
  for (std::size_t cut = 0; cut < rbytes.size(); ++cut)
    EXPECT_FALSE(protocol::decode_reply(std::span(rbytes).first(cut)).ok()) << cut;
  auto bad_hint = rbytes;
  bad_hint.back() = std::byte{200};  // last byte: the second item's format
  EXPECT_FALSE(protocol::decode_reply(bad_hint).ok());
}

// ---- exactly once, order, rank 0 participation ---------------------------------------------

struct Shape {
  int ranks;
  int threads;
};
void PrintTo(const Shape& s, std::ostream* os) {
  *os << s.ranks << " ranks x " << s.threads << " threads";
}

class ScheduleShapes : public ::testing::TestWithParam<Shape> {};

TEST_P(ScheduleShapes, EveryItemExactlyOnceResultsInInputOrder) {
  const Shape s = GetParam();
  constexpr std::size_t kItems = 400;
  const auto items = make_items(kItems);
  auto counters = std::make_shared<Counters>(kItems);
  ExtractFn fn = [counters](const WorkItem& w) {
    const std::size_t i = index_of(w);
    counters->calls[i].fetch_add(1);
    if (i % 40 == 0) std::this_thread::sleep_for(1ms);
    return ok_meta(w);
  };
  ScheduleOptions opt;
  opt.threads_per_rank = s.threads;
  ScheduleStats stats;
  auto results = run(s.ranks, items, fn, opt, &stats);

  for (std::size_t i = 0; i < kItems; ++i) EXPECT_EQ(counters->calls[i].load(), 1) << i;
  ASSERT_EQ(results.size(), kItems);
  std::map<int, std::int64_t> by_rank;
  for (std::size_t i = 0; i < kItems; ++i) {
    EXPECT_EQ(results[i].path, items[i].path);
    EXPECT_EQ(results[i].uuid, "uuid-" + items[i].path);
    EXPECT_TRUE(results[i].ok());
    EXPECT_GE(results[i].extract_seconds, 0.0);
    ASSERT_GE(results[i].rank, 0);
    ASSERT_LT(results[i].rank, s.ranks);
    ++by_rank[results[i].rank];
  }
  ASSERT_EQ(stats.ranks.size(), static_cast<std::size_t>(s.ranks));
  std::int64_t files = 0, bytes = 0;
  for (const auto& r : stats.ranks) {
    EXPECT_EQ(r.files, by_rank[r.rank]) << "rank " << r.rank;
    EXPECT_EQ(r.bytes_read, 100 * r.files);
    EXPECT_GE(r.idle_s, 0.0);
    EXPECT_GT(r.wall_s, 0.0);
    files += r.files;
    bytes += r.bytes;
  }
  EXPECT_EQ(files, static_cast<std::int64_t>(kItems));
  std::int64_t want_bytes = 0;
  for (const auto& w : items) want_bytes += w.size;
  EXPECT_EQ(bytes, want_bytes);
  EXPECT_EQ(stats.decode_errors, 0);
  EXPECT_TRUE(stats.problems.empty());
  // Each item handed out once (no requeue happens with these fast items).
  auto order = stats.dispatch_order;
  std::sort(order.begin(), order.end());
  ASSERT_EQ(order.size(), kItems);
  for (std::size_t i = 0; i < kItems; ++i) EXPECT_EQ(order[i], i);
}

INSTANTIATE_TEST_SUITE_P(Shapes, ScheduleShapes,
                         ::testing::Values(Shape{1, 1}, Shape{2, 1}, Shape{4, 1}, Shape{1, 0},
                                           Shape{2, 0}, Shape{4, 0}, Shape{2, 3}, Shape{4, 2}));

TEST(Schedule, RankZeroExtractsToo) {
  for (int ranks : {2, 4}) {
    const auto items = make_items(120);
    ExtractFn fn = [](const WorkItem& w) {
      std::this_thread::sleep_for(2ms);
      return ok_meta(w);
    };
    ScheduleStats stats;
    auto results = run(ranks, items, fn, ScheduleOptions{}, &stats);
    ASSERT_EQ(results.size(), items.size());
    std::vector<int> per_rank(static_cast<std::size_t>(ranks), 0);
    for (const auto& m : results) ++per_rank[static_cast<std::size_t>(m.rank)];
    for (int r = 0; r < ranks; ++r)
      EXPECT_GT(per_rank[static_cast<std::size_t>(r)], 5) << "rank " << r << " of " << ranks;
    EXPECT_GT(stats.ranks[0].files, 5);
    EXPECT_GT(stats.ranks[0].busy_s, 0.01);
  }
}

TEST(Schedule, LargestFirstOrderIsObservable) {
  const auto items = make_items(60);
  std::vector<double> cost;
  CostModel model;
  for (const auto& w : items) cost.push_back(model.predict(w));

  // One rank, one thread: extraction order is exactly decreasing predicted cost.
  auto seen = std::make_shared<std::vector<std::size_t>>();
  auto mu = std::make_shared<std::mutex>();
  ExtractFn record = [seen, mu](const WorkItem& w) {
    std::lock_guard lock(*mu);
    seen->push_back(index_of(w));
    return ok_meta(w);
  };
  (void)run(1, items, record, ScheduleOptions{});
  ASSERT_EQ(seen->size(), items.size());
  for (std::size_t k = 1; k < seen->size(); ++k)
    EXPECT_GE(cost[(*seen)[k - 1]], cost[(*seen)[k]]) << "position " << k;

  // Four ranks: the dispatcher hands items out in the same order.
  ScheduleStats stats;
  ExtractFn plain = [](const WorkItem& w) { return ok_meta(w); };
  (void)run(4, items, plain, ScheduleOptions{}, &stats);
  const auto expected = largest_first(items, [&](const WorkItem& w) { return model.predict(w); });
  EXPECT_EQ(stats.dispatch_order, expected);
  // Independent check of that order: costs never increase along it.
  for (std::size_t k = 1; k < stats.dispatch_order.size(); ++k)
    EXPECT_GE(cost[stats.dispatch_order[k - 1]], cost[stats.dispatch_order[k]]);
}

TEST(Schedule, CustomPredictorDrivesTheOrder) {
  const auto items = make_items(30);
  auto seen = std::make_shared<std::vector<std::size_t>>();
  ExtractFn record = [seen](const WorkItem& w) {
    seen->push_back(index_of(w));  // one rank, one thread: no race
    return ok_meta(w);
  };
  ScheduleOptions opt;
  // "History": the predicted cost is the index, so the order is 29, 28, ..., 0.
  opt.predict = [](const WorkItem& w) { return static_cast<double>(index_of(w)); };
  (void)run(1, items, record, opt);
  ASSERT_EQ(seen->size(), 30u);
  for (std::size_t k = 0; k < 30; ++k) EXPECT_EQ((*seen)[k], 29 - k);
}

// ---- stragglers, timeouts, failures --------------------------------------------------------

// One item sleeps 300 ms among 200 instant ones on 4 ranks: the other ranks process all the
// rest; nothing waits behind the slow file.
TEST(Schedule, StragglerDoesNotHoldBackTheRest) {
  auto items = make_items(200, 1024);
  WorkItem slow{"/t/200", std::int64_t{64} << 30, 0, FileFormat::kRoot};  // largest: first out
  items.push_back(slow);
  ExtractFn fn = [](const WorkItem& w) {
    if (w.path == "/t/200") std::this_thread::sleep_for(300ms);
    return ok_meta(w);
  };
  ScheduleOptions opt;
  opt.requeue_after_s = 0.1;
  ScheduleStats stats;
  const auto t0 = std::chrono::steady_clock::now();
  auto results = run(4, items, fn, opt, &stats);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(results.size(), 201u);
  const int straggler_rank = results[200].rank;
  std::int64_t others = 0;
  for (std::size_t i = 0; i < 200; ++i) {
    EXPECT_TRUE(results[i].ok());
    if (results[i].rank != straggler_rank) ++others;
  }
  EXPECT_EQ(others, 200) << "items processed by the straggler's rank "
                         << stats.ranks[static_cast<std::size_t>(straggler_rank)].files - 1;
  EXPECT_EQ(stats.ranks[static_cast<std::size_t>(straggler_rank)].files, 1);
  EXPECT_LT(wall, 1.5);
  EXPECT_EQ(stats.dispatch_order.front(), 200u);  // largest predicted cost went out first
}

// Without giving work back, what waits behind the straggler is bounded by one prefetched batch.
TEST(Schedule, StragglerWithoutRequeueLosesAtMostOneBatch) {
  auto items = make_items(200, 1024);
  items.push_back(WorkItem{"/t/200", std::int64_t{64} << 30, 0, FileFormat::kRoot});
  ExtractFn fn = [](const WorkItem& w) {
    if (w.path == "/t/200") std::this_thread::sleep_for(300ms);
    return ok_meta(w);
  };
  ScheduleOptions opt;
  opt.requeue_after_s = 0;
  opt.max_batch_items = 8;
  ScheduleStats stats;
  auto results = run(4, items, fn, opt, &stats);
  ASSERT_EQ(results.size(), 201u);
  const int straggler_rank = results[200].rank;
  std::int64_t behind = 0;
  for (std::size_t i = 0; i < 200; ++i)
    if (results[i].rank == straggler_rank) ++behind;
  EXPECT_LE(behind, 8);
}

TEST(Schedule, TimeoutMarksTheFileAndTheRankMovesOn) {
  const auto items = make_items(40);
  auto counters = std::make_shared<Counters>(items.size());
  ExtractFn fn = [counters](const WorkItem& w) {
    const std::size_t i = index_of(w);
    counters->calls[i].fetch_add(1);
    if (i == 7) std::this_thread::sleep_for(1500ms);  // a hung read
    return ok_meta(w);
  };
  ScheduleOptions opt;
  opt.timeout_s = 0.15;
  ScheduleStats stats;
  const auto t0 = std::chrono::steady_clock::now();
  auto results = run(2, items, fn, opt, &stats);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(results.size(), items.size());
  EXPECT_EQ(results[7].error_kind, ErrorKind::kTimeout);
  EXPECT_EQ(results[7].path, items[7].path);
  EXPECT_NE(results[7].error_message.find("timeout"), std::string::npos);
  for (std::size_t i = 0; i < items.size(); ++i) {
    EXPECT_EQ(counters->calls[i].load(), 1) << i;
    if (i != 7) {
      EXPECT_TRUE(results[i].ok()) << i;
    }
  }
  std::int64_t timeouts = 0, abandoned = 0;
  for (const auto& r : stats.ranks) {
    timeouts += r.timeouts;
    abandoned += r.abandoned_threads;
  }
  EXPECT_EQ(timeouts, 1);
  EXPECT_EQ(abandoned, 1);
  EXPECT_LT(wall, 1.2);  // did not wait for the hung read
}

TEST(Schedule, ExtractorExceptionsBecomeErrors) {
  const auto items = make_items(20);
  ExtractFn fn = [](const WorkItem& w) -> FileMeta {
    if (index_of(w) % 5 == 2) throw std::runtime_error("boom at " + w.path);
    return ok_meta(w);
  };
  auto results = run(3, items, fn, ScheduleOptions{});
  ASSERT_EQ(results.size(), 20u);
  for (std::size_t i = 0; i < 20; ++i) {
    if (i % 5 == 2) {
      EXPECT_EQ(results[i].error_kind, ErrorKind::kInternal);
      EXPECT_NE(results[i].error_message.find("boom at " + items[i].path), std::string::npos);
      EXPECT_EQ(results[i].path, items[i].path);  // identity filled in from the item
      EXPECT_EQ(results[i].size, items[i].size);
    } else {
      EXPECT_TRUE(results[i].ok());
    }
  }
}

TEST(Schedule, EmptyWorkAndSingleItem) {
  ExtractFn fn = [](const WorkItem& w) { return ok_meta(w); };
  for (int ranks : {1, 3}) {
    EXPECT_TRUE(run(ranks, {}, fn, ScheduleOptions{}).empty());
    auto one = run(ranks, make_items(1), fn, ScheduleOptions{});
    ASSERT_EQ(one.size(), 1u);
    EXPECT_EQ(one[0].path, "/t/0");
  }
}

// Many small files: batching keeps the message count far below the file count.
TEST(Schedule, SmallFilesAreBatched) {
  const auto items = make_items(3000, 1);  // all tiny
  ExtractFn fn = [](const WorkItem& w) { return ok_meta(w); };
  ScheduleStats stats;
  auto results = run(4, items, fn, ScheduleOptions{}, &stats);
  ASSERT_EQ(results.size(), items.size());
  std::int64_t worker_files = 0, worker_messages = 0;
  for (std::size_t r = 1; r < stats.ranks.size(); ++r) {
    worker_files += stats.ranks[r].files;
    worker_messages += stats.ranks[r].messages_sent;
  }
  ASSERT_GT(worker_files, 300);  // rank 0 keeps at most two items for its single thread
  EXPECT_LT(worker_messages * 3, worker_files)
      << worker_messages << " messages for " << worker_files << " files";
  EXPECT_LT(stats.ranks[0].messages_sent, static_cast<std::int64_t>(items.size()) / 3);
}

// ---- journal hook and callbacks --------------------------------------------------------------

TEST(Schedule, EveryRankJournalsWhatItExtracted) {
  namespace fs = std::filesystem;
  std::string tmpl = (fs::temp_directory_path() / "mpiprep-sched-XXXXXX").string();
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  const std::string cache = tmpl + "/cache.h5";
  const auto items = make_items(150);
  ExtractFn fn = [](const WorkItem& w) { return ok_meta(w); };
  std::atomic<int> callbacks{0};
  comm::run_in_threads(3, [&](comm::Communicator& comm) {
    auto writer = journal::Writer::create(cache, comm.rank());
    ASSERT_TRUE(writer.ok());
    ScheduleOptions opt;
    opt.threads_per_rank = 2;
    opt.journal = writer->get();
    opt.on_result = [&](const FileMeta&) { callbacks.fetch_add(1); };
    const std::vector<WorkItem> none;
    auto r = run_schedule(comm, comm.rank() == 0 ? items : none, fn, opt);
    ASSERT_TRUE((*writer)->close().ok());
  });
  EXPECT_EQ(callbacks.load(), 150);
  auto replayed = journal::replay(cache);
  ASSERT_TRUE(replayed.ok());
  EXPECT_EQ(replayed->files.size(), 3u);
  ASSERT_EQ(replayed->metas.size(), 150u);
  std::set<std::string> paths;
  for (const auto& m : replayed->metas) paths.insert(m.path);
  EXPECT_EQ(paths.size(), 150u);
  for (const auto& w : items) EXPECT_TRUE(paths.count(w.path)) << w.path;
  std::error_code ec;
  fs::remove_all(tmpl, ec);
}

// ---- decode errors are surfaced -----------------------------------------------------------

// Rank 1 plays a broken worker: its result batches are garbage. Rank 0 finishes anyway and
// reports those files as kInternal errors naming the problem.
TEST(Schedule, CorruptResultBatchesAreSurfaced) {
  const auto items = make_items(50);
  ExtractFn fn = [](const WorkItem& w) {
    std::this_thread::sleep_for(1ms);
    return ok_meta(w);
  };
  std::vector<FileMeta> results;
  ScheduleStats stats;
  std::set<std::uint64_t> rogue_items;
  comm::run_in_threads(2, [&](comm::Communicator& comm) {
    if (comm.rank() == 0) {
      results = run_schedule(comm, items, fn, ScheduleOptions{}, &stats);
      return;
    }
    protocol::Request req;
    req.want = 2;
    for (;;) {
      comm.send(0, protocol::kTagRequest, protocol::encode(req));
      auto reply = protocol::decode_reply(comm.recv(0, protocol::kTagReply).data);
      ASSERT_TRUE(reply.ok());
      if (reply->done) break;
      req.result_index = reply->index;
      rogue_items.insert(reply->index.begin(), reply->index.end());
      req.results = {std::byte{1}, std::byte{2}, std::byte{3}};  // not an encoded batch
      if (reply->index.empty()) std::this_thread::sleep_for(1ms);
    }
    (void)comm.gather({}, 0);  // run_schedule's closing stats gather
  });
  ASSERT_EQ(results.size(), items.size());
  ASSERT_FALSE(rogue_items.empty());
  EXPECT_GE(stats.decode_errors, 1);
  ASSERT_FALSE(stats.problems.empty());
  for (std::size_t i = 0; i < items.size(); ++i) {
    EXPECT_EQ(results[i].path, items[i].path);
    if (rogue_items.count(i) != 0) {
      EXPECT_EQ(results[i].error_kind, ErrorKind::kInternal) << i;
      EXPECT_NE(results[i].error_message.find("undecodable"), std::string::npos);
      EXPECT_EQ(results[i].rank, 1);
    } else {
      EXPECT_TRUE(results[i].ok()) << i;
      EXPECT_EQ(results[i].rank, 0);
    }
  }
}

// A request that is garbage as a whole: the items that rank held are reported lost, rank 0
// still finishes.
TEST(Schedule, UndecodableRequestIsSurfaced) {
  const auto items = make_items(20);
  ExtractFn fn = [](const WorkItem& w) {
    std::this_thread::sleep_for(1ms);
    return ok_meta(w);
  };
  std::vector<FileMeta> results;
  ScheduleStats stats;
  std::vector<std::uint64_t> held;
  comm::run_in_threads(2, [&](comm::Communicator& comm) {
    if (comm.rank() == 0) {
      results = run_schedule(comm, items, fn, ScheduleOptions{}, &stats);
      return;
    }
    protocol::Request req;
    req.want = 3;
    comm.send(0, protocol::kTagRequest, protocol::encode(req));
    auto reply = protocol::decode_reply(comm.recv(0, protocol::kTagReply).data);
    ASSERT_TRUE(reply.ok());
    held = reply->index;
    const comm::Bytes garbage = {std::byte{0xde}, std::byte{0xad}};
    for (;;) {
      comm.send(0, protocol::kTagRequest, garbage);
      auto r = protocol::decode_reply(comm.recv(0, protocol::kTagReply).data);
      ASSERT_TRUE(r.ok());
      if (r->done) break;
      std::this_thread::sleep_for(1ms);
    }
    (void)comm.gather({}, 0);
  });
  ASSERT_EQ(results.size(), items.size());
  ASSERT_FALSE(held.empty());
  EXPECT_GE(stats.decode_errors, 1);
  for (std::uint64_t i : held) {
    EXPECT_EQ(results[i].error_kind, ErrorKind::kInternal);
    EXPECT_NE(results[i].error_message.find("undecodable"), std::string::npos);
  }
  std::size_t ok = 0;
  for (const auto& m : results) ok += m.ok() ? 1u : 0u;
  EXPECT_EQ(ok, items.size() - held.size());
}

}  // namespace
}  // namespace mpiprep::schedule
