// extract::root::extract(): the Extractor entry point over the native reader.
#include <utility>

#include "mpiprep/extract/extractor.hpp"
#include "mpiprep/extract/root/reader.hpp"

namespace mpiprep::extract::root {

Result<FileMeta> extract(io::RandomAccessFile& file, const ExtractOptions& opts) {
  // Built inside the Result, returned by its one return statement (no move of the FileMeta
  // on the way out).
  Result<FileMeta> out(FileMeta{});
  const ReadOptions ro;
  RootFileInfo info;
  if (Status s = read_root_file(file, ro, info); !s.ok()) {
    out = s.error();
  } else {
    FileMeta& meta = *out;
    to_file_meta(std::move(info), opts.clusters, meta);
    meta.path = file.path();
    meta.size = static_cast<std::int64_t>(file.size());
  }
  return out;
}

}  // namespace mpiprep::extract::root
