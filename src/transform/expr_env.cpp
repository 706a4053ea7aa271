// Functions that read where a row comes from: the run, the tenant, the file and line.
#include "transform/expr_functions.hpp"
#include "transform/expr_kernels.hpp"

namespace sluice::expr {

namespace {

/// A function of no arguments whose value is the same for every row of a call.
template <class Value>
void RegisterEnv(FunctionTable& table, const std::string& name, LogicalType type, Value value,
                 const std::string& usage) {
    table[name] = {[name, type, value, usage](const std::vector<ArgInfo>& args, size_t offset) {
                       ExpectArgs(name, args, 0, 0, offset, usage);
                       return Resolution{MakeType(type), {}, [value](const KernelCall& call) {
                                             Column one(call.result);
                                             value(call, one);
                                             return Broadcast(one, call.rows);
                                         },
                                         nullptr};
                   },
                   usage, true};
}

}  // namespace

void RegisterEnvFunctions(FunctionTable& table) {
    RegisterEnv(table, "run_id", LogicalType::kText,
                [](const KernelCall& c, Column& out) { out.AppendBytes(c.env.run_id); },
                "run_id() -> text: the ledger's id of this run (the same on resume)");
    RegisterEnv(table, "tenant", LogicalType::kText,
                [](const KernelCall& c, Column& out) {
                    c.env.tenant.empty() ? out.AppendNull() : out.AppendBytes(c.env.tenant);
                },
                "tenant() -> text: the tenant of the row (NULL without tenants)");
    RegisterEnv(table, "source_file", LogicalType::kText,
                [](const KernelCall& c, Column& out) {
                    c.env.source_file.empty() ? out.AppendNull() : out.AppendBytes(c.env.source_file);
                },
                "source_file() -> text: the file the row was read from (NULL for databases)");
    table["source_line"] = {[](const std::vector<ArgInfo>& args, size_t offset) {
                                ExpectArgs("source_line", args, 0, 0, offset, "source_line()");
                                return Resolution{MakeType(LogicalType::kInt64), {}, [](const KernelCall& call) {
                                                      ColumnWriter<int64_t> out(call.result, call.rows);
                                                      const std::vector<uint64_t>* lines = call.env.source_rows;
                                                      for (size_t row = 0; row < call.rows; ++row) {
                                                          if (lines != nullptr && row < lines->size()) {
                                                              out.Put(row, static_cast<int64_t>((*lines)[row]));
                                                          } else {
                                                              out.Null(row);
                                                          }
                                                      }
                                                      return out.Finish();
                                                  },
                                                  nullptr};
                            },
                            "source_line() -> int64: the row's line in its file (NULL when unknown)", true};
}

}  // namespace sluice::expr
