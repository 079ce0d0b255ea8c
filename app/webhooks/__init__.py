"""Webhooks (API-2.md section 17): hooks, their deliveries, and the worker that sends them."""
