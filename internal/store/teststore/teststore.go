// Package teststore opens Sealpost's storage backends for the tests of
// packages that work over store.Store: SQLite always, PostgreSQL when
// SEALPOST_TEST_POSTGRES names a server (and must, when
// SEALPOST_REQUIRE_POSTGRES is set). It is for tests only.
package teststore

import (
	"os"
	"testing"

	"sealpost.dev/sealpost/internal/store"
	"sealpost.dev/sealpost/internal/store/postgres"
	"sealpost.dev/sealpost/internal/store/sqlite"
	"sealpost.dev/sealpost/internal/store/storetest"
)

// Backends returns an opener per backend. Each call of an opener opens
// the same store again, as a restart would; the store is closed when the
// calling test ends.
func Backends(t *testing.T) map[string]func(t *testing.T) store.Store {
	dir := t.TempDir()
	bs := map[string]func(t *testing.T) store.Store{"sqlite": func(t *testing.T) store.Store {
		st, err := sqlite.Open(t.Context(), dir, sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}}
	if dsn := os.Getenv("SEALPOST_TEST_POSTGRES"); dsn != "" {
		db := storetest.PostgresDatabase(t, dsn, "")
		bs["postgres"] = func(t *testing.T) store.Store {
			st, err := postgres.Open(t.Context(), db, postgres.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		}
	} else if os.Getenv("SEALPOST_REQUIRE_POSTGRES") != "" {
		t.Fatal("SEALPOST_TEST_POSTGRES not set, and SEALPOST_REQUIRE_POSTGRES says PostgreSQL tests must run")
	}
	return bs
}
