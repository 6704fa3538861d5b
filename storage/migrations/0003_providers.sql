-- Model providers (OpenAI-compatible endpoints) and the role aliases that
-- name their models ("title" -> "openai/gpt-4o-mini"). API keys are stored
-- sealed (AES-256-GCM under the master key, the provider's name as associated
-- data): plaintext never reaches this table.
CREATE TABLE troupe_providers (
  name           text PRIMARY KEY CHECK (name ~ '^[a-z0-9_-]{1,64}$'),
  kind           text NOT NULL DEFAULT 'openai',
  base_url       text NOT NULL CHECK (base_url <> ''),
  api_key_sealed bytea,
  models         text[] NOT NULL DEFAULT '{}', -- empty: any model asked for as "name/model"
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE troupe_model_roles (
  role       text PRIMARY KEY CHECK (role ~ '^[a-z0-9_-]{1,64}$'),
  model      text NOT NULL CHECK (model <> ''), -- a model id or "provider/model"
  updated_at timestamptz NOT NULL DEFAULT now()
);
