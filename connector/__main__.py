from __future__ import annotations

from connector.cli import main

raise SystemExit(main())
