-- whyline PostgreSQL store, migration 1: the tables. The ledger's bytes are the source of truth;
-- every row holds exactly the bytes one Store::append (one frame, or the 16-byte log header)
-- or one side-log record wrote, at its byte offset in that log.

-- One row per log: several logs share a database, each named by the URL's `log` parameter.
CREATE TABLE whyline_logs (
    log_id     integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- The entry log: append-only rows (byte offset, bytes). Offsets are contiguous: each row
-- starts where the previous one ends.
CREATE TABLE whyline_frames (
    log_id       integer NOT NULL REFERENCES whyline_logs (log_id),
    start_offset bigint  NOT NULL CHECK (start_offset >= 0),
    bytes        bytea   NOT NULL,
    PRIMARY KEY (log_id, start_offset)
);

-- The two side logs: signed checkpoints and the sparse time index, one row per record.
CREATE TABLE whyline_side_records (
    log_id       integer NOT NULL REFERENCES whyline_logs (log_id),
    side         text    NOT NULL CHECK (side IN ('checkpoints', 'time_index')),
    start_offset bigint  NOT NULL CHECK (start_offset >= 0),
    bytes        bytea   NOT NULL,
    PRIMARY KEY (log_id, side, start_offset)
);
