-- oauth-relay schema, version 1.
-- Nothing here identifies a customer (DESIGN §3): the relay stores keyed hashes of used
-- flows (never flow ids), revoked instance ids chosen by the relay itself, and later
-- anonymous hourly counters.

-- Instances revoked by an operator (oauth-relayctl revoke ID); every node caches this
-- small table and refreshes it within seconds.
CREATE TABLE revoked_instances (
    instance_id text PRIMARY KEY,
    revoked_at timestamptz NOT NULL DEFAULT now()
);

-- Single use across nodes: a keyed hash of each consumed flow, kept until the flow
-- would have expired anyway. Replaced in 003 by one key of expiry and truncated hash.
CREATE TABLE used_flows (
    flow_hash bytea PRIMARY KEY,
    expires_at timestamptz NOT NULL
);
CREATE INDEX used_flows_expires_at ON used_flows (expires_at);
