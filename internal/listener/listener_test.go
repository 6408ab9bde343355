package listener

import (
	"bufio"
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/connlimit"
)

// echoSession answers each line with "ok", and "bye" when asked to end.
type echoSession struct {
	c       net.Conn
	closing chan struct{}
}

func (e *echoSession) Run() {
	defer e.c.Close()
	e.c.Write([]byte("hello\r\n"))
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(e.c)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	for {
		select {
		case <-e.closing:
			e.c.Write([]byte("bye\r\n"))
			return
		case _, ok := <-lines:
			if !ok {
				return
			}
			e.c.Write([]byte("ok\r\n"))
		}
	}
}

func (e *echoSession) Shutdown() { close(e.closing) }
func (e *echoSession) Close()    { e.c.Close() }

func start(t *testing.T, s *Server) string {
	t.Helper()
	s.NewSession = func(c net.Conn, _ netip.Addr) Session { return &echoSession{c: c, closing: make(chan struct{})} }
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	t.Cleanup(func() {
		ln.Close()
		s.Shutdown(context.Background())
	})
	return ln.Addr().String()
}

func readLine(t *testing.T, c net.Conn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(line)
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestLimits(t *testing.T) {
	s := &Server{Conns: connlimit.New(2), MaxSessions: 3, TooManyFromSource: "too many", TooBusy: "busy"}
	addr := start(t, s)
	c1, c2 := dial(t, addr), dial(t, addr)
	for _, c := range []net.Conn{c1, c2} {
		if got := readLine(t, c); got != "hello" {
			t.Fatalf("greeting %q", got)
		}
	}
	if got := readLine(t, dial(t, addr)); got != "too many" {
		t.Errorf("third connection from one source: %q", got)
	}
}

func TestMaxSessions(t *testing.T) {
	s := &Server{MaxSessions: 1, TooBusy: "busy"}
	addr := start(t, s)
	if got := readLine(t, dial(t, addr)); got != "hello" {
		t.Fatalf("greeting %q", got)
	}
	if got := readLine(t, dial(t, addr)); got != "busy" {
		t.Errorf("second session: %q", got)
	}
}

func TestShutdown(t *testing.T) {
	s := &Server{}
	s.NewSession = func(c net.Conn, _ netip.Addr) Session { return &echoSession{c: c, closing: make(chan struct{})} }
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	c := dial(t, ln.Addr().String())
	r := bufio.NewReader(c)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if line, _ := r.ReadString('\n'); strings.TrimSpace(line) != "hello" {
		t.Fatalf("greeting %q", line)
	}
	ln.Close()
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if line, _ := r.ReadString('\n'); strings.TrimSpace(line) != "bye" {
		t.Errorf("at shutdown the session said %q, want bye", line)
	}
}
