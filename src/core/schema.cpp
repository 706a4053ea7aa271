#include "core/schema.hpp"

#include <strings.h>

#include <algorithm>
#include <cctype>

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

namespace {

/// The type as the system spells it when known ("character varying(5)"), else sluice's name.
std::string ShownType(const Field& field) {
    return field.native_type.empty() ? TypeName(field.type) : field.native_type;
}

std::string JoinList(const std::vector<std::string>& items) {
    std::string out;
    for (const std::string& item : items) {
        out += (out.empty() ? "" : ", ") + item;
    }
    return out;
}

}  // namespace

ColumnDiff CompareColumns(const Schema& source, const Schema& target) {
    ColumnDiff diff;
    for (const Field& field : source.fields) {
        const std::optional<size_t> at = target.Find(field.name);
        if (!at) {
            diff.extra.push_back(field.name);
            continue;
        }
        const Field& other = target.fields[*at];
        // Logical types decide whether values convert; native spellings differ between
        // systems (int8 vs INTEGER) without a difference worth naming.
        const bool differs = field.type.id != other.type.id ||
                             field.type.precision != other.type.precision ||
                             field.type.scale != other.type.scale ||
                             field.type.element != other.type.element;
        if (differs) {
            diff.retyped.push_back(field.name + " " + ShownType(field) + " -> " + ShownType(other));
        }
    }
    for (const Field& field : target.fields) {
        if (!source.Find(field.name)) {
            diff.missing.push_back(field.name);
        }
    }
    return diff;
}

std::string DescribeColumnDiff(const ColumnDiff& diff) {
    std::vector<std::string> parts;
    if (!diff.extra.empty()) {
        parts.push_back("not in the target: " + JoinList(diff.extra));
    }
    if (!diff.missing.empty()) {
        parts.push_back("not in the source: " + JoinList(diff.missing));
    }
    if (!diff.retyped.empty()) {
        parts.push_back("different types: " + JoinList(diff.retyped));
    }
    if (parts.empty()) {
        return "same columns";
    }
    std::string out;
    for (const std::string& part : parts) {
        out += (out.empty() ? "" : "; ") + part;
    }
    return out;
}

bool SameNameIgnoringCase(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

}  // namespace sluice
