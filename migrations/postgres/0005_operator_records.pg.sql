-- The same columns as the SQLite ledger's (migrations/0004_operator_records.sql): a manual
-- rollback's request, the manual rollback that replaced a release, the approval gate.
ALTER TABLE deployments ADD COLUMN manual_rollback TEXT;
ALTER TABLE deployments ADD COLUMN rolled_back_by TEXT;
ALTER TABLE deployments ADD COLUMN approval TEXT;
