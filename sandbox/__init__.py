"""A local imitation of the Kickserv REST API v2 (Starlette, seeded data, knobs, request log).

Entry points: `sandbox.app.create_app(SandboxConfig(...))`, `sandbox.testing.running_sandbox()`,
`sandbox.cli` (`kickserv-graph sandbox`, `python -m sandbox`). Imports only starlette and the stdlib.
"""
