-- Worker mode needs PostgreSQL (its sequences are in the PostgreSQL file of
-- this version); SQLite has nothing to add.
SELECT 1;
