#include <gtest/gtest.h>

#include "core/batch.hpp"
#include "core/error.hpp"
#include "core/types.hpp"

namespace sluice {
namespace {

TEST(Types, ParsesSqlSpellings) {
    EXPECT_EQ(ParseTypeName("bigint")->id, LogicalType::kInt64);
    EXPECT_EQ(ParseTypeName("Double  Precision")->id, LogicalType::kFloat64);
    auto dec = ParseTypeName("numeric(12, 2)");
    ASSERT_TRUE(dec);
    EXPECT_EQ(dec->precision, 12);
    EXPECT_EQ(dec->scale, 2);
    EXPECT_EQ(TypeName(*dec), "decimal(12,2)");
    EXPECT_EQ(ParseTypeName("varchar(20)")->id, LogicalType::kText);
    auto arr = ParseTypeName("int[]");
    ASSERT_TRUE(arr);
    EXPECT_EQ(arr->id, LogicalType::kArray);
    EXPECT_EQ(arr->element, LogicalType::kInt32);
    EXPECT_EQ(TypeName(*ParseTypeName("jsonb")), "jsonb");
    EXPECT_FALSE(ParseTypeName("bignum"));
}

TEST(Column, FixedAndVariableWithNulls) {
    Column ints(MakeType(LogicalType::kInt64));
    Column texts(MakeType(LogicalType::kText));
    for (int64_t i = 0; i < 20; ++i) {
        if (i % 3 == 0) {
            ints.AppendNull();
            texts.AppendNull();
        } else {
            ints.Append(i * 1000);
            texts.AppendBytes(std::string(static_cast<size_t>(i), 'x'));
        }
    }
    ASSERT_EQ(ints.size(), 20u);
    for (size_t i = 0; i < 20; ++i) {
        EXPECT_EQ(ints.IsNull(i), i % 3 == 0);
        EXPECT_EQ(texts.IsNull(i), i % 3 == 0);
        if (i % 3 != 0) {
            EXPECT_EQ(ints.Get<int64_t>(i), static_cast<int64_t>(i) * 1000);
            EXPECT_EQ(texts.GetBytes(i), std::string(i, 'x'));
        }
    }
    Column copy(MakeType(LogicalType::kText));
    copy.AppendFrom(texts, 4);
    copy.AppendFrom(texts, 3);
    EXPECT_EQ(copy.GetBytes(0), "xxxx");
    EXPECT_TRUE(copy.IsNull(1));
    texts.Clear();
    EXPECT_EQ(texts.size(), 0u);
    texts.AppendBytes("");
    EXPECT_FALSE(texts.IsNull(0));
    EXPECT_EQ(texts.GetBytes(0), "");
}

TEST(Errors, MasksPasswordsAndMapsExitCodes) {
    EXPECT_EQ(MaskSecrets("postgresql://app:s3cret@db:5432/x failed"),
              "postgresql://app:***@db:5432/x failed");
    EXPECT_EQ(MaskSecrets("host=db password=hunter2 user=x"), "host=db password=*** user=x");
    EXPECT_EQ(ExitCodeFor(ErrorKind::kConfig), ExitCode::kUsage);
    EXPECT_EQ(ExitCodeFor(ErrorKind::kData), ExitCode::kFailed);
    EXPECT_EQ(ExitCodeFor(ErrorKind::kCancelled), ExitCode::kStopped);
    Error err(ErrorKind::kConnection, "terminating connection", "57P01");
    EXPECT_TRUE(err.IsTransient());
    EXPECT_FALSE(Error(ErrorKind::kConnection, "bad password", "28P01").IsTransient());
    EXPECT_TRUE(IsDataSqlstate("23505"));
}

}  // namespace
}  // namespace sluice
