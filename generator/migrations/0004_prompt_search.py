# Prompt search: full-text index per database vendor (queried by generator/search.py).
#
# PostgreSQL: a GIN index on the exact expression SearchVector("prompt", config="english")
# produces, so the planner uses it.
# SQLite: an FTS5 table whose content is generator_generation.prompt (external content: the
# text is stored once), kept in sync by triggers, and filled from the existing rows.
#
# Note for later migrations: on SQLite, Django changes some columns by re-creating the table,
# which drops its triggers. A migration that re-creates generator_generation must run
# SQLITE_TRIGGERS again (tests/test_search.py fails if the index falls out of sync).

from django.db import migrations

SQLITE_TABLE = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS generator_prompt_fts USING fts5("
    "prompt, content='generator_generation', content_rowid='id', "
    "tokenize='porter unicode61 remove_diacritics 2')",
]
SQLITE_TRIGGERS = [
    "CREATE TRIGGER IF NOT EXISTS generator_prompt_fts_insert AFTER INSERT ON generator_generation "
    "BEGIN INSERT INTO generator_prompt_fts(rowid, prompt) VALUES (new.id, new.prompt); END",
    "CREATE TRIGGER IF NOT EXISTS generator_prompt_fts_delete AFTER DELETE ON generator_generation "
    "BEGIN INSERT INTO generator_prompt_fts(generator_prompt_fts, rowid, prompt) "
    "VALUES ('delete', old.id, old.prompt); END",
    "CREATE TRIGGER IF NOT EXISTS generator_prompt_fts_update AFTER UPDATE OF prompt "
    "ON generator_generation BEGIN "
    "INSERT INTO generator_prompt_fts(generator_prompt_fts, rowid, prompt) "
    "VALUES ('delete', old.id, old.prompt); "
    "INSERT INTO generator_prompt_fts(rowid, prompt) VALUES (new.id, new.prompt); END",
]
SQLITE_REBUILD = ["INSERT INTO generator_prompt_fts(generator_prompt_fts) VALUES ('rebuild')"]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS generator_prompt_fts_insert",
    "DROP TRIGGER IF EXISTS generator_prompt_fts_delete",
    "DROP TRIGGER IF EXISTS generator_prompt_fts_update",
    "DROP TABLE IF EXISTS generator_prompt_fts",
]
POSTGRES_INDEX = [
    "CREATE INDEX IF NOT EXISTS generator_generation_prompt_search ON generator_generation "
    "USING gin (to_tsvector('english'::regconfig, COALESCE(prompt, '')))",
]
POSTGRES_DROP = ["DROP INDEX IF EXISTS generator_generation_prompt_search"]


def _run(schema_editor, statements):
    for statement in statements:
        schema_editor.execute(statement, params=None)


def create_search_index(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        _run(schema_editor, SQLITE_TABLE + SQLITE_TRIGGERS + SQLITE_REBUILD)
    elif vendor == "postgresql":
        _run(schema_editor, POSTGRES_INDEX)


def drop_search_index(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        _run(schema_editor, SQLITE_DROP)
    elif vendor == "postgresql":
        _run(schema_editor, POSTGRES_DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("generator", "0003_favourites"),
    ]

    operations = [
        migrations.RunPython(create_search_index, drop_search_index, elidable=False),
    ]
