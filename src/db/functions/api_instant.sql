-- An instant as the API renders it (JavaScript's toISOString, UTC, milliseconds), for event data.
CREATE OR REPLACE FUNCTION api_instant(p_at timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT to_char(p_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;
