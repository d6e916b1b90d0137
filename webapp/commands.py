"""``carenotes serve``, ``users create``, ``keys generate|rotate``, ``audit verify``,
``retention run`` (alias ``purge``) and ``worker``."""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
from typing import Any

import sqlalchemy as sa

from webapp import api_commands, audit, db, integrity, scale_commands
from webapp.cli_common import add_data_option, app_for
from webapp.crypto import generate_master_key
from webapp.pipeline import run_jobs
from webapp.services.keys import rotate_keys
from webapp.services.retention import apply_retention
from webapp.services.users import create_first_admin, create_user

__all__ = ["add_commands"]

logger = logging.getLogger(__name__)


def _serve(args: argparse.Namespace) -> int:
    # Build the app once here to migrate the database and make the first administrator;
    # the server process builds its own, with the background worker.
    setup = app_for(run_worker=False, data=args.data)
    first = create_first_admin(setup.extensions["carenotes"])
    setup.extensions["carenotes"].engine.dispose()
    if first is not None:
        print(
            "No users existed, so an administrator was created. Write this down now; it "
            f"will not be shown again:\n  username: {first[0]}\n  password: {first[1]}\n"
            "Sign in and create the other users from the Users page, or with "
            "`carenotes users create`."
        )
    data_dir = setup.extensions["carenotes"].settings.data_dir
    print(f"Data folder: {data_dir}")
    print(f"carenotes is running on http://{args.host}:{args.port}/ (Ctrl+C to stop)", flush=True)
    return serve_with_gunicorn(
        args.host, args.port, args.threads, not args.no_worker, data=args.data
    )


def serve_with_gunicorn(
    host: str, port: int, threads: int, run_worker: bool, data: str | None = None
) -> int:
    """Serve the app with gunicorn: one process, ``threads`` request threads.

    One process keeps the embedded set-up simple (one in-process job worker, SQLite
    written from one place); the threads serve many people at once, and a slow upload
    holds one thread, not the server. A council's deployment runs gunicorn itself with
    ``deploy/gunicorn.conf.py`` and several processes. ``data`` is the data folder
    (``--data``); ``None`` leaves it to the settings.
    """
    from gunicorn.app.base import BaseApplication

    class _Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            settings = {
                "bind": f"{host}:{port}",
                "workers": 1,
                "worker_class": "gthread",
                "threads": threads,
                # A 500 MiB upload over a slow network can take minutes.
                "timeout": 600,
                "graceful_timeout": 10,
                "accesslog": "-",
                "access_log_format": '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms',
                "errorlog": "-",
                "loglevel": "warning",
                "proc_name": "carenotes",
            }
            for key, value in settings.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return app_for(run_worker=run_worker, data=data)

    _Server().run()
    return 0


def _users_create(args: argparse.Namespace) -> int:
    app = app_for(data=args.data)
    password = args.password_stdin and sys.stdin.readline().rstrip("\n")
    if not password:
        password = getpass.getpass(f"Password for {args.username} (12 characters or more): ")
        if password != getpass.getpass("The same password again: "):
            print("carenotes: the two passwords differ; nothing was created.", file=sys.stderr)
            return 2
    user_id = create_user(
        app.extensions["carenotes"],
        args.username,
        password,
        args.role,
        args.team or (),
        args.name or "",
    )
    print(f"Created user {args.username} (id {user_id}, role {args.role}).")
    return 0


def _keys_generate(_args: argparse.Namespace) -> int:
    print(generate_master_key())
    print(
        "Set it as CARENOTES_MASTER_KEY, or save it in a file only the service can read "
        "and set CARENOTES_MASTER_KEY_FILE. Keep a copy somewhere safe, away from the "
        "database backups.",
        file=sys.stderr,
    )
    return 0


def _keys_rotate(args: argparse.Namespace) -> int:
    app = app_for(data=args.data)
    done, skipped = rotate_keys(app.extensions["carenotes"])
    print(
        f"Re-wrapped {done} data key(s) under the current master key; {skipped} were "
        "already under it. The previous master keys can now be removed from "
        "CARENOTES_PREVIOUS_MASTER_KEYS."
    )
    return 0


def _audit_verify(args: argparse.Namespace) -> int:
    svc = app_for(data=args.data).extensions["carenotes"]
    try:
        with svc.engine.connect() as conn:
            check = audit.verify(conn, db.audit_log)
            signed = integrity.check_checkpoint(conn, svc.vault.ring, check.checked)
    except sa.exc.DBAPIError:
        print(
            "The audit trail is NOT intact: its table (audit_log) cannot be read: it was "
            "dropped or damaged. Restore the database from a backup.",
            file=sys.stderr,
        )
        return 1
    if not check.ok:
        print(
            f"The audit trail is NOT intact: entry {check.first_bad_id}: {check.problem}",
            file=sys.stderr,
        )
        return 1
    if not signed.ok:
        print(f"The audit trail is NOT intact: {signed.problem}", file=sys.stderr)
        return 1
    print(
        f"The audit trail is intact: {check.checked} entries checked, the last "
        f"{signed.signed_entries} of them against the signed checkpoint."
        if signed.signed_entries
        else f"The audit trail is intact: {check.checked} entries checked."
    )
    return 0


def _retention(args: argparse.Namespace) -> int:
    result = apply_retention(app_for(data=args.data).extensions["carenotes"])
    print(
        f"Deleted the audio of {result.audio_deleted} approved recording(s) and "
        f"{result.drafts_deleted} unapproved draft(s) past their retention period "
        "(their data keys destroyed)."
    )
    if result.held:
        print(f"Kept {result.held} recording(s) whose case is on legal hold.")
    return 0


def _worker(args: argparse.Namespace) -> int:
    if args.celery:
        return scale_commands.celery_worker(args)

    app = app_for(data=args.data)
    svc = app.extensions["carenotes"]
    kinds = None if args.stage == "all" else (args.stage,)
    print(f"carenotes worker started for {args.stage} jobs (Ctrl+C to stop)")
    run_jobs(svc, kinds=kinds, once=args.once)
    return 0


def add_commands(subparsers: Any) -> None:
    """Register the web app's subcommands on the ``carenotes`` parser."""
    serve = subparsers.add_parser("serve", help="run the web app")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=5000)
    serve.add_argument("--threads", type=int, default=8, help="requests served at once (default 8)")
    serve.add_argument(
        "--no-worker", action="store_true", help="do not run jobs here (use `carenotes worker`)"
    )
    add_data_option(serve)
    serve.set_defaults(func=_serve)

    users = subparsers.add_parser("users", help="manage users")
    users_sub = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    create = users_sub.add_parser("create", help="create a user")
    create.add_argument("username")
    create.add_argument(
        "--role",
        required=True,
        choices=("social_worker", "practitioner", "manager", "admin", "information_governance"),
    )
    create.add_argument("--team", action="append", help="team name (repeat for several)")
    create.add_argument("--name", help="full name shown on pages")
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    add_data_option(create)
    create.set_defaults(func=_users_create)

    keys = subparsers.add_parser("keys", help="master keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    keys_sub.add_parser("generate", help="print a new random master key").set_defaults(
        func=_keys_generate
    )
    rotate = keys_sub.add_parser(
        "rotate", help="re-wrap every data key under the current master key"
    )
    add_data_option(rotate)
    rotate.set_defaults(func=_keys_rotate)

    audit_cmd = subparsers.add_parser("audit", help="the audit trail")
    audit_sub = audit_cmd.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    verify = audit_sub.add_parser(
        "verify", help="check that no entry was edited, deleted or reordered"
    )
    add_data_option(verify)
    verify.set_defaults(func=_audit_verify)

    retention = subparsers.add_parser("retention", help="apply the retention policy")
    retention_sub = retention.add_subparsers(dest="retention_command", required=True)
    retention_run = retention_sub.add_parser(
        "run",
        help="delete what is past its retention period (the worker also does it every hour)",
    )
    add_data_option(retention_run)
    retention_run.set_defaults(func=_retention)

    # The older name of `retention run`, kept for scripts that use it.
    purge = subparsers.add_parser("purge", help="the same as `retention run`")
    add_data_option(purge)
    purge.set_defaults(func=_retention)

    worker = subparsers.add_parser("worker", help="run background jobs in this process")
    worker.add_argument("--once", action="store_true", help="stop when no job is waiting")
    worker.add_argument(
        "--stage",
        choices=("all", "transcribe", "draft"),
        default="all",
        help="without --celery: run only this stage's jobs (default: both)",
    )
    add_data_option(worker)
    worker.set_defaults(func=_worker)
    scale_commands.add_worker_arguments(worker)
    scale_commands.add_commands(subparsers)
    api_commands.add_commands(subparsers)
