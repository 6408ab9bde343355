package sqlite

import (
	"fmt"
	"testing"
)

// TestReadPoolKeepsBoundedStatements: statements are kept once per query
// string, at most maxReadStmts of them, and queries beyond the bound still
// run.
func TestReadPoolKeepsBoundedStatements(t *testing.T) {
	s := openTest(t, t.TempDir())
	defer s.Close()
	ctx := t.Context()
	for i := range maxReadStmts + 10 {
		var got int
		q := fmt.Sprintf("SELECT %d + ?", i)
		if err := s.r.QueryRowContext(ctx, q, 1).Scan(&got); err != nil || got != i+1 {
			t.Fatalf("%s: %d, %v", q, got, err)
		}
		rows, err := s.r.QueryContext(ctx, q, 2)
		if err != nil {
			t.Fatal(err)
		}
		if !rows.Next() || rows.Scan(&got) != nil || got != i+2 {
			t.Fatalf("%s through QueryContext: %d", q, got)
		}
		rows.Close()
	}
	if n := len(s.r.stmts); n != maxReadStmts {
		t.Errorf("%d statements kept, want the bound %d", n, maxReadStmts)
	}
	// A query that cannot be prepared reports its error.
	if _, err := s.r.QueryContext(ctx, "SELECT nonsense FROM nowhere"); err == nil {
		t.Error("a bad query gave no error")
	}
	if err := s.r.QueryRowContext(ctx, "SELECT nonsense FROM nowhere").Scan(new(int)); err == nil {
		t.Error("a bad query row gave no error")
	}
}
