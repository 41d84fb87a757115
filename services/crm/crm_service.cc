#include "services/crm/crm_service.h"

#include <memory>

#include "libs/common/log.h"
#include "libs/common/status_macros.h"
#include "libs/events/events.h"
#include "services/crm/pg_customer_store.h"
#include "services/crm/pg_file_store.h"
#include "services/crm/pg_record_store.h"

namespace kefu::crm {
namespace {

// What the services and the worker share; owned by the worker closure and the services
// through shared_ptr, so it lives as long as the last of them.
struct Runtime {
  explicit Runtime(server::ServiceContext& ctx)
      : customers(ctx.pg()), records(ctx.pg()), files(ctx.pg()), publisher(ctx.redis(), "crm") {}
  PgCustomerStore customers;
  PgRecordStore records;
  PgFileStore files;
  events::Publisher publisher;
};

}  // namespace

absl::Status Setup(server::ServiceContext& ctx) { return SetupWith(ctx, CrmOptions{}); }

absl::Status SetupWith(server::ServiceContext& ctx, const CrmOptions& options) {
  KEFU_RETURN_IF_ERROR(ctx.Migrate({"crm", embedded::CrmMigrations()}));
  auto runtime = std::make_shared<Runtime>(ctx);
  // crm's own events (tier changes, ratings, offline messages) go out after the commit
  // of the change they describe; a failed publish is logged, not retried.
  PublishFn publish = [runtime](kefu::events::v1::Event event) {
    const std::string type = events::PayloadName(event);
    const std::string tenant = event.tenant_id();
    if (auto id = runtime->publisher.Publish(std::move(event)); !id.ok()) {
      log::Error("event not published",
                 {{"tenant", tenant}, {"type", type}, {"error", id.status().ToString()}});
    }
  };
  auto customer_service =
      std::make_unique<CustomerServiceImpl>(&runtime->customers, &ctx.authenticator(), publish);
  auto record_service =
      std::make_unique<RecordServiceImpl>(&runtime->records, &runtime->customers, &runtime->files,
                                          options.files, &ctx.authenticator(), publish);
  ctx.AddService(std::move(customer_service), v1::CustomerService::service_full_name());
  ctx.AddService(std::move(record_service), v1::RecordService::service_full_name());
  // The consumer is built inside the worker thread: it owns a Redis connection of its own.
  ctx.AddWorker("crm-events", [runtime, publish, url = ctx.redis_url(), options = options.events,
                               registry = &ctx.registry()](const std::stop_token& stop) {
    EventConsumer consumer(url, options, &runtime->records, publish, *registry);
    consumer.Run(stop);
  });
  return absl::OkStatus();
}

server::ServiceDefinition Definition() {
  struct Flags {
    int max_file_bytes = static_cast<int>(FileRules{}.max_bytes);
    std::string content_types = DefaultContentTypeList();
  };
  auto flags = std::make_shared<Flags>();
  return {.name = "crm",
          .register_flags =
              [flags](FlagSet& set) {
                set.Int("file-max-bytes", "KEFU_CRM_FILE_MAX_BYTES",
                        "largest dialog file crm stores, whatever the gateway or a tenant "
                        "allows (F35)",
                        &flags->max_file_bytes);
                set.String("file-content-types", "KEFU_CRM_FILE_CONTENT_TYPES",
                           "comma-separated content types a dialog file may have (F35); png, "
                           "jpeg, gif, webp, bmp, pdf, text, office, wav, mp3, ogg, amr and m4a "
                           "are also checked against the bytes",
                           &flags->content_types);
              },
          .setup = [flags](server::ServiceContext& ctx) -> absl::Status {
            CrmOptions options;
            if (flags->max_file_bytes <= 0) {
              return absl::InvalidArgumentError(
                  "--file-max-bytes (KEFU_CRM_FILE_MAX_BYTES): must be positive");
            }
            options.files.max_bytes = flags->max_file_bytes;
            KEFU_ASSIGN_OR_RETURN(
                options.files.content_types,
                ParseContentTypes("--file-content-types (KEFU_CRM_FILE_CONTENT_TYPES)",
                                  flags->content_types));
            return SetupWith(ctx, options);
          }};
}

}  // namespace kefu::crm
