"""Writes to Kickserv that happen once, whatever the retries.

Kickserv has no idempotency keys, so each write runs under an idempotency record
(``idempotency``) as journaled steps (``steps``) that a retry resumes; a step whose outcome is
unknown is looked for in Kickserv before it is sent again. ``scope.WriteScope.run`` ties them
together; one module per domain builds the steps; ``invalidation`` keeps reads consistent after.
"""
