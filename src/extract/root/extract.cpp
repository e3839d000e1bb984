// extract::root::extract(): the Extractor entry point over the native reader.
#include <utility>

#include "extract/root/file_meta_builder.hpp"
#include "mpiprep/extract/extractor.hpp"
#include "mpiprep/extract/root/reader.hpp"

namespace mpiprep::extract::root {

Result<FileMeta> extract(io::RandomAccessFile& file, const ExtractOptions& opts) {
  // Built inside the Result, returned by its one return statement (no move of the FileMeta
  // on the way out).
  Result<FileMeta> out(FileMeta{});
  // The decoded model stays in the reader's scratch memory (no RootFileInfo of its own).
  const ReadOptions ro;
  FileMeta& meta = *out;
  if (Status s = read_root_file_meta(file, ro, opts.clusters, meta); !s.ok()) {
    out = s.error();
  } else {
    meta.path = file.path();
    meta.size = static_cast<std::int64_t>(file.size());
  }
  return out;
}

}  // namespace mpiprep::extract::root
