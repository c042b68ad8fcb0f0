"""`policybot db upgrade`, `policybot audit export`, `policybot purge` and `policybot roles`.

Cheap to import: the database machinery is imported inside each handler."""

from __future__ import annotations

import argparse
import sys

from storage.role_names import ROLES

EXIT_STARTUP_ERROR = 2


def register(subparsers) -> None:
    db = subparsers.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    upgrade = db_commands.add_parser("upgrade", help="create or upgrade the database schema (the bot also does this on start)")
    upgrade.set_defaults(handler=_run(_db_upgrade))

    audit = subparsers.add_parser("audit", help="the audit trail")
    audit_commands = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    export = audit_commands.add_parser("export", help="write every audit event as CSV")
    export.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of standard output")
    export.set_defaults(handler=_run(_audit_export))

    purge = subparsers.add_parser(
        "purge", help="delete closed cases and undelivered notifications older than the retention period, and report what was removed"
    )
    purge.add_argument("--days", type=_positive_int, metavar="N", help="retention in days (default: RETENTION_DAYS)")
    purge.set_defaults(handler=_run(_purge))

    roles = subparsers.add_parser(
        "roles", help="who is headteacher, deputy, chair of governors, safeguarding lead or runs the school's accounts"
    )
    roles_commands = roles.add_subparsers(dest="roles_command", metavar="ACTION", required=True)
    roles_list = roles_commands.add_parser("list", help="list the role holders")
    roles_list.set_defaults(handler=_run(_roles_list))
    for action, help_text in (("assign", "give a person a role"), ("unassign", "take a role from a person")):
        parser = roles_commands.add_parser(action, help=help_text)
        parser.add_argument("role", choices=ROLES)
        parser.add_argument("--platform", required=True, choices=("slack", "teams"))
        parser.add_argument("--user", required=True, metavar="USER_ID", help="the person's Slack user id (U…) or Teams user id (29:…)")
        if action == "assign":
            parser.add_argument("--name", default="", help="the name to show, e.g. 'Mrs Patel'")
        parser.set_defaults(handler=_run(_roles_assign if action == "assign" else _roles_unassign))


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of days, 1 or more (got {value!r})")
    return number


def _run(action):
    """Wrap an async action: open the database, run, close; print start-up errors as one line, exit 2."""

    def handler(args: argparse.Namespace) -> int:
        import asyncio

        from pydantic import ValidationError

        from bot.config import get_settings
        from storage.errors import DatabaseOpenError

        try:
            settings = get_settings()
        except ValidationError as error:
            print(f"policybot: invalid settings: {error.errors()[0]['msg']}", file=sys.stderr)
            return EXIT_STARTUP_ERROR
        try:
            return asyncio.run(_with_database(action, settings, args))
        except DatabaseOpenError as error:
            print(f"policybot: {error}", file=sys.stderr)
            return EXIT_STARTUP_ERROR

    return handler


async def _with_database(action, settings, args) -> int:
    from storage.database import Database

    db = await Database.open(settings=settings)
    try:
        return await action(db, settings, args)
    finally:
        await db.close()


async def _db_upgrade(db, settings, args) -> int:
    from storage.database import describe_url, schema_revision

    revision = await schema_revision(db.engine)
    print(f"Database {describe_url(settings.database_url)} is up to date (revision {revision}).")
    return 0


async def _audit_export(db, settings, args) -> int:
    from storage import repository as repo

    if args.output:
        try:
            output = open(args.output, "w", encoding="utf-8", newline="")
        except OSError as error:
            print(f"policybot: cannot write {args.output}: {error.strerror}", file=sys.stderr)
            return EXIT_STARTUP_ERROR
        with output:
            async with db.transaction() as session:
                count = await repo.write_audit_csv(session=session, output=output)
        print(f"Wrote {count} audit event(s) to {args.output}.", file=sys.stderr)
    else:
        async with db.transaction() as session:
            await repo.write_audit_csv(session=session, output=sys.stdout)
    return 0


async def _purge(db, settings, args) -> int:
    from storage import repository as repo

    days = args.days or settings.retention_days
    async with db.transaction() as session:
        report = await repo.purge_expired(session=session, retention_days=days)
    await db.empty_write_ahead_log()
    counts = report.as_dict()
    print(f"Purged data older than {days} days (closed cases by their closing day):")
    labels = {
        "cases": "closed cases deleted",
        "case_messages": "case messages deleted",
        "escalations": "case escalations deleted",
        "case_notifications": "notifications about those cases deleted",
        "audit_details_cleared": "audit event details cleared",
        "notifications": "delivered notifications deleted",
        "expired_notifications": "undelivered notifications given up",
        "processed_events": "processed-event records deleted",
        "conversation_references": "conversation references of people silent for a year deleted",
    }
    for name, label in labels.items():
        print(f"  {counts[name]:>6}  {label}")
    return 0


async def _roles_list(db, settings, args) -> int:
    from storage import repository as repo

    async with db.transaction() as session:
        holders = await repo.list_role_holders(session=session)
    if not holders:
        print("No role holders yet. Add one with: policybot roles assign headteacher --platform slack --user U… --name '…'")
    for holder in holders:
        print(f"{holder.role:<20} {holder.platform:<6} {holder.user_id:<30} {holder.display_name}")
    held = {holder.role for holder in holders}
    # The other roles are optional: without a deputy or an accounts holder, the headteacher does their part.
    for role in repo.REPORT_ROLES:
        if role not in held:
            print(f"Missing: nobody is {role}; reports for them are kept until someone is.")
    return 0


async def _roles_assign(db, settings, args) -> int:
    from storage import repository as repo

    async with db.transaction() as session:
        await repo.assign_role(session=session, role=args.role, platform=args.platform, user_id=args.user, display_name=args.name,
                               actor=repo.Actor(role="admin_cli"))
    print(f"{args.user} on {args.platform} is now {args.role}.")
    return 0


async def _roles_unassign(db, settings, args) -> int:
    from storage import repository as repo

    async with db.transaction() as session:
        removed = await repo.unassign_role(session=session, role=args.role, platform=args.platform, user_id=args.user,
                                           actor=repo.Actor(role="admin_cli"))
    print(f"{args.user} on {args.platform} is no longer {args.role}." if removed else f"{args.user} on {args.platform} was not {args.role}.")
    return 0
