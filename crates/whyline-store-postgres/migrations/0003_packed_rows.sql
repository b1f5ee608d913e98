-- whyline PostgreSQL store, migration 3: a row of whyline_frames may hold several consecutive
-- frames. A commit packs the frames it writes into rows of up to ~1.9 KB (under PostgreSQL's
-- TOAST threshold), so it writes a tenth of the tuples and primary-key entries. The table is
-- unchanged: a row is still the bytes at its start offset, rows are still contiguous, and the
-- ledger's readers and `whyline verify` read bytes by offset as before. Only the decoding view
-- changes: it now walks the frames inside each row (rows written before hold one frame each,
-- and the header row at offset 0 the 16-byte header alone; both decode as before).

-- The payload length of the frame at byte `at` (0-based) of `b`, NULL when its 4 bytes are not
-- all there.
CREATE FUNCTION whyline_frame_length(b bytea, at bigint) RETURNS bigint
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT CASE WHEN length(b) >= at + 4 THEN
                     get_byte(b, at::integer)::bigint
                     + get_byte(b, (at + 1)::integer)::bigint * 256
                     + get_byte(b, (at + 2)::integer)::bigint * 65536
                     + get_byte(b, (at + 3)::integer)::bigint * 16777216
                 END $$;

-- One row per entry, as in migration 2: its index, frame offset, payload, the stored chain hash
-- and the RFC 6962 leaf hash SHA-256(0x00 || payload) recomputed. A frame is 16 bytes of
-- header (length, index, header CRC), the payload, the 32-byte chain hash and a 4-byte CRC.
CREATE OR REPLACE VIEW whyline_entries AS
WITH RECURSIVE walk (log_id, row_offset, bytes, at) AS (
    SELECT f.log_id, f.start_offset, f.bytes,
           CASE WHEN f.start_offset = 0 THEN 16::bigint ELSE 0::bigint END
    FROM whyline_frames f
  UNION ALL
    SELECT w.log_id, w.row_offset, w.bytes, w.at + 52 + whyline_frame_length(w.bytes, w.at)
    FROM walk w
    WHERE w.at + 52 + whyline_frame_length(w.bytes, w.at) < length(w.bytes)
),
frames (log_id, byte_offset, frame) AS (
    SELECT log_id, row_offset + at,
           substring(bytes FROM (at + 1)::integer
                     FOR least(52 + whyline_frame_length(bytes, at), length(bytes) - at)::integer)
    FROM walk
    WHERE length(bytes) - at >= 52
)
SELECT l.name                                                       AS log_name,
       fr.log_id,
       whyline_le_uint(substring(fr.frame FROM 5 FOR 8))::bigint    AS entry_index,
       fr.byte_offset,
       substring(fr.frame FROM 17 FOR length(fr.frame) - 52)        AS payload,
       substring(fr.frame FROM length(fr.frame) - 35 FOR 32)        AS chain_hash,
       sha256('\x00'::bytea || substring(fr.frame FROM 17 FOR length(fr.frame) - 52)) AS leaf_hash
FROM frames fr
JOIN whyline_logs l USING (log_id);
