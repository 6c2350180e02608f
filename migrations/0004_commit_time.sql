-- The deployed commit's time, from DeploymentRequested's optional commit_time: the lead time for
-- changes (`shiplog metrics`) is measured from it. NULL when the request did not carry one.
ALTER TABLE deployments ADD COLUMN commit_time TEXT;
