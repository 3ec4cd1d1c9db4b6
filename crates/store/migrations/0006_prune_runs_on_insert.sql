-- Each server keeps its last 200 runs. Pruning in a trigger makes a start one statement: a
-- server in a crash loop starts many times a second, and each statement is a round trip to
-- the database thread.
CREATE TRIGGER runs_keep_last_200 AFTER INSERT ON runs
BEGIN
    DELETE FROM runs
    WHERE server = NEW.server
      AND id <= (SELECT id FROM runs WHERE server = NEW.server ORDER BY id DESC LIMIT 1 OFFSET 200);
END;
