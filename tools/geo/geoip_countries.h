#pragma once

#include <array>

namespace kefu::geo {

struct LegacyCountry {
  const char* iso_code;  // "--" for unknown
  const char* name;      // English
};

// Legacy GeoIP country ids (GeoIP.dat leaf values minus the country segment) to codes.
const std::array<LegacyCountry, 256>& LegacyCountries();

}  // namespace kefu::geo
