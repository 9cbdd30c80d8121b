"""Delivery reports: poller, push webhook, receipts, settings, wiring."""
