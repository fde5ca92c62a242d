"""advisor: a grounded, cited career advisor for AI roles (AI Engineer, ML Engineer, Data Scientist).

The public entry points are :func:`advisor.settings.load_settings` and :class:`advisor.core.Advisor`.
Nothing heavy is imported here: models and stores load on first use.
"""

__version__ = "0.1.0"
