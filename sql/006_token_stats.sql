-- The token delegate (POST /v1/token) in the anonymous statistics. Its requests are rows
-- of stats_hourly with event 'token', delivery 'none', provider classified from the
-- upstream token URL, and outcome ok (2xx), upstream_error (non-2xx), unavailable,
-- timeout, refused, invalid or rate_limited. For these rows handling_ms_buckets and
-- handling_ms_sum hold the upstream call's time (same ms buckets as the callbacks');
-- requests decided before any upstream call add none.

COMMENT ON COLUMN stats_hourly.handling_ms_buckets IS
    'callback: handling time; token: the upstream call''s time (ms buckets <= 0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, +Inf)';

-- Upper bounds of the handling buckets, NULL for the last (+Inf) one.
CREATE FUNCTION stats_handling_bound(i bigint) RETURNS double precision
LANGUAGE sql IMMUTABLE AS $$
    SELECT (ARRAY[0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000]::double precision[])[i]
$$;

-- Token delegate requests per day and provider: the count of each outcome, the upstream
-- calls made, and the bucket bounds under which 50 %, 90 % and 99 % of those calls'
-- times fall (NULL: above 1000 ms, or no call).
CREATE VIEW stats_token_daily AS
WITH days AS (
    SELECT date_trunc('day', hour) AS day, provider,
           sum(count) AS requests,
           sum(count) FILTER (WHERE outcome = 'ok') AS ok,
           sum(count) FILTER (WHERE outcome = 'upstream_error') AS upstream_error,
           sum(count) FILTER (WHERE outcome = 'unavailable') AS unavailable,
           sum(count) FILTER (WHERE outcome = 'timeout') AS timeout,
           sum(count) FILTER (WHERE outcome IN ('refused', 'invalid', 'rate_limited'))
               AS refused_or_invalid
    FROM stats_hourly WHERE event = 'token'
    GROUP BY 1, 2
), buckets AS (
    SELECT date_trunc('day', hour) AS day, provider, b.i, sum(b.n) AS n
    FROM stats_hourly, unnest(handling_ms_buckets) WITH ORDINALITY AS b(n, i)
    WHERE event = 'token'
    GROUP BY 1, 2, 3
), cumulative AS (
    SELECT day, provider, i,
           sum(n) OVER (PARTITION BY day, provider ORDER BY i) AS below,
           sum(n) OVER (PARTITION BY day, provider) AS total
    FROM buckets
), quantiles AS (
    SELECT day, provider, max(total) AS upstream_calls,
           stats_handling_bound(min(i) FILTER (WHERE total > 0 AND below >= 0.50 * total)) AS p50_ms_at_most,
           stats_handling_bound(min(i) FILTER (WHERE total > 0 AND below >= 0.90 * total)) AS p90_ms_at_most,
           stats_handling_bound(min(i) FILTER (WHERE total > 0 AND below >= 0.99 * total)) AS p99_ms_at_most
    FROM cumulative
    GROUP BY day, provider
)
SELECT d.day, d.provider, d.requests, coalesce(d.ok, 0) AS ok,
       coalesce(d.upstream_error, 0) AS upstream_error, coalesce(d.unavailable, 0) AS unavailable,
       coalesce(d.timeout, 0) AS timeout, coalesce(d.refused_or_invalid, 0) AS refused_or_invalid,
       q.upstream_calls, q.p50_ms_at_most, q.p90_ms_at_most, q.p99_ms_at_most
FROM days AS d JOIN quantiles AS q USING (day, provider);
