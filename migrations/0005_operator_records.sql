-- What operators do between deployments, on each deployment's row (JSON object text, NULL when
-- absent): a manual rollback's request (`shiplog rollback`: target, replaced release, reason, who),
-- the manual rollback that replaced a release, and the approval gate (who approved, when).
-- Rows written before this migration had none of these events, so NULL is their true value.
ALTER TABLE deployments ADD COLUMN manual_rollback TEXT;
ALTER TABLE deployments ADD COLUMN rolled_back_by TEXT;
ALTER TABLE deployments ADD COLUMN approval TEXT;
