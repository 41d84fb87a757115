#include "services/gateway/metrics.h"

namespace kefu::gateway {

GatewayMetrics::GatewayMetrics(prometheus::Registry& registry)
    : relayed_(prometheus::BuildCounter()
                   .Name("kefu_gateway_messages_relayed_total")
                   .Help("Messages posted into dialogs, by direction")
                   .Register(registry)),
      to_agent_(relayed_.Add({{"direction", "to_agent"}})),
      to_customer_(relayed_.Add({{"direction", "to_customer"}})),
      active_(prometheus::BuildGauge()
                  .Name("kefu_gateway_active_dialogs")
                  .Help("Dialogs an agent is serving now, per tenant")
                  .Register(registry)) {}

void GatewayMetrics::SetActiveDialogs(const std::string& tenant, int64_t count) {
  std::lock_guard lock(mu_);
  prometheus::Gauge*& gauge = active_by_tenant_[tenant];
  if (gauge == nullptr) gauge = &active_.Add({{"tenant", tenant}});
  gauge->Set(static_cast<double>(count));
}

}  // namespace kefu::gateway
