-- Journal first, then write: a row is `pending` (with the ownership the write is to leave)
-- before the client's file is touched, `done` once it is written. A pending row found at
-- start is settled by what the file holds: the bytes after (done), the bytes before (the row
-- goes), or neither (`drifted`: someone else changed the file; never undone over them).
ALTER TABLE client_journal ADD COLUMN state TEXT NOT NULL DEFAULT 'done';
ALTER TABLE client_journal ADD COLUMN ownership_after TEXT;
