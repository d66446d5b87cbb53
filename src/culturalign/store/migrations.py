"""Schema migrations, append-only: never edit a released step, add a new one."""

MIGRATIONS: list[str] = [
    # 1: runs, the call cache, which calls each run asked for, and stage results.
    """
    CREATE TABLE runs (
        run_id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        probe TEXT NOT NULL,
        config_json TEXT NOT NULL,
        package_version TEXT NOT NULL,
        started_at TEXT NOT NULL,
        ended_at TEXT,
        status TEXT NOT NULL DEFAULT 'running'
    );
    CREATE TABLE calls (
        key TEXT PRIMARY KEY,
        model_name TEXT NOT NULL,
        model_json TEXT NOT NULL,
        params_json TEXT NOT NULL,
        messages_json TEXT NOT NULL,
        sample_index INTEGER NOT NULL,
        response TEXT,
        input_tokens INTEGER,
        output_tokens INTEGER,
        latency_s REAL,
        retries INTEGER NOT NULL DEFAULT 0,
        attempts INTEGER NOT NULL DEFAULT 0,
        error TEXT,
        finish_reason TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE run_requests (
        run_id TEXT NOT NULL REFERENCES runs(run_id),
        stage TEXT NOT NULL,
        key TEXT NOT NULL,
        meta_json TEXT NOT NULL,
        PRIMARY KEY (run_id, stage, key)
    );
    CREATE TABLE results (
        run_id TEXT NOT NULL REFERENCES runs(run_id),
        stage TEXT NOT NULL,
        key TEXT NOT NULL,
        payload_json TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (run_id, stage, key)
    );
    CREATE INDEX run_requests_key ON run_requests(key);
    """,
    # 2: one row per (run, stage, model) each time the runner works on a stage, for the
    # end-of-run summary (cached vs asked, wall time) and `culturalign runs`.
    """
    CREATE TABLE stage_runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id TEXT NOT NULL REFERENCES runs(run_id),
        stage TEXT NOT NULL,
        model_name TEXT NOT NULL,
        started_at TEXT NOT NULL,
        ended_at TEXT,
        wall_s REAL,
        total INTEGER NOT NULL,
        cached INTEGER NOT NULL,
        asked INTEGER NOT NULL,
        answered INTEGER NOT NULL DEFAULT 0,
        failed INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX stage_runs_run ON stage_runs(run_id, stage);
    """,
    # 3: who holds each run (one process per run: pid, host and a lease renewed by a heartbeat),
    # and which culturalign applied each migration, so that an older one can say which it needs.
    """
    CREATE TABLE run_holders (
        run_id TEXT PRIMARY KEY REFERENCES runs(run_id),
        token TEXT NOT NULL,
        pid INTEGER NOT NULL,
        host TEXT NOT NULL,
        pid_started TEXT,
        since TEXT NOT NULL,
        heartbeat REAL NOT NULL,
        expires REAL NOT NULL
    );
    ALTER TABLE schema_migrations ADD COLUMN package_version TEXT;
    """,
    # 4: batches sent to a provider's Batch API or written as batch files, and the requests
    # each carries, so a process that dies while a batch runs picks it up instead of paying
    # twice, and an output file maps back to its requests by custom_id. And, per runner pass,
    # how a model's requests spread over its endpoints.
    """
    CREATE TABLE batches (
        batch_id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        model_name TEXT NOT NULL,
        endpoint TEXT,
        input_file_id TEXT,
        provider_batch_id TEXT,
        output_file_id TEXT,
        error_file_id TEXT,
        status TEXT NOT NULL,
        request_count INTEGER NOT NULL,
        note TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE batch_items (
        batch_id TEXT NOT NULL REFERENCES batches(batch_id),
        key TEXT NOT NULL,
        request_json TEXT NOT NULL,
        PRIMARY KEY (batch_id, key)
    );
    CREATE INDEX batch_items_key ON batch_items(key);
    ALTER TABLE stage_runs ADD COLUMN endpoints_json TEXT;
    """,
]
