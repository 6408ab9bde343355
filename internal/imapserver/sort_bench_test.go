package imapserver

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"sealpost.dev/sealpost/internal/imap"
)

// BenchmarkSort measures SORT (SUBJECT FROM) over 2,000 messages of
// 4 KiB, once through the stored summaries as SORT does, once reading
// each message's header as SEARCH's non-text keys do, for comparison.
func BenchmarkSort(b *testing.B) {
	const n = 2000
	e := newEnv(b, Limits{}, 0)
	text := strings.Repeat("A line of text that says little, as lines do.\r\n", 85)
	for i := range n {
		e.deliver(b, fmt.Sprintf("From: User %d <u%d@example.org>\r\nSubject: Re: subject %d\r\nDate: Mon, 2 Mar 2026 10:%02d:00 +0000\r\nMessage-ID: <%d@example.org>\r\n\r\n%s", i%97, i, i%89, i%60, i, text))
	}
	v := &view{mb: e.inbox}
	v.uids.appendRun(1, n+uint32(len(testMessages)))
	crit := []imap.SortCriterion{{Key: "SUBJECT"}, {Key: "FROM"}}
	b.Run("summaries", func(b *testing.B) {
		ss := &session{srv: &Server{store: e.st, summaries: newSummaryCache(summaryCacheBytes), log: slog.New(slog.DiscardHandler)}, sel: v}
		for b.Loop() {
			msgs, err := ss.sortables(b.Context(), "UTF-8", []imap.SearchKey{{Op: "ALL"}})
			if err != nil {
				b.Fatal(err)
			}
			sortOrder(msgs, crit)
		}
	})
	b.Run("headers", func(b *testing.B) {
		ss := &session{srv: &Server{store: e.st}, sel: v}
		for b.Loop() {
			found, err := ss.matching(b.Context(), []imap.SearchKey{{Op: "ALL"}})
			if err != nil {
				b.Fatal(err)
			}
			for _, c := range found {
				c.header()
			}
		}
	})
}
