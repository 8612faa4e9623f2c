-- Anonymous usage statistics (DESIGN §3): hourly counters per kind of authorization
-- server, event, outcome and delivery mode, with two latency histograms in fixed
-- buckets. No row can identify a customer: every text column is a fixed label.

CREATE TABLE stats_hourly (
    hour timestamptz NOT NULL,
    provider text NOT NULL,
    event text NOT NULL,
    outcome text NOT NULL,
    delivery text NOT NULL,
    count bigint NOT NULL,
    -- callback handling time, milliseconds: buckets <= 0.5, 1, 2, 5, 10, 25, 50, 100,
    -- 250, 500, 1000, +Inf
    handling_ms_buckets bigint[] NOT NULL,
    handling_ms_sum double precision NOT NULL DEFAULT 0,
    -- time to consent (callback minus flow creation), seconds: buckets <= 5, 10, 20,
    -- 30, 60, 90, 120, 300, 600, 900, 1800, +Inf
    consent_s_buckets bigint[] NOT NULL,
    consent_s_sum double precision NOT NULL DEFAULT 0,
    PRIMARY KEY (hour, provider, event, outcome, delivery)
);

-- Element-wise sum of two histograms, for the flush's upsert.
CREATE FUNCTION stats_buckets_add(a bigint[], b bigint[]) RETURNS bigint[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT array_agg(coalesce(x, 0) + coalesce(y, 0) ORDER BY i)
    FROM unnest(a, b) WITH ORDINALITY AS u(x, y, i)
$$;

-- Upper bounds of the consent buckets, NULL for the last (+Inf) one.
CREATE FUNCTION stats_consent_bound(i bigint) RETURNS double precision
LANGUAGE sql IMMUTABLE AS $$
    SELECT (ARRAY[5, 10, 20, 30, 60, 90, 120, 300, 600, 900, 1800]::double precision[])[i]
$$;

-- Flows and callbacks per day and provider.
CREATE VIEW stats_daily_by_provider AS
SELECT date_trunc('day', hour) AS day, provider, event, sum(count) AS count
FROM stats_hourly
GROUP BY 1, 2, 3;

-- Callback outcomes per day, with each outcome's share of the day's callbacks.
CREATE VIEW stats_outcome_mix AS
SELECT day, outcome, count,
       round(100.0 * count / sum(count) OVER (PARTITION BY day), 1) AS percent
FROM (SELECT date_trunc('day', hour) AS day, outcome, sum(count) AS count
      FROM stats_hourly WHERE event = 'callback' GROUP BY 1, 2) AS d;

-- Time to consent per day and provider: the histogram's totals and the bucket bounds
-- under which 50 %, 90 % and 99 % of delivered callbacks fall (NULL: above 1800 s).
CREATE VIEW stats_time_to_consent AS
WITH buckets AS (
    SELECT date_trunc('day', hour) AS day, provider, b.i, sum(b.n) AS n
    FROM stats_hourly, unnest(consent_s_buckets) WITH ORDINALITY AS b(n, i)
    WHERE event = 'callback' AND outcome IN ('delivered', 'denied')
    GROUP BY 1, 2, 3
), cumulative AS (
    SELECT day, provider, i, n,
           sum(n) OVER (PARTITION BY day, provider ORDER BY i) AS below,
           sum(n) OVER (PARTITION BY day, provider) AS total
    FROM buckets
)
SELECT day, provider, max(total) AS callbacks,
       stats_consent_bound(min(i) FILTER (WHERE below >= 0.50 * total)) AS p50_seconds_at_most,
       stats_consent_bound(min(i) FILTER (WHERE below >= 0.90 * total)) AS p90_seconds_at_most,
       stats_consent_bound(min(i) FILTER (WHERE below >= 0.99 * total)) AS p99_seconds_at_most
FROM cumulative
WHERE total > 0
GROUP BY day, provider;
