package postgres

import (
	"context"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

// CountReportRow adds n to the count of an identical report row.
func (s *Store) CountReportRow(ctx context.Context, kind store.ReportKind, day time.Time, domain string, data []byte, n int64) error {
	if err := store.CheckReportRow(kind, domain, data, n); err != nil {
		return mapErr(err, "count report row", nil)
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO report_rows(kind, day, domain, row_key, data, count) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT(kind, day, domain, row_key) DO UPDATE SET count = report_rows.count + excluded.count`,
		string(kind), store.ReportDay(day), domain, store.ReportRowKey(data), data, n)
	return mapErr(err, "count report row", nil)
}

// ReportRows returns the rows of kind counted on day.
func (s *Store) ReportRows(ctx context.Context, kind store.ReportKind, day time.Time) ([]store.ReportRow, error) {
	d := store.ReportDay(day)
	rows, err := s.pool.Query(ctx, `SELECT domain, data, count FROM report_rows WHERE kind = $1 AND day = $2
		ORDER BY domain COLLATE "C", data`, string(kind), d)
	if err != nil {
		return nil, mapErr(err, "report rows", nil)
	}
	defer rows.Close()
	var out []store.ReportRow
	for rows.Next() {
		r := store.ReportRow{Kind: kind, Day: d}
		if err := rows.Scan(&r.Domain, &r.Data, &r.Count); err != nil {
			return nil, mapErr(err, "report rows", nil)
		}
		out = append(out, r)
	}
	return out, mapErr(rows.Err(), "report rows", nil)
}

// DeleteReportRows removes the rows of kind counted before before's day.
func (s *Store) DeleteReportRows(ctx context.Context, kind store.ReportKind, before time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, "DELETE FROM report_rows WHERE kind = $1 AND day < $2", string(kind), store.ReportDay(before))
	if err != nil {
		return 0, mapErr(err, "delete report rows", nil)
	}
	return int(tag.RowsAffected()), nil
}

// AddReceivedReport stores a received report.
func (s *Store) AddReceivedReport(ctx context.Context, r store.ReceivedReport) (int64, error) {
	if err := store.CheckReceivedReport(r); err != nil {
		return 0, mapErr(err, "add received report", nil)
	}
	if r.Data == nil {
		r.Data = []byte{}
	}
	var id int64
	err := s.pool.QueryRow(ctx, `INSERT INTO received_reports(kind, domain, org, report_id, begin_at, end_at, received, data)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`, string(r.Kind), r.Domain, r.Org, r.ReportID,
		dbTime(r.Begin), dbTime(r.End), now(), r.Data).Scan(&id)
	return id, mapErr(err, "add received report", nil)
}

// ListReceivedReports returns the received reports of kind about domain.
func (s *Store) ListReceivedReports(ctx context.Context, kind store.ReportKind, domain string, since time.Time) ([]store.ReceivedReport, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, domain, org, report_id, begin_at, end_at, received, data FROM received_reports
		WHERE kind = $1 AND ($2 = '' OR domain = $2) AND end_at > $3 ORDER BY begin_at, id`,
		string(kind), domain, dbTime(since))
	if err != nil {
		return nil, mapErr(err, "received reports", nil)
	}
	defer rows.Close()
	var out []store.ReceivedReport
	for rows.Next() {
		r := store.ReceivedReport{Kind: kind}
		if err := rows.Scan(&r.ID, &r.Domain, &r.Org, &r.ReportID, &r.Begin, &r.End, &r.Received, &r.Data); err != nil {
			return nil, mapErr(err, "received reports", nil)
		}
		r.Begin, r.End, r.Received = r.Begin.UTC(), r.End.UTC(), r.Received.UTC()
		out = append(out, r)
	}
	return out, mapErr(rows.Err(), "received reports", nil)
}
