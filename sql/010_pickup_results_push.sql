-- Which rows belong to push flows, so that the purge counts a push never delivered
-- (event push, outcome pending_expired) apart from a pickup never picked up. The kind of
-- delivery is all it says; rows from before this column count as pickups.
ALTER TABLE pickup_results ADD COLUMN push boolean NOT NULL DEFAULT false;
