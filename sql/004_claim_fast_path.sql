-- Single use, version 4: a claim that finds nothing new reads nothing.
--
-- Most claims find no batch of another node since their last one (always, on a single
-- node), yet each paid for an ordered aggregate (a sort set up per call) and a read of
-- the sequence: on the bench machine a claim cost 116 µs in pgbench against 80 µs now,
-- and PostgreSQL shares the cores with the relay. The last entry of the primary key (one
-- index probe) now says whether there is anything to read, and replaces the sequence as
-- the sign of a database restored or recreated behind the node. Same arguments, same
-- answers: the relays need no change to use it.
CREATE OR REPLACE FUNCTION used_flows_claim(since bigint, batch bytea, batch_expires bigint,
                                            OUT batch_id bigint, OUT others bytea)
LANGUAGE plpgsql AS $$
DECLARE
    fresh bytea := batch;
    newest bigint;
BEGIN
    IF length(batch) % 20 <> 0 THEN
        RAISE EXCEPTION 'used_flows_claim: % bytes is not a whole number of keys', length(batch);
    END IF;
    -- One claim at a time, cluster-wide: ids are taken under the lock, so every row
    -- below ours is committed and visible now. A claim holds it for microseconds.
    PERFORM pg_advisory_xact_lock(7305041163411742003);
    SELECT max(b.id) INTO newest FROM used_flow_batches b;
    -- Nothing at or above what the node has read: the database was restored or recreated
    -- behind it, or its newest batches expired and went. Read every live batch again;
    -- keys the node knows already are harmless to learn twice.
    IF newest IS NULL OR since > newest THEN
        since := 0;
    END IF;
    others := ''::bytea;
    batch_id := greatest(since, newest);
    IF newest > since THEN
        SELECT coalesce(string_agg(b.keys, ''::bytea ORDER BY b.id), ''::bytea)
          INTO others
          FROM used_flow_batches b
         WHERE b.id > since AND b.expires_max >= extract(epoch FROM now());
    END IF;
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
