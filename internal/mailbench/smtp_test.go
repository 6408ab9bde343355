package mailbench

import (
	"crypto/tls"
	"encoding/base64"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/smtpclient/smtptest"
	"sealpost.dev/sealpost/internal/tlsconf/tlstest"
)

// quick bounds every test run: no step of a fake server on loopback takes
// seconds.
func quick(cfg Config) Config {
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.Duration == 0 {
		cfg.Duration = 10 * time.Second
	}
	return cfg
}

func TestRunSendsEveryMessage(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Config{Extensions: []string{"8BITMIME", "SIZE 100000"}})
	res, err := Run(t.Context(), quick(Config{
		Addr:          srv.Addr(),
		Messages:      25,
		Connections:   4,
		Size:          1000,
		From:          "load@senders.test",
		SenderDomains: 5,
		To:            []string{"a@example.test", "b@example.test"},
	}))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Sent != 25 || res.Failed != 0 || len(res.Errors) != 0 {
		t.Fatalf("sent %d, failed %d, errors %v; want 25, 0, none", res.Sent, res.Failed, res.Errors)
	}
	if res.Elapsed <= 0 || res.MsgsPerSecond() <= 0 {
		t.Errorf("elapsed %v, %v msgs/s; want positive", res.Elapsed, res.MsgsPerSecond())
	}
	if !(0 < res.P50 && res.P50 <= res.P90 && res.P90 <= res.P99 && res.P99 <= res.Max) {
		t.Errorf("latencies p50 %v p90 %v p99 %v max %v: want positive and ordered", res.P50, res.P90, res.P99, res.Max)
	}
	if got := srv.Sessions(); got != 4 {
		t.Errorf("server saw %d sessions, want 4 (one per connection)", got)
	}
	msgs := srv.Messages()
	if len(msgs) != 25 {
		t.Fatalf("server took %d messages, want 25", len(msgs))
	}
	domains := map[string]bool{}
	rcpts := map[string]int{}
	for _, m := range msgs {
		if len(m.Data) != 1000 {
			t.Errorf("message of %d octets, want 1000", len(m.Data))
		}
		if len(m.Rcpts) != 1 {
			t.Fatalf("message with %d recipients, want 1", len(m.Rcpts))
		}
		rcpts[m.Rcpts[0]]++
		_, addr, _ := strings.Cut(m.Mail, "@")
		domain, _, _ := strings.Cut(addr, ">")
		domains[domain] = true
		if m.Helo != "client.bench.test" {
			t.Errorf("EHLO %q, want the default name", m.Helo)
		}
	}
	if len(domains) != 5 || !domains["d0.senders.test"] || !domains["d4.senders.test"] {
		t.Errorf("sender domains %v, want d0..d4.senders.test", domains)
	}
	if rcpts["RCPT TO:<a@example.test>"] != 13 || rcpts["RCPT TO:<b@example.test>"] != 12 {
		t.Errorf("recipients %v, want a and b in turn", rcpts)
	}
}

func TestRunCountsRefusals(t *testing.T) {
	var n atomic.Int64
	srv := smtptest.Start(t, smtptest.Config{
		Reply: func(s *smtptest.SessionState, line string) string {
			switch {
			case strings.Contains(line, "<nobody@"):
				return "550 5.1.1 No such user"
			case line == "." && n.Add(1)%3 == 0:
				return "451 4.3.0 Try again"
			}
			return ""
		},
	})
	res, err := Run(t.Context(), quick(Config{
		Addr:     srv.Addr(),
		Messages: 20,
		To:       []string{"ok@example.test", "nobody@example.test"},
	}))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	// 10 go to nobody (550 at RCPT); of the 10 others, every third final
	// dot gets 451: 3 of them.
	if res.Errors["550"] != 10 || res.Errors["451"] != 3 || len(res.Errors) != 2 {
		t.Errorf("errors %v, want 550: 10, 451: 3", res.Errors)
	}
	if res.Sent != 7 || res.Failed != 13 {
		t.Errorf("sent %d, failed %d; want 7, 13", res.Sent, res.Failed)
	}
	if !strings.Contains(res.ErrorSamples["550"], "No such user") {
		t.Errorf("sample for 550 is %q, want the server's text", res.ErrorSamples["550"])
	}
	// A refused transaction is reset, not the session dropped.
	if got := srv.Sessions(); got != 1 {
		t.Errorf("server saw %d sessions, want 1", got)
	}
}

func TestRunTLSAndAuth(t *testing.T) {
	cert := (*tlstest.CA)(nil).Issue(t, "mx.test")
	want := base64.StdEncoding.EncodeToString([]byte("\x00user@example.test\x00secret"))
	srv := smtptest.Start(t, smtptest.Config{
		Extensions: []string{"AUTH PLAIN"},
		TLS:        &tls.Config{Certificates: []tls.Certificate{cert}},
		Reply: func(s *smtptest.SessionState, line string) string {
			verb, arg, _ := strings.Cut(line, " ")
			if verb != "AUTH" {
				return ""
			}
			if !s.TLS {
				return "538 5.7.11 Encryption required"
			}
			if arg == "PLAIN "+want {
				return "235 2.7.0 Authenticated"
			}
			return "535 5.7.8 Bad credentials"
		},
	})
	cfg := quick(Config{
		Addr: srv.Addr(), Messages: 6, Connections: 2, TLS: true,
		User: "user@example.test", Password: "secret", To: []string{"x@example.test"},
	})
	res, err := Run(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Sent != 6 {
		t.Fatalf("sent %d, want 6 (errors %v)", res.Sent, res.ErrorSamples)
	}
	for _, m := range srv.Messages() {
		if !m.TLS {
			t.Errorf("message sent without TLS")
		}
	}

	cfg.Password = "wrong"
	if _, err := Run(t.Context(), cfg); err == nil || !strings.Contains(err.Error(), "535") {
		t.Errorf("Run with a wrong password: %v, want the 535 refusal", err)
	}
	cfg.Password, cfg.TLS = "secret", false
	if _, err := Run(t.Context(), cfg); err == nil || !strings.Contains(err.Error(), "538") {
		t.Errorf("Run without TLS: %v, want the 538 refusal", err)
	}
}

func TestRunStopsAtDuration(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Config{
		Reply: func(s *smtptest.SessionState, line string) string {
			if line == "." {
				time.Sleep(20 * time.Millisecond)
			}
			return ""
		},
	})
	start := time.Now()
	res, err := Run(t.Context(), Config{
		Addr: srv.Addr(), Messages: 10000, Connections: 2,
		Duration: 200 * time.Millisecond, Timeout: 5 * time.Second, To: []string{"x@example.test"},
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("Run took %v with a 200ms duration", took)
	}
	// About 2 connections × 200ms / 20ms = 20 messages.
	if res.Sent < 2 || res.Sent > 100 || res.Failed != 0 {
		t.Errorf("sent %d, failed %d in 200ms at 20ms a message", res.Sent, res.Failed)
	}
}

func TestRunTimesOutAndReconnects(t *testing.T) {
	var n atomic.Int64
	srv := smtptest.Start(t, smtptest.Config{
		Reply: func(s *smtptest.SessionState, line string) string {
			if line == "." && n.Add(1) == 1 {
				time.Sleep(time.Second) // past the client's timeout
			}
			return ""
		},
	})
	res, err := Run(t.Context(), Config{
		Addr: srv.Addr(), Messages: 3, Timeout: 300 * time.Millisecond, To: []string{"x@example.test"},
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Errors["timeout"] != 1 || res.Sent != 2 {
		t.Errorf("sent %d, errors %v; want 2 sent and 1 timeout", res.Sent, res.Errors)
	}
	if got := srv.Sessions(); got != 2 {
		t.Errorf("server saw %d sessions, want 2 (a new one after the timeout)", got)
	}
}

func TestRunRefusesBadConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no messages", Config{Addr: "127.0.0.1:25", To: []string{"a@b.test"}}, "positive"},
		{"no recipient", Config{Addr: "127.0.0.1:25", Messages: 1}, "recipient"},
		{"remote", Config{Addr: "192.0.2.1:25", Messages: 1, To: []string{"a@b.test"}}, "not a loopback"},
		{"nothing listening", Config{Addr: "127.0.0.1:1", Messages: 1, To: []string{"a@b.test"}, Timeout: time.Second}, "connect"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Run(t.Context(), tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Run: %v, want an error about %q", err, tc.want)
			}
		})
	}
}

func TestCheckAddr(t *testing.T) {
	for _, tc := range []struct {
		addr   string
		remote bool
		ok     bool
	}{
		{"127.0.0.1:25", false, true},
		{"127.1.2.3:2525", false, true},
		{"[::1]:587", false, true},
		{"localhost:25", false, true},
		{"10.0.0.1:25", false, false},
		{"[2001:db8::1]:25", false, false},
		{"mail.example.test:25", false, false},
		{"mail.example.test:25", true, true},
		{"127.0.0.1", false, false},
		{"127.0.0.1:0", false, false},
		{"127.0.0.1:smtp", false, false},
	} {
		err := CheckAddr(tc.addr, tc.remote)
		if (err == nil) != tc.ok {
			t.Errorf("CheckAddr(%q, %v) = %v, want ok=%v", tc.addr, tc.remote, err, tc.ok)
		}
	}
}

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var d []time.Duration
		for _, x := range v {
			d = append(d, time.Duration(x)*time.Millisecond)
		}
		return d
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	for _, tc := range []struct {
		sorted []time.Duration
		p      int
		want   time.Duration
	}{
		{nil, 50, 0},
		{ms(7), 99, 7 * time.Millisecond},
		{ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{ms(1, 2, 3, 4), 100, 4 * time.Millisecond},
		{ms(hundred...), 90, 90 * time.Millisecond},
		{ms(hundred...), 99, 99 * time.Millisecond},
	} {
		if got := percentile(tc.sorted, tc.p); got != tc.want {
			t.Errorf("percentile(%d values, %d) = %v, want %v", len(tc.sorted), tc.p, got, tc.want)
		}
	}
}

func TestMessageSize(t *testing.T) {
	for _, size := range []int{0, 100, 400, 401, 402, 403, 479, 480, 4096, 65536} {
		g := newGenerator(Config{From: "a@b.test", To: []string{"c@d.test"}, Size: size, SenderDomains: 1})
		_, _, text := g.message(12345)
		_, _, header := newGenerator(Config{From: "a@b.test", To: []string{"c@d.test"}, Size: 1}).message(12345)
		want := max(size, len(header))
		if size-len(header) == 1 || size-len(header) == 2 {
			want = len(header) // too small for a line
		}
		if len(text) != want {
			t.Errorf("size %d: message of %d octets, want %d", size, len(text), want)
		}
		for i, line := range strings.Split(strings.TrimSuffix(string(text), "\r\n"), "\r\n") {
			if len(line) > 78 || strings.ContainsAny(line, "\r\n") {
				t.Errorf("size %d: line %d is %q", size, i, line)
				break
			}
		}
	}
}
