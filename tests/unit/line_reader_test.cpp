// LineReader hands out each line where it lies in its window, with the promise that the JSON
// parser may read kWindowTailBytes past its terminator (none for a last line without one): the
// lines, their numbers and offsets, and that promise are checked on windows small enough that
// lines span reads and grow the window.
#include "connectors/files/line_reader.hpp"

#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/temp_dir.hpp"

namespace sluice::files {
namespace {

TEST(LineReader, EveryLineCanBeReadAheadOfWhereItLies) {
    sluice::testing::TempDir dir;
    uint32_t seed = 77;
    const auto next = [&] {
        seed = seed * 1103515245u + 12345u;
        return (seed >> 16) & 0x7fff;
    };
    for (int trial = 0; trial < 40; ++trial) {
        std::vector<std::string> lines;
        std::vector<std::string> terminators;
        std::string content;
        const int count = 1 + static_cast<int>(next() % 30);
        for (int i = 0; i < count; ++i) {
            const size_t length = next() % 3 == 0 ? next() % 700 : next() % 40;
            std::string line(length, static_cast<char>('a' + next() % 26));
            const std::string terminator =
                i + 1 == count && next() % 2 == 0 ? "" : (next() % 3 == 0 ? "\r\n" : "\n");
            content += line + terminator;
            lines.push_back(std::move(line));
            terminators.push_back(terminator);
        }
        const std::string path = dir / ("f" + std::to_string(trial) + ".jsonl");
        std::ofstream(path, std::ios::binary) << content;

        LineReader reader(path, 0, -1, 1, 16 + next() % 200);
        int64_t offset = 0;
        for (int i = 0; i < count; ++i) {
            ASSERT_TRUE(reader.Next()) << trial << ":" << i;
            ASSERT_EQ(reader.text(), lines[i]);
            EXPECT_EQ(reader.line(), static_cast<uint64_t>(i + 1));
            EXPECT_EQ(reader.record_offset(), offset);
            offset += static_cast<int64_t>(lines[i].size() + terminators[i].size());
            const std::string_view text = reader.text();
            if (terminators[i].empty()) {
                EXPECT_EQ(reader.readable_bytes(), 0u);  // what follows may never have been written
                continue;
            }
            ASSERT_GE(reader.readable_bytes(), text.size() + kWindowTailBytes);
            EXPECT_EQ(text.data()[text.size()], terminators[i][0]);
            // Touch every byte promised readable (AddressSanitizer checks the promise).
            volatile char sink = 0;
            for (size_t b = 0; b < reader.readable_bytes(); ++b) {
                sink = static_cast<char>(sink ^ text.data()[b]);
            }
        }
        EXPECT_FALSE(reader.Next());
    }
}

}  // namespace
}  // namespace sluice::files
