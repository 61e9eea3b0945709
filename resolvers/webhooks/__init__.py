"""Signed webhooks (Standard Webhooks): endpoints per API key, a durable delivery queue in the state
store, signatures, and the address rules of their targets. See ``resolvers.webhooks.delivery``."""
