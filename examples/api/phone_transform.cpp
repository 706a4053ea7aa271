// A custom transform used from a YAML job by name: `transform: {custom: normalize_phone}`.
// Phone numbers become E.164 ("+15551234567"); a number that cannot be one is a rejected row
// (in the job's rejects file and ledger), never a failed run. Runs on every worker at once:
// Apply keeps no state between calls.
//   phone_transform JOB.yaml
#include <cctype>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>

#include <sluice/sluice.hpp>

namespace api = sluice::api;

namespace {

class NormalizePhone : public api::CustomTransform {
public:
    NormalizePhone(std::string column, std::string country)
        : column_(std::move(column)), country_(std::move(country)) {}

    api::Columns OutputColumns(const api::Columns& input) override { return input; }

    void Apply(const api::BatchView& in, api::BatchBuilder& out) override {
        const auto phone = in.Find(column_);
        if (!phone) {
            throw std::runtime_error("no column " + column_);  // fails the partition, named
        }
        for (size_t row = 0; row < in.rows(); ++row) {
            for (size_t c = 0; c < in.columns().size(); ++c) {
                if (in.IsNull(c, row)) {
                    out.AppendNull(c);
                } else if (c == *phone) {
                    std::string digits;
                    for (char ch : in.GetString(c, row)) {
                        if (std::isdigit(static_cast<unsigned char>(ch))) {
                            digits += ch;
                        }
                    }
                    if (digits.size() == 10) {
                        digits = country_ + digits;  // a national number
                    }
                    if (digits.size() < 11 || digits.size() > 15) {
                        out.Reject("not a phone number: " + in.GetString(c, row), in.GetString(0, row));
                        break;
                    }
                    out.AppendText(c, "+" + digits);
                } else {
                    out.AppendParsed(c, in.GetString(c, row));
                }
                if (c + 1 == in.columns().size()) {
                    out.EndRow();
                }
            }
        }
    }

private:
    std::string column_;
    std::string country_;
};

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s JOB.yaml\n", argv[0]);
        return 2;
    }
    api::RegisterTransform("normalize_phone", [](const api::Options& options) {
        const auto option = [&](const char* key, const char* fallback) {
            const auto it = options.find(key);
            return it == options.end() ? std::string(fallback) : it->second;
        };
        return std::make_unique<NormalizePhone>(option("column", "phone"), option("country_code", "1"));
    });
    try {
        const api::RunResult result = api::RunFile(argv[1]);
        for (const api::StreamResult& s : result.streams) {
            std::printf("%s %s: %lld written, %lld rejected\n", s.name.c_str(), s.status.c_str(),
                        static_cast<long long>(s.rows_written), static_cast<long long>(s.rows_rejected));
        }
        return result.exit_code;
    } catch (const api::RunError& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return e.exit_code();
    }
}
