// Dialog files in crm (F35): stored durably and read back byte for byte, within one tenant
// only, within the size limit, and only when the declared type is accepted and agrees with
// the bytes. crm runs in-process with limits of its own (a small size limit) so the edges
// are cheap to reach.
#include <sodium.h>

#include <pqxx/pqxx>

#include "absl/strings/escaping.h"
#include "tests/integration/crm_harness.h"

namespace {

using namespace crmtest;  // NOLINT(google-build-using-namespace): test vocabulary

constexpr int64_t kLimit = 300 * 1024;
constexpr size_t kChunk = 64 * 1024;

// crm with a 300 KiB limit and the default content types.
struct FileCrm {
  kefu::testing::RunningService service;
  std::unique_ptr<crm::RecordService::Stub> records;

  explicit FileCrm(std::vector<std::string> content_types = kefu::crm::DefaultContentTypes()) {
    kefu::crm::CrmOptions options = TestOptions();
    options.files.max_bytes = kLimit;
    options.files.content_types = std::move(content_types);
    service = kefu::testing::StartService(
        {.name = "crm", .register_flags = nullptr, .setup = [options](auto& ctx) {
           return kefu::crm::SetupWith(ctx, options);
         }});
    records = crm::RecordService::NewStub(service.channel);
  }
};

// Bytes that differ from position to position, behind a file signature.
std::string Content(const std::string& signature, size_t size) {
  std::string bytes(size, '\0');
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>((i * 37 + 5) % 251);
  bytes.replace(0, std::min(signature.size(), size), signature.substr(0, size));
  return bytes;
}

const std::string kPng("\x89PNG\r\n\x1a\n", 8);
const std::string kPdf = "%PDF-1.4\n";

crm::FileMetadata Meta(const std::string& tenant, const std::string& dialog,
                       const std::string& name, const std::string& type, int64_t size) {
  crm::FileMetadata m;
  m.set_tenant_id(tenant);
  m.set_dialog_id(dialog);
  m.set_file_name(name);
  m.set_content_type(type);
  m.set_size_bytes(size);
  m.mutable_uploader()->set_type(common::PARTICIPANT_TYPE_CUSTOMER);
  m.mutable_uploader()->set_id("cust-1");
  return m;
}

struct Uploaded {
  grpc::Status status;
  common::FileAttachment file;
};

// Metadata, then `bytes` in chunks of `chunk` bytes.
Uploaded Upload(FileCrm& crm, const std::string& token, const crm::FileMetadata& meta,
                const std::string& bytes, size_t chunk = kChunk) {
  auto ctx = CallWith(token);
  crm::UploadFileResponse response;
  auto writer = crm.records->UploadFile(ctx.get(), &response);
  crm::UploadFileRequest part;
  *part.mutable_metadata() = meta;
  bool open = writer->Write(part);
  for (size_t at = 0; open && at < bytes.size(); at += chunk) {
    part.set_chunk(bytes.substr(at, chunk));
    open = writer->Write(part);
  }
  writer->WritesDone();
  Uploaded out;
  out.status = writer->Finish();
  out.file = response.file();
  return out;
}

struct Downloaded {
  grpc::Status status;
  common::FileAttachment metadata;
  std::string bytes;
  int messages = 0;
};

Downloaded Download(FileCrm& crm, const std::string& token, const std::string& tenant,
                    const std::string& dialog, const std::string& file_id) {
  crm::DownloadFileRequest request;
  request.set_tenant_id(tenant);
  request.set_dialog_id(dialog);
  request.set_file_id(file_id);
  auto ctx = CallWith(token);
  auto reader = crm.records->DownloadFile(ctx.get(), request);
  Downloaded out;
  crm::DownloadFileResponse part;
  while (reader->Read(&part)) {
    ++out.messages;
    if (part.has_metadata()) out.metadata = part.metadata();
    out.bytes += part.chunk();
  }
  out.status = reader->Finish();
  return out;
}

std::string Sha256Hex(const std::string& bytes) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

bool Says(const grpc::Status& status, grpc::StatusCode code, const std::string& field) {
  return status.error_code() == code && absl::StartsWith(status.error_message(), field + ":");
}

}  // namespace

TEST_CASE("a dialog file larger than one chunk comes back byte for byte with its metadata") {
  FileCrm crm;
  const std::string tenant = kefu::testing::UniqueTenant("files");
  const std::string invoice = Content(kPdf, 200 * 1024 + 17);
  const auto up =
      Upload(crm, PlatformToken(),
             Meta(tenant, "d-1", "发票 2024.pdf", "application/pdf", invoice.size()), invoice);
  INFO(up.status.error_message());
  REQUIRE(up.status.ok());
  CHECK_FALSE(up.file.file_id().empty());
  CHECK(up.file.file_name() == "发票 2024.pdf");
  CHECK(up.file.content_type() == "application/pdf");
  CHECK(up.file.size_bytes() == static_cast<int64_t>(invoice.size()));
  CHECK(up.file.sha256() == Sha256Hex(invoice));

  // As the gateway does (service token, the dialog named) and as the tenant's admin.
  for (const auto& [token, tenant_field] :
       {std::pair{PlatformToken(), tenant},
        std::pair{TokenFor(tenant, common::ROLE_ADMIN, "admin"), std::string()}}) {
    const auto got = Download(crm, token, tenant_field, "d-1", up.file.file_id());
    INFO(got.status.error_message());
    REQUIRE(got.status.ok());
    CHECK(got.bytes == invoice);
    CHECK(got.metadata.file_id() == up.file.file_id());
    CHECK(got.metadata.file_name() == "发票 2024.pdf");
    CHECK(got.metadata.sha256() == up.file.sha256());
    CHECK(got.messages == 1 + 4);  // metadata, then four 64 KiB chunks
  }
}

TEST_CASE("another tenant's file, or a file asked for through another dialog, is not found") {
  FileCrm crm;
  const std::string a = kefu::testing::UniqueTenant("files-a");
  const std::string b = kefu::testing::UniqueTenant("files-b");
  const std::string photo = Content(kPng, 1000);
  const auto up =
      Upload(crm, PlatformToken(), Meta(a, "d-a", "a.png", "image/png", photo.size()), photo);
  REQUIRE(up.status.ok());

  CHECK(Download(crm, PlatformToken(), b, "d-a", up.file.file_id()).status.error_code() ==
        grpc::StatusCode::NOT_FOUND);
  CHECK(Download(crm, TokenFor(b, common::ROLE_ADMIN, "admin-b"), "", "", up.file.file_id())
            .status.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(Download(crm, PlatformToken(), a, "d-other", up.file.file_id()).status.error_code() ==
        grpc::StatusCode::NOT_FOUND);
  // A tenant's token cannot act for another tenant.
  CHECK(Download(crm, TokenFor(b, common::ROLE_ADMIN, "admin-b"), a, "", up.file.file_id())
            .status.error_code() == grpc::StatusCode::PERMISSION_DENIED);

  // Underneath, row-level security shows the application role no row of tenant a for b.
  pqxx::connection conn(crm.service.pg_dsn);
  pqxx::work txn(conn);
  txn.exec("SET LOCAL ROLE kefu_app");
  txn.exec_params("SELECT set_config('kefu.tenant_id', $1, true)", b);
  CHECK(txn.exec1("SELECT count(*) FROM crm.files")[0].as<int>() == 0);
  CHECK(txn.exec1("SELECT count(*) FROM crm.file_chunks")[0].as<int>() == 0);
  txn.exec_params("SELECT set_config('kefu.tenant_id', $1, true)", a);
  CHECK(txn.exec1("SELECT count(*) FROM crm.files")[0].as<int>() == 1);
}

TEST_CASE(
    "a file over the size limit, or other than its declared size, is refused naming "
    "size_bytes") {
  FileCrm crm;
  const std::string tenant = kefu::testing::UniqueTenant("files-size");
  const std::string service = PlatformToken();
  // Declared over the limit: refused before any byte is stored.
  const std::string big = Content(kPdf, kLimit + 1);
  CHECK(Says(
      Upload(crm, service, Meta(tenant, "d", "big.pdf", "application/pdf", big.size()), big).status,
      grpc::StatusCode::RESOURCE_EXHAUSTED, "size_bytes"));
  // Exactly the limit is fine.
  const std::string full = Content(kPdf, kLimit);
  CHECK(Upload(crm, service, Meta(tenant, "d", "full.pdf", "application/pdf", full.size()), full)
            .status.ok());
  // Declaring less than is sent, or sending less than declared.
  const std::string doc = Content(kPdf, 100 * 1024);
  CHECK(Says(Upload(crm, service, Meta(tenant, "d", "x.pdf", "application/pdf", 1000), doc).status,
             grpc::StatusCode::INVALID_ARGUMENT, "size_bytes"));
  CHECK(
      Says(Upload(crm, service, Meta(tenant, "d", "x.pdf", "application/pdf", doc.size() + 1), doc)
               .status,
           grpc::StatusCode::INVALID_ARGUMENT, "size_bytes"));
  CHECK(Says(Upload(crm, service, Meta(tenant, "d", "x.pdf", "application/pdf", 0), "").status,
             grpc::StatusCode::INVALID_ARGUMENT, "size_bytes"));
  // A chunk over 64 KiB.
  CHECK(Says(Upload(crm, service, Meta(tenant, "d", "x.pdf", "application/pdf", doc.size()), doc,
                    kChunk + 1)
                 .status,
             grpc::StatusCode::INVALID_ARGUMENT, "chunk"));
  // Chunks with no metadata first.
  {
    auto ctx = CallWith(service);
    crm::UploadFileResponse response;
    auto writer = crm.records->UploadFile(ctx.get(), &response);
    crm::UploadFileRequest part;
    part.set_chunk(doc.substr(0, 10));
    writer->Write(part);
    writer->WritesDone();
    CHECK(Says(writer->Finish(), grpc::StatusCode::INVALID_ARGUMENT, "metadata"));
  }
}

TEST_CASE("a file's declared type must be accepted and agree with its bytes") {
  FileCrm crm;
  const std::string tenant = kefu::testing::UniqueTenant("files-type");
  const std::string service = PlatformToken();
  auto upload = [&](const std::string& name, const std::string& type, const std::string& bytes) {
    return Upload(crm, service, Meta(tenant, "d", name, type, bytes.size()), bytes).status;
  };
  // Accepted, and the bytes are what the type says.
  CHECK(upload("a.png", "image/png", Content(kPng, 5000)).ok());
  CHECK(upload("b.jpg", "image/jpeg", Content("\xff\xd8\xff\xe0", 5000)).ok());
  CHECK(upload("c.gif", "image/gif", Content("GIF89a", 5000)).ok());
  CHECK(upload("d.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
               Content("PK\x03\x04", 5000))
            .ok());
  CHECK(upload("e.txt", "text/plain; charset=utf-8", "订单号 123\n").ok());
  CHECK(upload("f.mp3", "audio/mpeg", Content("ID3", 5000)).ok());

  // Not on the list.
  CHECK(Says(upload("setup.exe", "application/x-msdownload", Content("MZ", 5000)),
             grpc::StatusCode::INVALID_ARGUMENT, "content_type"));
  CHECK(
      Says(upload("x", "", Content(kPng, 10)), grpc::StatusCode::INVALID_ARGUMENT, "content_type"));
  // On the list, but the bytes say otherwise.
  CHECK(Says(upload("fake.png", "image/png", Content("MZ", 5000)),
             grpc::StatusCode::INVALID_ARGUMENT, "content_type"));
  CHECK(Says(upload("fake.pdf", "application/pdf", Content(kPng, 5000)),
             grpc::StatusCode::INVALID_ARGUMENT, "content_type"));
  CHECK(Says(
      upload("fake.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
             Content("%PDF-", 5000)),
      grpc::StatusCode::INVALID_ARGUMENT, "content_type"));
  CHECK(Says(upload("bin.txt", "text/plain", std::string("MZ\0\0\x90", 5)),
             grpc::StatusCode::INVALID_ARGUMENT, "content_type"));
  // A name with a path.
  CHECK(Says(upload("../etc/passwd.txt", "text/plain", "x"), grpc::StatusCode::INVALID_ARGUMENT,
             "file_name"));
}

TEST_CASE("the accepted content types come from the configuration") {
  FileCrm crm({"image/png"});
  const std::string tenant = kefu::testing::UniqueTenant("files-list");
  const std::string pdf = Content(kPdf, 1000);
  CHECK(Says(
      Upload(crm, PlatformToken(), Meta(tenant, "d", "a.pdf", "application/pdf", 1000), pdf).status,
      grpc::StatusCode::INVALID_ARGUMENT, "content_type"));
  const std::string png = Content(kPng, 1000);
  CHECK(
      Upload(crm, PlatformToken(), Meta(tenant, "d", "a.png", "image/png", 1000), png).status.ok());
}

TEST_CASE("a retried upload with the same idempotency key returns the first file") {
  FileCrm crm;
  const std::string tenant = kefu::testing::UniqueTenant("files-idem");
  const std::string photo = Content(kPng, 70 * 1024);
  auto meta = Meta(tenant, "d", "a.png", "image/png", photo.size());
  meta.set_idempotency_key("upload-1");
  const auto first = Upload(crm, PlatformToken(), meta, photo);
  REQUIRE(first.status.ok());
  const auto again = Upload(crm, PlatformToken(), meta, photo);
  REQUIRE(again.status.ok());
  CHECK(again.file.file_id() == first.file.file_id());
  // The same key for other bytes is a mistake, not a retry.
  const std::string other = Content(kPng + "x", 70 * 1024);
  CHECK(Says(Upload(crm, PlatformToken(), meta, other).status, grpc::StatusCode::INVALID_ARGUMENT,
             "idempotency_key"));
}

TEST_CASE("an agent reaches crm's files only through dialogs it took part in") {
  FileCrm crm;
  const std::string tenant = kefu::testing::UniqueTenant("files-agent");
  const std::string photo = Content(kPng, 1000);
  const auto up =
      Upload(crm, PlatformToken(), Meta(tenant, "d-unrecorded", "a.png", "image/png", 1000), photo);
  REQUIRE(up.status.ok());
  // The dialog is not one of the agent's (crm has no record of it at all).
  const auto got =
      Download(crm, TokenFor(tenant, common::ROLE_AGENT, "agent-x"), "", "", up.file.file_id());
  CHECK(got.status.error_code() != grpc::StatusCode::OK);
  CHECK(got.bytes.empty());
  CHECK(Download(crm, TokenFor(tenant, common::ROLE_SUPERVISOR, "sup"), "", "", up.file.file_id())
            .status.ok());
}
