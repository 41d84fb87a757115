#include <catch2/catch.hpp>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/common/log.h"
#include "libs/common/status.h"
#include "libs/common/status_macros.h"

namespace {

absl::StatusOr<int> Half(int n) {
  if (n % 2 != 0) return kefu::InvalidField("n", "must be even");
  return n / 2;
}

absl::StatusOr<int> Quarter(int n) {
  KEFU_ASSIGN_OR_RETURN(int half, Half(n));
  KEFU_ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

absl::Status CheckEven(int n) {
  KEFU_RETURN_IF_ERROR(Half(n).status());
  return absl::OkStatus();
}

}  // namespace

TEST_CASE("status macros pass values through and return the first error") {
  REQUIRE(Quarter(8).ok());
  CHECK(*Quarter(8) == 2);
  CHECK(Quarter(6).status().message() == "n: must be even");
  CHECK(CheckEven(4).ok());
  CHECK(CheckEven(3).code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("absl and gRPC status codes map one to one") {
  for (int code = 0; code <= 16; ++code) {
    absl::Status status(static_cast<absl::StatusCode>(code), code == 0 ? "" : "why");
    grpc::Status grpc_status = kefu::ToGrpcStatus(status);
    CHECK(static_cast<int>(grpc_status.error_code()) == code);
    CHECK(kefu::FromGrpcStatus(grpc_status) == status);
  }
  CHECK(kefu::GrpcCodeName(grpc::StatusCode::NOT_FOUND) == "NOT_FOUND");
  CHECK(kefu::GrpcCodeName(grpc::StatusCode::UNAUTHENTICATED) == "UNAUTHENTICATED");
}

TEST_CASE("a log line is one JSON object with escaped text") {
  const absl::Time ts = absl::FromUnixMillis(1'795'000'000'123);
  std::string line = kefu::log::FormatLine(ts, kefu::log::Level::kWarn, "router",
                                           "queue \"vip\"\nfull", {{"tenant", "acme"}});
  CHECK(line.find('\n') == std::string::npos);
  CHECK_THAT(line, Catch::StartsWith("{\"ts\":\"2026-11-18T"));
  CHECK_THAT(line, Catch::Contains("\"level\":\"warn\""));
  CHECK_THAT(line, Catch::Contains("\"msg\":\"queue \\\"vip\\\"\\nfull\""));
  CHECK_THAT(line, Catch::EndsWith(",\"tenant\":\"acme\"}"));

  std::string control;
  kefu::log::AppendJsonString(&control, absl::string_view("a\x01"
                                                          "客服",
                                                          8));
  CHECK(control == "\"a\\u0001客服\"");
}

TEST_CASE("log levels parse case-insensitively") {
  kefu::log::Level level{};
  CHECK(kefu::log::ParseLevel("WARN", &level));
  CHECK(level == kefu::log::Level::kWarn);
  CHECK_FALSE(kefu::log::ParseLevel("verbose", &level));
}
