// `sluice rejects RUN`: the rows a run set aside, listed from the ledger, or exported as a CSV
// file a user can fix and load back.
#include <algorithm>
#include <fstream>
#include <iostream>
#include <memory>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/ledger_location.hpp"
#include "core/error.hpp"
#include "state/ledger.hpp"

namespace sluice::cli {

namespace {

using Json = nlohmann::ordered_json;

/// A CSV field as PostgreSQL's CSV format (and sluice's CSV source) reads it back.
std::string CsvField(const std::string& text) {
    std::string out = "\"";
    for (char c : text) {
        out += c;
        if (c == '"') {
            out += '"';
        }
    }
    return out + '"';
}

/// One exported value: NULL is an empty unquoted field, text is always quoted (so an empty
/// string stays one), numbers and booleans are bare.
std::string CsvValue(const Json& value) {
    if (value.is_null()) {
        return "";
    }
    if (value.is_string()) {
        return CsvField(value.get<std::string>());
    }
    if (value.is_boolean()) {
        return value.get<bool>() ? "true" : "false";
    }
    return value.dump();
}

std::string Join(const std::vector<std::string>& fields) {
    std::string line;
    for (size_t i = 0; i < fields.size(); ++i) {
        line += (i > 0 ? "," : "") + fields[i];
    }
    return line + '\n';
}

/// Writes the rejected rows' values, one column per value, to `path`. Rows that are a file's raw
/// record (never split into values) cannot be spread over columns: they are counted, and left
/// to the reject file, which has them verbatim.
void Export(const std::vector<RejectRecord>& rejects, const std::string& path) {
    std::set<std::string> streams;
    for (const RejectRecord& r : rejects) {
        streams.insert(r.stream);
    }
    if (streams.size() > 1) {
        throw Error(ErrorKind::kUsage, fmt::format("the run set rows aside in {} streams ({}); export one at a "
                                                   "time with --stream",
                                                   streams.size(), fmt::join(streams, ", ")));
    }
    std::vector<std::string> columns;
    std::vector<Json> rows;
    size_t raw = 0;
    for (const RejectRecord& r : rejects) {
        Json row = Json::parse(r.row, nullptr, false);
        if (!row.is_object()) {
            ++raw;
            continue;
        }
        for (const auto& [name, value] : row.items()) {
            if (std::find(columns.begin(), columns.end(), name) == columns.end()) {
                columns.push_back(name);
            }
        }
        rows.push_back(std::move(row));
    }
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) {
        throw Error(ErrorKind::kIo, fmt::format("cannot write {}", path));
    }
    std::vector<std::string> header;
    for (const std::string& c : columns) {
        header.push_back(CsvField(c));
    }
    out << Join(header);
    for (const Json& row : rows) {
        std::vector<std::string> fields;
        for (const std::string& c : columns) {
            fields.push_back(row.contains(c) ? CsvValue(row[c]) : "");
        }
        out << Join(fields);
    }
    out.flush();
    if (!out) {
        throw Error(ErrorKind::kIo, fmt::format("cannot write {}", path));
    }
    std::cerr << fmt::format("wrote {} row(s) with columns {} to {}\n", rows.size(), fmt::join(columns, ", "), path);
    if (raw > 0) {
        std::cerr << fmt::format("{} rejected record(s) of files could not be split into columns; they are in "
                                 "the reject file verbatim\n",
                                 raw);
    }
}

void PrintCsv(const std::vector<RejectRecord>& rejects) {
    std::cout << "stream,partition,tenant,position,error,sqlstate,row\n";
    for (const RejectRecord& r : rejects) {
        std::cout << Join({CsvField(r.stream), std::to_string(r.partition_id), CsvField(r.tenant),
                           CsvField(r.position), CsvField(r.error), CsvField(r.sqlstate), CsvField(r.row)});
    }
}

void PrintJson(const std::vector<RejectRecord>& rejects) {
    for (const RejectRecord& r : rejects) {
        Json row = Json::parse(r.row, nullptr, false);
        Json line = {{"stream", r.stream}, {"partition", r.partition_id}};
        if (!r.tenant.empty()) {
            line["tenant"] = r.tenant;
        }
        line["position"] = r.position;
        line["row"] = row.is_object() ? row : Json(r.row);
        line["error"] = r.error;
        line["sqlstate"] = r.sqlstate;
        std::cout << line.dump() << '\n';
    }
}

void PrintText(const std::vector<RejectRecord>& rejects) {
    for (const RejectRecord& r : rejects) {
        std::cout << fmt::format("{} partition {}{} {}: {}{}\n    {}\n", r.stream, r.partition_id,
                                 r.tenant.empty() ? "" : " tenant " + r.tenant, r.position, r.error,
                                 r.sqlstate.empty() ? "" : " (" + r.sqlstate + ")", r.row);
    }
}

}  // namespace

void RegisterRejects(CLI::App& app, int& exit_code) {
    auto* cmd = app.add_subcommand("rejects", "List the rows a run set aside, or export them as CSV to fix and load back");
    struct State {
        LedgerLocation where;
        std::string run_id;
        std::string stream;
        bool csv = false;
        bool json = false;
        std::string export_path;
    };
    auto state = std::make_shared<State>();
    cmd->add_option("run", state->run_id, "Run id (see `sluice runs`)")->required();
    AddLocation(*cmd, state->where);
    cmd->add_option("--stream", state->stream, "Only this stream's rows");
    cmd->add_flag("--csv", state->csv, "Print CSV: stream, partition, tenant, position, error, sqlstate, row");
    cmd->add_flag("--json", state->json, "Print one JSON object per row, as the reject file does");
    cmd->add_option("--export", state->export_path,
                    "Write the rows' values to this CSV file (a header of column names; NULL is an empty "
                    "unquoted field), to fix and load back with a CSV source");
    cmd->callback([state, &exit_code] {
        auto ledger = Ledger::Open(state->where.Url(), "sluice/rejects");
        if (!ledger->GetRun(state->run_id)) {
            throw Error(ErrorKind::kUsage, fmt::format("no run {} in this ledger; see `sluice runs`", state->run_id));
        }
        const std::vector<RejectRecord> rejects = ledger->Rejects(state->run_id, state->stream);
        if (!state->export_path.empty()) {
            Export(rejects, state->export_path);
        } else if (state->csv) {
            PrintCsv(rejects);
        } else if (state->json) {
            PrintJson(rejects);
        } else if (rejects.empty()) {
            std::cout << fmt::format("run {} set no rows aside\n", state->run_id);
        } else {
            PrintText(rejects);
        }
        exit_code = 0;
    });
}

}  // namespace sluice::cli
