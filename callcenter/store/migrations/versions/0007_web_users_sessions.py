"""web_users (who may log in to the web pages: a role, the extension it speaks for, a password hash) and
web_sessions (logged-in browsers: the hash of the session cookie, its CSRF token, when it expires)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_users",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("extension", sa.String(16), nullable=False, server_default=""),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False, server_default="false"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("username", name="web_users_username_key"),
        sa.CheckConstraint("role IN ('agent', 'supervisor', 'admin')", name="web_users_role_check"),
    )
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        # The cookie holds a random token; only its SHA-256 is stored, so a database dump opens no session.
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("address", sa.String(64), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("token_hash", name="web_sessions_token_hash_key"),
        sa.Index("web_sessions_username_idx", "username"),
    )


def downgrade() -> None:
    op.drop_table("web_sessions")
    op.drop_table("web_users")
