// Custom sources, transforms and sinks: adapters from the public interfaces (sluice/nodes.hpp)
// to the engine's Source, SliceReader, Sink, SinkWriter and CustomRowTransform. Everything
// user code throws becomes a sluice::Error naming the node (api_types.hpp Guard).
#include <mutex>

#include <fmt/format.h>

#include "api/api_types.hpp"
#include "connectors/custom_url.hpp"
#include "connectors/registry.hpp"
#include "transform/custom_transform.hpp"

namespace sluice::api_internal {

namespace {

constexpr const char* kStrategy = "custom";

api::Partition PublicPartition(const Slice& slice) {
    return api::Partition{slice.lower.value_or(""), slice.upper.value_or(""), slice.estimated_rows};
}

class ApiReader : public SliceReader {
public:
    ApiReader(std::unique_ptr<api::SourceReader> reader, Schema schema, size_t batch_rows, std::string what)
        : reader_(std::move(reader)), schema_(std::move(schema)), batch_rows_(batch_rows), what_(std::move(what)) {}

    bool Next(Batch& batch) override {
        batch = Batch(schema_);
        api::BatchBuilder builder(&batch, batch_rows_);
        const bool more = Guard(what_, ErrorKind::kData, [&] { return reader_->Next(builder); });
        // Values of a row the reader did not end are not a row.
        for (Column& c : batch.columns) {
            c.Truncate(builder.rows());
        }
        return more || !batch.empty();
    }

private:
    std::unique_ptr<api::SourceReader> reader_;
    Schema schema_;
    size_t batch_rows_;
    std::string what_;
};

class ApiSource : public Source {
public:
    ApiSource(std::unique_ptr<api::CustomSource> source, const SourceSpec& spec)
        : source_(std::move(source)), batch_rows_(std::max<size_t>(1, spec.batch_rows)),
          what_(fmt::format("custom source '{}'", ParseCustomUrl(spec.url).name)) {}

    Schema Describe() override {
        if (!described_) {
            schema_ = EngineSchema(Guard(what_, ErrorKind::kConfig, [&] { return source_->Describe(); }));
            described_ = true;
        }
        return schema_;
    }
    int64_t EstimateRows() override {
        return Guard(what_, ErrorKind::kConfig, [&] { return source_->EstimateRows(); });
    }
    std::vector<Slice> Partition(const PartitionRequest& request) override {
        api::PartitionHint hint;
        hint.workers = request.workers;
        hint.chunk_rows = request.chunk_rows > 0 ? request.chunk_rows : 50000;
        const std::vector<api::Partition> parts =
            Guard(what_, ErrorKind::kConfig, [&] { return source_->Partitions(hint); });
        std::vector<Slice> slices;
        for (const api::Partition& p : parts) {
            Slice s;
            s.strategy = kStrategy;
            s.lower = p.lower;
            if (!p.upper.empty()) {
                s.upper = p.upper;
            }
            s.estimated_rows = p.estimated_rows;
            slices.push_back(std::move(s));
        }
        return slices;
    }
    std::unique_ptr<SliceReader> Open(const Slice& slice) override {
        std::unique_ptr<api::SourceReader> reader =
            Guard(what_, ErrorKind::kData, [&] { return source_->Open(PublicPartition(slice)); });
        if (!reader) {
            throw Error(ErrorKind::kInternal, what_ + ": Open returned no reader");
        }
        std::call_once(describe_once_, [&] {
            if (!described_) {
                Describe();
            }
        });
        return std::make_unique<ApiReader>(std::move(reader), schema_, batch_rows_, what_);
    }

private:
    std::unique_ptr<api::CustomSource> source_;
    size_t batch_rows_;
    std::string what_;
    Schema schema_;          // set by Describe on the planning thread, read only afterwards
    bool described_ = false;
    std::once_flag describe_once_;
};

class ApiTransform : public CustomRowTransform {
public:
    ApiTransform(std::unique_ptr<api::CustomTransform> transform, const std::string& name)
        : transform_(std::move(transform)), what_(fmt::format("custom transform '{}'", name)) {}

    Schema Output(const Schema& input) override {
        output_ = EngineSchema(Guard(what_, ErrorKind::kConfig,
                                     [&] { return transform_->OutputColumns(PublicColumns(input)); }));
        return output_;
    }
    Batch Apply(Batch in) const override {
        Batch out(output_);
        out.rejected = std::move(in.rejected);
        const api::BatchView view(&in);
        api::BatchBuilder builder(&out, std::max<size_t>(in.rows(), 1));
        Guard(what_, ErrorKind::kData, [&] { transform_->Apply(view, builder); });
        for (Column& c : out.columns) {
            c.Truncate(builder.rows());
        }
        return out;
    }

private:
    std::unique_ptr<api::CustomTransform> transform_;
    std::string what_;
    Schema output_;  // set at planning time, read only afterwards
};

class ApiWriter : public SinkWriter {
public:
    ApiWriter(std::unique_ptr<api::SinkWriter> writer, const Schema* schema, std::string what)
        : writer_(std::move(writer)), schema_(schema), what_(std::move(what)) {}

    void Begin(const Slice& slice) override {
        Guard(what_, ErrorKind::kIo, [&] { writer_->Begin(PublicPartition(slice)); });
    }
    void Write(const Batch& batch) override {
        if (!batch.raw.empty()) {
            throw Error(ErrorKind::kInternal, what_ + ": got raw COPY bytes");
        }
        if (batch.schema.fields.size() == batch.columns.size()) {
            const api::BatchView view(&batch);
            Guard(what_, ErrorKind::kIo, [&] { writer_->Write(view); });
            return;
        }
        Batch named = batch;  // never from the engine: it names its columns
        named.schema = *schema_;
        const api::BatchView view(&named);
        Guard(what_, ErrorKind::kIo, [&] { writer_->Write(view); });
    }
    void Commit() override {
        Guard(what_, ErrorKind::kIo, [&] { writer_->Commit(); });
    }
    void Rollback() noexcept override { writer_->Rollback(); }

private:
    std::unique_ptr<api::SinkWriter> writer_;
    const Schema* schema_;
    std::string what_;
};

class ApiSink : public Sink {
public:
    ApiSink(std::unique_ptr<api::CustomSink> sink, const TargetSpec& spec)
        : sink_(std::move(sink)), what_(fmt::format("custom sink '{}'", ParseCustomUrl(spec.url).name)) {}

    Schema Prepare(const Schema& source) override {
        schema_ = EngineSchema(Guard(what_, ErrorKind::kSchema, [&] { return sink_->Prepare(PublicColumns(source)); }));
        return schema_;
    }
    std::unique_ptr<SinkWriter> OpenWriter() override {
        std::unique_ptr<api::SinkWriter> writer = Guard(what_, ErrorKind::kIo, [&] { return sink_->OpenWriter(); });
        if (!writer) {
            throw Error(ErrorKind::kInternal, what_ + ": OpenWriter returned no writer");
        }
        return std::make_unique<ApiWriter>(std::move(writer), &schema_, what_);
    }
    void Finalize(bool success) override {
        Guard(what_, ErrorKind::kIo, [&] { sink_->Finalize(success); });
    }

private:
    std::unique_ptr<api::CustomSink> sink_;
    std::string what_;
    Schema schema_;
};

api::Options OptionsOf(const std::map<std::string, std::string>& options) { return {options.begin(), options.end()}; }

}  // namespace

}  // namespace sluice::api_internal

namespace sluice::api {

using api_internal::Guard;

void RegisterSource(const std::string& name, SourceFactory factory) {
    if (!factory) {
        RegisterCustomSource(name, {});
        return;
    }
    RegisterCustomSource(name, [name, factory = std::move(factory)](const SourceSpec& spec) -> std::unique_ptr<Source> {
        const std::string what = fmt::format("custom source '{}'", name);
        std::unique_ptr<CustomSource> source =
            Guard(what, ErrorKind::kConfig, [&] { return factory(api_internal::OptionsOf(ParseCustomUrl(spec.url).options)); });
        if (!source) {
            throw Error(ErrorKind::kConfig, what + ": the factory returned nothing");
        }
        return std::make_unique<api_internal::ApiSource>(std::move(source), spec);
    });
}

void RegisterTransform(const std::string& name, TransformFactory factory) {
    if (!factory) {
        RegisterCustomTransform(name, {});
        return;
    }
    RegisterCustomTransform(name, [name, factory = std::move(factory)](const std::map<std::string, std::string>& options)
                                      -> std::shared_ptr<CustomRowTransform> {
        const std::string what = fmt::format("custom transform '{}'", name);
        std::unique_ptr<CustomTransform> transform =
            Guard(what, ErrorKind::kConfig, [&] { return factory(api_internal::OptionsOf(options)); });
        if (!transform) {
            throw Error(ErrorKind::kConfig, what + ": the factory returned nothing");
        }
        return std::make_shared<api_internal::ApiTransform>(std::move(transform), name);
    });
}

void RegisterSink(const std::string& name, SinkFactory factory) {
    if (!factory) {
        RegisterCustomSink(name, {});
        return;
    }
    RegisterCustomSink(name, [name, factory = std::move(factory)](const TargetSpec& spec) -> std::unique_ptr<Sink> {
        const std::string what = fmt::format("custom sink '{}'", name);
        std::unique_ptr<CustomSink> sink =
            Guard(what, ErrorKind::kConfig, [&] { return factory(api_internal::OptionsOf(ParseCustomUrl(spec.url).options)); });
        if (!sink) {
            throw Error(ErrorKind::kConfig, what + ": the factory returned nothing");
        }
        return std::make_unique<api_internal::ApiSink>(std::move(sink), spec);
    });
}

}  // namespace sluice::api
