"""The advisor as a service: an OpenAI-compatible HTTP API (``advisor serve``), with access control.

An edge like the CLI: it imports the engine, the engine never imports it. ``app.create_app`` builds the
FastAPI application over one :class:`advisor.core.Advisor`; ``shapes`` builds OpenAI-shaped responses and
errors. The key checks and the loopback rule are in :mod:`advisor.access` (the app uses them too).
"""
