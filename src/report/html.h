// Small text helpers for the HTML report: escaping, base64 (for data URIs), number formatting.
// Internal header.
#pragma once

#include <string>
#include <string_view>

namespace convkit::report {

// Escapes & < > " ' for text and attribute values.
std::string html_escape(std::string_view text);
// Standard base64 (RFC 4648, with '=' padding).
std::string base64_encode(std::string_view bytes);
// A number for display: up to `digits` significant digits, no trailing zeros ("0.0012", "98.5").
std::string short_number(double value, int digits = 4);

}  // namespace convkit::report
