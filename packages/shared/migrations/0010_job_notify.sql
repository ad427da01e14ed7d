-- Live job events: every committed change of a job is announced on the channel a4c_job_changed
-- (NOTIFY is delivered at commit, in commit order; nothing if the transaction rolls back). The
-- read-api listens and streams the changes to clients (GET /v1/jobs/events). The payload is small
-- and holds no secret: which job, whose, and where it is.
CREATE FUNCTION a4c_job_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('a4c_job_changed', json_build_object(
    'id', NEW.id, 'userId', NEW.user_id, 'type', NEW.type, 'status', NEW.status, 'step', NEW.step,
    'version', NEW.version)::text);
  RETURN NULL;
END $$;

CREATE TRIGGER job_changed AFTER INSERT OR UPDATE ON job FOR EACH ROW EXECUTE FUNCTION a4c_job_changed();
