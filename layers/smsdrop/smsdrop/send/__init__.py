"""Sending a job: the runner (its window of batches, one batch's work, closing), its ports and their wiring,
batching, pacing, the continuation, the recovery sweep, and the ingest function's events."""
