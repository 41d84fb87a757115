#pragma once

#include <vector>

#include "absl/strings/string_view.h"
#include "services/kb/tokenizer.h"

// A small built-in thesaurus of shop customer-service words, Chinese and English (F40):
// customers say 邮费 where the knowledge base says 运费, "parcel" where it says
// "package". Every occurrence of a word of a group adds a concept token ("~运费") at its
// place, in entries and questions alike, so either word finds the other; the word's own
// tokens stay, so the exact word still ranks above its synonym. Tenants add their own
// variants as entry keywords.
namespace kefu::kb {

// Appends the concept tokens of `text` (whose word tokens are `tokens`) to `tokens`.
void AddConceptTokens(absl::string_view text, std::vector<Token>* tokens);

}  // namespace kefu::kb
