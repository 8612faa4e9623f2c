-- Push delivery (doc/design.md "Push"): a push flow's result is stored exactly as a
-- pickup's (a pickup_results row, ready, sealed under the push key), and with it, in the
-- same statement, a job saying where to send it. Nothing in a job is in the clear:
--   sealed   the return_url, the push key and the flow id, AES-256-GCM under HKDF(keyring
--            key kid, the row's lookup): any node with the keyring can deliver once the node
--            that took the callback is gone; a dump alone opens nothing.
-- Every node claims due jobs with a lease (lease_until), so that one node sends at a time
-- and a job whose node died is taken again when its lease ends. A delivery (2xx) marks the
-- result picked, which deletes the job; a failure counts an attempt and waits 1, 2, 4 … 60
-- s. A job is deleted with its result row (the pickup purge) and is not tried after
-- expires_at.
CREATE TABLE push_jobs (
    lookup bytea PRIMARY KEY REFERENCES pickup_results (lookup) ON DELETE CASCADE,
    kid text NOT NULL,
    sealed bytea NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    next_attempt timestamptz NOT NULL DEFAULT now(),
    lease_until timestamptz,
    expires_at timestamptz NOT NULL
);
CREATE INDEX push_jobs_due ON push_jobs (next_attempt);

-- A result picked up, by the instance with the push key (pickup_result_claim) or by a
-- delivery, ends the pushing in the same transaction: its job goes.
CREATE FUNCTION push_job_end() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM push_jobs WHERE push_jobs.lookup = NEW.lookup;
    RETURN NULL;
END
$$;
CREATE TRIGGER pickup_results_picked AFTER UPDATE OF state ON pickup_results
    FOR EACH ROW WHEN (NEW.state = 'picked') EXECUTE FUNCTION push_job_end();
