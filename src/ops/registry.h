// The op registry: one table (registry.cpp) mapping an op type name to the function that
// rebuilds it from its attributes. Adding an op = its files + one line in that table.
#pragma once

#include "ops/op.h"

#include <memory>
#include <span>
#include <string_view>

namespace convkit::ops {

using OpFactory = std::shared_ptr<const Op> (*)(const Attrs&);

struct OpEntry {
  std::string_view type;
  OpFactory make;
};

std::span<const OpEntry> registered_ops();

// Rebuilds an op by type name; throws Error naming the unknown type or the bad attribute.
std::shared_ptr<const Op> make_op(std::string_view type, const Attrs& attrs);

}  // namespace convkit::ops
