#pragma once

#include <maxminddb.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "kefu/common/v1/common.pb.h"

// Region lookup from a visitor's IP (F15) in a MaxMind DB file through libmaxminddb:
// GeoLite2/GeoIP2 country or city databases, the default country database built from
// Debian's geoip-database (tools/geo), or a hand-made city database in tests.
namespace kefu::router {

class GeoResolver final {
 public:
  // Opens `path` (memory-mapped). NOT_FOUND / DATA_LOSS when it is missing or unreadable.
  static absl::StatusOr<std::unique_ptr<GeoResolver>> Open(const std::string& path);
  // No database: every lookup answers an empty region.
  static std::unique_ptr<GeoResolver> Empty();
  ~GeoResolver();
  GeoResolver(const GeoResolver&) = delete;
  GeoResolver& operator=(const GeoResolver&) = delete;

  // INVALID_ARGUMENT (field "ip") for a malformed address; an empty region when the
  // database does not know the address. Province and city are the database's Chinese
  // names (zh-CN), else its English ones. Thread-safe.
  absl::StatusOr<kefu::common::v1::Region> Lookup(const std::string& ip) const;

  const std::string& path() const { return path_; }
  bool loaded() const { return loaded_; }

 private:
  GeoResolver() = default;
  MMDB_s db_{};
  bool loaded_ = false;
  std::string path_;
};

// The default database: <dir of the executable>/../share/kefu/geo/country.mmdb when it
// exists (installed layout and build tree), else the build tree's copy; "" when neither.
std::string DefaultGeoDatabase();

}  // namespace kefu::router
