"""Operator commands for inbox accounts.

    python -m gateway.inbox create-admin --email admin@example.org --name "Ada Admin"
    python -m gateway.inbox set-password --email someone@example.org
    python -m gateway.inbox reset-second-factor --email someone@example.org

The password comes from the environment variable HUBGUIDE_ADMIN_PASSWORD, or
else from a prompt (asked twice, not echoed). It is stored only as an argon2
hash. ``set-password`` also unlocks a locked account. ``reset-second-factor``
turns off an account's second sign-in step (for an admin who lost their phone
and recovery codes, when no other admin can reset it in the inbox): their
sessions end, and an admin sets it up again at the next sign-in; the audit
trail records it without an actor. All work on the database the settings
point at (DATABASE_URL, or var/hubguide.db), and bring it to the newest
migration first.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

PASSWORD_ENV = "HUBGUIDE_ADMIN_PASSWORD"


def read_password() -> str:
    from gateway.inbox.security import password_problem

    password = os.environ.get(PASSWORD_ENV)
    if password is None:
        if not sys.stdin.isatty():
            raise SystemExit(f"no password: set {PASSWORD_ENV} or run this in a terminal")
        password = getpass.getpass("Password: ")
        if getpass.getpass("Password again: ") != password:
            raise SystemExit("the two passwords differ; nothing changed")
    problem = password_problem(password)
    if problem:
        raise SystemExit(problem)
    return password


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gateway.inbox", description="Inbox accounts")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-admin", help="make an admin account (the first one, typically)")
    create.add_argument("--email", required=True)
    create.add_argument("--name", required=True)
    create.add_argument("--hub", help="slug of the admin's own hub (optional)")
    create.add_argument("--phone", help="number for new-handoff SMS (optional)")
    reset = commands.add_parser("set-password", help="set an account's password and unlock it")
    reset.add_argument("--email", required=True)
    second = commands.add_parser("reset-second-factor", help="turn off an account's second sign-in step")
    second.add_argument("--email", required=True)
    args = parser.parse_args(argv)

    from sqlalchemy import select

    from gateway import store
    from gateway.db import migrate, session_scope
    from gateway.inbox import accounts, second_factor
    from gateway.models import Coordinator

    password = read_password() if args.command != "reset-second-factor" else ""
    migrate()
    try:
        with session_scope() as session:
            store.sync_hubs(session)
            if args.command == "create-admin":
                coordinator, _ = accounts.create_coordinator(
                    session,
                    name=args.name,
                    email=args.email,
                    role="admin",
                    hub=args.hub,
                    phone=args.phone,
                    password=password,
                )
                print(f"admin account {coordinator.id} created for {coordinator.email}; sign in at /inbox")
            else:
                found = session.scalars(
                    select(Coordinator).where(Coordinator.email == accounts.normalise_email(args.email))
                ).first()
                if found is None:
                    raise SystemExit(f"no account with the email {args.email}")
                if args.command == "reset-second-factor":
                    second_factor.switch_off(session, found.id, None)
                    print(f"second sign-in step reset for {found.email}; their sessions are signed out")
                else:
                    accounts.reset_password(session, found.id, password)
                    print(f"password set and account unlocked for {found.email}")
    except accounts.AccountError as exc:
        print(f"not done: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
