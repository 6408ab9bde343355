package sqlite

import (
	"context"
	"database/sql"
	"net/netip"
	"strings"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

// AppendLog adds an entry; a zero Time means now.
func (s *Store) AppendLog(ctx context.Context, e store.LogEntry) (store.LogEntry, error) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	e.Time = fromMicros(e.Time.UnixMicro())
	ip := ""
	if e.RemoteIP.IsValid() {
		e.RemoteIP = e.RemoteIP.WithZone("") // as the PostgreSQL backend's inet
		ip = e.RemoteIP.String()
	}
	err := s.write(ctx, false, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO log(time, account_id, kind, protocol, remote_ip, reverse_dns, client, method, outcome, detail)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			micros(e.Time), e.AccountID, e.Kind, e.Protocol, ip, e.ReverseDNS, e.Client, e.Method, e.Outcome, e.Detail).Scan(&e.ID)
	})
	return e, wrap("append log", err)
}

// QueryLog returns matching entries, newest first.
func (s *Store) QueryLog(ctx context.Context, q store.LogQuery) ([]store.LogEntry, error) {
	var where []string
	var args []any
	if q.AccountID != 0 {
		where, args = append(where, "account_id = ?"), append(args, q.AccountID)
	}
	if q.Kind != "" {
		where, args = append(where, "kind = ?"), append(args, q.Kind)
	}
	if !q.Since.IsZero() {
		where, args = append(where, "time >= ?"), append(args, micros(q.Since))
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	query := "SELECT id, time, account_id, kind, protocol, remote_ip, reverse_dns, client, method, outcome, detail FROM log"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY time DESC, id DESC LIMIT ?"
	rows, err := s.r.QueryContext(ctx, query, append(args, limit)...)
	if err != nil {
		return nil, wrap("query log", err)
	}
	defer rows.Close()
	var out []store.LogEntry
	for rows.Next() {
		var e store.LogEntry
		var t int64
		var ip string
		if err := rows.Scan(&e.ID, &t, &e.AccountID, &e.Kind, &e.Protocol, &ip, &e.ReverseDNS, &e.Client, &e.Method, &e.Outcome, &e.Detail); err != nil {
			return nil, wrap("query log", err)
		}
		e.Time = fromMicros(t)
		if ip != "" {
			e.RemoteIP, _ = netip.ParseAddr(ip)
		}
		out = append(out, e)
	}
	return out, wrap("query log", rows.Err())
}

// PruneLog deletes entries older than before.
func (s *Store) PruneLog(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, false, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM log WHERE time < ?", micros(before))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, wrap("prune log", err)
}
