#include "transform/custom_transform.hpp"

#include <mutex>

#include <fmt/format.h>

#include "core/error.hpp"

namespace sluice {

namespace {

std::mutex registered_mu;
std::map<std::string, CustomTransformFactory> registered;  // guarded by registered_mu

}  // namespace

void RegisterCustomTransform(const std::string& name, CustomTransformFactory factory) {
    std::lock_guard lock(registered_mu);
    if (factory) {
        registered[name] = std::move(factory);
    } else {
        registered.erase(name);
    }
}

std::shared_ptr<CustomRowTransform> OpenCustomTransform(const std::string& name,
                                                        const std::map<std::string, std::string>& options) {
    CustomTransformFactory factory;
    {
        std::lock_guard lock(registered_mu);
        if (const auto it = registered.find(name); it != registered.end()) {
            factory = it->second;
        }
    }
    if (!factory) {
        throw Error(ErrorKind::kConfig,
                    fmt::format("transform.custom: no custom transform '{}' is registered in this process; "
                                "register it with sluice::api::RegisterTransform before running the job "
                                "(the sluice command has none)",
                                name));
    }
    std::shared_ptr<CustomRowTransform> transform = factory(options);
    if (!transform) {
        throw Error(ErrorKind::kConfig, fmt::format("transform.custom: the factory of '{}' returned nothing", name));
    }
    return transform;
}

}  // namespace sluice
