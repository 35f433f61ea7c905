"""Command-line tools: ``flask --app api demo load``, ``flask --app api offices create``,
``flask --app api users create|password|deactivate|activate``, ``flask --app api gps
purge``, ``flask --app api outcomes confirm-before``."""

from __future__ import annotations

from typing import Any

import click
from flask import Flask, current_app
from sqlalchemy.exc import IntegrityError

from models import Office, Role, User, db
from models.user import same_name_taken

from .tokens.schemas import MAX_PASSWORD


def register_cli(app: Flask) -> None:
    demo = click.Group("demo", help="Demo data.")

    @demo.command("load")
    @click.option("--items", "n_items", default=300, show_default=True, type=click.IntRange(1,
                                                                                      5000))
    @click.option("--seed", default=42, show_default=True)
    def load(n_items: int, seed: int) -> None:
        """Load the Nha Trang demo office, users and items (demo mode only)."""
        from .demo import load_demo
        from .items.views import event_settings

        if not current_app.config.get("DEMO_MODE"):
            raise click.ClickException("Demo data has well-known passwords: set "
                                       "POSTAL_DEMO_MODE=true to load it.")
        try:
            summary = load_demo(db.session(), now=current_app.config["CLOCK"](),
                                n_items=n_items, seed=seed,
                                max_attempts=current_app.config["MAX_DELIVERY_ATTEMPTS"],
                                settings=event_settings())
        except ValueError as exc:
            click.echo(f"Skipped: {exc}")
            return
        db.session.commit()
        click.echo(f"Loaded office {summary.office}, {summary.items} items, users: "
                   f"{', '.join(summary.users)} (password: demo)")

    offices = click.Group("offices", help="Delivery offices.")

    @offices.command("create")
    @click.argument("code")
    @click.option("--name", required=True)
    @click.option("--city", required=True)
    @click.option("--province", required=True)
    @click.option("--address", default="")
    @click.option("--lat", type=click.FloatRange(-90, 90), required=True,
                  help="Where routes start and end")
    @click.option("--lon", type=click.FloatRange(-180, 180), required=True)
    def create_office(code: str, name: str, city: str, province: str, address: str,
                      lat: float, lon: float) -> None:
        """Create a delivery office (before its staff: ``users create --office CODE``)."""
        if not 1 <= len(code) <= 20 or code != code.strip() or any(
                not c.isprintable() for c in code):
            raise click.ClickException("The code must be 1-20 printable characters, without "
                                       "spaces around it.")
        for label, value, size in (("name", name, 200), ("city", city, 100),
                                   ("province", province, 100), ("address", address, 300)):
            if not value.strip() and label != "address":
                raise click.ClickException(f"The {label} must not be empty.")
            if len(value) > size:  # the column
                raise click.ClickException(f"The {label} must be at most {size} characters.")
        if lat != lat or lon != lon:  # NaN passes click's range check
            raise click.ClickException("--lat and --lon must be numbers.")
        if db.session.execute(db.select(Office).where(Office.code == code)).scalar():
            raise click.ClickException(f"Office {code} exists.")
        db.session.add(Office(code=code, name=name.strip(), city=city.strip(),
                              province=province.strip(), address=address.strip(),
                              lat=lat, lon=lon))
        db.session.commit()
        click.echo(f"Created office {code}.")

    users = click.Group("users", help="Staff accounts.")
    MIN_PASSWORD = 8  # noqa: N806 - a constant of this command

    def _check_password(password: str) -> None:
        # a login takes no longer one (the API: a 422): the account could never log in
        if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
            raise click.ClickException(f"The password needs {MIN_PASSWORD} characters or "
                                       f"more, and {MAX_PASSWORD} characters at most.")

    @users.command("create")
    @click.argument("username")
    @click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
    @click.option("--full-name", default="")
    @click.option("--office", "office_code", default=None, help="Office code")
    @click.password_option()
    def create(username: str, role: str, full_name: str, office_code: str | None,
               password: str) -> None:
        """Create a staff account."""
        if not 1 <= len(username) <= 64 or username != username.strip() or any(
                not c.isprintable() for c in username):
            raise click.ClickException("The username must be 1-64 printable characters, "
                                       "without spaces around it.")
        if len(full_name) > 200:  # the column
            raise click.ClickException("The full name must be at most 200 characters.")
        _check_password(password)
        office = None
        if office_code:
            office = db.session.execute(db.select(Office).where(Office.code == office_code)
                                        ).scalar_one_or_none()
            if office is None:
                raise click.ClickException(f"No office {office_code}.")
        if Role(role) is not Role.ADMIN and office is None:
            raise click.ClickException("Couriers and dispatchers need --office.")
        if (taken := same_name_taken(db.session(), username)) is not None:
            raise click.ClickException(
                f"User {taken.username} exists." if taken.username == username else
                f"User {taken.username} exists: names differing only in case are one "
                "at login.")
        user = User(username=username, role=Role(role), full_name=full_name or username,
                    office_id=office.id if office else None)
        user.set_password(password)
        db.session.add(user)
        try:
            db.session.commit()
        except IntegrityError:
            # the same name created at the same moment by another command (a script run
            # twice, two admins): it passed the check above too; a traceback, not a refusal
            db.session.rollback()
            if (taken := same_name_taken(db.session(), username)) is None:
                raise
            raise click.ClickException(f"User {taken.username} exists.") from None
        click.echo(f"Created {role} {username}.")

    def _user(username: str) -> User:
        user: User | None = db.session.execute(
            db.select(User).where(User.username == username)).scalar_one_or_none()
        if user is None:
            raise click.ClickException(f"No user {username}.")
        return user

    def _cut_off(user: User) -> int:
        """Revoke the user's API tokens and end their console sessions, now."""
        from models import ApiToken

        now = current_app.config["CLOCK"]()
        tokens = db.session.execute(db.select(ApiToken).where(
            ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))).scalars().all()
        for token in tokens:
            token.revoked_at = now
        user.sessions_revoked_at = now
        return len(tokens)

    # A courier who left, or forgot the password: there was no way but SQL to lock the
    # account or set a new password (the docs name deactivated users and password
    # changes; nothing made either).
    @users.command("password")
    @click.argument("username")
    @click.password_option()
    def set_password(username: str, password: str) -> None:
        """Set a new password (ends the user's tokens and console sessions)."""
        _check_password(password)
        user = _user(username)
        user.set_password(password)
        n = _cut_off(user)
        db.session.commit()
        click.echo(f"New password for {username}; {n} token(s) revoked.")

    @users.command("deactivate")
    @click.argument("username")
    def deactivate(username: str) -> None:
        """Lock an account: no login, its tokens and console sessions end at once."""
        user = _user(username)
        user.active = False
        n = _cut_off(user)
        db.session.commit()
        click.echo(f"Deactivated {username}; {n} token(s) revoked.")

    @users.command("activate")
    @click.argument("username")
    def activate(username: str) -> None:
        """Let a deactivated account log in again."""
        user = _user(username)
        user.active = True
        db.session.commit()
        click.echo(f"Activated {username}.")

    gps = click.Group("gps", help="Courier GPS positions.")

    @gps.command("purge")
    @click.option("--days", type=click.IntRange(1, 3650), default=None,
                  help="Keep this many days (default: GPS_RETENTION_DAYS)")
    def purge(days: int | None) -> None:
        """Delete GPS pings older than the retention period."""
        from datetime import timedelta

        from .sync.service import purge_positions

        keep = days or current_app.config["GPS_RETENTION_DAYS"]
        n = purge_positions(db.session(), older_than=current_app.config["CLOCK"]()
                            - timedelta(days=keep))
        db.session.commit()
        click.echo(f"Deleted {n} GPS pings older than {keep} days.")

    scans = click.Group("scans", help="Couriers' scans.")

    @scans.command("purge-unread")
    @click.option("--days", type=click.IntRange(1, 3650), default=None,
                  help="Keep this many days (default: UNREAD_SCAN_RETENTION_DAYS)")
    def purge_unread(days: int | None) -> None:
        """Delete the scans to resolve (photos with no item number) older than the
        retention period that were not resolved, and their photos."""
        from datetime import timedelta

        from .scans.unread import purge as purge_kept
        from .scans.views import evidence_store

        keep = days or current_app.config["UNREAD_SCAN_RETENTION_DAYS"]
        n, files = purge_kept(db.session(), older_than=current_app.config["CLOCK"]()
                              - timedelta(days=keep))
        db.session.commit()
        store = evidence_store()
        removed = sum(store.remove(key) for key in files)  # once nothing cites them
        click.echo(f"Deleted {n} scans to resolve older than {keep} days and {removed} "
                   "photos.")

    outcomes = click.Group("outcomes", help="Outcomes couriers report.")

    @outcomes.command("confirm-before")
    @click.argument("day", type=click.DateTime(formats=["%Y-%m-%d"]))
    @click.option("--by", "username", required=True, help="The admin who confirms them")
    @click.option("--note", default="Recorded before the office checked its couriers' days.",
                  show_default=True)
    def confirm_before(day: Any, username: str, note: str) -> None:
        """Confirm every outcome still reported that arrived before DAY (Viet Nam
        midnight): once, when the office starts checking its couriers' days."""
        from .localtime import day_start
        from .outcomes.service import confirm_before as confirm

        user = _user(username)
        if user.role is not Role.ADMIN or not user.active:
            raise click.ClickException(f"{username} is not an active admin.")
        if not 1 <= len(note.strip()) <= 500:
            raise click.ClickException("The note is 1-500 characters.")
        n = confirm(db.session(), user, day_start(day.date()), note.strip(),
                    now=current_app.config["CLOCK"]())
        click.echo(f"Confirmed {n} outcomes recorded before {day.date().isoformat()}.")

    app.cli.add_command(outcomes)
    app.cli.add_command(gps)
    app.cli.add_command(scans)
    app.cli.add_command(demo)
    app.cli.add_command(users)
    app.cli.add_command(offices)
