#pragma once

// What the crm integration tests share: the real crm Setup in-process on the shared Redis
// and a fresh database, stubs, tokens, and the domain events other services would send.

#include <google/protobuf/util/time_util.h>
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "kefu/crm/v1/customer.grpc.pb.h"
#include "kefu/crm/v1/record.grpc.pb.h"
#include "libs/events/events.h"
#include "libs/redis/client.h"
#include "services/crm/crm_service.h"
#include "tests/support/env.h"
#include "tests/support/service_harness.h"

namespace crmtest {

namespace common = kefu::common::v1;
namespace crm = kefu::crm::v1;
namespace ev = kefu::events::v1;
using kefu::testing::CallWith;
using kefu::testing::PlatformToken;
using kefu::testing::TokenFor;

// Each test process reads the tenant streams with a consumer group of its own, so crm
// instances of other test processes (or the e2e stack) sharing the Redis do not take
// this test's events. Short refresh and block keep the tests fast.
inline kefu::crm::CrmOptions TestOptions() {
  kefu::crm::CrmOptions options;
  options.events.group = absl::StrCat("crm-test-", getpid());
  options.events.consumer = absl::StrCat("crm-test-", getpid());
  options.events.block = absl::Milliseconds(200);
  options.events.tenant_refresh = absl::Milliseconds(100);
  options.events.retry_pause = absl::Milliseconds(100);
  return options;
}

inline google::protobuf::Timestamp Ts(absl::Time t) {
  return google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(t));
}

inline google::protobuf::Duration Dur(absl::Duration d) {
  return google::protobuf::util::TimeUtil::MicrosecondsToDuration(absl::ToInt64Microseconds(d));
}

// Polls `done` until it holds or `limit` passes (the consumer applies events within ms).
inline bool Eventually(const std::function<bool()>& done, absl::Duration limit = absl::Seconds(5)) {
  const absl::Time deadline = absl::Now() + limit;
  while (absl::Now() < deadline) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return done();
}

// INVALID_ARGUMENT whose message starts with `field` and a colon.
inline bool NamesField(const grpc::Status& status, const std::string& field) {
  return status.error_code() == grpc::StatusCode::INVALID_ARGUMENT &&
         absl::StartsWith(status.error_message(), field + ":");
}

struct Crm {
  kefu::testing::RunningService service;
  std::unique_ptr<crm::CustomerService::Stub> customers;
  std::unique_ptr<crm::RecordService::Stub> records;
  std::unique_ptr<kefu::redis::Pool> redis;
  std::unique_ptr<kefu::events::Publisher> publisher;

  Crm() {
    service = kefu::testing::StartService(
        {.name = "crm", .register_flags = nullptr, .setup = [](kefu::server::ServiceContext& ctx) {
           return kefu::crm::SetupWith(ctx, TestOptions());
         }});
    customers = crm::CustomerService::NewStub(service.channel);
    records = crm::RecordService::NewStub(service.channel);
    kefu::redis::PoolOptions options;
    options.url = *kefu::redis::ParseUrl(kefu::testing::SharedEnv().redis_url);
    redis = std::make_unique<kefu::redis::Pool>(options);
    // Plays the gateway and the router: the services that report dialogs to crm.
    publisher = std::make_unique<kefu::events::Publisher>(redis.get(), "gateway");
  }

  std::string Publish(const ev::Event& event) {
    auto id = publisher->Publish(event);
    REQUIRE(id.ok());
    return *id;
  }

  // --- customer helpers -----------------------------------------------------------------

  crm::IdentifyCustomerResponse IdentifyPhone(const std::string& token, const std::string& phone,
                                              const std::string& tenant_id = "") {
    crm::IdentifyCustomerRequest request;
    request.set_tenant_id(tenant_id);
    request.set_phone(phone);
    crm::IdentifyCustomerResponse response;
    grpc::Status status = customers->IdentifyCustomer(CallWith(token).get(), request, &response);
    INFO(status.error_message());
    REQUIRE(status.ok());
    return response;
  }

  crm::Customer Create(const std::string& token, const crm::Customer& card) {
    crm::CreateCustomerRequest request;
    *request.mutable_customer() = card;
    crm::CreateCustomerResponse response;
    grpc::Status status = customers->CreateCustomer(CallWith(token).get(), request, &response);
    INFO(status.error_message());
    REQUIRE(status.ok());
    return response.customer();
  }

  grpc::Status Get(const std::string& token, const std::string& customer_id,
                   crm::Customer* out = nullptr) {
    crm::GetCustomerRequest request;
    request.set_customer_id(customer_id);
    crm::GetCustomerResponse response;
    grpc::Status status = customers->GetCustomer(CallWith(token).get(), request, &response);
    if (out != nullptr) *out = response.customer();
    return status;
  }

  std::vector<crm::Customer> ListAll(const std::string& token) {
    crm::ListCustomersRequest request;
    request.set_page_size(500);
    crm::ListCustomersResponse response;
    grpc::Status status = customers->ListCustomers(CallWith(token).get(), request, &response);
    REQUIRE(status.ok());
    return {response.customers().begin(), response.customers().end()};
  }

  // --- dialog helpers -------------------------------------------------------------------

  grpc::Status GetDialog(const std::string& token, const std::string& dialog_id,
                         crm::Dialog* out = nullptr) {
    crm::GetDialogRequest request;
    request.set_dialog_id(dialog_id);
    crm::GetDialogResponse response;
    grpc::Status status = records->GetDialog(CallWith(token).get(), request, &response);
    if (out != nullptr) *out = response.dialog();
    return status;
  }

  // Waits until the dialog's end (DialogEnded) has been applied.
  crm::Dialog WaitForEndedDialog(const std::string& token, const std::string& dialog_id) {
    crm::Dialog dialog;
    const bool ended = Eventually([&] {
      return GetDialog(token, dialog_id, &dialog).ok() &&
             dialog.end_type() != common::DIALOG_END_TYPE_UNSPECIFIED;
    });
    INFO("dialog " << dialog_id);
    REQUIRE(ended);
    return dialog;
  }
};

// A dialog as the gateway and router report it.
struct DialogScript {
  std::string tenant;
  std::string dialog_id = kefu::events::NewEventId();
  std::string contact_id = kefu::events::NewEventId();
  std::string customer_id;
  std::string agent_id = "agent-1";
  std::string department_id = "dept-sales";
  common::Channel channel = common::CHANNEL_CHAT;
  absl::Time start = absl::Now() - absl::Minutes(10);
  // Customer's and agent's lines, alternating from the customer; empty = invalid dialog.
  std::vector<std::string> customer_lines = {"你好，我想退货"};
  std::vector<std::string> agent_lines = {"好的，请提供订单号"};
  common::DialogEndType end_type = common::DIALOG_END_TYPE_CUSTOMER;
  bool connected = true;

  ev::Event Envelope() const {
    ev::Event event;
    event.set_tenant_id(tenant);
    event.set_event_id(kefu::events::NewEventId());
    return event;
  }

  ev::Event Started() const {
    ev::Event event = Envelope();
    *event.mutable_occurred_time() = Ts(start);
    auto* e = event.mutable_contact_started();
    e->set_contact_id(contact_id);
    e->set_dialog_id(dialog_id);
    e->set_channel(channel);
    e->set_initiation(common::DIALOG_INITIATION_CUSTOMER);
    e->set_entry_point_id("web");
    return event;
  }

  ev::Event Identified() const {
    ev::Event event = Envelope();
    *event.mutable_occurred_time() = Ts(start + absl::Seconds(1));
    auto* e = event.mutable_customer_identified();
    e->set_contact_id(contact_id);
    e->set_dialog_id(dialog_id);
    e->set_customer_id(customer_id);
    e->set_tier(common::CUSTOMER_TIER_NEW);
    return event;
  }

  ev::Event Assigned() const {
    ev::Event event = Envelope();
    *event.mutable_occurred_time() = Ts(start + absl::Seconds(20));
    auto* e = event.mutable_contact_assigned();
    e->set_contact_id(contact_id);
    e->set_dialog_id(dialog_id);
    e->set_customer_id(customer_id);
    e->set_agent_id(agent_id);
    e->set_department_id(department_id);
    e->set_channel(channel);
    e->set_initiation(common::DIALOG_INITIATION_CUSTOMER);
    *e->mutable_waited() = Dur(absl::Seconds(20));
    return event;
  }

  ev::Event Message(int sequence, common::ParticipantType type, const std::string& sender,
                    const std::string& text) const {
    ev::Event event = Envelope();
    *event.mutable_occurred_time() = Ts(start + absl::Seconds(30 + sequence));
    auto* e = event.mutable_message_sent();
    e->set_contact_id(contact_id);
    auto* m = e->mutable_message();
    m->set_message_id(absl::StrCat(dialog_id, "-m", sequence));
    m->set_dialog_id(dialog_id);
    m->set_sequence(sequence);
    m->mutable_sender()->set_type(type);
    m->mutable_sender()->set_id(sender);
    *m->mutable_sent_time() = Ts(start + absl::Seconds(30 + sequence));
    m->set_text(text);
    return event;
  }

  std::vector<ev::Event> Messages() const {
    std::vector<ev::Event> out;
    int sequence = 0;
    const size_t n = std::max(customer_lines.size(), agent_lines.size());
    for (size_t i = 0; i < n; ++i) {
      if (i < customer_lines.size()) {
        out.push_back(
            Message(++sequence, common::PARTICIPANT_TYPE_CUSTOMER, customer_id, customer_lines[i]));
      }
      if (connected && i < agent_lines.size()) {
        out.push_back(
            Message(++sequence, common::PARTICIPANT_TYPE_AGENT, agent_id, agent_lines[i]));
      }
    }
    return out;
  }

  ev::Event Ended() const {
    ev::Event event = Envelope();
    const absl::Time end = start + absl::Minutes(5);
    *event.mutable_occurred_time() = Ts(end);
    auto* e = event.mutable_dialog_ended();
    e->set_dialog_id(dialog_id);
    e->set_contact_id(contact_id);
    e->set_customer_id(customer_id);
    e->set_channel(channel);
    e->set_entry_point_id("web");
    e->set_department_id(department_id);
    e->set_initiation(common::DIALOG_INITIATION_CUSTOMER);
    e->set_end_type(end_type);
    e->set_valid(!customer_lines.empty());
    e->set_connected(connected);
    if (connected) {
      auto* segment = e->add_segments();
      segment->set_agent_id(agent_id);
      segment->set_department_id(department_id);
      segment->set_initiation(common::DIALOG_INITIATION_CUSTOMER);
      *segment->mutable_start_time() = Ts(start + absl::Seconds(20));
      *segment->mutable_end_time() = Ts(end);
      *e->mutable_first_assigned_time() = Ts(start + absl::Seconds(20));
      *e->mutable_talk_duration() = Dur(end - start - absl::Seconds(20));
    }
    *e->mutable_start_time() = Ts(start);
    *e->mutable_end_time() = Ts(end);
    *e->mutable_wait_duration() = Dur(absl::Seconds(20));
    e->set_customer_message_count(static_cast<int>(customer_lines.size()));
    e->mutable_summary()->set_text("退货咨询 / refund question");
    e->mutable_summary()->set_resolved(true);
    return event;
  }

  // The whole life of the dialog, in the order the services would report it.
  std::vector<ev::Event> All() const {
    std::vector<ev::Event> out = {Started()};
    if (!customer_id.empty()) out.push_back(Identified());
    if (connected) out.push_back(Assigned());
    for (auto& m : Messages()) out.push_back(std::move(m));
    out.push_back(Ended());
    return out;
  }
};

// The events of `payload` ("customer_tier_changed") on the tenant's stream, read with
// XRANGE (no consumer group), waiting up to `limit` for `want` of them.
inline std::vector<ev::Event> EventsOf(kefu::redis::Pool& pool, const std::string& tenant,
                                       const std::string& payload, size_t want,
                                       absl::Duration limit = absl::Seconds(5)) {
  std::vector<ev::Event> out;
  Eventually(
      [&] {
        out.clear();
        auto lease = pool.Acquire();
        REQUIRE(lease.ok());
        auto reply = (*lease)->Command({"XRANGE", kefu::events::StreamKey(tenant), "-", "+"});
        REQUIRE(reply.ok());
        for (size_t i = 0; i < (*reply)->elements; ++i) {
          const redisReply* entry = (*reply)->element[i];
          const redisReply* fields = entry->element[1];
          for (size_t f = 0; f + 1 < fields->elements; f += 2) {
            if (kefu::redis::ReplyString(*fields->element[f]) != "event") continue;
            absl::string_view bytes = kefu::redis::ReplyString(*fields->element[f + 1]);
            ev::Event event;
            REQUIRE(event.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())));
            if (kefu::events::PayloadName(event) == payload) out.push_back(event);
          }
        }
        return out.size() >= want;
      },
      limit);
  return out;
}

}  // namespace crmtest
