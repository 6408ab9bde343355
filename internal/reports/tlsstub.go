package reports

import (
	"context"
	"errors"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

func (s *Scheduler) tlsReport(ctx context.Context, domain string, day time.Time, rows []store.ReportRow, now time.Time) (*report, error) {
	return nil, errors.New("reports: TLS reports not implemented")
}
