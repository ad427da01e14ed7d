/**
 * A write that can never be applied, for the give-up path: a trigger fails the inserts into
 * `table` that match `when` with a serialization failure (retryable, so the processor retries it
 * until it gives up to the DLQ). `cure` takes it away, so a replay can then apply the write.
 */
export const poison = (table: string, when: string) => `
  CREATE OR REPLACE FUNCTION poison_${table}() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF ${when} THEN RAISE EXCEPTION 'simulated serialization failure' USING ERRCODE = '40001'; END IF;
    RETURN NEW;
  END $$;
  CREATE TRIGGER poison BEFORE INSERT ON ${table} FOR EACH ROW EXECUTE FUNCTION poison_${table}();`;

export const cure = (table: string) => `DROP TRIGGER poison ON ${table}; DROP FUNCTION poison_${table}();`;
