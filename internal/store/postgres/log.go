package postgres

import (
	"context"
	"net/netip"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"sealpost.dev/sealpost/internal/store"
)

// AppendLog adds an entry; a zero Time means now.
func (s *Store) AppendLog(ctx context.Context, e store.LogEntry) (store.LogEntry, error) {
	if e.Time.IsZero() {
		e.Time = now()
	} else {
		e.Time = dbTime(e.Time)
	}
	var ip *string
	if e.RemoteIP.IsValid() {
		e.RemoteIP = e.RemoteIP.WithZone("") // inet has no zones; both backends drop them
		v := e.RemoteIP.String()
		ip = &v
	}
	err := s.pool.QueryRow(ctx, `INSERT INTO log (time, account_id, kind, protocol, remote_ip, reverse_dns, client, method, outcome, detail)
		VALUES ($1, $2, $3, $4, $5::inet, $6, $7, $8, $9, $10) RETURNING id`,
		e.Time, e.AccountID, e.Kind, e.Protocol, ip, e.ReverseDNS, e.Client, e.Method, e.Outcome, e.Detail).Scan(&e.ID)
	if err != nil {
		return store.LogEntry{}, mapErr(err, "append log", nil)
	}
	return e, nil
}

// QueryLog returns matching entries, newest first.
func (s *Store) QueryLog(ctx context.Context, q store.LogQuery) ([]store.LogEntry, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	var since *time.Time
	if !q.Since.IsZero() {
		t := dbTime(q.Since)
		since = &t
	}
	rows, err := s.pool.Query(ctx, `SELECT id, time, account_id, kind, protocol, host(remote_ip), reverse_dns, client, method, outcome, detail
		FROM log
		WHERE ($1 = 0 OR account_id = $1) AND ($2 = '' OR kind = $2) AND ($3::timestamptz IS NULL OR time >= $3)
		ORDER BY time DESC, id DESC LIMIT $4`, q.AccountID, q.Kind, since, limit)
	if err != nil {
		return nil, mapErr(err, "query log", nil)
	}
	es, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.LogEntry, error) {
		var e store.LogEntry
		var ip *string
		err := r.Scan(&e.ID, &e.Time, &e.AccountID, &e.Kind, &e.Protocol, &ip, &e.ReverseDNS, &e.Client, &e.Method, &e.Outcome, &e.Detail)
		e.Time = e.Time.UTC()
		if err == nil && ip != nil {
			e.RemoteIP, err = netip.ParseAddr(*ip)
		}
		return e, err
	})
	if err != nil {
		return nil, mapErr(err, "query log", nil)
	}
	return es, nil
}

// PruneLog deletes entries older than before.
func (s *Store) PruneLog(ctx context.Context, before time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, "DELETE FROM log WHERE time < $1", dbTime(before))
	if err != nil {
		return 0, mapErr(err, "prune log", nil)
	}
	return tag.RowsAffected(), nil
}

// prefixed qualifies each column of a comma-separated list with p.
func prefixed(p, cols string) string {
	fields := strings.Split(cols, ", ")
	for i, f := range fields {
		fields[i] = p + f
	}
	return strings.Join(fields, ", ")
}
