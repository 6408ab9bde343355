package sqlite

import (
	"context"
	"database/sql"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

// CountReportRow adds n to the count of an identical report row.
func (s *Store) CountReportRow(ctx context.Context, kind store.ReportKind, day time.Time, domain string, data []byte, n int64) error {
	if err := store.CheckReportRow(kind, domain, data, n); err != nil {
		return wrap("count report row", err)
	}
	err := s.write(ctx, false, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO report_rows(kind, day, domain, row_key, data, count) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT(kind, day, domain, row_key) DO UPDATE SET count = count + excluded.count`,
			string(kind), store.ReportDay(day).UnixMicro(), domain, store.ReportRowKey(data), data, n)
		return err
	})
	return wrap("count report row", err)
}

// ReportRows returns the rows of kind counted on day.
func (s *Store) ReportRows(ctx context.Context, kind store.ReportKind, day time.Time) ([]store.ReportRow, error) {
	d := store.ReportDay(day)
	rows, err := s.r.QueryContext(ctx, `SELECT domain, data, count FROM report_rows WHERE kind = ? AND day = ?
		ORDER BY domain, data`, string(kind), d.UnixMicro())
	if err != nil {
		return nil, wrap("report rows", err)
	}
	defer rows.Close()
	var out []store.ReportRow
	for rows.Next() {
		r := store.ReportRow{Kind: kind, Day: d}
		if err := rows.Scan(&r.Domain, &r.Data, &r.Count); err != nil {
			return nil, wrap("report rows", err)
		}
		out = append(out, r)
	}
	return out, wrap("report rows", rows.Err())
}

// DeleteReportRows removes the rows of kind counted before before's day.
func (s *Store) DeleteReportRows(ctx context.Context, kind store.ReportKind, before time.Time) (int, error) {
	var n int64
	err := s.write(ctx, false, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM report_rows WHERE kind = ? AND day < ?",
			string(kind), store.ReportDay(before).UnixMicro())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), wrap("delete report rows", err)
}

// AddReceivedReport stores a received report.
func (s *Store) AddReceivedReport(ctx context.Context, r store.ReceivedReport) (int64, error) {
	if err := store.CheckReceivedReport(r); err != nil {
		return 0, wrap("add received report", err)
	}
	if r.Data == nil {
		r.Data = []byte{}
	}
	var id int64
	err := s.write(ctx, false, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO received_reports(kind, domain, org, report_id, begin_at, end_at, received, data)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, string(r.Kind), r.Domain, r.Org, r.ReportID,
			r.Begin.UnixMicro(), r.End.UnixMicro(), time.Now().UnixMicro(), r.Data).Scan(&id)
	})
	return id, wrap("add received report", err)
}

// ListReceivedReports returns the received reports of kind about domain.
func (s *Store) ListReceivedReports(ctx context.Context, kind store.ReportKind, domain string, since time.Time) ([]store.ReceivedReport, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, domain, org, report_id, begin_at, end_at, received, data FROM received_reports
		WHERE kind = ? AND (? = '' OR domain = ?) AND end_at > ? ORDER BY begin_at, id`,
		string(kind), domain, domain, since.UnixMicro())
	if err != nil {
		return nil, wrap("received reports", err)
	}
	defer rows.Close()
	var out []store.ReceivedReport
	for rows.Next() {
		r := store.ReceivedReport{Kind: kind}
		var begin, end, received int64
		if err := rows.Scan(&r.ID, &r.Domain, &r.Org, &r.ReportID, &begin, &end, &received, &r.Data); err != nil {
			return nil, wrap("received reports", err)
		}
		r.Begin, r.End, r.Received = time.UnixMicro(begin).UTC(), time.UnixMicro(end).UTC(), time.UnixMicro(received).UTC()
		out = append(out, r)
	}
	return out, wrap("received reports", rows.Err())
}
