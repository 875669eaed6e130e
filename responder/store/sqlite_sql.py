"""The SQLite store's schema and statements.

Every value reaches SQLite as a bound parameter; the only text put together in Python is
the choice among the fixed fragments of :data:`FILTERS`.
"""

from responder.model import DecisionRecord
from responder.store._convert import to_ts

SCHEMA_VERSION = 4

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS claims (
        key TEXT PRIMARY KEY,
        claimed_at REAL NOT NULL
    ) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS claims_by_time ON claims (claimed_at)",
    """CREATE TABLE IF NOT EXISTS jobs (
        key TEXT PRIMARY KEY,
        payload TEXT NOT NULL,
        owner TEXT NOT NULL,
        lease_until REAL NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        sending TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS jobs_by_lease ON jobs (lease_until)",
    """CREATE TABLE IF NOT EXISTS leads (
        lead_id TEXT PRIMARY KEY,
        first_seen REAL,
        last_inbound REAL,
        paused_until REAL
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS last_replies (
        lead_id TEXT NOT NULL,
        rule TEXT NOT NULL,
        at REAL NOT NULL,
        job_key TEXT NOT NULL,
        PRIMARY KEY (lead_id, rule)
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS reply_budget (
        id INTEGER PRIMARY KEY,
        lead_id TEXT NOT NULL,
        rule TEXT NOT NULL,
        at REAL NOT NULL,
        job_key TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS reply_budget_by_lead ON reply_budget (lead_id, at)",
    "CREATE INDEX IF NOT EXISTS reply_budget_by_time ON reply_budget (at)",
    """CREATE TABLE IF NOT EXISTS decisions (
        seq INTEGER PRIMARY KEY,
        key TEXT NOT NULL UNIQUE,
        lead_id TEXT NOT NULL,
        outcome TEXT NOT NULL,
        rule TEXT NOT NULL,
        at REAL NOT NULL,
        reason TEXT NOT NULL,
        reply TEXT NOT NULL,
        message_id TEXT NOT NULL,
        release INTEGER,
        text TEXT NOT NULL DEFAULT '',
        normalized TEXT NOT NULL DEFAULT '',
        unmatched INTEGER NOT NULL DEFAULT 0,
        language TEXT NOT NULL DEFAULT ''
    )""",
    "CREATE INDEX IF NOT EXISTS decisions_by_lead ON decisions (lead_id, at)",
    "CREATE INDEX IF NOT EXISTS decisions_by_outcome ON decisions (outcome, at)",
    "CREATE INDEX IF NOT EXISTS decisions_by_rule ON decisions (rule, at)",
    "CREATE INDEX IF NOT EXISTS decisions_by_time ON decisions (at)",
    # A person's pause per lead; the lead_id '*' is the pause for everyone.
    """CREATE TABLE IF NOT EXISTS pauses (
        lead_id TEXT PRIMARY KEY,
        author TEXT NOT NULL,
        at REAL NOT NULL,
        until REAL,
        note TEXT NOT NULL
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS pause_changes (
        seq INTEGER PRIMARY KEY,
        at REAL NOT NULL,
        lead_id TEXT NOT NULL,
        action TEXT NOT NULL,
        author TEXT NOT NULL,
        until REAL,
        note TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS pause_changes_by_time ON pause_changes (at)",
)

# Columns added since version 1, for files created before them: (table, column, declaration).
ADDED_COLUMNS = (
    ("decisions", "release", "INTEGER"),
    ("decisions", "text", "TEXT NOT NULL DEFAULT ''"),
    ("decisions", "normalized", "TEXT NOT NULL DEFAULT ''"),
    ("decisions", "unmatched", "INTEGER NOT NULL DEFAULT 0"),
    ("decisions", "language", "TEXT NOT NULL DEFAULT ''"),
)

# Indexes on added columns: created once the columns are there.
INDEXES = ("CREATE INDEX IF NOT EXISTS decisions_unmatched ON decisions (at) WHERE unmatched = 1",)

CLAIM = "INSERT OR IGNORE INTO claims (key, claimed_at) VALUES (?, ?)"

PAUSED_UNTIL = "SELECT paused_until FROM leads WHERE lead_id = ?"

RECLAIM = """
    UPDATE jobs SET owner = ?, lease_until = ?, attempts = attempts + 1
    WHERE key IN (SELECT key FROM jobs WHERE lease_until < ? ORDER BY lease_until LIMIT ?)
    RETURNING key, payload, attempts, sending
"""

NOTE_INBOUND = """
    INSERT INTO leads (lead_id, first_seen, last_inbound) VALUES (?, ?, ?)
    ON CONFLICT (lead_id) DO UPDATE SET
        first_seen = min(coalesce(first_seen, excluded.first_seen), excluded.first_seen),
        last_inbound = max(coalesce(last_inbound, excluded.last_inbound), excluded.last_inbound)
"""

PAUSE = """
    INSERT INTO leads (lead_id, paused_until) VALUES (?, ?)
    ON CONFLICT (lead_id) DO UPDATE SET
        paused_until = max(coalesce(paused_until, excluded.paused_until), excluded.paused_until)
"""

GUARDS = """
    SELECT
        (SELECT paused_until FROM leads WHERE lead_id = :lead),
        (SELECT at FROM last_replies WHERE lead_id = :lead AND rule = :rule),
        (SELECT job_key FROM last_replies WHERE lead_id = :lead AND rule = :rule),
        (SELECT count(*) FROM reply_budget WHERE lead_id = :lead AND at > :window_start),
        (SELECT count(*) FROM pauses
            WHERE lead_id IN (:lead, '*') AND (until IS NULL OR until > :at))
"""

HELD = "SELECT lead_id, author, at, until, note FROM pauses WHERE lead_id IN (?, '*')"

PUT_PAUSE = (
    "INSERT OR REPLACE INTO pauses (lead_id, author, at, until, note) VALUES (?, ?, ?, ?, ?)"
)

RECORD_PAUSE_CHANGE = """
    INSERT INTO pause_changes (at, lead_id, action, author, until, note) VALUES (?, ?, ?, ?, ?, ?)
"""

PAUSE_CHANGES = """
    SELECT lead_id, action, author, at, until, note FROM pause_changes ORDER BY seq DESC LIMIT ?
"""

RUNNING_PAUSES = """
    SELECT lead_id, author, at, until, note FROM pauses WHERE until IS NULL OR until > ?
    ORDER BY lead_id != '*', lead_id
"""

INSERT_DECISION = """
    INSERT OR IGNORE INTO decisions
        (key, lead_id, outcome, rule, at, reason, reply, message_id, release, text, normalized,
         unmatched, language)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""

COLUMNS = (
    "key, lead_id, outcome, rule, at, reason, reply, message_id, release, text, normalized,"
    " unmatched, language"
)

SELECT_DECISIONS = "SELECT " + COLUMNS + " FROM decisions"  # noqa: S608 (constants only)

SELECT_ACTIVITY = "SELECT seq, " + COLUMNS + " FROM decisions"  # noqa: S608 (constants only)


def decision_row(record: DecisionRecord) -> tuple[str | float | int | None, ...]:
    """The values of :data:`INSERT_DECISION` for ``record``."""
    return (
        record.key,
        record.lead_id,
        record.outcome.value,
        record.rule,
        to_ts(record.at),
        record.reason,
        record.reply,
        record.message_id,
        record.release,
        record.text,
        record.normalized,
        int(record.unmatched),
        record.language,
    )


# Filters of activity(): fixed SQL fragments; only the bound values come from the caller.
FILTERS = {
    "lead_id": "lead_id = ?",
    "outcome": "outcome = ?",
    "rule": "rule = ?",
    "contains": "instr(normalized, ?) > 0",
    "since": "at >= ?",
}
# Older than the last decision of the page before: (at, seq) after it in ORDER BY.
BEFORE = "(at < ? OR (at = ? AND seq < ?))"

# The bare columns (lead_id, text) come from the row with max(at), as SQLite documents.
UNANSWERED = """
    SELECT normalized, count(*), max(at), lead_id, text FROM decisions
    WHERE unmatched = 1 AND at >= ?
    GROUP BY normalized ORDER BY count(*) DESC, max(at) DESC LIMIT ?
"""
