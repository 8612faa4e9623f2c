-- Pickup delivery (doc/design.md "Pickup"): one row per pickup flow, from its creation
-- until a while after it expires. Nothing in it names the flow, its instance or its
-- result in the clear:
--   lookup   SHA-256("oauth-relay pickup v1" || flow id || pickup key): the key is only in
--            the sealed state token and with the instance, so a wrong key finds nothing;
--   owner    a labelled hash of the creating instance's callback id (another instance's
--            signed request finds nothing either);
--   sealed   AES-256-GCM under HKDF(keyring key kid, the pickup key, the flow id): neither a
--            dump nor a dump plus the keyring opens it. NULL until the callback, and again
--            once picked up.
-- The state goes pending -> ready (callback, with pg_notify so that waiting nodes look
-- again) -> picked (the one successful pickup). Rows are deleted an hour after expiry
-- (the grace in which a late pickup still learns "expired", 410).
CREATE TABLE pickup_results (
    lookup bytea PRIMARY KEY,
    owner bytea NOT NULL,
    expires_at timestamptz NOT NULL,
    state text NOT NULL CHECK (state IN ('pending', 'ready', 'picked')),
    kid text,
    sealed bytea
);
CREATE INDEX pickup_results_expires ON pickup_results (expires_at);

-- One pickup attempt, atomically: 'claimed' with kid and sealed (the row then holds no
-- result), or why not: 'pending', 'picked', 'expired' or 'none' (unknown, another
-- instance's, or a wrong key). The row lock makes one of two racing pickups the winner.
CREATE FUNCTION pickup_result_claim(p_lookup bytea, p_owner bytea, OUT status text,
                                    OUT kid text, OUT sealed bytea)
LANGUAGE plpgsql AS $$
DECLARE
    r pickup_results%ROWTYPE;
BEGIN
    SELECT * INTO r FROM pickup_results
        WHERE pickup_results.lookup = p_lookup AND pickup_results.owner = p_owner FOR UPDATE;
    IF NOT FOUND THEN
        status := 'none';
    ELSIF r.expires_at <= now() THEN
        status := 'expired';
    ELSIF r.state <> 'ready' THEN
        status := r.state;
    ELSE
        UPDATE pickup_results SET state = 'picked', sealed = NULL
            WHERE pickup_results.lookup = p_lookup;
        status := 'claimed';
        kid := r.kid;
        sealed := r.sealed;
    END IF;
END
$$;

-- Pickup in the anonymous statistics: rows of stats_hourly with event 'pickup', delivery
-- 'pickup', provider 'unspecified' (a pickup does not know its authorization server), and
-- outcome delivered (200), pending (202: the wait ended first), conflict (409), expired
-- (410), not_found (404), invalid, refused (401) or unavailable; pending_expired counts
-- the results purged without ever being picked up. For these rows consent_s_buckets and
-- consent_s_sum hold the seconds each pickup waited for its answer.
COMMENT ON COLUMN stats_hourly.consent_s_buckets IS
    'callback: time to consent; pickup: seconds waited for the answer (s buckets <= 5, 10, 20, 30, 60, 90, 120, 300, 600, 900, 1800, +Inf)';

-- Pickups per day: the count of each outcome and the mean wait of the answered ones.
CREATE VIEW stats_pickup_daily AS
SELECT date_trunc('day', hour) AS day,
       sum(count) FILTER (WHERE outcome = 'delivered') AS delivered,
       sum(count) FILTER (WHERE outcome = 'pending') AS pending,
       sum(count) FILTER (WHERE outcome = 'pending_expired') AS pending_expired,
       sum(count) FILTER (WHERE outcome = 'conflict') AS conflict,
       sum(count) FILTER (WHERE outcome = 'expired') AS expired,
       sum(count) FILTER (WHERE outcome = 'not_found') AS not_found,
       sum(count) FILTER (WHERE outcome NOT IN ('delivered', 'pending', 'pending_expired',
                                                'conflict', 'expired', 'not_found'))
           AS refused_or_failed,
       sum(consent_s_sum) / nullif(sum(count) FILTER (WHERE outcome <> 'pending_expired'), 0)
           AS mean_wait_s
FROM stats_hourly WHERE event = 'pickup'
GROUP BY 1;
