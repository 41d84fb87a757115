// Region routing (F15) and entry points (F16) on real Redis and PostgreSQL, with the small
// hand-made city database built from testdata/geo/cities.txt (192.0.2.0/24 = 浙江 宁波,
// 198.51.100.0/25 = 浙江 杭州, 198.51.100.128/25 = 江苏 南京).
#include <filesystem>

#include "tests/integration/routing_harness.h"

namespace {

// <build>/testdata/geo/test-city.mmdb, built by tools/geo beside <build>/bin.
std::string TestCityDatabase() {
  const auto exe = std::filesystem::read_symlink("/proc/self/exe");
  const auto path = exe.parent_path().parent_path() / "testdata" / "geo" / "test-city.mmdb";
  INFO("the test city database is built by the kefu_geo_data target: " << path);
  REQUIRE(std::filesystem::exists(path));
  return path.string();
}

kefu::router::RouterOptions CityDatabase() { return {.geo_database = TestCityDatabase()}; }

kefu::common::v1::Region Where(const std::string& country, const std::string& province,
                               const std::string& city) {
  kefu::common::v1::Region region;
  region.set_country_code(country);
  region.set_province(province);
  region.set_city(city);
  return region;
}

rv1::RegionStrategy Strategy(const std::string& id, const kefu::common::v1::Region& region,
                             const std::vector<std::string>& departments, bool override = false) {
  rv1::RegionStrategy s;
  s.set_strategy_id(id);
  s.set_name(id);
  s.set_enabled(true);
  s.set_override_designation(override);
  *s.add_regions() = region;
  for (const auto& d : departments) s.add_department_ids(d);
  return s;
}

void CreateStrategy(Centre& c, const rv1::RegionStrategy& strategy) {
  rv1::CreateRegionStrategyRequest request;
  *request.mutable_strategy() = strategy;
  rv1::CreateRegionStrategyResponse response;
  auto st = c.admin_stub->CreateRegionStrategy(CallWith(c.admin).get(), request, &response);
  INFO(st.error_message());
  REQUIRE(st.ok());
}

grpc::Status CreateEntryPoint(Centre& c, const rv1::EntryPoint& entry_point) {
  rv1::CreateEntryPointRequest request;
  *request.mutable_entry_point() = entry_point;
  rv1::CreateEntryPointResponse response;
  return c.admin_stub->CreateEntryPoint(CallWith(c.admin).get(), request, &response);
}

rv1::EnqueueResponse EnqueueFrom(Centre& c, const std::string& contact, const std::string& ip,
                                 const std::string& entry_point = "") {
  rv1::EnqueueRequest request;
  request.set_contact_id(contact);
  request.set_dialog_id("d-" + contact);
  request.set_tier(REGULAR);
  request.set_ip(ip);
  request.set_entry_point_id(entry_point);
  rv1::EnqueueResponse response;
  auto st = c.routing->Enqueue(CallWith(c.service).get(), request, &response);
  INFO(st.error_message());
  REQUIRE(st.ok());
  return response;
}

kefu::common::v1::Region Resolve(Centre& c, const std::string& ip, grpc::Status* status = nullptr) {
  rv1::ResolveRegionRequest request;
  request.set_ip(ip);
  rv1::ResolveRegionResponse response;
  auto st = c.routing->ResolveRegion(CallWith(c.service).get(), request, &response);
  if (status != nullptr) {
    *status = st;
  } else {
    INFO(st.error_message());
    REQUIRE(st.ok());
  }
  return response.region();
}

}  // namespace

TEST_CASE("the visitor's IP resolves to province and city with the configured geo database") {
  Centre c(CityDatabase());
  auto ningbo = Resolve(c, "192.0.2.7");
  CHECK(ningbo.country_code() == "CN");
  CHECK(ningbo.province() == "浙江");
  CHECK(ningbo.city() == "宁波");
  CHECK(Resolve(c, "198.51.100.200").city() == "南京");
  CHECK(Resolve(c, "2001:db8:1::9").city() == "宁波");  // IPv6, the more specific network
  auto wider = Resolve(c, "2001:db8:7::1");
  CHECK(wider.country_code() == "CN");
  CHECK(wider.province().empty());
  CHECK(Resolve(c, "8.8.8.8").country_code().empty());  // not in the database: unknown
  grpc::Status bad;
  Resolve(c, "not-an-ip", &bad);
  CHECK(bad.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(bad.error_message().rfind("ip", 0) == 0);
}

TEST_CASE("the default country database built from Debian's geoip-database knows a US address") {
  Centre c;  // no --geo-database: the default built by tools/geo
  CHECK(Resolve(c, "8.8.8.8").country_code() == "US");
}

TEST_CASE("region strategies union their departments for a Ningbo IP") {
  Centre c(CityDatabase());
  c.Queue("main", rv1::ROUTING_STRATEGY_LEAST_BUSY, true);
  for (const char* d : {"zhejiang", "ningbo", "jiangsu", "general"}) c.Department(d, "main");
  CreateStrategy(c, Strategy("by-province", Where("CN", "浙江", ""), {"zhejiang"}));
  CreateStrategy(c, Strategy("by-city", Where("", "", "宁波"), {"ningbo"}));
  CreateStrategy(c, Strategy("jiangsu", Where("CN", "江苏", ""), {"jiangsu"}));
  c.Agent("a-general", {"general"}, 1, ONLINE);
  c.Agent("a-jiangsu", {"jiangsu"}, 1, ONLINE);
  c.Agent("a-ningbo", {"ningbo"}, 1, ONLINE);
  c.Agent("a-zhejiang", {"zhejiang"}, 1, ONLINE);

  auto first = EnqueueFrom(c, "c1", "192.0.2.7");
  CHECK(first.region().city() == "宁波");
  CHECK(std::set<std::string>(first.eligible_department_ids().begin(),
                              first.eligible_department_ids().end()) ==
        std::set<std::string>{"zhejiang", "ningbo"});
  auto second = EnqueueFrom(c, "c2", "192.0.2.8");
  // Both matching strategies' agents take Ningbo visitors; nobody else does.
  CHECK(std::set<std::string>{first.routing().agent_id(), second.routing().agent_id()} ==
        std::set<std::string>{"a-ningbo", "a-zhejiang"});
  auto third = EnqueueFrom(c, "c3", "192.0.2.9");
  CHECK(third.routing().state() == QUEUED);  // a-general and a-jiangsu are free but not eligible
  // A Nanjing visitor goes to the Jiangsu department only.
  CHECK(EnqueueFrom(c, "c4", "198.51.100.200").routing().agent_id() == "a-jiangsu");
  // An agent of a matching department frees up: the waiting Ningbo visitor is offered.
  REQUIRE(c.Accept(first.routing().offers(0)).ok());
  REQUIRE(c.Release("c1", first.routing().agent_id()).ok());
  CHECK(c.WaitOffer("c3").agent_id() == first.routing().agent_id());
}

TEST_CASE("an override region strategy replaces the entry point designation") {
  Centre c(CityDatabase());
  c.Queue("main", rv1::ROUTING_STRATEGY_LEAST_BUSY, true);
  c.Department("zhejiang", "main");
  c.Department("front", "main");
  c.Agent("designated", {"front"}, 5, ONLINE);
  c.Agent("zj-agent", {"zhejiang"}, 5, ONLINE);
  rv1::EntryPoint widget;
  widget.set_entry_point_id("web-widget");
  widget.set_name("官网");
  widget.add_designated_agent_ids("designated");
  REQUIRE(CreateEntryPoint(c, widget).ok());
  CreateStrategy(c, Strategy("zj", Where("CN", "浙江", ""), {"zhejiang"}));

  // Without override the entry point's designation wins.
  CHECK(EnqueueFrom(c, "c1", "192.0.2.7", "web-widget").routing().agent_id() == "designated");

  rv1::UpdateRegionStrategyRequest update;
  update.mutable_strategy()->set_strategy_id("zj");
  update.mutable_strategy()->set_override_designation(true);
  update.mutable_update_mask()->add_paths("override_designation");
  rv1::UpdateRegionStrategyResponse updated;
  REQUIRE(c.admin_stub->UpdateRegionStrategy(CallWith(c.admin).get(), update, &updated).ok());
  CHECK(updated.strategy().department_ids_size() == 1);  // the mask kept the rest

  CHECK(EnqueueFrom(c, "c2", "192.0.2.7", "web-widget").routing().agent_id() == "zj-agent");
  // No region match: the designation again (fallback).
  CHECK(EnqueueFrom(c, "c3", "198.51.100.200", "web-widget").routing().agent_id() ==
        "designated");
}

TEST_CASE("entry point designated agents get the contact first") {
  Centre c;
  c.Queue("main", rv1::ROUTING_STRATEGY_LEAST_BUSY, true);
  c.Department("support", "main");
  c.Department("vip-desk", "main");
  c.Agent("a-free", {"support"}, 5, ONLINE);  // would win every tie
  c.Agent("z-designated", {"support"}, 1, ONLINE);
  c.Agent("z-vip", {"vip-desk"}, 5, ONLINE);
  rv1::EntryPoint hotline;
  hotline.set_entry_point_id("hotline-400");
  hotline.set_name("400 热线");
  hotline.set_channel(kefu::common::v1::CHANNEL_VOICE);
  hotline.add_designated_agent_ids("z-designated");
  hotline.set_hide_offline(true);
  REQUIRE(CreateEntryPoint(c, hotline).ok());

  auto first = EnqueueFrom(c, "c1", "", "hotline-400");
  CHECK(first.routing().agent_id() == "z-designated");
  // The designated agent is full: the next hotline caller waits for them, not for a-free.
  auto second = EnqueueFrom(c, "c2", "", "hotline-400");
  CHECK(second.routing().state() == QUEUED);
  REQUIRE(c.Accept(first.routing().offers(0)).ok());
  REQUIRE(c.Release("c1", "z-designated").ok());
  CHECK(c.WaitOffer("c2").agent_id() == "z-designated");
  // A contact without an entry point still goes to anyone.
  CHECK(c.Enqueue("c3", REGULAR).routing().agent_id() == "a-free");

  // A designated department: picking it assigns inside it.
  rv1::EntryPoint app;
  app.set_entry_point_id("vip-app");
  app.set_name("VIP App");
  app.add_designated_department_ids("vip-desk");
  app.set_hide_department(true);
  app.set_bot_id("bot-1");
  REQUIRE(CreateEntryPoint(c, app).ok());
  CHECK(EnqueueFrom(c, "c4", "", "vip-app").routing().agent_id() == "z-vip");

  rv1::GetEntryPointRequest get;
  get.set_entry_point_id("vip-app");
  rv1::GetEntryPointResponse got;
  REQUIRE(c.admin_stub->GetEntryPoint(CallWith(c.service).get(), get, &got).ok());
  CHECK(got.entry_point().hide_department());
  CHECK(got.entry_point().bot_id() == "bot-1");
}

TEST_CASE("an entry point naming an unknown agent or two bots is refused") {
  Centre c;
  c.Queue("main", rv1::ROUTING_STRATEGY_LEAST_BUSY, true);
  rv1::EntryPoint entry_point;
  entry_point.set_entry_point_id("widget");
  entry_point.set_name("widget");
  entry_point.add_designated_agent_ids("nobody");
  auto unknown = CreateEntryPoint(c, entry_point);
  CHECK(unknown.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(unknown.error_message().rfind("entry_point.designated_agent_ids", 0) == 0);
  entry_point.clear_designated_agent_ids();
  entry_point.set_bot_id("bot-1,bot-2");
  auto two_bots = CreateEntryPoint(c, entry_point);
  CHECK(two_bots.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(two_bots.error_message().rfind("entry_point.bot_id", 0) == 0);
}
