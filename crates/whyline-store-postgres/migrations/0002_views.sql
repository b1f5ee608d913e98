-- whyline PostgreSQL store, migration 2: read-only views a DBA or an auditor can query. They
-- decode the stored bytes (docs/ledger-format.md); verification never reads them, it
-- re-hashes the bytes of whyline_frames.

-- A little-endian unsigned integer from bytes.
CREATE FUNCTION whyline_le_uint(b bytea) RETURNS numeric
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT coalesce(sum(get_byte(b, i)::numeric * (256::numeric ^ i)), 0)
          FROM generate_series(0, length(b) - 1) AS i $$;

-- One row per entry: its index, frame offset, payload (the APRT record or evidence), the
-- stored chain hash and the RFC 6962 leaf hash SHA-256(0x00 || payload) recomputed.
CREATE VIEW whyline_entries AS
SELECT l.name                                                     AS log_name,
       f.log_id,
       whyline_le_uint(substring(f.bytes FROM 5 FOR 8))::bigint   AS entry_index,
       f.start_offset                                             AS byte_offset,
       substring(f.bytes FROM 17 FOR length(f.bytes) - 52)        AS payload,
       substring(f.bytes FROM length(f.bytes) - 35 FOR 32)        AS chain_hash,
       sha256('\x00'::bytea || substring(f.bytes FROM 17 FOR length(f.bytes) - 52)) AS leaf_hash
FROM whyline_frames f
JOIN whyline_logs l USING (log_id)
WHERE f.start_offset > 0 AND length(f.bytes) >= 52;

-- One row per signed checkpoint record: the C2SP note, its tree size and root (base64).
CREATE VIEW whyline_checkpoints AS
SELECT l.name                                                     AS log_name,
       s.log_id,
       s.start_offset                                             AS record_offset,
       split_part(convert_from(substring(s.bytes FROM 9), 'UTF8'), E'\n', 2) AS tree_size,
       split_part(convert_from(substring(s.bytes FROM 9), 'UTF8'), E'\n', 3) AS root_base64,
       convert_from(substring(s.bytes FROM 9), 'UTF8')            AS note
FROM whyline_side_records s
JOIN whyline_logs l USING (log_id)
WHERE s.side = 'checkpoints' AND length(s.bytes) >= 8;

-- One row per block of the time index (32-byte records; one stored row may hold several, as
-- recovery rewrites the index in one append): first entry, its frame offset, the time span.
CREATE VIEW whyline_time_index AS
SELECT l.name                                                               AS log_name,
       s.log_id,
       whyline_le_uint(substring(s.bytes FROM k * 32 + 1 FOR 8))           AS first_index,
       whyline_le_uint(substring(s.bytes FROM k * 32 + 9 FOR 8))           AS byte_offset,
       whyline_le_uint(substring(s.bytes FROM k * 32 + 17 FOR 8))          AS min_timestamp_ns,
       whyline_le_uint(substring(s.bytes FROM k * 32 + 25 FOR 8))          AS max_timestamp_ns
FROM whyline_side_records s
JOIN whyline_logs l USING (log_id)
CROSS JOIN LATERAL generate_series(0, length(s.bytes) / 32 - 1) AS k
WHERE s.side = 'time_index';
