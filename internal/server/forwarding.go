package server

import (
	"context"
	"time"
)

// forwardReminderInterval is how often the server looks for active
// outside forwards due a reminder to their owner: the reminders come a
// day and a week after a forward became active, so within an hour of
// that is on time.
const forwardReminderInterval = time.Hour

// remindForwarding sends the reminders of active outside forwards
// (account.Service.RemindForwarding) at start and then every
// forwardReminderInterval. Each reminder is marked in the store before it
// is sent, so servers sharing a store send it once. (s.forwardEvery is
// forwardReminderInterval but in tests.)
func (s *Server) remindForwarding(ctx context.Context) {
	for {
		n, err := s.accounts.RemindForwarding(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("forwarding reminders", "err", err)
		}
		if n > 0 {
			s.log.Info("forwarding reminders sent", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(s.forwardEvery):
		}
	}
}
