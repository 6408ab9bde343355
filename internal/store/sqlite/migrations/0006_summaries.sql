-- Sealpost embedded schema, version 6: each body's summary (package
-- mimeinfo's encoding: MIME structure, envelope, preview), computed once
-- when the body is stored so that FETCH need not parse it. NULL for bodies
-- stored before, until a FETCH computes it.
ALTER TABLE blobs ADD COLUMN summary BLOB;
