-- Single use, version 3: one small btree instead of two, filled at its right edge.
-- A key is the flow's expiry (4 bytes, big-endian unix seconds) followed by the first
-- 16 bytes of the keyed hash of the flow id. Still nothing that identifies a customer
-- (DESIGN §3): the expiry is what expires_at stored, the rest a truncated keyed hash.
-- Expiry first sends inserts near the right edge of the index (flows expire minutes
-- after they are used), where its pages are already cached, instead of to random
-- leaves; and the primary key serves the cleanup, so expires_at and its index go.
-- The same flow always gets the same key, so uniqueness is what it was.

ALTER TABLE used_flows RENAME TO used_flows_v1;
ALTER TABLE used_flows_v1 RENAME CONSTRAINT used_flows_pkey TO used_flows_v1_pkey;

CREATE TABLE used_flows (
    flow_key bytea PRIMARY KEY
);

-- The flows used before the upgrade stay used: a replay across it is still refused.
-- expires_at holds whole seconds (the relay wrote to_timestamp of an integer). Expired
-- rows are left behind: an expired flow is refused before its single use is checked.
INSERT INTO used_flows (flow_key)
SELECT int4send(extract(epoch FROM expires_at)::int) || substr(flow_hash, 1, 16)
FROM used_flows_v1
WHERE expires_at >= now()
ON CONFLICT DO NOTHING;

DROP TABLE used_flows_v1;

-- Claims a batch of flows: keys is their 20-byte keys end to end (one bytea, sent in
-- binary: nothing to parse per element). Returns the 0-based positions of the keys it
-- inserted, that is of the flows used for the first time. The relay sends the keys in
-- ascending order, so that batches of two nodes racing for the same flows lock them in
-- the same order and cannot deadlock. plpgsql: its INSERT is planned once per session,
-- not parsed and planned again for every batch.
CREATE FUNCTION used_flows_claim(keys bytea) RETURNS SETOF integer
LANGUAGE plpgsql AS $$
DECLARE
    n integer := length(keys) / 20;
BEGIN
    IF length(keys) % 20 <> 0 THEN
        RAISE EXCEPTION 'used_flows_claim: % bytes is not a whole number of keys', length(keys);
    END IF;
    FOR i IN 0 .. n - 1 LOOP
        INSERT INTO used_flows (flow_key) VALUES (substr(keys, i * 20 + 1, 20))
        ON CONFLICT DO NOTHING;
        IF FOUND THEN
            RETURN NEXT i;
        END IF;
    END LOOP;
END
$$;
