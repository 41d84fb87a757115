// kefu-geo-mmdb: builds MaxMind DB files for kefu-router's region lookup (F15).
//
//   kefu-geo-mmdb --geoip-dat /usr/share/GeoIP/GeoIP.dat [--geoip-dat GeoIPv6.dat] --out F
//       a country database from Debian's legacy geoip-database (record: country.iso_code,
//       country.names.en), the router's default;
//   kefu-geo-mmdb --text testdata/geo/cities.txt --out F
//       a city database from a text file, one network a line:
//           <network> <country iso code> [<province> [<city>]]     ("-" = none, # comments)
//       (records as GeoLite2-City: country, subdivisions[0], city with names.zh-CN).
//
// Both are read back with libmaxminddb in kefu-router (services/router/geo.cc).
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "tools/geo/geoip_countries.h"
#include "tools/geo/geoip_legacy.h"
#include "tools/geo/mmdb_writer.h"

namespace {

using kefu::geo::MmdbWriter;
namespace mmdb = kefu::geo::mmdb;

std::string Names(const std::string& name) {
  // Chinese names are what the region strategies compare (F15); "en" mirrors them so
  // tools that read English names still see something.
  return mmdb::Map({{"en", mmdb::String(name)}, {"zh-CN", mmdb::String(name)}});
}

absl::Status AddLegacy(const std::string& path, MmdbWriter& writer) {
  auto networks = kefu::geo::ReadLegacyCountryDatabase(path);
  if (!networks.ok()) return networks.status();
  const auto& countries = kefu::geo::LegacyCountries();
  for (const auto& n : *networks) {
    const auto& country = countries[n.country_id];
    writer.Insert(n.network,
                  mmdb::Map({{"country", mmdb::Map({{"iso_code", mmdb::String(country.iso_code)},
                                                    {"names", mmdb::Map({{"en", mmdb::String(
                                                                                    country.name)}})}})}}));
  }
  std::cerr << path << ": " << networks->size() << " networks\n";
  return absl::OkStatus();
}

absl::Status AddText(const std::string& path, MmdbWriter& writer) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    absl::string_view text = absl::StripAsciiWhitespace(line);
    if (text.empty() || text[0] == '#') continue;
    std::vector<std::string> fields = absl::StrSplit(text, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (fields.size() < 2 || fields.size() > 4) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", line_no, ": want <network> <country> [<province> [<city>]]"));
    }
    auto network = kefu::geo::ParseNetwork(fields[0]);
    if (!network.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ":", line_no, ": ", network.status().message()));
    }
    std::vector<std::pair<std::string, std::string>> record = {
        {"country", mmdb::Map({{"iso_code", mmdb::String(fields[1])}})}};
    if (fields.size() > 2 && fields[2] != "-") {
      record.emplace_back("subdivisions", mmdb::Array({mmdb::Map({{"names", Names(fields[2])}})}));
    }
    if (fields.size() > 3 && fields[3] != "-") {
      record.emplace_back("city", mmdb::Map({{"names", Names(fields[3])}}));
    }
    writer.Insert(*network, mmdb::Map(record));
  }
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> legacy, text;
  std::string out;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 < argc && arg == "--geoip-dat") {
      legacy.push_back(argv[++i]);
    } else if (i + 1 < argc && arg == "--text") {
      text.push_back(argv[++i]);
    } else if (i + 1 < argc && arg == "--out") {
      out = argv[++i];
    } else {
      std::cerr << "usage: kefu-geo-mmdb (--geoip-dat FILE | --text FILE)... --out FILE\n";
      return 2;
    }
  }
  if (out.empty() || (legacy.empty() && text.empty())) {
    std::cerr << "usage: kefu-geo-mmdb (--geoip-dat FILE | --text FILE)... --out FILE\n";
    return 2;
  }
  MmdbWriter writer(text.empty() ? "kefu-Country" : "kefu-City",
                    text.empty() ? "kefu country database built from Debian geoip-database"
                                 : "kefu city database built from a text file",
                    {"en", "zh-CN"});
  for (const auto& path : legacy) {
    if (auto st = AddLegacy(path, writer); !st.ok()) {
      std::cerr << "kefu-geo-mmdb: " << st.message() << "\n";
      return 1;
    }
  }
  for (const auto& path : text) {
    if (auto st = AddText(path, writer); !st.ok()) {
      std::cerr << "kefu-geo-mmdb: " << st.message() << "\n";
      return 1;
    }
  }
  auto bytes = writer.Serialize(static_cast<uint64_t>(absl::ToUnixSeconds(absl::Now())));
  if (!bytes.ok()) {
    std::cerr << "kefu-geo-mmdb: " << bytes.status().message() << "\n";
    return 1;
  }
  const std::string tmp = out + ".tmp";
  {
    std::ofstream file(tmp, std::ios::binary | std::ios::trunc);
    file.write(bytes->data(), static_cast<std::streamsize>(bytes->size()));
    if (!file) {
      std::cerr << "kefu-geo-mmdb: cannot write " << tmp << "\n";
      return 1;
    }
  }
  if (std::rename(tmp.c_str(), out.c_str()) != 0) {
    std::cerr << "kefu-geo-mmdb: cannot rename " << tmp << "\n";
    return 1;
  }
  std::cerr << out << ": " << writer.size() << " networks, " << bytes->size() << " bytes\n";
  return 0;
}
