-- Gateway API keys. Only the SHA-256 of each key's secret is kept: the full
-- key is shown once, when it is created, and cannot be recovered from here.
CREATE TABLE troupe_api_keys (
  key_id        text PRIMARY KEY,
  tenant        text NOT NULL,
  user_id       text NOT NULL,
  name          text NOT NULL DEFAULT '',
  secret_sha256 bytea NOT NULL CHECK (octet_length(secret_sha256) = 32),
  roles         text[] NOT NULL DEFAULT '{}',
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_used_at  timestamptz,
  revoked_at    timestamptz
);

CREATE INDEX troupe_api_keys_tenant ON troupe_api_keys (tenant, created_at);
