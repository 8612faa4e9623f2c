-- A pickup_results row is written three times: created pending, made ready by the
-- callback, emptied when picked up. Neither change touches an indexed column, so with
-- room left on the page PostgreSQL updates it in place (a HOT update: no new index
-- entries). Half of each page is left free for that; pages written from now on.
ALTER TABLE pickup_results SET (fillfactor = 50);
