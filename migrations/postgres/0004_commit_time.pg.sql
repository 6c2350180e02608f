-- The deployed commit's time, as on SQLite (migrations/0004_commit_time.sql).
ALTER TABLE deployments ADD COLUMN commit_time TEXT;
