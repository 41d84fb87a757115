#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <map>
#include <mutex>
#include <string>

// The gateway's domain metrics (F68; names per STYLE.md section 8). Labels are bounded:
// tenant ids and a fixed direction set, never contact, customer or agent ids.
//   kefu_gateway_messages_relayed_total{direction}  messages posted into dialogs:
//                                                   to_agent (from the customer),
//                                                   to_customer (from an agent or a bot)
//   kefu_gateway_active_dialogs{tenant}             dialogs an agent is serving now (every
//                                                   replica reports the same shared value)
namespace kefu::gateway {

class GatewayMetrics final {
 public:
  explicit GatewayMetrics(prometheus::Registry& registry);

  void CountRelayed(bool from_customer) { (from_customer ? to_agent_ : to_customer_).Increment(); }
  void SetActiveDialogs(const std::string& tenant, int64_t count);

 private:
  prometheus::Family<prometheus::Counter>& relayed_;
  prometheus::Counter& to_agent_;
  prometheus::Counter& to_customer_;
  prometheus::Family<prometheus::Gauge>& active_;
  std::mutex mu_;  // guards active_by_tenant_
  std::map<std::string, prometheus::Gauge*> active_by_tenant_;
};

}  // namespace kefu::gateway
