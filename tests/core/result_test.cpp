#include <gtest/gtest.h>

#include "mpiprep/core/result.hpp"

namespace mpiprep {
namespace {

TEST(ErrorKind, NamesRoundTrip) {
  for (int i = 0; i <= static_cast<int>(ErrorKind::kInternal); ++i) {
    auto k = static_cast<ErrorKind>(i);
    EXPECT_EQ(error_kind_from_name(error_kind_name(k)), k) << error_kind_name(k);
  }
  EXPECT_EQ(error_kind_name(ErrorKind::kUnsupportedFormat), "unsupported_format");
  EXPECT_EQ(error_kind_from_name("no such kind"), ErrorKind::kInternal);
}

TEST(Result, HoldsValueOrError) {
  Result<int> good = 5;
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 5);
  Result<int> bad = make_error(ErrorKind::kTruncated, "at offset 10");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().to_string(), "truncated: at offset 10");
  EXPECT_THROW((void)bad.value(), std::logic_error);
}

}  // namespace
}  // namespace mpiprep
