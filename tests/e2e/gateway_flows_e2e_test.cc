// End to end through the public gateway APIs only (issue 5): the conversation flows of
// F18 and F31-F37 on the seven binaries as processes, real Redis and PostgreSQL. Starting a
// stack is what costs, so each TEST_CASE starts one and plays several scenarios on it, one
// block each, every block with a tenant of its own.
#include <catch2/catch.hpp>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "kefu/events/v1/events.pb.h"
#include "libs/redis/client.h"
#include "tests/e2e/client.h"
#include "tests/e2e/stack.h"

namespace {

namespace cv1 = e2e::cv1;
namespace gv1 = e2e::gv1;
namespace crm = e2e::crm;
using e2e::With;

// F31's 6 minutes of customer silence, shortened through the gateway's flag.
constexpr absl::Duration kSilence = absl::Seconds(2);

bool HasEnded(const gv1::CustomerGatewayServiceUpdatesResponse& u) { return u.has_ended(); }

template <typename Update>
bool AnyOf(const std::vector<Update>& updates, const std::function<bool(const Update&)>& pred) {
  for (const auto& u : updates) {
    if (pred(u)) return true;
  }
  return false;
}

// The tenant's event stream, one line an event with who it names: what crm built its
// record from, for a failure message.
std::string EventHistory(const e2e::Stack& stack, const std::string& tenant) {
  auto url = kefu::redis::ParseUrl(stack.redis_url());
  if (!url.ok()) return url.status().ToString();
  auto conn = kefu::redis::Connection::Open(*url, absl::Seconds(2));
  if (!conn.ok()) return conn.status().ToString();
  // The key libs/events names kefu::events::StreamKey (not linked here).
  auto reply = (*conn)->Command({"XRANGE", absl::StrCat("kefu:{t:", tenant, "}:events"), "-", "+"});
  if (!reply.ok()) return reply.status().ToString();
  std::string out;
  for (size_t i = 0; i < (*reply)->elements; ++i) {
    const redisReply& entry = *(*reply)->element[i];
    const redisReply& fields = *entry.element[1];
    kefu::events::v1::Event event;
    absl::string_view type;
    for (size_t f = 0; f + 1 < fields.elements; f += 2) {
      if (kefu::redis::ReplyString(*fields.element[f]) == "type") {
        type = kefu::redis::ReplyString(*fields.element[f + 1]);
      } else if (kefu::redis::ReplyString(*fields.element[f]) == "event") {
        const auto bytes = kefu::redis::ReplyString(*fields.element[f + 1]);
        (void)event.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
      }
    }
    absl::StrAppend(&out, "\n  ", kefu::redis::ReplyString(*entry.element[0]), " ",
                    event.producer(), " ", type, ": ");
    switch (event.payload_case()) {
      case kefu::events::v1::Event::kContactAssigned:
        absl::StrAppend(&out, event.contact_assigned().agent_id());
        break;
      case kefu::events::v1::Event::kOfferCreated:
        absl::StrAppend(&out, event.offer_created().agent_id());
        break;
      case kefu::events::v1::Event::kContactTransferred:
        absl::StrAppend(&out, event.contact_transferred().ShortDebugString());
        break;
      case kefu::events::v1::Event::kDialogEnded:
        for (const auto& s : event.dialog_ended().segments()) {
          absl::StrAppend(&out, s.agent_id(), " [", s.start_time().ShortDebugString(), " .. ",
                          s.end_time().ShortDebugString(), "] ");
        }
        break;
      default:
        break;
    }
  }
  return out;
}

std::vector<std::string> Texts(const crm::GetTranscriptResponse& transcript) {
  std::vector<std::string> texts;
  for (const auto& m : transcript.messages()) texts.push_back(m.text());
  return texts;
}

// Bytes that differ from position to position, so a lost or reordered chunk shows.
std::string Content(size_t size, int seed) {
  std::string bytes(size, '\0');
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>((i * 31 + seed) % 251);
  return bytes;
}

// A file of a real type: its signature, which crm checks against the declared type (F35),
// then Content().
std::string FileContent(const std::string& signature, size_t size, int seed) {
  std::string bytes = Content(size, seed);
  bytes.replace(0, signature.size(), signature);
  return bytes;
}

gv1::UploadMetadata FileMetadata(const std::string& name, const std::string& type,
                                 const std::string& bytes) {
  gv1::UploadMetadata file;
  file.set_file_name(name);
  file.set_content_type(type);
  file.set_size_bytes(static_cast<int64_t>(bytes.size()));
  return file;
}

// An upload (F35): `first` (the metadata), then the bytes in 64 KiB chunks; returns the file
// message added to the dialog. `open` starts the call on the customer's or the agent's side.
template <typename Response, typename Request, typename Open>
cv1::Message Upload(const std::string& token, Open open, const Request& first,
                    const std::string& bytes) {
  constexpr size_t kChunk = 64 * 1024;
  auto ctx = With(token);
  Response response;
  auto writer = open(ctx.get(), &response);
  bool open_call = writer->Write(first);
  for (size_t at = 0; open_call && at < bytes.size(); at += kChunk) {
    Request chunk;
    chunk.set_chunk(bytes.substr(at, kChunk));
    open_call = writer->Write(chunk);  // false: the server ended the call; Finish says why
  }
  writer->WritesDone();
  auto st = writer->Finish();
  INFO("upload: " << st.error_code() << " " << st.error_message());
  REQUIRE(st.ok());
  return response.message();
}

struct Downloaded {
  cv1::FileAttachment metadata;
  std::string bytes;
};

// A download (F35) read to its end: the metadata first, then the bytes. `open` starts the
// call on the customer's or the agent's side.
template <typename Response, typename Open>
Downloaded Download(const std::string& token, Open open) {
  auto ctx = With(token);
  auto reader = open(ctx.get());
  Downloaded got;
  Response part;
  while (reader->Read(&part)) {
    if (part.has_metadata()) got.metadata = part.metadata();
    got.bytes += part.chunk();
  }
  auto st = reader->Finish();
  INFO("download: " << st.error_code() << " " << st.error_message());
  REQUIRE(st.ok());
  return got;
}

// An update carrying the file message `file_id`.
auto HasFile(const std::string& file_id) {
  return [file_id](const auto& u) {
    return u.has_message() && u.message().has_file() && u.message().file().file_id() == file_id;
  };
}

}  // namespace

TEST_CASE(
    "a silent customer's dialog times out, a dialog without a customer word is invalid, and an "
    "offline message left with nobody online is replied, each as crm records it",
    "[gateway][e2e]") {
  e2e::Stack stack(kefu::testing::SharedEnv().redis_url,
                   kefu::testing::FreshDatabase("e2e_gw_flows_a"),
                   {{"KEFU_SILENCE_TIMEOUT", absl::FormatDuration(kSilence)}});
  INFO(stack.Logs());
  REQUIRE(stack.SecondsUntilAll("SERVING", 30) >= 0);
  e2e::Gateway gw(stack.ports().at("gateway").grpc);

  // --- F31: the system ends a dialog after the customer's silence following an agent message.
  {
    e2e::Chat chat(stack, "silence", "gen-eve", "Eve", "+8613700000001", gw, gw);
    auto& [t, eve, desk, contact, me, widget, dialog] = chat;
    gw.CustomerSay(me, "在吗");
    gw.AgentSay(eve, dialog, "在的，请问有什么可以帮您");

    // A customer who answers in time stops the clock: the dialog outlives the timeout.
    absl::SleepFor(kSilence / 2);
    gw.CustomerSay(me, "我想改收货地址");
    absl::SleepFor(kSilence + absl::Seconds(1));
    CHECK_FALSE(AnyOf<gv1::CustomerGatewayServiceUpdatesResponse>(widget->All(), HasEnded));

    // The agent asks; the customer stays silent; the system ends the dialog, not earlier.
    const absl::Time asked = absl::Now();
    gw.AgentSay(eve, dialog, "请提供新的地址");
    const auto ended = widget->WaitFor(HasEnded, kSilence + absl::Seconds(8));
    CHECK(absl::Now() - asked >= kSilence - absl::Milliseconds(50));
    CHECK(ended.ended().end_type() == cv1::DIALOG_END_TYPE_SYSTEM_TIMEOUT);
    const auto notice = desk->WaitFor([&](const auto& u) {
      return u.has_dialog_ended() && u.dialog_ended().dialog_id() == dialog;
    });
    CHECK(notice.dialog_ended().end_type() == cv1::DIALOG_END_TYPE_SYSTEM_TIMEOUT);
    // The customer can no longer write into it.
    gv1::CustomerGatewayServiceSendRequest late;
    late.set_text("新地址是…");
    gv1::CustomerGatewayServiceSendResponse ignored;
    CHECK_FALSE(gw.customer->Send(With(me).get(), late, &ignored).ok());

    const auto record = t.DialogOnceRecorded(dialog, [](const crm::Dialog& d) {
      return d.end_type() != cv1::DIALOG_END_TYPE_UNSPECIFIED;
    });
    CHECK(record.end_type() == cv1::DIALOG_END_TYPE_SYSTEM_TIMEOUT);
    CHECK(record.valid());
    CHECK(Texts(t.TranscriptOnceRecorded(dialog, 4)) ==
          std::vector<std::string>{"在吗", "在的，请问有什么可以帮您", "我想改收货地址",
                                   "请提供新的地址"});
  }

  // --- F31, F51, F53: a dialog where the customer never wrote is invalid.
  {
    e2e::Chat chat(stack, "invalid", "gen-fay", "Fay", "+8613700000002", gw, gw);
    auto& [t, fay, desk, contact, me, widget, dialog] = chat;
    gw.AgentSay(fay, dialog, "您好，请问有什么可以帮您？");
    widget->WaitFor(e2e::CustomerSees("您好，请问有什么可以帮您？"));
    CHECK_FALSE(gw.Close(fay, dialog, "no reply").valid());
    CHECK(widget->WaitFor(HasEnded).ended().end_type() == cv1::DIALOG_END_TYPE_AGENT);

    const auto record = t.DialogOnceRecorded(dialog, [](const crm::Dialog& d) {
      return d.end_type() != cv1::DIALOG_END_TYPE_UNSPECIFIED;
    });
    CHECK(record.end_type() == cv1::DIALOG_END_TYPE_AGENT);
    CHECK_FALSE(record.valid());
    CHECK(record.connected());
    CHECK(record.summary().category() == "no reply");
    // The records search keeps invalid dialogs apart (F51).
    for (auto validity : {crm::VALIDITY_FILTER_INVALID, crm::VALIDITY_FILTER_VALID}) {
      crm::SearchDialogsRequest search;
      search.set_validity(validity);
      crm::SearchDialogsResponse found;
      auto st = t.records().SearchDialogs(With(t.admin()).get(), search, &found);
      INFO(st.error_message());
      REQUIRE(st.ok());
      if (validity == crm::VALIDITY_FILTER_INVALID) {
        REQUIRE(found.hits_size() == 1);
        CHECK(found.hits(0).dialog().dialog_id() == dialog);
      } else {
        CHECK(found.hits_size() == 0);
      }
    }
  }

  // --- F33: nobody is online; the customer leaves a message; an admin lists and replies.
  {
    e2e::Tenant t(stack, "offline");
    t.Department("general", "q-general", "综合咨询", /*default_queue=*/true);
    const auto contact = gw.StartChat(t.id(), "+8613700000003");
    CHECK(contact.state() == cv1::CONTACT_STATE_QUEUED);
    CHECK(contact.no_agent_available());
    const std::string me = contact.customer_token();
    auto widget = gw.Widget(me);

    gv1::LeaveMessageRequest leave;
    leave.set_content("请明天上午给我回电话，订单 8812 没收到");
    (*leave.mutable_form_fields())["phone"] = "+8613700000003";
    gv1::LeaveMessageResponse left;
    auto st = gw.customer->LeaveMessage(With(me).get(), leave, &left);
    INFO(st.error_message());
    REQUIRE(st.ok());
    REQUIRE_FALSE(left.offline_message_id().empty());
    // The contact stops waiting, and says why.
    CHECK(widget->WaitFor(HasEnded).ended().end_type() == cv1::DIALOG_END_TYPE_OFFLINE_MESSAGE);

    crm::ListOfflineMessagesRequest pending;
    pending.set_status(crm::OFFLINE_MESSAGE_STATUS_PENDING);
    crm::ListOfflineMessagesResponse listed;
    st = t.records().ListOfflineMessages(With(t.admin()).get(), pending, &listed);
    INFO(st.error_message());
    REQUIRE(st.ok());
    REQUIRE(listed.offline_messages_size() == 1);
    const auto& waiting = listed.offline_messages(0);
    CHECK(waiting.offline_message_id() == left.offline_message_id());
    CHECK(waiting.content() == "请明天上午给我回电话，订单 8812 没收到");
    CHECK(waiting.customer_id() == contact.customer_id());
    CHECK(waiting.contact_id() == contact.contact_id());
    CHECK(waiting.form_fields().at("phone") == "+8613700000003");

    crm::ReplyOfflineMessageRequest reply;
    reply.set_offline_message_id(left.offline_message_id());
    reply.set_text("已查到订单 8812，明早十点联系您");
    reply.set_channel(crm::REPLY_CHANNEL_PHONE);
    crm::ReplyOfflineMessageResponse replied;
    st = t.records().ReplyOfflineMessage(With(t.admin()).get(), reply, &replied);
    INFO(st.error_message());
    REQUIRE(st.ok());
    crm::GetOfflineMessageRequest get;
    get.set_offline_message_id(left.offline_message_id());
    crm::GetOfflineMessageResponse now;
    REQUIRE(t.records().GetOfflineMessage(With(t.admin()).get(), get, &now).ok());
    CHECK(now.offline_message().status() == crm::OFFLINE_MESSAGE_STATUS_REPLIED);
    CHECK(now.offline_message().reply_text() == "已查到订单 8812，明早十点联系您");
    CHECK(now.offline_message().replied_by() == "boss");
    CHECK(now.offline_message().has_reply_time());
    listed.Clear();
    REQUIRE(t.records().ListOfflineMessages(With(t.admin()).get(), pending, &listed).ok());
    CHECK(listed.offline_messages_size() == 0);

    const auto record = t.DialogOnceRecorded(contact.dialog_id(), [](const crm::Dialog& d) {
      return d.end_type() != cv1::DIALOG_END_TYPE_UNSPECIFIED;
    });
    CHECK(record.end_type() == cv1::DIALOG_END_TYPE_OFFLINE_MESSAGE);
    CHECK_FALSE(record.connected());
  }
}

TEST_CASE(
    "with customers and agents on two gateway replicas: a transfer to another department "
    "carries the transcript, a supervisor watches a dialog live, a broadcast reaches every "
    "desk of the tenant, and files go both ways",
    "[gateway][e2e]") {
  e2e::Stack stack(kefu::testing::SharedEnv().redis_url,
                   kefu::testing::FreshDatabase("e2e_gw_flows_b"));
  INFO(stack.Logs());
  const int second_port = stack.AddGateway();
  REQUIRE(stack.SecondsUntilAll("SERVING", 30) >= 0);
  // Customers use the first replica, agents mostly the second.
  e2e::Gateway one(stack.ports().at("gateway").grpc);
  e2e::Gateway two(second_port);

  // --- F18: a transfer to another department brings the transcript to the next agent.
  {
    e2e::Tenant t(stack, "transfer");
    t.Department("general", "q-general", "综合咨询", /*default_queue=*/true);
    t.Department("billing", "q-billing", "账务部");
    t.Agent("gen-carl", "general", "Carl");
    t.Agent("bill-dora", "billing", "Dora");
    const std::string carl = t.AgentToken("gen-carl");
    const std::string dora = t.AgentToken("bill-dora");
    auto carl_desk = two.Desk(carl);
    auto dora_desk = one.Desk(dora);
    const auto contact = one.StartChat(t.id(), "+8613700000011");
    const std::string me = contact.customer_token();
    auto widget = one.Widget(me);
    const std::string dialog =
        two.Accept(carl, carl_desk->WaitFor(e2e::IsOffer).offer().offer_id()).dialog_id();
    widget->WaitFor([](const auto& u) {
      return u.has_agent_joined() && u.agent_joined().agent().nickname() == "Carl";
    });
    one.CustomerSay(me, "我要退款");
    carl_desk->WaitFor(e2e::AgentSees("我要退款"));
    two.AgentSay(carl, dialog, "我帮您转到账务部");
    widget->WaitFor(e2e::CustomerSees("我帮您转到账务部"));

    // The transfer tree shows billing with Dora and her dialog count.
    gv1::TransferTargetsRequest targets;
    targets.set_dialog_id(dialog);
    gv1::TransferTargetsResponse tree;
    auto st = two.agent->TransferTargets(With(carl).get(), targets, &tree);
    INFO(st.error_message());
    REQUIRE(st.ok());
    bool dora_listed = false;
    std::function<void(const gv1::TransferDepartmentNode&)> walk = [&](const auto& node) {
      for (const auto& a : node.agents()) {
        if (node.department_id() == "billing" && a.agent().agent_id() == "bill-dora") {
          dora_listed = a.active_dialogs() == 0 && a.max_concurrent() == 3;
        }
      }
      for (const auto& child : node.children()) walk(child);
    };
    for (const auto& d : tree.departments()) walk(d);
    CHECK(dora_listed);

    gv1::TransferRequest transfer;
    transfer.set_dialog_id(dialog);
    transfer.set_department_id("billing");
    transfer.set_note("客户要退款");
    gv1::TransferResponse moved;
    st = two.agent->Transfer(With(carl).get(), transfer, &moved);
    INFO(st.error_message());
    REQUIRE(st.ok());
    carl_desk->WaitFor([&](const auto& u) {
      return u.has_transferred_away() && u.transferred_away().dialog_id() == dialog;
    });
    // The customer is told where the chat goes.
    CHECK(widget->WaitFor([](const auto& u) { return u.has_transfer(); })
              .transfer()
              .to_department()
              .zh() == "账务部");

    const auto offer = dora_desk->WaitFor(e2e::IsOffer).offer();
    CHECK(offer.dialog_id() == dialog);
    REQUIRE(offer.has_transfer());
    CHECK(offer.transfer().from_agent().agent_id() == "gen-carl");
    CHECK(offer.transfer().note() == "客户要退款");
    REQUIRE(offer.transfer().transcript_size() == 2);
    CHECK(offer.transfer().transcript(0).text() == "我要退款");
    CHECK(offer.transfer().transcript(1).text() == "我帮您转到账务部");
    one.Accept(dora, offer.offer_id());
    widget->WaitFor([](const auto& u) {
      return u.has_agent_joined() && u.agent_joined().agent().nickname() == "Dora";
    });

    // The first agent may no longer write into the dialog.
    gv1::AgentGatewayServiceSendRequest late;
    late.set_dialog_id(dialog);
    late.set_text("还在吗");
    gv1::AgentGatewayServiceSendResponse ignored;
    CHECK(two.agent->Send(With(carl).get(), late, &ignored).error_code() ==
          grpc::StatusCode::PERMISSION_DENIED);
    one.AgentSay(dora, dialog, "退款已处理");
    widget->WaitFor(e2e::CustomerSees("退款已处理"));
    one.CustomerSay(me, "谢谢");
    dora_desk->WaitFor(e2e::AgentSees("谢谢"));
    CHECK(one.Close(dora, dialog, "refund").valid());

    // crm: one dialog, the transcript in order, Carl's part then Dora's by TRANSFER (F53).
    const auto record = t.DialogOnceRecorded(dialog, [](const crm::Dialog& d) {
      return d.end_type() != cv1::DIALOG_END_TYPE_UNSPECIFIED;
    });
    INFO("crm dialog: " << record.ShortDebugString());
    INFO("events: " << EventHistory(stack, t.id()));
    CHECK(record.end_type() == cv1::DIALOG_END_TYPE_AGENT);
    CHECK(record.department_id() == "billing");
    CHECK(record.agents_size() == 2);
    if (record.agents_size() == 2) {
      CHECK(record.agents(0).agent_id() == "gen-carl");
      CHECK(record.agents(0).initiation() == cv1::DIALOG_INITIATION_CUSTOMER);
      CHECK(record.agents(1).agent_id() == "bill-dora");
      CHECK(record.agents(1).initiation() == cv1::DIALOG_INITIATION_TRANSFER);
    }
    CHECK(Texts(t.TranscriptOnceRecorded(dialog, 4)) ==
          std::vector<std::string>{"我要退款", "我帮您转到账务部", "退款已处理", "谢谢"});
  }

  // --- F36: a supervisor on the other replica watches a dialog as it flows.
  {
    e2e::Chat chat(stack, "monitor", "gen-gus", "Gus", "+8613700000012", one, two);
    auto& [t, gus, desk, contact, me, widget, dialog] = chat;
    one.CustomerSay(me, "第一句");
    desk->WaitFor(e2e::AgentSees("第一句"));

    auto* stub = two.agent.get();
    const std::string sup = t.supervisor();
    e2e::MonitorUpdates monitor([stub, sup, dialog](grpc::ClientContext* ctx) {
      kefu::auth::AttachToken(ctx, sup);
      gv1::MonitorRequest request;
      request.set_dialog_id(dialog);
      return stub->Monitor(ctx, request);
    });
    const auto first = monitor.WaitFor([](const auto& u) { return u.has_snapshot(); });
    CHECK(first.snapshot().dialog_id() == dialog);
    REQUIRE(first.snapshot().messages_size() == 1);
    CHECK(first.snapshot().messages(0).text() == "第一句");

    two.AgentSay(gus, dialog, "第二句");
    monitor.WaitFor(
        [](const auto& u) { return u.has_message() && u.message().text() == "第二句"; });
    gv1::CustomerGatewayServiceTypingRequest typing;
    typing.set_draft("第三");
    gv1::CustomerGatewayServiceTypingResponse typed;
    REQUIRE(one.customer->Typing(With(me).get(), typing, &typed).ok());
    monitor.WaitFor(
        [](const auto& u) { return u.has_typing_draft() && u.typing_draft().draft() == "第三"; });
    one.CustomerSay(me, "第三句");
    monitor.WaitFor(
        [](const auto& u) { return u.has_message() && u.message().text() == "第三句"; });

    // An agent may not watch another's dialog (F36 is for supervisors).
    {
      auto ctx = With(gus);
      gv1::MonitorRequest request;
      request.set_dialog_id(dialog);
      auto reader = one.agent->Monitor(ctx.get(), request);
      gv1::MonitorResponse u;
      while (reader->Read(&u)) {
      }
      CHECK(reader->Finish().error_code() == grpc::StatusCode::PERMISSION_DENIED);
    }

    two.Close(gus, dialog, "done");
    const auto ended = monitor.WaitFor([](const auto& u) { return u.has_ended(); });
    CHECK(ended.ended().end_type() == cv1::DIALOG_END_TYPE_AGENT);
  }

  // --- F37: an admin's broadcast reaches every agent of the tenant (or of the departments
  // named), on either replica, and no one else.
  {
    e2e::Tenant t(stack, "broadcast");
    t.Department("general", "q-general", "综合咨询", /*default_queue=*/true);
    t.Department("billing", "q-billing", "账务部");
    t.Agent("gen-hal", "general", "Hal");
    t.Agent("bill-ivy", "billing", "Ivy");
    e2e::Tenant other(stack, "bystander");
    other.Department("general", "q-general", "综合咨询", /*default_queue=*/true);
    other.Agent("gen-hal", "general", "Hal");  // the same agent id in another tenant
    auto hal = one.Desk(t.AgentToken("gen-hal"));
    auto ivy = two.Desk(t.AgentToken("bill-ivy"));
    auto stranger = one.Desk(other.AgentToken("gen-hal"));

    // To one department: only its agents.
    gv1::BroadcastRequest to_billing;
    to_billing.set_text("账务部下班前对账");
    to_billing.add_department_ids("billing");
    gv1::BroadcastResponse billed;
    auto st = one.agent->Broadcast(With(t.admin()).get(), to_billing, &billed);
    INFO(st.error_message());
    REQUIRE(st.ok());
    CHECK(billed.delivered_count() == 1);
    ivy->WaitFor([](const auto& u) {
      return u.has_broadcast() && u.broadcast().text() == "账务部下班前对账";
    });

    // To everyone of the tenant.
    gv1::BroadcastRequest broadcast;
    broadcast.set_text("下午三点全员开会");
    gv1::BroadcastResponse sent;
    st = two.agent->Broadcast(With(t.admin()).get(), broadcast, &sent);
    INFO(st.error_message());
    REQUIRE(st.ok());
    CHECK(sent.delivered_count() == 2);
    for (auto* desk : {hal.get(), ivy.get()}) {
      const auto got = desk->WaitFor([](const auto& u) {
        return u.has_broadcast() && u.broadcast().text() == "下午三点全员开会";
      });
      CHECK(got.broadcast().broadcast_id() == sent.broadcast_id());
      CHECK(got.broadcast().sender().agent_id() == "boss");
    }
    // Hal got the later broadcast; the department's one, published first, never came.
    CHECK_FALSE(AnyOf<gv1::AgentGatewayServiceUpdatesResponse>(hal->All(), [](const auto& u) {
      return u.has_broadcast() && u.broadcast().text() == "账务部下班前对账";
    }));
    gv1::BroadcastResponse denied;
    CHECK(one.agent->Broadcast(With(t.AgentToken("gen-hal")).get(), broadcast, &denied)
              .error_code() == grpc::StatusCode::PERMISSION_DENIED);

    // The other tenant's own broadcast reaches its agent; ours never did.
    gv1::BroadcastRequest theirs;
    theirs.set_text("另一家公司的通知");
    REQUIRE(one.agent->Broadcast(With(other.admin()).get(), theirs, &sent).ok());
    stranger->WaitFor([](const auto& u) {
      return u.has_broadcast() && u.broadcast().text() == "另一家公司的通知";
    });
    CHECK_FALSE(AnyOf<gv1::AgentGatewayServiceUpdatesResponse>(stranger->All(), [](const auto& u) {
      return u.has_broadcast() && u.broadcast().text() == "下午三点全员开会";
    }));
  }

  // --- F35: a file goes from the customer to the agent and another back, each downloadable
  // on the other side and linked from the transcript.
  {
    e2e::Chat chat(stack, "files", "gen-jon", "Jon", "+8613700000013", one, two);
    auto& [t, jon, desk, contact, me, widget, dialog] = chat;
    one.CustomerSay(me, "发票发给您");

    // More than one 64 KiB chunk each way.
    const std::string invoice = FileContent("%PDF-1.7\n", 150 * 1024, 7);
    gv1::CustomerGatewayServiceUploadFileRequest invoice_meta;
    *invoice_meta.mutable_metadata() = FileMetadata("发票.pdf", "application/pdf", invoice);
    const auto up = Upload<gv1::CustomerGatewayServiceUploadFileResponse>(
        me,
        [&](grpc::ClientContext* ctx, auto* response) {
          return one.customer->UploadFile(ctx, response);
        },
        invoice_meta, invoice);
    REQUIRE(up.has_file());
    CHECK(up.file().file_name() == "发票.pdf");
    CHECK(up.file().size_bytes() == static_cast<int64_t>(invoice.size()));
    const std::string invoice_id = up.file().file_id();
    desk->WaitFor(HasFile(invoice_id));
    gv1::AgentGatewayServiceDownloadFileRequest agent_gets;
    agent_gets.set_dialog_id(dialog);
    agent_gets.set_file_id(invoice_id);
    const auto at_desk = Download<gv1::AgentGatewayServiceDownloadFileResponse>(
        jon, [&](grpc::ClientContext* ctx) { return two.agent->DownloadFile(ctx, agent_gets); });
    CHECK(at_desk.bytes == invoice);
    CHECK(at_desk.metadata.file_name() == "发票.pdf");
    CHECK(at_desk.metadata.content_type() == "application/pdf");

    const std::string receipt = FileContent(std::string("\x89PNG\r\n\x1a\n", 8), 70 * 1024, 11);
    gv1::AgentGatewayServiceUploadFileRequest receipt_meta;
    receipt_meta.mutable_metadata()->set_dialog_id(dialog);
    *receipt_meta.mutable_metadata()->mutable_file() =
        FileMetadata("回执.png", "image/png", receipt);
    const auto back = Upload<gv1::AgentGatewayServiceUploadFileResponse>(
        jon,
        [&](grpc::ClientContext* ctx, auto* response) {
          return two.agent->UploadFile(ctx, response);
        },
        receipt_meta, receipt);
    REQUIRE(back.has_file());
    const std::string receipt_id = back.file().file_id();
    widget->WaitFor(HasFile(receipt_id));
    gv1::CustomerGatewayServiceDownloadFileRequest customer_gets;
    customer_gets.set_file_id(receipt_id);
    const auto at_widget = Download<gv1::CustomerGatewayServiceDownloadFileResponse>(
        me,
        [&](grpc::ClientContext* ctx) { return one.customer->DownloadFile(ctx, customer_gets); });
    CHECK(at_widget.bytes == receipt);
    CHECK(at_widget.metadata.file_name() == "回执.png");

    // Bytes that are not what the name and type claim are refused, naming content_type, and
    // nothing reaches the dialog.
    {
      const std::string fake = Content(1024, 3);
      auto ctx = With(me);
      gv1::CustomerGatewayServiceUploadFileResponse refused;
      auto writer = one.customer->UploadFile(ctx.get(), &refused);
      gv1::CustomerGatewayServiceUploadFileRequest part;
      *part.mutable_metadata() = FileMetadata("截图.png", "image/png", fake);
      if (writer->Write(part)) {
        part.set_chunk(fake);
        (void)writer->Write(part);
      }
      writer->WritesDone();
      const auto st = writer->Finish();
      CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
      CHECK(st.error_message().rfind("content_type:", 0) == 0);
    }

    const auto transcript = t.TranscriptOnceRecorded(dialog, 3);
    REQUIRE(transcript.messages_size() == 3);
    CHECK(transcript.messages(0).text() == "发票发给您");
    CHECK(transcript.messages(1).file().file_id() == invoice_id);
    CHECK(transcript.messages(2).file().file_id() == receipt_id);
  }
}
