-- Artifact facts straight from the events: `artifacts prune` decides which files to delete
-- from the ArtifactStored and ArtifactPruned events themselves, never from the projection
-- table a person could edit. This partial index lets it read just those events.
CREATE INDEX events_artifact_facts ON events (position) WHERE type IN ('ArtifactStored', 'ArtifactPruned');
