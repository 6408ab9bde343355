// Package storeint runs package reports against the real backends: rows
// counted, reports queued and the record of what was sent surviving a
// restart, in SQLite and, when SEALPOST_TEST_POSTGRES names a server,
// PostgreSQL. It lives apart from package reports so that the fuzz
// targets there do not link (and instrument) the SQLite engine.
package storeint
