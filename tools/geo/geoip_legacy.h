#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tools/geo/mmdb_writer.h"

namespace kefu::geo {

// One network of a legacy GeoIP country database and its country id (index into
// LegacyCountries()).
struct LegacyNetwork {
  Network network;
  int country_id = 0;
};

// Reads a legacy GeoIP country database (GeoIP.dat: IPv4, GeoIPv6.dat: IPv6; Debian's
// geoip-database) and returns every network with a known country. The format: a binary
// trie of 6-byte nodes, two little-endian 24-bit records each; a record >= 0xFFFF00 is a
// leaf holding country id = record - 0xFFFF00; the database type byte follows three 0xFF
// bytes near the end of the file.
absl::StatusOr<std::vector<LegacyNetwork>> ReadLegacyCountryDatabase(const std::string& path);

}  // namespace kefu::geo
