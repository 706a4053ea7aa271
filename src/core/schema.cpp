#include "core/schema.hpp"

#include <strings.h>

namespace sluice {

std::optional<size_t> Schema::Find(const std::string& name) const {
    for (size_t i = 0; i < fields.size(); ++i) {
        if (fields[i].name == name) {
            return i;
        }
    }
    for (size_t i = 0; i < fields.size(); ++i) {
        if (strcasecmp(fields[i].name.c_str(), name.c_str()) == 0) {
            return i;
        }
    }
    return std::nullopt;
}

std::string Schema::Describe() const {
    std::string out;
    for (const Field& field : fields) {
        if (!out.empty()) {
            out += ", ";
        }
        out += field.name + " " + TypeName(field.type);
    }
    return out;
}

}  // namespace sluice
