#include <gtest/gtest.h>

#include <thread>

#include "core/convert.hpp"
#include "engine/bounded_queue.hpp"
#include "engine/retry.hpp"
#include "observe/reporter.hpp"
#include "transform/conform.hpp"

namespace sluice {
namespace {

Schema MakeSchema(std::initializer_list<std::pair<const char*, LogicalType>> columns) {
    Schema schema;
    for (const auto& [name, type] : columns) {
        Field field;
        field.name = name;
        field.type = MakeType(type);
        schema.fields.push_back(field);
    }
    return schema;
}

TEST(BoundedQueue, DeliversInOrderAndBlocksWhenFull) {
    BoundedQueue<int> queue(2, 1000);
    std::atomic<int> pushed{0};
    std::thread producer([&] {
        for (int i = 0; i < 100; ++i) {
            ASSERT_TRUE(queue.Push(i, 10));
            ++pushed;
        }
        queue.Close();
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_LE(pushed.load(), 3);  // bounded: the producer waits for the consumer
    for (int i = 0; i < 100; ++i) {
        auto item = queue.Pop();
        ASSERT_TRUE(item);
        EXPECT_EQ(*item, i);
    }
    EXPECT_FALSE(queue.Pop());
    producer.join();
}

TEST(BoundedQueue, ByteBoundAndCancelWakeBothEnds) {
    BoundedQueue<int> queue(100, 50);
    ASSERT_TRUE(queue.Push(1, 40));
    std::thread producer([&] { EXPECT_FALSE(queue.Push(2, 40)); });  // over the byte bound
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    queue.Cancel();
    producer.join();
    EXPECT_FALSE(queue.Pop());
    // An item bigger than the bound still passes through an empty queue.
    BoundedQueue<int> small(4, 10);
    ASSERT_TRUE(small.Push(7, 1000));
    EXPECT_EQ(small.Pop().value(), 7);
}

TEST(Retry, ExponentialBackoffWithFullJitterCapped) {
    RetrySpec spec;
    spec.initial = std::chrono::milliseconds(100);
    spec.max = std::chrono::milliseconds(1000);
    std::mt19937_64 rng(1);
    for (int attempt = 1; attempt <= 10; ++attempt) {
        const int64_t cap = std::min<int64_t>(1000, 100LL << (attempt - 1));
        for (int i = 0; i < 50; ++i) {
            const auto d = RetryDelay(spec, attempt, rng).count();
            EXPECT_GE(d, 0);
            EXPECT_LE(d, cap);
        }
    }
}

TEST(Conformer, CastsTextToTargetTypesAndRejectsBadRows) {
    Schema source = MakeSchema({{"id", LogicalType::kText}, {"amount", LogicalType::kText}});
    Schema target = MakeSchema({{"id", LogicalType::kInt64},
                                {"amount", LogicalType::kFloat64},
                                {"country", LogicalType::kText}});
    BatchConformer conformer(source, target, "country");
    EXPECT_FALSE(conformer.identity());
    Batch in(source);
    const char* rows[][2] = {{"1", "1.5"}, {"2", "oops"}, {"3", ""}};
    for (auto& r : rows) {
        in.columns[0].AppendBytes(r[0]);
        if (std::string_view(r[1]).empty()) {
            in.columns[1].AppendNull();
        } else {
            in.columns[1].AppendBytes(r[1]);
        }
    }
    in.source_rows = {2, 3, 4};
    Batch out = conformer.Apply(std::move(in), "AFG");
    ASSERT_EQ(out.rows(), 2u);
    EXPECT_EQ(out.columns[0].Get<int64_t>(0), 1);
    EXPECT_DOUBLE_EQ(out.columns[1].Get<double>(0), 1.5);
    EXPECT_EQ(out.columns[0].Get<int64_t>(1), 3);
    EXPECT_TRUE(out.columns[1].IsNull(1));
    EXPECT_EQ(out.columns[2].GetBytes(1), "AFG");
    ASSERT_EQ(out.rejected.size(), 1u);
    EXPECT_EQ(out.rejected[0].position, "row 3");
    EXPECT_NE(out.rejected[0].error.find("amount"), std::string::npos);
    EXPECT_EQ(out.source_rows, (std::vector<uint64_t>{2, 4}));
}

TEST(Conformer, RejectedRowsShowTheSourceValues) {
    Schema source = MakeSchema({{"id", LogicalType::kInt64}, {"amount", LogicalType::kText}});
    Schema target = MakeSchema({{"id", LogicalType::kInt64}, {"amount", LogicalType::kInt32}});
    BatchConformer conformer(source, target, "");
    Batch in(source);
    in.columns[0].Append<int64_t>(7);
    in.columns[1].AppendBytes("12x");
    Batch out = conformer.Apply(std::move(in), "");
    EXPECT_EQ(out.rows(), 0u);
    ASSERT_EQ(out.rejected.size(), 1u);
    EXPECT_EQ(out.rejected[0].row, R"({"id":7,"amount":"12x"})");  // not "7," with the unconvertible value gone
    EXPECT_EQ(out.rejected[0].position, "batch row 1");
}

TEST(Conformer, WholeDecimalsCastToIntegersAndFractionsAreRefused) {
    Schema source = MakeSchema({{"v", LogicalType::kDecimal}});
    Schema target = MakeSchema({{"v", LogicalType::kInt32}});
    BatchConformer conformer(source, target, "");
    Batch in(source);
    for (const char* v : {"16667.000000", "-3", "0.0", "16666.67", "1.50"}) {
        in.columns[0].AppendBytes(v);
    }
    Batch out = conformer.Apply(std::move(in), "");
    ASSERT_EQ(out.rows(), 3u);
    EXPECT_EQ(out.columns[0].Get<int32_t>(0), 16667);
    EXPECT_EQ(out.columns[0].Get<int32_t>(1), -3);
    EXPECT_EQ(out.columns[0].Get<int32_t>(2), 0);
    ASSERT_EQ(out.rejected.size(), 2u);
    EXPECT_EQ(out.rejected[0].row, R"({"v":"16666.67"})");
    EXPECT_EQ(out.rejected[0].error,
              "column v: 16666.67 has a fraction, and the target column is int32; round it in a "
              "source query");
    EXPECT_EQ(out.rejected[1].row, R"({"v":"1.50"})");
}

TEST(Conformer, IntegersNarrowWhenTheyFitAndAreRefusedAtTheEdges) {
    Schema source = MakeSchema({{"a", LogicalType::kInt64}, {"b", LogicalType::kInt32}});
    Schema target = MakeSchema({{"a", LogicalType::kInt32}, {"b", LogicalType::kInt16}});
    BatchConformer conformer(source, target, "");
    Batch in(source);
    const std::vector<std::pair<int64_t, int32_t>> rows = {
        {2147483647, 32767}, {-2147483648LL, -32768}, {2147483648LL, 0}, {0, 32768}, {-2147483649LL, -32769}};
    for (const auto& [a, b] : rows) {
        in.columns[0].Append<int64_t>(a);
        in.columns[1].Append<int32_t>(b);
    }
    in.columns[0].AppendNull();
    in.columns[1].AppendNull();
    Batch out = conformer.Apply(std::move(in), "");
    ASSERT_EQ(out.rows(), 3u);
    EXPECT_EQ(out.columns[0].Get<int32_t>(0), 2147483647);
    EXPECT_EQ(out.columns[1].Get<int16_t>(0), 32767);
    EXPECT_EQ(out.columns[0].Get<int32_t>(1), -2147483647 - 1);
    EXPECT_EQ(out.columns[1].Get<int16_t>(1), -32768);
    EXPECT_TRUE(out.columns[0].IsNull(2));
    ASSERT_EQ(out.rejected.size(), 3u);
    EXPECT_EQ(out.rejected[0].error, "column a: '2147483648' is out of range for int32");
    EXPECT_EQ(out.rejected[1].error, "column b: '32768' is out of range for int16");
    EXPECT_EQ(out.rejected[2].error, "column a: '-2147483649' is out of range for int32");
}

TEST(Conformer, ZeroAndOneAreBooleansOtherIntegersAreRefused) {
    Schema source = MakeSchema({{"flag", LogicalType::kInt64}});
    Schema target = MakeSchema({{"flag", LogicalType::kBool}});
    BatchConformer conformer(source, target, "");
    Batch in(source);
    for (const int64_t v : {0, 1, 2, -1}) {
        in.columns[0].Append<int64_t>(v);
    }
    Batch out = conformer.Apply(std::move(in), "");
    ASSERT_EQ(out.rows(), 2u);
    EXPECT_EQ(out.columns[0].Get<uint8_t>(0), 0);
    EXPECT_EQ(out.columns[0].Get<uint8_t>(1), 1);
    ASSERT_EQ(out.rejected.size(), 2u);
    EXPECT_NE(out.rejected[0].error.find("'2'"), std::string::npos) << out.rejected[0].error;
}

TEST(Conformer, IdentityPassesBatchesUnchanged) {
    Schema s = MakeSchema({{"id", LogicalType::kInt64}});
    BatchConformer conformer(s, s, "");
    EXPECT_TRUE(conformer.identity());
}

TEST(Reporter, ShortFormats) {
    EXPECT_EQ(ShortCount(812), "812");
    EXPECT_EQ(ShortCount(35000), "35.0k");
    EXPECT_EQ(ShortCount(1.25e6), "1.2M");
    EXPECT_EQ(ShortDuration(12), "12s");
    EXPECT_EQ(ShortDuration(185), "3m05s");
    EXPECT_EQ(ShortDuration(3720), "1h02m");
    EXPECT_EQ(ShortDuration(-1), "?");
}

}  // namespace
}  // namespace sluice
