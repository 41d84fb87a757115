#include "tools/geo/geoip_legacy.h"

#include <fstream>
#include <iterator>

#include "absl/strings/str_cat.h"

namespace kefu::geo {
namespace {

constexpr uint32_t kCountryBegin = 16776960;  // 0xFFFF00
constexpr int kCountryEdition = 1;
constexpr int kCountryEditionV6 = 12;

struct Walker {
  const std::string& bytes;
  uint32_t node_limit;  // nodes in the trie
  int depth_bits;       // 32 or 128
  int offset_bits;      // where the walked bits start in the 128-bit address
  std::vector<LegacyNetwork>* out;
  absl::Status status;

  uint32_t Record(uint32_t node, int side) const {
    const size_t at = static_cast<size_t>(node) * 6 + side * 3;
    const auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(bytes[i])); };
    return b(at) | (b(at + 1) << 8) | (b(at + 2) << 16);
  }

  void Walk(uint32_t node, int depth, std::array<uint8_t, 16>& address) {
    if (!status.ok()) return;
    if (depth >= depth_bits || node >= node_limit) {
      status = absl::DataLossError(absl::StrCat("bad trie node ", node, " at depth ", depth));
      return;
    }
    for (int side = 0; side < 2; ++side) {
      const int bit = offset_bits + depth;
      if (side == 1) address[bit / 8] |= static_cast<uint8_t>(0x80 >> (bit % 8));
      const uint32_t record = Record(node, side);
      if (record >= kCountryBegin) {
        const int id = static_cast<int>(record - kCountryBegin);
        if (id > 0 && id < 256) {
          LegacyNetwork n;
          n.network.address = address;
          n.network.prefix = offset_bits + depth + 1;
          n.country_id = id;
          out->push_back(n);
        }
      } else {
        Walk(record, depth + 1, address);
      }
      if (side == 1) address[bit / 8] &= static_cast<uint8_t>(~(0x80 >> (bit % 8)));
    }
  }
};

}  // namespace

absl::StatusOr<std::vector<LegacyNetwork>> ReadLegacyCountryDatabase(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // The structure info: three 0xFF bytes then the type, within the last 20 bytes.
  int type = kCountryEdition;
  size_t info = std::string::npos;
  for (size_t i = 0; i < 20 && i + 4 <= bytes.size(); ++i) {
    const size_t at = bytes.size() - 4 - i;
    if (bytes.compare(at, 3, "\xff\xff\xff") == 0) {
      info = at;
      type = static_cast<uint8_t>(bytes[at + 3]);
      if (type >= 106) type -= 105;  // old databases stored type + 105
      break;
    }
  }
  if (type != kCountryEdition && type != kCountryEditionV6) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": database type ", type, " is not a country edition"));
  }
  const size_t trie_bytes = info == std::string::npos ? bytes.size() : info;
  std::vector<LegacyNetwork> out;
  std::array<uint8_t, 16> address{};
  Walker walker{bytes,
                static_cast<uint32_t>(trie_bytes / 6),
                type == kCountryEdition ? 32 : 128,
                type == kCountryEdition ? 96 : 0,
                &out,
                absl::OkStatus()};
  walker.Walk(0, 0, address);
  if (!walker.status.ok()) return walker.status;
  return out;
}

}  // namespace kefu::geo
