"""user ids are never reused (SQLite AUTOINCREMENT)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 04:30:00.000000

SQLite hands a deleted user's id to the next registration unless the table is declared
AUTOINCREMENT, which only a table rebuild can add (batch mode). Foreign keys are switched
off around the rebuild, as SQLite's documentation prescribes: otherwise dropping the old
table would cascade and delete every post. PostgreSQL sequences never reuse ids: no-op.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def _rebuild_user_table(autoincrement):
    if op.get_bind().dialect.name != "sqlite":
        return
    context = op.get_context()
    with context.autocommit_block():
        op.execute("PRAGMA foreign_keys=OFF")
    try:
        with op.batch_alter_table(
            "user", recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
        ):
            pass
        problems = op.get_bind().exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if problems:
            raise RuntimeError(f"foreign keys broken by the user table rebuild: {problems}")
    finally:
        with context.autocommit_block():
            op.execute("PRAGMA foreign_keys=ON")


def upgrade():
    _rebuild_user_table(autoincrement=True)


def downgrade():
    _rebuild_user_table(autoincrement=False)
