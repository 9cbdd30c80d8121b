"""Sending a job: the runner, batching, pacing, continuation, sweep, wiring."""
