-- crm schema, version 2: files sent inside a dialog (F35). The metadata is one row of
-- files; the content is kept in 64 KiB rows of file_chunks so that a download streams it
-- a few chunks at a time instead of loading a 20 MiB value at once.
CREATE TABLE files (
  tenant_id       text NOT NULL,
  file_id         text NOT NULL,
  dialog_id       text NOT NULL,
  name            text NOT NULL,
  content_type    text NOT NULL,
  size            bigint NOT NULL CHECK (size >= 0),
  sha256          text NOT NULL,                 -- hex of the whole content
  uploader_type   smallint NOT NULL,             -- kefu.common.v1.ParticipantType
  uploader_id     text NOT NULL DEFAULT '',
  uploader_name   text NOT NULL DEFAULT '',
  chunk_count     integer NOT NULL CHECK (chunk_count >= 0),
  -- A retried upload with the same key returns this file ('' = none).
  idempotency_key text NOT NULL DEFAULT '',
  created_time    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, file_id)
);
CREATE INDEX files_dialog ON files (tenant_id, dialog_id, created_time);
CREATE UNIQUE INDEX files_idempotency ON files (tenant_id, idempotency_key)
  WHERE idempotency_key <> '';

CREATE TABLE file_chunks (
  tenant_id text NOT NULL,
  file_id   text NOT NULL,
  position  integer NOT NULL CHECK (position >= 0),
  bytes     bytea NOT NULL,
  PRIMARY KEY (tenant_id, file_id, position),
  FOREIGN KEY (tenant_id, file_id) REFERENCES files (tenant_id, file_id) ON DELETE CASCADE
);
-- Images, PDFs, zip-based documents and audio are compressed already: keep them out of line
-- without another round of pglz.
ALTER TABLE file_chunks ALTER COLUMN bytes SET STORAGE EXTERNAL;

GRANT SELECT, INSERT, DELETE ON files TO kefu_app;
ALTER TABLE files ENABLE ROW LEVEL SECURITY;
ALTER TABLE files FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON files
  USING (tenant_id = current_setting('kefu.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('kefu.tenant_id', true));

GRANT SELECT, INSERT, DELETE ON file_chunks TO kefu_app;
ALTER TABLE file_chunks ENABLE ROW LEVEL SECURITY;
ALTER TABLE file_chunks FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON file_chunks
  USING (tenant_id = current_setting('kefu.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('kefu.tenant_id', true));
