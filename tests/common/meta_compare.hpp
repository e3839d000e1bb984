// One field-by-field FileMeta/ObjectMeta comparison for every test (journal, cache, inspect
// JSON), so a field added to the model is compared everywhere by adding it here once.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "mpiprep/core/meta.hpp"

namespace mpiprep::testing {

inline void expect_same(const ObjectMeta& a, const ObjectMeta& b, const std::string& where = {}) {
  SCOPED_TRACE(where.empty() ? a.path : where);
  EXPECT_EQ(a.path, b.path);
  EXPECT_EQ(a.kind, b.kind);
  EXPECT_EQ(a.title, b.title);
  EXPECT_EQ(a.cycle, b.cycle);
  EXPECT_EQ(a.num_entries, b.num_entries);
  EXPECT_EQ(a.columns, b.columns);
  EXPECT_EQ(a.n_columns_total, b.n_columns_total);
  EXPECT_EQ(a.clusters, b.clusters);
  EXPECT_EQ(a.shape, b.shape);
  EXPECT_EQ(a.maxshape, b.maxshape);
  EXPECT_EQ(a.chunks, b.chunks);
  EXPECT_EQ(a.dtype, b.dtype);
  EXPECT_EQ(a.layout, b.layout);
  EXPECT_EQ(a.filters, b.filters);
  EXPECT_EQ(a.attributes, b.attributes);
  EXPECT_EQ(a.error_kind, b.error_kind);
  EXPECT_EQ(a.error_message, b.error_message);
}

// What a comparison covers beyond the extracted content.
enum class RunFields {
  kCompare,  // mtime_ns, extract_seconds (bit for bit), bytes_read, rank: storage round trips
  kIgnore,   // formats that do not carry them (inspect JSON)
};

inline void expect_same(const FileMeta& a, const FileMeta& b,
                        RunFields run_fields = RunFields::kCompare) {
  SCOPED_TRACE(a.path);
  EXPECT_EQ(a.path, b.path);
  EXPECT_EQ(a.size, b.size);
  EXPECT_EQ(a.format, b.format);
  EXPECT_EQ(a.uuid, b.uuid);
  EXPECT_EQ(a.compression, b.compression);
  EXPECT_EQ(a.error_kind, b.error_kind);
  EXPECT_EQ(a.error_message, b.error_message);
  if (run_fields == RunFields::kCompare) {
    EXPECT_EQ(a.mtime_ns, b.mtime_ns);
    EXPECT_EQ(a.extract_seconds, b.extract_seconds);  // exact: stored and sent bit for bit
    EXPECT_EQ(a.bytes_read, b.bytes_read);
    EXPECT_EQ(a.rank, b.rank);
  }
  ASSERT_EQ(a.objects.size(), b.objects.size());
  for (std::size_t i = 0; i < a.objects.size(); ++i)
    expect_same(a.objects[i], b.objects[i], "object " + std::to_string(i) + " " + a.objects[i].path);
}

}  // namespace mpiprep::testing
