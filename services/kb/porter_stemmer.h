#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace kefu::kb {

// The Porter (1980) stemmer for lower-case English words: "refunds", "refunded" and
// "refunding" all become "refund"; "shipping" and "shipped" become "ship". Words of one
// or two letters and words with characters other than a-z are returned unchanged.
std::string PorterStem(absl::string_view word);

}  // namespace kefu::kb
