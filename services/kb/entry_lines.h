#pragma once

// The JSONL line formats of `kefuctl kb import/export/eval` (kb_file.proto), shared by
// kefuctl, the benchmark and the tests. Header-only so that kefuctl, which does not link
// the service library, uses the very same mapping.

#include <google/protobuf/util/json_util.h>

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "kefu/kb/v1/kb_file.pb.h"
#include "kefu/kb/v1/knowledge_admin.pb.h"

namespace kefu::kb {

inline absl::StatusOr<kefu::common::v1::Language> ParseLang(absl::string_view lang) {
  if (lang.empty()) return kefu::common::v1::LANGUAGE_UNSPECIFIED;
  if (lang == "zh" || lang == "zh-CN" || lang == "zh-cn") return kefu::common::v1::LANGUAGE_ZH;
  if (lang == "en" || lang == "en-US" || lang == "en-GB") return kefu::common::v1::LANGUAGE_EN;
  return absl::InvalidArgumentError(absl::StrCat("lang: \"", lang, "\" is not zh or en"));
}

inline std::string LangName(kefu::common::v1::Language language) {
  switch (language) {
    case kefu::common::v1::LANGUAGE_ZH:
      return "zh";
    case kefu::common::v1::LANGUAGE_EN:
      return "en";
    default:
      return "";
  }
}

// Parses one JSON line; unknown fields are ignored, a wrong type is an error.
template <typename Message>
absl::StatusOr<Message> ParseJsonLine(absl::string_view line) {
  Message message;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(line.data(), line.size()), &message, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(std::string(status.message()));
  }
  return message;
}

template <typename Message>
std::string ToJsonLine(const Message& message) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  return out;
}

inline absl::StatusOr<kefu::kb::v1::ImportEntry> ToImportEntry(
    const kefu::kb::v1::EntryLine& line) {
  kefu::kb::v1::ImportEntry out;
  auto lang = ParseLang(line.lang());
  if (!lang.ok()) return lang.status();
  kefu::kb::v1::Entry* entry = out.mutable_entry();
  entry->set_entry_id(line.id());
  entry->set_question(line.question());
  *entry->mutable_keywords() = line.keywords();
  entry->set_answer(line.answer());
  entry->set_language(*lang);
  *entry->mutable_phrasings() = line.phrasings();
  out.set_category_name(line.category());
  return out;
}

inline kefu::kb::v1::EntryLine ToEntryLine(const kefu::kb::v1::ImportEntry& in) {
  kefu::kb::v1::EntryLine line;
  const kefu::kb::v1::Entry& entry = in.entry();
  line.set_id(entry.entry_id());
  line.set_category(in.category_name());
  line.set_question(entry.question());
  *line.mutable_keywords() = entry.keywords();
  line.set_answer(entry.answer());
  line.set_lang(LangName(entry.language()));
  *line.mutable_phrasings() = entry.phrasings();
  return line;
}

}  // namespace kefu::kb
