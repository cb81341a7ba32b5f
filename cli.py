"""Operator commands: ``flask users ...`` and ``flask sessions ...``."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask import Flask
from flask.cli import AppGroup

from extensions import server_sessions
from services import accounts, user_sessions

users_cli = AppGroup("users", help="Manage user accounts.")
sessions_cli = AppGroup("sessions", help="Inspect and end sessions.")


def register_commands(app: Flask) -> None:
    """Add the operator command groups to ``flask``."""
    app.cli.add_command(users_cli)
    app.cli.add_command(sessions_cli)


def _user_or_fail(username: str) -> int:
    user = accounts.find_by_username(username)
    if user is None:
        raise click.ClickException(f"no user named {username!r}")
    return user.id


@users_cli.command("create")
@click.argument("username")
@click.option("--email", default=None, help="For password reset.")
@click.password_option(help="Prompted for when not given.")
def create_user(username: str, email: str | None, password: str) -> None:
    """Create an account (same rules as register)."""
    result = accounts.create_user(username, password, email)
    if result.user is None:
        messages = "; ".join(f"{e.field}: {e.message}" for e in result.errors)
        raise click.ClickException(messages)
    click.echo(f"created user {result.user.username} (id {result.user.id})")


@users_cli.command("delete")
@click.argument("username")
@click.confirmation_option(prompt="Delete this user, their posts and sessions?")
def delete_user(username: str) -> None:
    """Delete an account with its posts, ending its sessions and reset tokens."""
    user = accounts.find_by_username(username)
    if user is None:
        raise click.ClickException(f"no user named {username!r}")
    ended = accounts.delete_user(user)
    click.echo(
        f"deleted user {username}, ended {ended.sessions} session(s)"
        f" and revoked {ended.reset_tokens} reset token(s)"
    )


@sessions_cli.command("list")
@click.option("--user", "username", required=True, help="Username.")
def list_sessions(username: str) -> None:
    """List a user's live sessions."""
    entries = server_sessions.store.index.live(_user_or_fail(username))
    for entry in entries:
        created = datetime.fromtimestamp(entry.created_at_ms / 1000, UTC).isoformat()
        click.echo(f"{entry.public_id}  {created}  {entry.ip or '-'}  {entry.user_agent or '-'}")
    click.echo(f"{len(entries)} live session(s)")


@sessions_cli.command("revoke")
@click.option("--user", "username", required=True, help="Username.")
def revoke_sessions(username: str) -> None:
    """End every session of a user."""
    ended = user_sessions.end_all_sessions(_user_or_fail(username))
    click.echo(f"ended {ended} session(s)")


@sessions_cli.command("purge-orphans")
def purge_orphans() -> None:
    """Drop index entries whose session has expired."""
    click.echo(f"purged {user_sessions.purge_orphans()} orphaned index entr(y/ies)")
