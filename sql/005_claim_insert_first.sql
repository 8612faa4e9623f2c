-- Single use, version 5: a claim inserts its batch first, then reads what came before it.
--
-- Version 4 probed the highest id (max(id)) before inserting, to know whether another
-- node had added a batch since this node's last claim. The batch's own id says as much:
-- ids are taken under the lock, so when it follows the node's last one directly, nothing
-- came between and nothing is read; the probe was a fifth of a claim's cost in
-- PostgreSQL (about 21 µs of 110 on the bench machine). An id at or below the node's last
-- one means the table started over beneath it (a database restored or recreated): every
-- live batch before the new one is read again. A sequence may skip ids (a rolled back
-- insert); then a claim reads once for nothing, which costs only time.
--
-- Keys another node used first are now stored a second time, in this batch: harmless,
-- since the batch with the lowest id holding a key is its first use, and rare, since
-- only replays do it. Same arguments, same answers: the relays need no change.
CREATE OR REPLACE FUNCTION used_flows_claim(since bigint, batch bytea, batch_expires bigint,
                                            OUT batch_id bigint, OUT others bytea)
LANGUAGE plpgsql AS $$
BEGIN
    IF length(batch) % 20 <> 0 THEN
        RAISE EXCEPTION 'used_flows_claim: % bytes is not a whole number of keys', length(batch);
    END IF;
    -- One claim at a time, cluster-wide: ids are taken under the lock, so every row
    -- below ours is committed and visible once our insert is done.
    PERFORM pg_advisory_xact_lock(7305041163411742003);
    INSERT INTO used_flow_batches (keys, expires_max)
    VALUES (batch, batch_expires)
    RETURNING id INTO batch_id;
    others := ''::bytea;
    IF batch_id <= since THEN
        since := 0;
    END IF;
    IF batch_id > since + 1 THEN
        SELECT coalesce(string_agg(b.keys, ''::bytea ORDER BY b.id), ''::bytea)
          INTO others
          FROM used_flow_batches b
         WHERE b.id > since AND b.id < batch_id
           AND b.expires_max >= extract(epoch FROM now());
    END IF;
END
$$;
