#include "power_loss_fs.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace mpiprep::testing {
namespace {

std::vector<std::byte> slurp(const std::string& path) {
  std::vector<std::byte> out(static_cast<std::size_t>(std::filesystem::file_size(path)));
  std::ifstream in(path, std::ios::binary);
  in.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(out.size()));
  if (!in) throw std::runtime_error("cannot read " + path);
  return out;
}

class RecordingFile final : public io::WritableFile {
 public:
  RecordingFile(std::unique_ptr<io::WritableFile> base, PowerLossFileSystem& fs, std::size_t inode,
                std::string name)
      : base_(std::move(base)), fs_(fs), inode_(inode), name_(std::move(name)) {}
  Status write(std::uint64_t offset, std::span<const std::byte> data) override {
    Status s = base_->write(offset, data);
    if (s.ok())
      fs_.record(PowerLossFileSystem::Type::kWrite, inode_, name_, {}, offset,
                 std::vector<std::byte>(data.begin(), data.end()));
    return s;
  }
  Status sync() override {
    Status s = base_->sync();
    if (s.ok()) fs_.record(PowerLossFileSystem::Type::kSync, inode_, name_);
    return s;
  }
  Status close() override { return base_->close(); }
  const std::string& path() const override { return base_->path(); }

 private:
  std::unique_ptr<io::WritableFile> base_;
  PowerLossFileSystem& fs_;
  std::size_t inode_;
  std::string name_;
};

}  // namespace

const char* crash_name(PowerLossFileSystem::Crash c) {
  switch (c) {
    case PowerLossFileSystem::Crash::kPowerLoss:
      return "power loss";
    case PowerLossFileSystem::Crash::kNamesAhead:
      return "names ahead of data";
    case PowerLossFileSystem::Crash::kProcess:
      return "process crash";
  }
  return "?";
}

PowerLossFileSystem::PowerLossFileSystem(io::FileSystem& base, std::string dir)
    : io::ForwardingFileSystem(base), dir_(std::move(dir)) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir_))
    if (e.is_regular_file()) names.push_back(e.path().filename());
  std::sort(names.begin(), names.end());
  for (const auto& n : names) {
    initial_.emplace_back(n, slurp(dir_ + "/" + n));
    inode_of_[n] = next_inode_++;
  }
}

std::string PowerLossFileSystem::tracked_name(const std::string& path) const {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos || path.substr(0, slash) != dir_) return {};
  return path.substr(slash + 1);
}

void PowerLossFileSystem::record(Type type, std::size_t inode, std::string name, std::string name2,
                                 std::uint64_t offset, std::vector<std::byte> data) {
  std::lock_guard lock(mu_);
  ops_.push_back(Op{type, inode, std::move(name), std::move(name2), offset, std::move(data)});
}

Result<std::unique_ptr<io::WritableFile>> PowerLossFileSystem::create_exclusive(
    const std::string& path) {
  auto f = base_.create_exclusive(path);
  const std::string name = tracked_name(path);
  if (!f.ok() || name.empty()) return f;
  std::size_t inode = 0;
  {
    std::lock_guard lock(mu_);
    inode = next_inode_++;
    inode_of_[name] = inode;
  }
  record(Type::kCreate, inode, name);
  return std::unique_ptr<io::WritableFile>(
      std::make_unique<RecordingFile>(std::move(f).value(), *this, inode, name));
}

Status PowerLossFileSystem::rename(const std::string& from, const std::string& to) {
  Status s = base_.rename(from, to);
  const std::string a = tracked_name(from), b = tracked_name(to);
  if (!s.ok() || a.empty() || b.empty()) return s;
  std::size_t inode = 0;
  {
    std::lock_guard lock(mu_);
    inode = inode_of_.at(a);
    inode_of_.erase(a);
    inode_of_[b] = inode;
  }
  record(Type::kRename, inode, a, b);
  return s;
}

Status PowerLossFileSystem::sync_dir(const std::string& dir) {
  Status s = base_.sync_dir(dir);
  if (s.ok() && dir == dir_) record(Type::kSyncDir, 0, "");
  return s;
}

Status PowerLossFileSystem::unlink(const std::string& path) {
  Status s = base_.unlink(path);
  const std::string name = tracked_name(path);
  if (!s.ok() || name.empty()) return s;
  {
    std::lock_guard lock(mu_);
    inode_of_.erase(name);
  }
  record(Type::kUnlink, 0, name);
  return s;
}

std::size_t PowerLossFileSystem::ops() const {
  std::lock_guard lock(mu_);
  return ops_.size();
}

std::string PowerLossFileSystem::describe(std::size_t i) const {
  std::lock_guard lock(mu_);
  if (i >= ops_.size()) return "(end)";
  const Op& op = ops_[i];
  switch (op.type) {
    case Type::kCreate:
      return "create " + op.name;
    case Type::kWrite:
      return "write " + op.name + " @" + std::to_string(op.offset) + " +" +
             std::to_string(op.data.size());
    case Type::kSync:
      return "fsync " + op.name;
    case Type::kRename:
      return "rename " + op.name + " -> " + op.name2;
    case Type::kSyncDir:
      return "fsync directory";
    case Type::kUnlink:
      return "unlink " + op.name;
  }
  return "?";
}

void PowerLossFileSystem::materialize(std::size_t n, Crash mode, const std::string& out_dir) const {
  struct Inode {
    std::vector<std::byte> now, durable;
  };
  std::vector<Inode> inodes;
  std::map<std::string, std::size_t> names_now, names_durable;
  for (const auto& [name, content] : initial_) {
    names_now[name] = names_durable[name] = inodes.size();
    inodes.push_back(Inode{content, content});
  }
  std::lock_guard lock(mu_);
  if (n > ops_.size()) throw std::out_of_range("materialize: no such operation");
  for (std::size_t i = 0; i < n; ++i) {
    const Op& op = ops_[i];
    if (op.inode >= inodes.size()) inodes.resize(op.inode + 1);
    switch (op.type) {
      case Type::kCreate:
        names_now[op.name] = op.inode;
        break;
      case Type::kWrite: {
        auto& d = inodes[op.inode].now;
        if (d.size() < op.offset + op.data.size()) d.resize(op.offset + op.data.size());
        std::copy(op.data.begin(), op.data.end(), d.begin() + static_cast<std::ptrdiff_t>(op.offset));
        break;
      }
      case Type::kSync:
        inodes[op.inode].durable = inodes[op.inode].now;
        break;
      case Type::kRename:
        names_now.erase(op.name);
        names_now[op.name2] = op.inode;
        break;
      case Type::kSyncDir:
        names_durable = names_now;
        break;
      case Type::kUnlink:
        names_now.erase(op.name);
        break;
    }
  }
  const auto& names = mode == Crash::kPowerLoss ? names_durable : names_now;
  for (const auto& [name, inode] : names) {
    const auto& data = mode == Crash::kProcess ? inodes[inode].now : inodes[inode].durable;
    std::ofstream out(out_dir + "/" + name, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
    if (!out) throw std::runtime_error("materialize: cannot write " + out_dir + "/" + name);
  }
}

}  // namespace mpiprep::testing
