"""Continuous monitoring (issue 16): watchlists, their alerts (an outbox) and signed webhooks,
change-feed subscriptions."""
