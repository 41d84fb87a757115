#include "services/router/geo.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "libs/common/status.h"

namespace kefu::router {
namespace {

// The name at first/second[/third]/<language>, Chinese first, else English; "" when none.
std::string Name(MMDB_entry_s* entry, const char* first, const char* second,
                 const char* third = nullptr) {
  for (const char* language : {"zh-CN", "en"}) {
    MMDB_entry_data_s data;
    int status;
    if (third != nullptr) {
      status = MMDB_get_value(entry, &data, first, second, third, language, nullptr);
    } else {
      status = MMDB_get_value(entry, &data, first, second, language, nullptr);
    }
    if (status == MMDB_SUCCESS && data.has_data && data.type == MMDB_DATA_TYPE_UTF8_STRING) {
      return std::string(data.utf8_string, data.data_size);
    }
  }
  return "";
}

}  // namespace

absl::StatusOr<std::unique_ptr<GeoResolver>> GeoResolver::Open(const std::string& path) {
  std::unique_ptr<GeoResolver> resolver(new GeoResolver());
  resolver->path_ = path;
  const int status = MMDB_open(path.c_str(), MMDB_MODE_MMAP, &resolver->db_);
  if (status == MMDB_FILE_OPEN_ERROR) {
    return absl::NotFoundError(absl::StrCat("geo database ", path, ": cannot open"));
  }
  if (status != MMDB_SUCCESS) {
    return absl::DataLossError(absl::StrCat("geo database ", path, ": ", MMDB_strerror(status)));
  }
  resolver->loaded_ = true;
  return resolver;
}

std::unique_ptr<GeoResolver> GeoResolver::Empty() {
  return std::unique_ptr<GeoResolver>(new GeoResolver());
}

GeoResolver::~GeoResolver() {
  if (loaded_) MMDB_close(&db_);
}

absl::StatusOr<kefu::common::v1::Region> GeoResolver::Lookup(const std::string& ip) const {
  kefu::common::v1::Region region;
  if (ip.empty()) return InvalidField("ip", "required");
  if (!loaded_) return region;
  int gai_error = 0, mmdb_error = 0;
  MMDB_lookup_result_s result =
      MMDB_lookup_string(const_cast<MMDB_s*>(&db_), ip.c_str(), &gai_error, &mmdb_error);
  if (gai_error != 0) {
    return InvalidField("ip", absl::StrCat("\"", ip, "\" is not an IP address"));
  }
  if (mmdb_error == MMDB_IPV6_LOOKUP_IN_IPV4_DATABASE_ERROR) return region;
  if (mmdb_error != MMDB_SUCCESS) {
    return absl::InternalError(absl::StrCat("geo lookup: ", MMDB_strerror(mmdb_error)));
  }
  if (!result.found_entry) return region;
  MMDB_entry_data_s data;
  if (MMDB_get_value(&result.entry, &data, "country", "iso_code", nullptr) == MMDB_SUCCESS &&
      data.has_data && data.type == MMDB_DATA_TYPE_UTF8_STRING) {
    region.set_country_code(std::string(data.utf8_string, data.data_size));
  }
  region.set_province(Name(&result.entry, "subdivisions", "0", "names"));
  region.set_city(Name(&result.entry, "city", "names"));
  return region;
}

std::string DefaultGeoDatabase() {
  std::error_code error;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", error);
  if (!error) {
    const auto installed = exe.parent_path().parent_path() / "share" / "kefu" / "geo" / "country.mmdb";
    if (std::filesystem::exists(installed, error)) return installed.string();
  }
#ifdef KEFU_DEFAULT_GEO_DB
  if (std::filesystem::exists(KEFU_DEFAULT_GEO_DB, error)) return KEFU_DEFAULT_GEO_DB;
#endif
  return "";
}

}  // namespace kefu::router
