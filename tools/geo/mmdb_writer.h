#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

// A small writer of MaxMind DB files (format 2.0, https://maxmind.github.io/MaxMind-DB/):
// an IPv6 search tree with 32-bit records (IPv4 networks live under ::/96, as in
// MaxMind's own databases) and a data section of maps, arrays and strings. Enough for
// country and city databases that libmaxminddb reads like GeoLite2's.
namespace kefu::geo {

// Data-section encoders: each returns the encoded bytes of one value.
namespace mmdb {
std::string String(absl::string_view s);
std::string Uint16(uint16_t v);
std::string Uint32(uint32_t v);
std::string Uint64(uint64_t v);
// A map of already encoded values, keys in the given order.
std::string Map(const std::vector<std::pair<std::string, std::string>>& entries);
// An array of already encoded values.
std::string Array(const std::vector<std::string>& items);
}  // namespace mmdb

// A network: 16 address bytes (IPv4 mapped to ::a.b.c.d) and a prefix length 0..128.
struct Network {
  std::array<uint8_t, 16> address{};
  int prefix = 0;
};

// "1.2.3.0/24", "2001:db8::/32" or a single address (full length).
absl::StatusOr<Network> ParseNetwork(absl::string_view cidr);

class MmdbWriter final {
 public:
  MmdbWriter(std::string database_type, std::string description,
             std::vector<std::string> languages)
      : database_type_(std::move(database_type)),
        description_(std::move(description)),
        languages_(std::move(languages)) {}

  // Adds a network with its record (an encoded value, normally a map). A more specific
  // network inside a wider one wins for its addresses, whatever the insertion order.
  void Insert(const Network& network, std::string record);

  // The whole database file.
  absl::StatusOr<std::string> Serialize(uint64_t build_epoch) const;

  size_t size() const { return entries_.size(); }

 private:
  std::string database_type_, description_;
  std::vector<std::string> languages_;
  std::vector<std::pair<Network, std::string>> entries_;
};

}  // namespace kefu::geo
