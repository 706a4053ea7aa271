#include "connectors/files/file_columns.hpp"

#include <algorithm>
#include <optional>
#include <unordered_map>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <strings.h>

#include "connectors/files/csv_reader.hpp"
#include "connectors/files/json_line.hpp"
#include "connectors/files/line_reader.hpp"
#include "connectors/files/slice_readers.hpp"
#include "core/error.hpp"

namespace sluice::files {

namespace {

// A glob of thousands of files that all differ would bury the rest of the plan: the notes
// name this many files and count the others.
constexpr size_t kMaxFileNotes = 20;
// Without type inference only this many files are sampled for the average row size.
constexpr size_t kSizeSampleFiles = 8;

std::string Join(const std::vector<std::string>& names) {
    return fmt::format("{}", fmt::join(names, ", "));
}

/// Column of `name`: an exact match first, then one that differs only in case (as
/// Schema::Find does), so `ID` in one file and `id` in another are one column.
std::optional<size_t> FindName(const std::vector<std::string>& names, const std::string& name) {
    for (size_t i = 0; i < names.size(); ++i) {
        if (names[i] == name) {
            return i;
        }
    }
    for (size_t i = 0; i < names.size(); ++i) {
        if (strcasecmp(names[i].c_str(), name.c_str()) == 0) {
            return i;
        }
    }
    return std::nullopt;
}

/// Without a header the fields are c1, c2, ...; `columns:` may instead name every field, in
/// file order. (Declaring only some, by their c-names, keeps the c-names.)
void NameFieldsByPosition(const SourceSpec& spec, std::vector<std::string>& names) {
    const bool by_c_names = std::all_of(spec.columns.begin(), spec.columns.end(), [&](const auto& c) {
        return std::find(names.begin(), names.end(), c.first) != names.end();
    });
    if (spec.columns.empty() || by_c_names) {
        return;
    }
    if (spec.columns.size() != names.size()) {
        throw Error(ErrorKind::kConfig,
                    fmt::format("the files matching '{}' have no header and {} fields per record, "
                                "but columns: names {}; name every field in file order (or use "
                                "c1..c{} to declare some of them)",
                                spec.files, names.size(), spec.columns.size(), names.size()));
    }
    for (size_t i = 0; i < names.size(); ++i) {
        names[i] = spec.columns[i].first;
    }
}

/// Per-file notes for `plan`: what each file lacks against the union and adds to the first
/// file's columns. `has[f][c]` says whether file f has column c.
void NoteDifferences(const std::vector<std::string>& names, const std::vector<std::string>& files,
                     const std::vector<std::vector<bool>>& has, std::string_view lacks_means,
                     std::vector<std::string>& notes) {
    if (files.empty()) {
        return;
    }
    size_t noted = 0;
    size_t unnoted = 0;
    for (size_t f = 0; f < files.size(); ++f) {
        std::vector<std::string> lacks;
        std::vector<std::string> adds;
        for (size_t c = 0; c < names.size(); ++c) {
            if (!has[f][c]) {
                lacks.push_back(names[c]);
            } else if (f > 0 && !has[0][c]) {
                adds.push_back(names[c]);
            }
        }
        if (lacks.empty() && adds.empty()) {
            continue;
        }
        if (noted == kMaxFileNotes) {
            ++unnoted;
            continue;
        }
        ++noted;
        std::string note = files[f] + ":";
        if (!lacks.empty()) {
            note += fmt::format(" lacks {} ({})", Join(lacks), lacks_means);
        }
        if (!adds.empty()) {
            note += fmt::format("{} has {} that {} lacks (loaded; NULL for files without them)",
                                lacks.empty() ? "" : ";", Join(adds), files[0]);
        }
        notes.push_back(std::move(note));
    }
    if (unnoted > 0) {
        notes.push_back(fmt::format("{} more file(s) differ in their columns the same way", unnoted));
    }
}

}  // namespace

FileColumns CsvFileColumns(const SourceSpec& spec, const std::vector<std::string>& paths) {
    FileColumns out;
    std::vector<std::string>& names = out.names;
    std::vector<std::string> shown;          // files with a header, for notes
    std::vector<std::vector<bool>> has;      // per such file: which columns it has
    std::string first_shown;
    for (const std::string& path : paths) {
        const std::string display = DisplayName(path, spec.base_dir);
        CsvReader reader(path, spec.csv);
        const CsvRead read = reader.Next();
        if (read == CsvRead::kEnd) {
            out.csv_columns.emplace(path, std::vector<int>{});  // no header, no records
            continue;
        }
        if (read == CsvRead::kRejected) {
            throw Error(ErrorKind::kSchema,
                        fmt::format("{}: cannot read its {}: {}", display,
                                    spec.csv.header ? "header" : "first record", reader.error()));
        }
        const size_t width = reader.fields().size();
        if (!spec.csv.header) {
            // Without names, fields can only match by position: every file must agree.
            if (first_shown.empty()) {
                for (size_t i = 0; i < width; ++i) {
                    names.push_back(fmt::format("c{}", i + 1));
                }
                first_shown = display;
            } else if (width != names.size()) {
                throw Error(ErrorKind::kSchema,
                            fmt::format("{} has {} fields per record but {} has {}; without a "
                                        "header all files matching '{}' must have the same number "
                                        "of fields (or set csv: {{header: true}})",
                                        display, width, first_shown, names.size(), spec.files));
            }
            continue;
        }
        std::vector<int> column_of(width, -1);
        std::vector<bool> taken(names.size(), false);
        for (size_t i = 0; i < width; ++i) {
            const std::string_view value = reader.fields()[i].value;
            const std::string name = value.empty() ? fmt::format("c{}", i + 1) : std::string(value);
            std::optional<size_t> at = FindName(names, name);
            if (at && taken[*at]) {
                if (names[*at] == name) {
                    throw Error(ErrorKind::kSchema,
                                fmt::format("column '{}' appears twice in {}; rename one in the "
                                            "file",
                                            name, display));
                }
                at.reset();  // `Id` and `id` in one header stay two columns
            }
            if (!at) {
                at = names.size();
                names.push_back(name);
                taken.push_back(false);
            }
            taken[*at] = true;
            column_of[i] = static_cast<int>(*at);
        }
        out.csv_columns.emplace(path, std::move(column_of));
        if (first_shown.empty()) {
            first_shown = display;
        }
        shown.push_back(display);
        has.push_back(std::move(taken));
    }
    if (first_shown.empty()) {
        throw Error(ErrorKind::kSchema,
                    fmt::format("every file matching '{}' is empty, so its columns are unknown",
                                spec.files));
    }
    if (!spec.csv.header) {
        out.csv_columns.clear();  // position semantics: field i is column i in every file
        NameFieldsByPosition(spec, names);
    } else {
        for (std::vector<bool>& row : has) {
            row.resize(names.size(), false);
        }
        NoteDifferences(names, shown, has, "NULL for its rows", out.notes);
    }
    out.inferrers.resize(names.size());
    return out;
}

void SampleCsv(const SourceSpec& spec, const std::vector<std::string>& paths,
               const std::vector<bool>& infer, bool all_files, size_t sample_rows,
               FileColumns& columns) {
    const size_t sample_files = all_files ? paths.size() : std::min(paths.size(), kSizeSampleFiles);
    std::vector<int> identity(columns.names.size());
    for (size_t i = 0; i < identity.size(); ++i) {
        identity[i] = static_cast<int>(i);
    }
    for (size_t f = 0; f < sample_files; ++f) {
        const auto mapped = columns.csv_columns.find(paths[f]);
        const std::vector<int>& column_of =
            mapped != columns.csv_columns.end() ? mapped->second : identity;
        if (column_of.empty()) {
            continue;  // an empty file
        }
        CsvReader reader(paths[f], spec.csv);
        reader.set_expected_fields(column_of.size());
        bool header = spec.csv.header;
        for (size_t n = 0; n < sample_rows;) {
            const CsvRead read = reader.Next();
            if (read == CsvRead::kEnd) {
                break;
            }
            if (std::exchange(header, false) || read != CsvRead::kRecord) {
                continue;
            }
            ++n;
            ++columns.sample_rows;
            columns.sample_bytes += reader.next_offset() - reader.record_offset();
            for (size_t i = 0; i < column_of.size(); ++i) {
                const int c = column_of[i];
                const CsvField& field = reader.fields()[i];
                if (c >= 0 && infer[static_cast<size_t>(c)] && !reader.IsNull(field)) {
                    columns.inferrers[static_cast<size_t>(c)].Observe(field.value);
                }
            }
        }
    }
}

FileColumns JsonFileColumns(const SourceSpec& spec, const std::vector<std::string>& paths,
                            size_t sample_rows) {
    FileColumns out;
    std::vector<std::string>& names = out.names;
    std::unordered_map<std::string, size_t> index;
    std::vector<std::string> shown;
    std::vector<std::vector<bool>> has;
    bool longer_than_sample = false;
    JsonLineParser parser;
    for (const std::string& path : paths) {
        LineReader reader(path);
        std::vector<bool> keys;
        size_t objects = 0;
        // Bounded by lines read, not objects found, so a file of garbage is not read whole.
        size_t lines = 0;
        for (; lines < sample_rows && reader.Next(); ++lines) {
            if (!parser.Parse(reader.text()).ok()) {
                continue;  // bad lines are rejected, with their reason, when read
            }
            ++objects;
            out.sample_bytes += static_cast<int64_t>(reader.text().size() + 1);
            ++out.sample_rows;
            for (const JsonField& field : parser.fields()) {
                auto [it, added] = index.emplace(std::string(field.key), names.size());
                if (added) {
                    names.emplace_back(field.key);
                    out.inferrers.emplace_back();
                }
                if (keys.size() <= it->second) {
                    keys.resize(it->second + 1, false);
                }
                keys[it->second] = true;
                if (field.kind != JsonKind::kNull) {
                    out.inferrers[it->second].Observe(field.text);
                }
            }
        }
        longer_than_sample = longer_than_sample || (lines == sample_rows && reader.Next());
        if (objects > 0) {
            shown.push_back(DisplayName(path, spec.base_dir));
            has.push_back(std::move(keys));
        }
    }
    const size_t sampled = names.size();
    for (const auto& [name, type] : spec.columns) {
        if (index.emplace(name, names.size()).second) {
            names.push_back(name);  // a declared key that the sample did not happen to show
            out.inferrers.emplace_back();
        }
    }
    if (names.empty()) {
        throw Error(ErrorKind::kSchema,
                    fmt::format("found no JSON object in the first {} lines of the files matching "
                                "'{}', so the columns are unknown",
                                sample_rows, spec.files));
    }
    // Only keys the sample saw are compared: a declared key absent from every sample says
    // nothing about one file.
    const std::vector<std::string> seen(names.begin(), names.begin() + static_cast<long>(sampled));
    for (std::vector<bool>& row : has) {
        row.resize(sampled, false);
    }
    NoteDifferences(seen, shown, has,
                    fmt::format("in its first {} lines; NULL where absent", sample_rows), out.notes);
    if (longer_than_sample) {
        out.notes.push_back(fmt::format(
            "JSON lines: columns are the keys of the first {} lines of each file (and columns:); "
            "a key first seen later is not loaded: declare it in columns:",
            sample_rows));
    }
    return out;
}

}  // namespace sluice::files
