#pragma once

#include <optional>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"

namespace kefu::kb {

// A fragment of `text` with the words of the query wrapped in <em>...</em> (F44), every
// other '<', '>' and '&' escaped; about `max_bytes` long, cut on character boundaries
// around the first match and marked "…" where cut. nullopt when no query term occurs.
// `terms` are index terms (tokenizer.h), so "refunded" marks "refunds" and 退货 marks
// 退货 in 退货运费.
std::optional<std::string> HighlightFragment(absl::string_view text,
                                             const absl::flat_hash_set<std::string>& terms,
                                             size_t max_bytes);

}  // namespace kefu::kb
