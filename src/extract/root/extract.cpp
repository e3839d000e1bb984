// extract::root::extract(): the Extractor entry point over the native reader.
#include <utility>

#include "mpiprep/extract/extractor.hpp"
#include "mpiprep/extract/root/reader.hpp"

namespace mpiprep::extract::root {

Result<FileMeta> extract(io::RandomAccessFile& file, const ExtractOptions& opts) {
  const ReadOptions ro;
  RootFileInfo info;
  if (Status s = read_root_file(file, ro, info); !s.ok()) return s.error();
  FileMeta meta = to_file_meta(std::move(info), opts.clusters);
  meta.path = file.path();
  meta.size = static_cast<std::int64_t>(file.size());
  return meta;
}

}  // namespace mpiprep::extract::root
