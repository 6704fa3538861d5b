-- Nodes of the cluster as their heartbeats last described them: the console
-- and operators read it; each node upserts its own row.
CREATE TABLE troupe_nodes (
  node_id    text PRIMARY KEY,
  cluster    text NOT NULL,
  roles      text[] NOT NULL DEFAULT '{}',
  version    text,
  admin_url  text,
  started_at timestamptz,
  last_seen  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX troupe_nodes_cluster_last_seen ON troupe_nodes (cluster, last_seen);
