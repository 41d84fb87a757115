#include "tools/geo/mmdb_writer.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace kefu::geo {
namespace mmdb {
namespace {

// Data types of the format (section "Output Data Section").
enum Type : int {
  kExtended = 0,
  kUtf8 = 2,
  kUint16 = 5,
  kUint32 = 6,
  kMap = 7,
  kUint64 = 9,
  kArray = 11,
};

// Control byte(s) for a value of `type` with `size` (bytes, or entries for maps/arrays).
std::string Control(int type, size_t size) {
  std::string out;
  const int base_type = type > 7 ? kExtended : type;
  uint8_t size_bits;
  std::string size_bytes;
  if (size < 29) {
    size_bits = static_cast<uint8_t>(size);
  } else if (size < 29 + 256) {
    size_bits = 29;
    size_bytes.push_back(static_cast<char>(size - 29));
  } else if (size < 285 + 65536) {
    size_bits = 30;
    const size_t v = size - 285;
    size_bytes.push_back(static_cast<char>(v >> 8));
    size_bytes.push_back(static_cast<char>(v & 0xff));
  } else {
    size_bits = 31;
    const size_t v = size - 65821;
    size_bytes.push_back(static_cast<char>((v >> 16) & 0xff));
    size_bytes.push_back(static_cast<char>((v >> 8) & 0xff));
    size_bytes.push_back(static_cast<char>(v & 0xff));
  }
  out.push_back(static_cast<char>((base_type << 5) | size_bits));
  if (base_type == kExtended) out.push_back(static_cast<char>(type - 7));
  return out + size_bytes;
}

std::string Unsigned(int type, uint64_t v) {
  std::string bytes;
  while (v > 0) {
    bytes.insert(bytes.begin(), static_cast<char>(v & 0xff));
    v >>= 8;
  }
  return Control(type, bytes.size()) + bytes;
}

}  // namespace

std::string String(absl::string_view s) { return Control(kUtf8, s.size()) + std::string(s); }
std::string Uint16(uint16_t v) { return Unsigned(kUint16, v); }
std::string Uint32(uint32_t v) { return Unsigned(kUint32, v); }
std::string Uint64(uint64_t v) { return Unsigned(kUint64, v); }

std::string Map(const std::vector<std::pair<std::string, std::string>>& entries) {
  std::string out = Control(kMap, entries.size());
  for (const auto& [key, value] : entries) absl::StrAppend(&out, String(key), value);
  return out;
}

std::string Array(const std::vector<std::string>& items) {
  std::string out = Control(kArray, items.size());
  for (const auto& item : items) out += item;
  return out;
}

}  // namespace mmdb

absl::StatusOr<Network> ParseNetwork(absl::string_view cidr) {
  Network network;
  const size_t slash = cidr.find('/');
  const std::string address(cidr.substr(0, slash));
  int prefix = -1;
  if (slash != absl::string_view::npos &&
      !absl::SimpleAtoi(cidr.substr(slash + 1), &prefix)) {
    return absl::InvalidArgumentError(absl::StrCat("bad prefix length in \"", cidr, "\""));
  }
  in_addr v4;
  in6_addr v6;
  if (inet_pton(AF_INET, address.c_str(), &v4) == 1) {
    if (prefix < 0) prefix = 32;
    if (prefix > 32) return absl::InvalidArgumentError(absl::StrCat("bad prefix in \"", cidr, "\""));
    std::memcpy(network.address.data() + 12, &v4, 4);  // ::a.b.c.d
    network.prefix = 96 + prefix;
  } else if (inet_pton(AF_INET6, address.c_str(), &v6) == 1) {
    if (prefix < 0) prefix = 128;
    if (prefix > 128) return absl::InvalidArgumentError(absl::StrCat("bad prefix in \"", cidr, "\""));
    std::memcpy(network.address.data(), &v6, 16);
    network.prefix = prefix;
  } else {
    return absl::InvalidArgumentError(absl::StrCat("\"", cidr, "\" is not an IP network"));
  }
  return network;
}

void MmdbWriter::Insert(const Network& network, std::string record) {
  entries_.emplace_back(network, std::move(record));
}

absl::StatusOr<std::string> MmdbWriter::Serialize(uint64_t build_epoch) const {
  // Build the tree in memory. A record is empty, a node, or a data record index.
  struct Record {
    enum Kind : uint8_t { kEmpty, kNode, kData } kind = kEmpty;
    uint32_t value = 0;
  };
  std::vector<std::array<Record, 2>> nodes(1);
  // Wider networks first: a narrower one then splits the wider one's leaf.
  std::vector<size_t> order(entries_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return entries_[a].first.prefix < entries_[b].first.prefix;
  });
  std::map<std::string, uint32_t> record_ids;  // encoded record -> index in `records`
  std::vector<const std::string*> records;
  for (size_t i : order) {
    const auto& [network, record] = entries_[i];
    if (network.prefix == 0) return absl::InvalidArgumentError("a /0 network cannot be stored");
    auto [it, added] = record_ids.emplace(record, static_cast<uint32_t>(records.size()));
    if (added) records.push_back(&it->first);
    const uint32_t data = it->second;
    uint32_t node = 0;
    for (int depth = 0; depth < network.prefix; ++depth) {
      const int bit = (network.address[depth / 8] >> (7 - depth % 8)) & 1;
      if (depth == network.prefix - 1) {
        // A narrower network inserted earlier cannot exist (sorted), so this replaces
        // only an empty record or a wider network's data.
        nodes[node][bit] = {Record::kData, data};
        break;
      }
      Record rec = nodes[node][bit];
      if (rec.kind != Record::kNode) {
        // Split: both halves keep what the wider record held.
        nodes.push_back({rec, rec});
        const uint32_t child = static_cast<uint32_t>(nodes.size() - 1);
        nodes[node][bit] = {Record::kNode, child};
        node = child;
      } else {
        node = rec.value;
      }
    }
  }
  // Data section: each distinct record once.
  std::string data;
  std::vector<uint32_t> offsets(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    offsets[i] = static_cast<uint32_t>(data.size());
    data += *records[i];
  }
  const uint64_t node_count = nodes.size();
  if (node_count + 16 + data.size() >= (uint64_t{1} << 32)) {
    return absl::ResourceExhaustedError("database too large for 32-bit records");
  }
  std::string out;
  out.reserve(node_count * 8 + 16 + data.size() + 512);
  auto put32 = [&out](uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
  };
  for (const auto& node : nodes) {
    for (const Record& rec : node) {
      switch (rec.kind) {
        case Record::kEmpty:
          put32(static_cast<uint32_t>(node_count));
          break;
        case Record::kNode:
          put32(rec.value);
          break;
        case Record::kData:
          put32(static_cast<uint32_t>(node_count + 16 + offsets[rec.value]));
          break;
      }
    }
  }
  out.append(16, '\0');  // data section separator
  out += data;
  std::vector<std::string> languages;
  for (const auto& l : languages_) languages.push_back(mmdb::String(l));
  out += std::string("\xAB\xCD\xEFMaxMind.com");
  out += mmdb::Map({
      {"binary_format_major_version", mmdb::Uint16(2)},
      {"binary_format_minor_version", mmdb::Uint16(0)},
      {"build_epoch", mmdb::Uint64(build_epoch)},
      {"database_type", mmdb::String(database_type_)},
      {"description", mmdb::Map({{"en", mmdb::String(description_)}})},
      {"ip_version", mmdb::Uint16(6)},
      {"languages", mmdb::Array(languages)},
      {"node_count", mmdb::Uint32(static_cast<uint32_t>(node_count))},
      {"record_size", mmdb::Uint16(32)},
  });
  return out;
}

}  // namespace kefu::geo
