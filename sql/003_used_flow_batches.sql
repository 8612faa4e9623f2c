-- Single use, version 3: one row per batch of used flows instead of one per flow.
--
-- A row per flow cost PostgreSQL about 10 µs (a heap tuple, a speculative index
-- insertion and their WAL) on every callback, more than the relay spends answering it.
-- Now each batch of callbacks a node checks is one row, and no index covers the keys:
-- the nodes keep every live key in memory and learn the other nodes' keys from the rows
-- added since they last looked. Claims are serialized by an advisory lock, so batch ids
-- follow commit order: the first batch (lowest id) holding a key is the flow's first use.
--
-- A key is the flow's expiry (4 bytes, big-endian unix seconds) followed by the first 16
-- bytes of the keyed hash of the flow id. Nothing identifies a customer (DESIGN §3).

CREATE TABLE used_flow_batches (
    id bigserial PRIMARY KEY,
    keys bytea NOT NULL,         -- 20-byte keys end to end
    expires_max bigint NOT NULL  -- unix seconds: the row goes once all its keys expired
);

-- The flows used before the upgrade stay used: a replay across it is still refused.
-- expires_at holds whole seconds (the relay wrote to_timestamp of an integer).
INSERT INTO used_flow_batches (keys, expires_max)
SELECT string_agg(substr(int8send(extract(epoch FROM expires_at)::bigint), 5) ||
                  substr(flow_hash, 1, 16), ''::bytea),
       max(extract(epoch FROM expires_at))::bigint
FROM used_flows
WHERE expires_at >= now()
HAVING count(*) > 0;

DROP TABLE used_flows;

-- Claims a batch: batch is its keys end to end (sent in binary), batch_expires the
-- latest expiry among them, since the highest batch id the node has read. Returns others,
-- the keys of every live batch after since (all committed before this claim), and
-- batch_id, the highest id the node has now seen. A key of the batch found in others was
-- used first elsewhere: it is not added again, and the node refuses that callback itself,
-- and keeps others to check later callbacks against.
CREATE FUNCTION used_flows_claim(since bigint, batch bytea, batch_expires bigint,
                                 OUT batch_id bigint, OUT others bytea)
LANGUAGE plpgsql AS $$
DECLARE
    fresh bytea := batch;
BEGIN
    IF length(batch) % 20 <> 0 THEN
        RAISE EXCEPTION 'used_flows_claim: % bytes is not a whole number of keys', length(batch);
    END IF;
    -- One claim at a time, cluster-wide: ids are taken under the lock, so every row
    -- below ours is committed and visible now. A claim holds it for microseconds.
    PERFORM pg_advisory_xact_lock(7305041163411742003);
    -- A database restored or recreated behind the node: read everything again.
    IF since > (SELECT last_value FROM used_flow_batches_id_seq) THEN
        since := 0;
    END IF;
    SELECT coalesce(string_agg(b.keys, ''::bytea ORDER BY b.id), ''::bytea),
           greatest(since, max(b.id))
      INTO others, batch_id
      FROM used_flow_batches b
     WHERE b.id > since AND b.expires_max >= extract(epoch FROM now());
    IF length(others) > 0 THEN
        -- A set operation, not a correlated lookup: a node that starts reads every
        -- live key once, and that must not cost batch size times all of them.
        SELECT coalesce(string_agg(f.k, ''::bytea), ''::bytea)
          INTO fresh
          FROM (SELECT substr(batch, i * 20 + 1, 20) AS k
                  FROM generate_series(0, length(batch) / 20 - 1) i
                EXCEPT
                SELECT substr(others, j * 20 + 1, 20)
                  FROM generate_series(0, length(others) / 20 - 1) j) f;
    END IF;
    IF length(fresh) > 0 THEN
        INSERT INTO used_flow_batches (keys, expires_max)
        VALUES (fresh, batch_expires)
        RETURNING id INTO batch_id;
    END IF;
END
$$;
