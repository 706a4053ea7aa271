// File targets' bytes: PostgreSQL CSV quoting (NULL vs "", quotes, CR/LF, \.), JSON lines
// (exact decimals, NaN and infinities as strings, escapes, embedded JSON on one line), and the
// gzip and zstd writers read back through the file sources' own decompression.
#include <fcntl.h>
#include <unistd.h>

#include <random>
#include <string>

#include <gtest/gtest.h>

#include "connectors/files/compress.hpp"
#include "connectors/files/file_window.hpp"
#include "connectors/files/row_encoders.hpp"
#include "core/convert.hpp"
#include "support/temp_dir.hpp"

namespace sluice::files {
namespace {

Batch TwoColumns(LogicalType type, const std::vector<std::optional<std::string>>& values) {
    Batch batch;
    batch.schema.fields = {Field{"id", MakeType(LogicalType::kInt32)}, Field{"v", MakeType(type)}};
    batch.columns.emplace_back(MakeType(LogicalType::kInt32));
    batch.columns.emplace_back(MakeType(type));
    for (size_t i = 0; i < values.size(); ++i) {
        batch.columns[0].Append<int32_t>(static_cast<int32_t>(i + 1));
        if (values[i]) {
            EXPECT_TRUE(AppendParsed(batch.columns[1], *values[i]).ok()) << *values[i];
        } else {
            batch.columns[1].AppendNull();
        }
    }
    return batch;
}

TEST(CsvRows, QuoteLikePostgresCsv) {
    const Batch batch = TwoColumns(LogicalType::kText, {std::nullopt, "", "plain", "a,b", "say \"hi\"", "two\nlines",
                                                        "cr\r", "\\.", " spaced "});
    std::string out;
    AppendCsvHeader(batch.schema, out);
    AppendCsvRows(batch, out);
    EXPECT_EQ(out,
              "id,v\n1,\n2,\"\"\n3,plain\n4,\"a,b\"\n5,\"say \"\"hi\"\"\"\n6,\"two\nlines\"\n7,\"cr\r\"\n"
              "8,\"\\.\"\n9, spaced \n");
}

TEST(JsonLines, NumbersExactAndSpecialValuesAsStrings) {
    std::string out;
    AppendJsonLines(TwoColumns(LogicalType::kDecimal, {"12345678901234567890.123456789", "-0.5", "NaN", std::nullopt}),
                    out);
    EXPECT_EQ(out,
              "{\"id\":1,\"v\":12345678901234567890.123456789}\n{\"id\":2,\"v\":-0.5}\n{\"id\":3,\"v\":\"NaN\"}\n"
              "{\"id\":4,\"v\":null}\n");
    out.clear();
    AppendJsonLines(TwoColumns(LogicalType::kFloat64, {"1.5", "Infinity", "-Infinity", "1e300"}), out);
    EXPECT_EQ(out,
              "{\"id\":1,\"v\":1.5}\n{\"id\":2,\"v\":\"Infinity\"}\n{\"id\":3,\"v\":\"-Infinity\"}\n"
              "{\"id\":4,\"v\":1e+300}\n");
}

TEST(JsonLines, EscapesTextAndKeepsJsonOnOneLine) {
    std::string out;
    AppendJsonLines(TwoColumns(LogicalType::kText, {"q\"b\\s\nt\x01"}), out);
    EXPECT_EQ(out, "{\"id\":1,\"v\":\"q\\\"b\\\\s\\nt\\u0001\"}\n");
    out.clear();
    AppendJsonLines(TwoColumns(LogicalType::kJson, {"{\"a\":\n [1, \"x\\ny\"]}"}), out);
    EXPECT_EQ(out, "{\"id\":1,\"v\":{\"a\":  [1, \"x\\ny\"]}}\n");
}

std::string RoundTrip(Compression compression, const std::string& content) {
    sluice::testing::TempDir dir;
    const std::string path = dir.path() + (compression == Compression::kGzip   ? "/f.gz"
                                           : compression == Compression::kZstd ? "/f.zst"
                                                                               : "/f");
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    {
        std::unique_ptr<Compressor> writer = Compressor::Make(compression, fd, path);
        for (size_t at = 0; at < content.size(); at += 70001) {
            writer->Write(std::string_view(content).substr(at, 70001));
        }
        writer->Finish();
    }
    ::close(fd);
    FileWindow window(path, 0, 1 << 16);
    std::string back;
    while (window.Fill()) {
        back.append(window.data(), window.size());
        window.Consume(window.size());
    }
    back.append(window.data(), window.size());
    return back;
}

TEST(Compressor, GzipZstdAndPlainReadBackWhole) {
    std::mt19937 rng(7);
    std::string content;
    while (content.size() < 3'000'000) {
        content += "row " + std::to_string(rng()) + ",\"text, quoted\"\n";
    }
    for (Compression c : {Compression::kNone, Compression::kGzip, Compression::kZstd}) {
        EXPECT_EQ(RoundTrip(c, content), content) << static_cast<int>(c);
        EXPECT_EQ(RoundTrip(c, ""), "") << static_cast<int>(c);
    }
}

}  // namespace
}  // namespace sluice::files
