"""`python -m storage.migrate`: bring the database whose address is the first line of stdin up to the
newest schema, then exit; `upgrade_in_child_process` runs it so the server never loads Alembic. A failure
is one line on stderr and exit status 2."""

from __future__ import annotations

import asyncio
import sys

from storage.database import upgrade_schema
from storage.errors import DatabaseOpenError

EXIT_FAILED = 2


def main() -> int:
    database_url = sys.stdin.readline().strip()
    try:
        asyncio.run(upgrade_schema(database_url=database_url))
    except DatabaseOpenError as error:
        print(f"policybot: {error}", file=sys.stderr)
        return EXIT_FAILED
    return 0


if __name__ == "__main__":
    sys.exit(main())
