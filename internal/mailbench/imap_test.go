package mailbench

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/tlsconf/tlstest"
)

const (
	fakeUser     = "ann@example.test"
	fakePassword = `p"ss\word`
)

// fakeIMAP is a tiny IMAP server on loopback: one INBOX of fixed messages,
// just enough of LOGIN, STARTTLS, SELECT, FETCH, UID FETCH, SEARCH, IDLE
// and LOGOUT for mailbench, with counters the tests check.
type fakeIMAP struct {
	sec       Security
	tls       *tls.Config
	uids      []uint32
	searchNO  bool
	perSource int // connections allowed at once from one address; 0 for no limit, negative for none

	ln net.Listener
	wg sync.WaitGroup

	mu      sync.Mutex
	open    map[string]int // by source address, now
	sources map[string]int // by source address, ever
	logins  int
	bodies  map[uint32]int // UID FETCH BODY.PEEK[] by UID
	cmds    map[string]int // by command name
	idling  int            // connections in IDLE now
	done    int            // IDLEs ended by DONE
}

func startFakeIMAP(t *testing.T, f *fakeIMAP) *fakeIMAP {
	t.Helper()
	if f.sec == "" {
		f.sec = Plain
	}
	f.tls = &tls.Config{Certificates: []tls.Certificate{(*tlstest.CA)(nil).Issue(t, "imap.test")}}
	if len(f.uids) == 0 {
		f.uids = []uint32{10, 20, 30, 40, 50}
	}
	f.open, f.sources, f.bodies, f.cmds = map[string]int{}, map[string]int{}, map[uint32]int{}, map[string]int{}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.ln = ln
	f.wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			f.wg.Go(func() { f.serve(conn) })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		f.wg.Wait()
	})
	return f
}

func (f *fakeIMAP) addr() string { return f.ln.Addr().String() }

// count returns how many commands named verb the server received.
func (f *fakeIMAP) count(verb string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cmds[verb]
}

func (f *fakeIMAP) get(v *int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return *v
}

func (f *fakeIMAP) serve(conn net.Conn) {
	defer func() { conn.Close() }()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	host, _, _ := net.SplitHostPort(conn.RemoteAddr().String())
	f.mu.Lock()
	f.sources[host]++
	f.open[host]++
	over := f.perSource != 0 && f.open[host] > f.perSource
	f.mu.Unlock()
	defer func() { f.mu.Lock(); f.open[host]--; f.mu.Unlock() }()
	if f.sec == ImplicitTLS {
		conn = tls.Server(conn, f.tls)
	}
	r, w := bufio.NewReader(conn), bufio.NewWriter(conn)
	say := func(format string, a ...any) { fmt.Fprintf(w, format+"\r\n", a...); w.Flush() }
	if over {
		say("* BYE too many connections from your address")
		return
	}
	say("* OK fake IMAP ready")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		tag, rest, _ := strings.Cut(strings.TrimRight(line, "\r\n"), " ")
		verb, args, _ := strings.Cut(rest, " ")
		verb = strings.ToUpper(verb)
		if verb == "UID" {
			verb, args, _ = strings.Cut(args, " ")
			verb = "UID " + strings.ToUpper(verb)
		}
		f.mu.Lock()
		f.cmds[verb]++
		f.mu.Unlock()
		switch verb {
		case "STARTTLS":
			say("%s OK begin TLS", tag)
			tc := tls.Server(conn, f.tls)
			conn, r, w = tc, bufio.NewReader(tc), bufio.NewWriter(tc)
		case "LOGIN":
			want := `"` + fakeUser + `" "p\"ss\\word"`
			if args != want {
				say("%s NO [AUTHENTICATIONFAILED] invalid credentials", tag)
				continue
			}
			f.mu.Lock()
			f.logins++
			f.mu.Unlock()
			say("%s OK logged in", tag)
		case "SELECT":
			say("* %d EXISTS", len(f.uids))
			say("%s OK [READ-WRITE] selected", tag)
		case "FETCH":
			for i, u := range f.uids {
				// A literal whose text looks like a UID item must not be taken for one.
				say("* %d FETCH (FLAGS (\\Seen) UID %d ENVELOPE (NIL {12}\r\nUID 999 junk NIL NIL NIL NIL NIL NIL NIL NIL) BODYSTRUCTURE (\"text\" \"plain\" NIL NIL NIL \"7bit\" 5 1))", i+1, u)
			}
			say("%s OK done", tag)
		case "UID FETCH":
			id, _, _ := strings.Cut(args, " ")
			n, _ := strconv.ParseUint(id, 10, 32)
			f.mu.Lock()
			f.bodies[uint32(n)]++
			f.mu.Unlock()
			body := "Subject: x\r\n\r\nhello\r\n"
			say("* 1 FETCH (UID %d BODY[] {%d}\r\n%s)", n, len(body), body)
			say("%s OK done", tag)
		case "SEARCH":
			if f.searchNO {
				say("%s NO search failed", tag)
				continue
			}
			say("* SEARCH 1 3")
			say("%s OK done", tag)
		case "NOOP":
			say("%s OK nothing", tag)
		case "IDLE":
			f.idle(tag, r, say)
		case "LOGOUT":
			say("* BYE bye")
			say("%s OK done", tag)
			return
		default:
			say("%s BAD unknown command", tag)
		}
	}
}

func (f *fakeIMAP) idle(tag string, r *bufio.Reader, say func(string, ...any)) {
	f.mu.Lock()
	f.idling++
	f.mu.Unlock()
	defer func() { f.mu.Lock(); f.idling--; f.mu.Unlock() }()
	say("+ idling")
	line, err := r.ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "DONE" {
		return
	}
	f.mu.Lock()
	f.done++
	f.mu.Unlock()
	say("%s OK IDLE done", tag)
}

func imapQuick(srv *fakeIMAP, cfg IMAPConfig) IMAPConfig {
	cfg.Addr, cfg.User, cfg.Password, cfg.Security = srv.addr(), fakeUser, fakePassword, srv.sec
	cfg.Timeout = 5 * time.Second
	cfg.Duration = 10 * time.Second
	return cfg
}

func TestRunIMAPSessions(t *testing.T) {
	for _, sec := range []Security{ImplicitTLS, StartTLS, Plain} {
		t.Run(string(sec), func(t *testing.T) {
			srv := startFakeIMAP(t, &fakeIMAP{sec: sec})
			res, err := RunIMAP(t.Context(), imapQuick(srv, IMAPConfig{Clients: 3, Sessions: 4, Bodies: 3}))
			if err != nil {
				t.Fatal(err)
			}
			if res.Sessions != 12 || res.Failed != 0 {
				t.Fatalf("sessions %d failed %d (%v), want 12 and 0", res.Sessions, res.Failed, res.ErrorSamples)
			}
			want := map[string]int{PhaseLogin: 12, PhaseSelect: 12, PhaseFetch: 12, PhaseBody: 36, PhaseSearch: 12, PhaseLogout: 12}
			for p, n := range want {
				pr := res.Phases[p]
				if pr.Ops != n || pr.P50 <= 0 || pr.P50 > pr.P99 || pr.P99 > pr.Max {
					t.Errorf("phase %s: %+v, want %d ops and 0 < p50 <= p99 <= max", p, pr, n)
				}
			}
			if res.Session.Ops != 12 || res.SessionsPerSecond() <= 0 || res.OpsPerSecond(PhaseBody) <= res.SessionsPerSecond() {
				t.Errorf("session %+v, %.1f sessions/s, %.1f bodies/s", res.Session, res.SessionsPerSecond(), res.OpsPerSecond(PhaseBody))
			}
			srv.mu.Lock()
			defer srv.mu.Unlock()
			if srv.logins != 12 {
				t.Errorf("server saw %d logins, want 12", srv.logins)
			}
			total := 0
			for uid, n := range srv.bodies {
				if !slices.Contains(srv.uids, uid) {
					t.Errorf("fetched UID %d, which is not in the mailbox", uid)
				}
				total += n
			}
			if total != 36 || len(srv.bodies) < 3 {
				t.Errorf("server sent %d bodies of %d distinct UIDs, want 36 of at least 3", total, len(srv.bodies))
			}
			if wantTLS := srv.cmds["STARTTLS"]; (sec == StartTLS) != (wantTLS == 12) {
				t.Errorf("STARTTLS %d times with security %s", wantTLS, sec)
			}
		})
	}
}

func TestRunIMAPCountsFailures(t *testing.T) {
	tests := []struct {
		name      string
		searchNO  bool
		perSource int
		password  string
		wantErr   bool
		wantKey   string
		wantOK    int
	}{
		{"bad password", false, 0, "wrong", true, "login NO", 0},
		{"search refused", true, 0, fakePassword, true, "search NO", 0},
		{"refused at greeting", false, -1, fakePassword, true, "login", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startFakeIMAP(t, &fakeIMAP{searchNO: tt.searchNO, perSource: tt.perSource})
			cfg := imapQuick(srv, IMAPConfig{Clients: 4, Sessions: 3, Bodies: 1})
			cfg.Password = tt.password
			res, err := RunIMAP(t.Context(), cfg)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error: %v", err, tt.wantErr)
			}
			if res.Sessions+res.Failed != 12 {
				t.Errorf("%d sessions + %d failed, want 12 in all", res.Sessions, res.Failed)
			}
			if res.Sessions != tt.wantOK {
				t.Errorf("%d sessions succeeded, want %d", res.Sessions, tt.wantOK)
			}
			if res.Errors[tt.wantKey] != res.Failed || res.Failed == 0 || res.ErrorSamples[tt.wantKey] == "" {
				t.Errorf("errors %v (%v), want all %d under %q", res.Errors, res.ErrorSamples, res.Failed, tt.wantKey)
			}
		})
	}
}

func TestRunIMAPStopsAtDuration(t *testing.T) {
	srv := startFakeIMAP(t, &fakeIMAP{})
	cfg := imapQuick(srv, IMAPConfig{Clients: 2, Sessions: 1 << 30, Bodies: 1, Search: "-"})
	cfg.Duration = 200 * time.Millisecond
	start := time.Now()
	res, err := RunIMAP(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("run took %s with a 200ms duration", d)
	}
	if res.Sessions == 0 || res.Phases[PhaseSearch].Ops != 0 {
		t.Errorf("sessions %d, searches %d; want some sessions and no search", res.Sessions, res.Phases[PhaseSearch].Ops)
	}
}

func TestRunIMAPRefusesBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  IMAPConfig
	}{
		{"remote", IMAPConfig{Addr: "192.0.2.1:993", User: "u", Sessions: 1}},
		{"remote source", IMAPConfig{Addr: "127.0.0.1:993", User: "u", Sessions: 1, SourceIPs: []net.IP{net.IPv4(192, 0, 2, 1)}}},
		{"no sessions", IMAPConfig{Addr: "127.0.0.1:993", User: "u"}},
		{"no user", IMAPConfig{Addr: "127.0.0.1:993", Sessions: 1}},
		{"bad security", IMAPConfig{Addr: "127.0.0.1:993", User: "u", Sessions: 1, Security: "ssl"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := RunIMAP(t.Context(), tt.cfg); err == nil {
				t.Error("no error")
			}
			icfg := IdleConfig{Addr: tt.cfg.Addr, User: tt.cfg.User, SourceIPs: tt.cfg.SourceIPs, Security: tt.cfg.Security, Connections: tt.cfg.Sessions}
			if _, err := RunIdle(t.Context(), icfg); err == nil {
				t.Error("RunIdle: no error")
			}
		})
	}
}

func TestRunIdle(t *testing.T) {
	tests := []struct {
		name      string
		sources   int
		wantHeld  int
		wantFails int
	}{
		{"spread over sources", 3, 6, 0},
		{"one source", 0, 2, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startFakeIMAP(t, &fakeIMAP{sec: ImplicitTLS, perSource: 2})
			var sources []net.IP
			for k := 1; k <= tt.sources; k++ {
				sources = append(sources, net.IPv4(127, 0, 0, byte(k)))
			}
			samples := 0
			cfg := IdleConfig{
				Addr: srv.addr(), User: fakeUser, Password: fakePassword, SourceIPs: sources,
				Connections: 6, Parallel: 6, Hold: 50 * time.Millisecond, Timeout: 5 * time.Second,
				// The "memory" is the number of connections the server has in IDLE.
				RSS: func() (int64, error) { samples++; return int64(srv.get(&srv.idling)) * 1024, nil },
			}
			res, err := RunIdle(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if res.Held != tt.wantHeld || res.Failed != tt.wantFails {
				t.Fatalf("held %d failed %d (%v), want %d and %d", res.Held, res.Failed, res.ErrorSamples, tt.wantHeld, tt.wantFails)
			}
			if samples != 2 || res.RSSBefore != 0 || res.RSSHeld != int64(tt.wantHeld)*1024 || res.RSSPerConnection() != 1024 {
				t.Errorf("%d samples: before %d held %d, %.0f per connection; want 0, %d, 1024",
					samples, res.RSSBefore, res.RSSHeld, res.RSSPerConnection(), tt.wantHeld*1024)
			}
			if n := srv.get(&srv.done); n != tt.wantHeld {
				t.Errorf("%d IDLEs ended with DONE, want %d", n, tt.wantHeld)
			}
			srv.mu.Lock()
			defer srv.mu.Unlock()
			if tt.sources > 0 && len(srv.sources) != tt.sources {
				t.Errorf("connections came from %v, want %d addresses", srv.sources, tt.sources)
			}
		})
	}
}

// TestRunIdleNoLogin holds connections before login: no LOGIN, SELECT or
// IDLE reaches the server, a NOOP each does, and each ends with LOGOUT.
func TestRunIdleNoLogin(t *testing.T) {
	srv := startFakeIMAP(t, &fakeIMAP{sec: Plain})
	res, err := RunIdle(t.Context(), IdleConfig{Addr: srv.addr(), Security: Plain, NoLogin: true,
		Connections: 4, Parallel: 4, Hold: 50 * time.Millisecond, Timeout: 5 * time.Second})
	if err != nil || res.Held != 4 || res.Failed != 0 {
		t.Fatalf("held %d failed %d (%v), %v; want 4 held", res.Held, res.Failed, res.ErrorSamples, err)
	}
	for verb, want := range map[string]int{"NOOP": 4, "LOGOUT": 4, "LOGIN": 0, "SELECT": 0, "IDLE": 0} {
		if n := srv.count(verb); n != want {
			t.Errorf("%s: %d, want %d", verb, n, want)
		}
	}
}

func TestParseVmRSS(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"Name:\tsealpost\nVmPeak:\t  900 kB\nVmRSS:\t  12345 kB\nRssAnon:\t 1 kB\n", 12345 * 1024, false},
		{"VmRSS:\t0 kB\n", 0, false},
		{"Name:\tkthreadd\nState:\tS\n", 0, true},
		{"VmRSS:\t12 MB\n", 0, true},
		{"VmRSS:\t-4 kB\n", 0, true},
	}
	for _, tt := range tests {
		got, err := parseVmRSS([]byte(tt.in))
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("parseVmRSS(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
	rss, err := ProcessRSS(os.Getpid())
	if err != nil || rss <= 0 {
		t.Errorf("ProcessRSS(self) = %d, %v", rss, err)
	}
}

func TestFetchUIDs(t *testing.T) {
	in := []string{
		"* 1 FETCH (UID 7 FLAGS ())",
		"* 2 FETCH (FLAGS (\\Seen) UID 9 ENVELOPE (NIL \"UID 1\"))",
		"* 3 FETCH (ENVELOPE (NIL {5}\r\nUID 3) UID 11)",
		"* 4 FETCH (FLAGS ())",
		"* 5 EXISTS",
	}
	if got, want := fetchUIDs(in), []uint32{7, 9, 11}; !slices.Equal(got, want) {
		t.Errorf("fetchUIDs = %v, want %v", got, want)
	}
}

func TestLiteralSize(t *testing.T) {
	tests := []struct {
		line string
		n    int64
		ok   bool
	}{
		{"* 1 FETCH (BODY[] {42}", 42, true},
		{"* 1 FETCH (BODY[] {42+}", 42, true},
		{"* OK {not a literal}", 0, false},
		{"* OK done", 0, false},
		{"{-1}", 0, false},
	}
	for _, tt := range tests {
		n, ok := literalSize(tt.line)
		if n != tt.n || ok != tt.ok {
			t.Errorf("literalSize(%q) = %d, %v; want %d, %v", tt.line, n, ok, tt.n, tt.ok)
		}
	}
}

func TestPickUIDs(t *testing.T) {
	uids := []uint32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	tests := []struct {
		uids []uint32
		n    int
		seq  int
		want []uint32
	}{
		{uids, 5, 0, []uint32{1, 3, 5, 7, 9}},
		{uids, 5, 1, []uint32{2, 4, 6, 8, 10}},
		{uids[:2], 3, 0, []uint32{1, 2, 1}},
		{nil, 3, 0, nil},
		{uids, -1, 0, nil},
	}
	for _, tt := range tests {
		if got := pickUIDs(tt.uids, tt.n, tt.seq); !slices.Equal(got, tt.want) {
			t.Errorf("pickUIDs(%v, %d, %d) = %v, want %v", tt.uids, tt.n, tt.seq, got, tt.want)
		}
	}
}

func TestMainIMAPJSON(t *testing.T) {
	srv := startFakeIMAP(t, &fakeIMAP{sec: ImplicitTLS})
	dev := filepath.Join(t.TempDir(), "dev.json")
	host, port, _ := net.SplitHostPort(srv.addr())
	data := fmt.Sprintf(`{"user": %q, "password": %q, "host": %q, "ports": {"imaps": %s, "imap": 1}}`, fakeUser, fakePassword, host, port)
	if err := os.WriteFile(dev, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := Main(t.Context(), []string{"imap", "-auth-file", dev, "-n", "2", "-c", "2", "-bodies", "2",
		"-pid", strconv.Itoa(os.Getpid()), "-json"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, errOut.String())
	}
	var got imapReport
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out.String())
	}
	if got.Sessions != 4 || got.Failed != 0 || got.Phases[PhaseBody].Ops != 8 || got.Phases[PhaseFetch].OpsPerSecond <= 0 ||
		got.CPUMsPerSession == nil || got.Addr != srv.addr() || got.Security != "tls" {
		t.Errorf("report %s", out.String())
	}

	out.Reset()
	code = Main(t.Context(), []string{"idle", "-auth-file", dev, "-c", "3", "-hold", "10ms", "-pid", strconv.Itoa(os.Getpid())}, &out, &errOut)
	if code != 0 || !strings.Contains(out.String(), "3 of 3 connections held") || !strings.Contains(out.String(), "KiB per connection") {
		t.Errorf("idle: exit %d, output %q, stderr %q", code, out.String(), errOut.String())
	}
}

func TestMainIMAPUsage(t *testing.T) {
	tests := [][]string{
		{"imap", "-addr", "127.0.0.1:1", "-auth", "u:p"},          // no -n
		{"imap", "-n", "1", "-auth", "u:p"},                       // no address
		{"imap", "-n", "1", "-addr", "127.0.0.1:1"},               // no user
		{"imap", "-n", "1", "-addr", "127.0.0.1:1", "-auth", "u"}, // no password
		{"imap", "-n", "1", "-addr", "127.0.0.1:1", "-auth", "u:p", "-security", "ssl"},
		{"idle", "-addr", "127.0.0.1:1", "-auth", "u:p"}, // no -c
		{"idle", "-c", "1", "-addr", "127.0.0.1:1", "-auth", "u:p", "-source-ips", "300"},
		{"idle", "-c", "1", "-addr", "127.0.0.1:1", "-auth", "u:p", "extra"},
	}
	for _, args := range tests {
		var out, errOut bytes.Buffer
		if code := Main(t.Context(), args, &out, &errOut); code != 2 {
			t.Errorf("%q: exit %d, want 2 (stderr %q)", args, code, errOut.String())
		}
	}
}

func TestMainWriteMaildir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "Maildir")
	var out, errOut bytes.Buffer
	code := Main(t.Context(), []string{"write-maildir", "-n", "7", "-size", "1000", "-to", "ann@example.test", dir}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, errOut.String())
	}
	if n, err := CountMaildir(dir); n != 7 || err != nil {
		t.Fatalf("CountMaildir = %d, %v; want 7", n, err)
	}
	entries, err := os.ReadDir(filepath.Join(dir, "new"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, "new", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if len(data) != 1000 || !bytes.Contains(data, []byte("Subject: mailbench message ")) || !strings.HasSuffix(e.Name(), ",S=1000") {
			t.Errorf("%s: %d octets, want 1000 with a Subject and S=1000 in the name", e.Name(), len(data))
		}
	}
	if tmp, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(tmp) != 0 {
		t.Errorf("%d files left in tmp/", len(tmp))
	}
	if code := Main(t.Context(), []string{"write-maildir", dir}, &out, &errOut); code != 2 {
		t.Errorf("without -n: exit %d, want 2", code)
	}
}
