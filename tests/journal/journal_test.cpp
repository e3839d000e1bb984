#include "mpiprep/journal/journal.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "journal/meta_testing.hpp"

namespace mpiprep::journal {
namespace {

namespace fs = std::filesystem;
using mpiprep::testing::expect_same;
using mpiprep::testing::synthetic_meta;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "mpiprep-journal-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

std::string read_file(const std::string& path) {
  std::string s(static_cast<std::size_t>(fs::file_size(path)), '\0');
  std::ifstream in(path, std::ios::binary);
  in.read(s.data(), static_cast<std::streamsize>(s.size()));
  return s;
}

void write_file(const std::string& path, const char* data, std::size_t n) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data, static_cast<std::streamsize>(n));
}

WriterOptions manual(std::size_t per_record) {
  WriterOptions o;
  o.background = false;
  o.flush_interval_s = 3600;
  o.write_interval_s = 3600;
  o.metas_per_record = per_record;
  return o;
}

TEST(Journal, WriteCloseReplayEveryField) {
  TempDir dir;
  const std::string cache = dir.file("cache.h5");
  auto w = Writer::create(cache, 3, manual(4));
  ASSERT_TRUE(w.ok()) << w.error().to_string();
  EXPECT_EQ((*w)->path().rfind(journal_prefix(cache), 0), 0u);
  EXPECT_TRUE((*w)->path().ends_with(".3"));
  for (int i = 0; i < 10; ++i) ASSERT_TRUE((*w)->append(synthetic_meta(i)).ok());
  ASSERT_TRUE((*w)->close().ok());
  EXPECT_EQ((*w)->stats().records, 3u);                 // 4 + 4 + 2
  EXPECT_FALSE((*w)->append(synthetic_meta(99)).ok());  // closed

  auto r = replay(cache);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  ASSERT_EQ(r->metas.size(), 10u);
  for (int i = 0; i < 10; ++i)
    expect_same(synthetic_meta(i), r->metas[static_cast<std::size_t>(i)]);
  ASSERT_EQ(r->files.size(), 1u);
  EXPECT_EQ(r->files[0], (*w)->path());
  ASSERT_EQ(r->details.size(), 1u);
  EXPECT_EQ(r->details[0].records, 3u);
  EXPECT_EQ(r->details[0].bytes_dropped, 0u);
  EXPECT_TRUE(r->details[0].problem.empty()) << r->details[0].problem;
  EXPECT_EQ(r->details[0].size, fs::file_size((*w)->path()));
}

TEST(Journal, NoDirectoryOrNoJournalIsEmpty) {
  auto r = replay("/nonexistent-mpiprep-dir/cache.h5");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->metas.empty());
  TempDir dir;
  write_file(dir.file("cache.h5"), "x", 1);
  write_file(dir.file("other.h5.journal.h.1.0"), "MPJRNL01", 8);  // another cache's journal
  auto r2 = replay(dir.file("cache.h5"));
  ASSERT_TRUE(r2.ok());
  EXPECT_TRUE(r2->files.empty());
}

// Truncate at every byte of the last record: replay returns exactly the complete records.
TEST(Journal, TornLastRecordAtEveryByte) {
  TempDir dir;
  const std::string cache = dir.file("c.h5");
  std::string path;
  std::uint64_t end_first = 0, end_second = 0;
  {
    auto w = Writer::create(cache, 0, manual(100));
    ASSERT_TRUE(w.ok());
    path = (*w)->path();
    for (int i = 0; i < 4; ++i) ASSERT_TRUE((*w)->append(synthetic_meta(i)).ok());
    ASSERT_TRUE((*w)->flush().ok());
    end_first = fs::file_size(path);
    // The last record holds one FileMeta, so every-byte truncation stays quick.
    ASSERT_TRUE((*w)->append(synthetic_meta(4)).ok());
    ASSERT_TRUE((*w)->close().ok());
    end_second = fs::file_size(path);
  }
  ASSERT_GT(end_second, end_first + kRecordHeaderBytes);
  const auto full = read_file(path);
  for (std::uint64_t cut = end_first; cut <= end_second; ++cut) {
    write_file(path, full.data(), static_cast<std::size_t>(cut));
    auto r = replay(cache);
    ASSERT_TRUE(r.ok());
    const std::size_t want = cut == end_second ? 5 : 4;
    ASSERT_EQ(r->metas.size(), want) << "cut at " << cut;
    for (std::size_t i = 0; i < want; ++i)
      ASSERT_EQ(r->metas[i].path, synthetic_meta(static_cast<int>(i)).path);
    EXPECT_EQ(r->bytes_dropped, cut == end_second ? 0 : cut - end_first) << cut;
    ASSERT_EQ(r->files.size(), 1u);  // still replayed (and removable after commit)
    if (cut != end_second && cut != end_first) {
      EXPECT_FALSE(r->details[0].problem.empty());
    }
  }
  // A torn file header (crash right after create) is an empty journal, not a foreign file.
  for (std::uint64_t cut = 0; cut < kFileHeaderBytes; ++cut) {
    write_file(path, full.data(), static_cast<std::size_t>(cut));
    auto r = replay(cache);
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r->metas.empty());
    EXPECT_EQ(r->files.size(), 1u) << cut;
    EXPECT_EQ(r->bytes_dropped, cut);
  }
}

TEST(Journal, GarbageAfterRecordsIsIgnored) {
  TempDir dir;
  const std::string cache = dir.file("c.h5");
  std::string path;
  {
    auto w = Writer::create(cache, 1, manual(2));
    ASSERT_TRUE(w.ok());
    path = (*w)->path();
    for (int i = 0; i < 5; ++i) ASSERT_TRUE((*w)->append(synthetic_meta(i)).ok());
    ASSERT_TRUE((*w)->close().ok());
  }
  const auto clean = read_file(path);
  // 1. random bytes; 2. a plausible header claiming 200 MB; 3. the first record again, but
  // with one payload byte flipped (checksum must catch it).
  std::vector<std::string> tails;
  std::string junk(777, '\0');
  for (std::size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<char>((i * 131 + 7) & 0xff);
  tails.push_back(junk);
  tails.push_back(std::string("MPJR\0\0\0\x0c\x01\x02\x03\x04\x05\x06\x07\x08\x09\x09\x09", 19));
  std::string copy = clean.substr(kFileHeaderBytes);
  copy[kRecordHeaderBytes + 20] = static_cast<char>(copy[kRecordHeaderBytes + 20] ^ 0x5a);
  tails.push_back(copy);
  for (const auto& tail : tails) {
    const std::string bytes = clean + tail;
    write_file(path, bytes.data(), bytes.size());
    auto r = replay(cache);
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->metas.size(), 5u);
    EXPECT_EQ(r->bytes_dropped, tail.size());
    EXPECT_FALSE(r->details[0].problem.empty());
  }
  // A flipped payload byte inside the last real record drops that record only.
  auto bytes = clean;
  bytes[bytes.size() - 3] = static_cast<char>(bytes[bytes.size() - 3] ^ 0x01);
  write_file(path, bytes.data(), bytes.size());
  auto r = replay(cache);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->metas.size(), 4u);
  EXPECT_NE(r->details[0].problem.find("checksum"), std::string::npos) << r->details[0].problem;
}

TEST(Journal, SeveralWritersForeignFileAndRemove) {
  TempDir dir;
  const std::string cache = dir.file("cache.h5");
  auto a = Writer::create(cache, 0, manual(3));
  auto b = Writer::create(cache, 0, manual(3));  // same host/pid/rank: gets a distinct name
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE((*a)->path(), (*b)->path());
  for (int i = 0; i < 4; ++i) ASSERT_TRUE((*a)->append(synthetic_meta(i)).ok());
  for (int i = 10; i < 13; ++i) ASSERT_TRUE((*b)->append(synthetic_meta(i)).ok());
  ASSERT_TRUE((*a)->close().ok());
  ASSERT_TRUE((*b)->close().ok());
  const std::string foreign = journal_prefix(cache) + "someone.else";
  write_file(foreign, "NOTAJOURNALFILE!!", 17);

  auto r = replay(cache);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->metas.size(), 7u);
  EXPECT_EQ(r->files.size(), 2u);
  EXPECT_EQ(r->details.size(), 3u);
  EXPECT_FALSE(std::find(r->files.begin(), r->files.end(), foreign) != r->files.end());

  EXPECT_FALSE(remove_journals(cache, {dir.file("cache.h5")}).ok());  // not a journal
  ASSERT_TRUE(remove_journals(cache, r->files).ok());
  for (const auto& f : r->files) EXPECT_FALSE(fs::exists(f));
  EXPECT_TRUE(fs::exists(foreign));
  ASSERT_TRUE(remove_journals(cache, r->files).ok());  // already gone: fine
  auto again = replay(cache);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->metas.empty());
  EXPECT_TRUE(again->files.empty());
}

// The flusher thread makes records durable within the interval without any flush() call.
TEST(Journal, BackgroundFlushWithinInterval) {
  TempDir dir;
  const std::string cache = dir.file("cache.h5");
  WriterOptions o;
  o.flush_interval_s = 0.05;
  o.metas_per_record = 2;
  auto w = Writer::create(cache, 0, o);
  ASSERT_TRUE(w.ok());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE((*w)->append(synthetic_meta(i)).ok());
  // Visible to a reader once write() returns; counted as synced once fdatasync returned.
  std::size_t seen = 0;
  std::uint64_t syncs = 0;
  for (int tries = 0; tries < 200 && (seen < 3 || syncs < 1); ++tries) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    auto r = replay(cache);
    ASSERT_TRUE(r.ok());
    seen = r->metas.size();
    syncs = (*w)->stats().syncs;
  }
  EXPECT_EQ(seen, 3u);
  EXPECT_GE(syncs, 1u);
  ASSERT_TRUE((*w)->close().ok());
}

// Between fdatasyncs, appends still reach the file (write()) within write_interval_s, which is
// what survives a SIGKILL.
TEST(Journal, WrittenWithinWriteIntervalBeforeAnySync) {
  TempDir dir;
  const std::string cache = dir.file("cache.h5");
  WriterOptions o;
  o.flush_interval_s = 3600;
  o.write_interval_s = 0.02;
  auto w = Writer::create(cache, 0, o);
  ASSERT_TRUE(w.ok());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE((*w)->append(synthetic_meta(i)).ok());
  std::size_t seen = 0;
  for (int tries = 0; tries < 200 && seen < 5; ++tries) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    auto r = replay(cache);
    ASSERT_TRUE(r.ok());
    seen = r->metas.size();
  }
  EXPECT_EQ(seen, 5u);
  EXPECT_EQ((*w)->stats().syncs, 0u);
  ASSERT_TRUE((*w)->close().ok());
  EXPECT_EQ((*w)->stats().syncs, 1u);  // close() syncs
}

// A child process writes records and is SIGKILLed mid-run: the parent replays at least
// everything the child reported as flushed, and what it replays is exactly what was written.
TEST(Journal, SurvivesSigkillOfTheWriter) {
  TempDir dir;
  const std::string cache = dir.file("cache.h5");
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(fds[0]);
    WriterOptions o;
    o.flush_interval_s = 0.01;
    o.metas_per_record = 3;
    auto w = Writer::create(cache, 7, o);
    if (!w.ok()) ::_exit(3);
    for (std::int32_t i = 0;; ++i) {
      if (!(*w)->append(synthetic_meta(i)).ok()) ::_exit(4);
      if (i % 5 == 4) {
        if (!(*w)->flush().ok()) ::_exit(5);
        const std::int32_t flushed = i + 1;
        if (::write(fds[1], &flushed, sizeof(flushed)) != sizeof(flushed)) ::_exit(6);
      }
      ::usleep(100);
    }
  }
  ::close(fds[1]);
  std::int32_t last = 0, v = 0;
  while (last < 300 && ::read(fds[0], &v, sizeof(v)) == sizeof(v)) last = v;
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited early with " << WEXITSTATUS(status);
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  while (::read(fds[0], &v, sizeof(v)) == sizeof(v)) last = v;  // reports sent before death
  ::close(fds[0]);
  ASSERT_GE(last, 300);

  auto r = replay(cache);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->files.size(), 1u);
  ASSERT_GE(r->metas.size(), static_cast<std::size_t>(last));
  for (std::size_t i = 0; i < r->metas.size(); ++i)
    expect_same(synthetic_meta(static_cast<int>(i)), r->metas[i]);
  // Records are whole: the replayed count is a multiple of the record size unless the last
  // record was an explicit flush() of a partial batch.
  EXPECT_LT(r->details[0].bytes_dropped, r->details[0].size);
}

}  // namespace
}  // namespace mpiprep::journal
