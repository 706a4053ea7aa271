// libFuzzer target: the job-file parser (config/job_parser.hpp, what `sluice validate` and
// `sluice run` call on the YAML text).
//
// Input: the YAML text; after a NUL byte, optional `--set` overrides separated by NUL bytes.
// Error (an invalid job file, with file, line and field) is the expected outcome of bad input;
// crashes, sanitizer reports, hangs and any other exception (YAML::Exception, std::out_of_range,
// ...) are bugs.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "config/job_parser.hpp"
#include "core/error.hpp"
#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
    // ${VAR} expansion reads the environment: give the corpus' variables fixed values (one
    // with a password, one empty) and make sure the one the corpus uses as "unset" is unset.
    ::setenv("SLUICE_FUZZ_URL", "postgresql://app:s3cr%2Ft@127.0.0.1:5432/app", 1);
    ::setenv("SLUICE_FUZZ_EMPTY", "", 1);
    ::unsetenv("SLUICE_FUZZ_UNSET");
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const size_t nul = input.find('\0');
    const std::string yaml(input.substr(0, nul));
    std::vector<std::string> overrides;
    if (nul != std::string_view::npos) {
        std::string_view rest = input.substr(nul + 1);
        while (!rest.empty()) {
            const size_t next = rest.find('\0');
            overrides.emplace_back(rest.substr(0, next));
            rest = next == std::string_view::npos ? std::string_view() : rest.substr(next + 1);
        }
    }
    try {
        const sluice::JobSpec job =
            sluice::ParseJob(yaml, "fuzz.yaml", sluice::fuzz::ScratchDir().string(), overrides);
        (void)job;
    } catch (const sluice::Error&) {
        // An invalid job file: exit code 2 with a message, as intended.
    }
    return 0;
}
