"""``python -m advisor.cli``."""

from advisor.cli import main

raise SystemExit(main())
