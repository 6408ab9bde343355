package imapserver

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The memory test runs its clients in a child process (this test binary,
// running TestIdleMemoryClient), so that what it measures is the server's
// alone.
const (
	idleClientAddr = "SEALPOST_IDLE_CLIENT_ADDR"
	idleClientHow  = "SEALPOST_IDLE_CLIENT_HOW"
	idleClientN    = "SEALPOST_IDLE_CLIENT_N"
)

// idleMemoryBounds are the bytes per held session the test accepts, by
// how the clients connect. The targets are 25 KiB in the clear and
// 40 KiB over TLS; "plain" sessions cannot log in (LOGINDISABLED before
// TLS), so they idle unauthenticated.
var idleMemoryBounds = map[string]int{
	"plain":          25 << 10,
	"starttls":       40 << 10,
	"imaps":          40 << 10,
	"imaps-compress": 70 << 10, // the inflater's 32 KiB window comes on top
}

// TestIdleMemory holds many sessions, each logged in with INBOX selected
// and IDLE under way, and measures the server's heap and stacks per
// session: HeapInuse + StackInuse after a collection, minus the same
// before the sessions. SEALPOST_IDLE_N sets how many (default 300);
// SEALPOST_IDLE_PROFILE names a file for a heap profile taken while they
// are held.
func TestIdleMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("opens hundreds of connections")
	}
	if raceEnabled {
		t.Skip("the race detector's shadow memory would be counted")
	}
	n := 300
	if os.Getenv("SEALPOST_IDLE_PROFILE") != "" {
		runtime.MemProfileRate = 1
	}
	if s := os.Getenv("SEALPOST_IDLE_N"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	for _, how := range []string{"plain", "starttls", "imaps", "imaps-compress"} {
		t.Run(how, func(t *testing.T) {
			e := newEnv(t, Limits{MaxSessions: n + 10}, n+10)
			per := measureIdle(t, e, how, n)
			t.Logf("%s: %d sessions, %.1f KiB each", how, n, float64(per)/1024)
			if max := idleMemoryBounds[how]; per > max {
				t.Errorf("%s: %d bytes per idle session, want at most %d", how, per, max)
			}
		})
	}
}

// inUse returns the heap and stack in use after collections, which also
// shrink the stacks of goroutines that use little of theirs.
func inUse() (heap, stack uint64, goroutines int) {
	for range 4 {
		runtime.GC()
	}
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse, ms.StackInuse, runtime.NumGoroutine()
}

func measureIdle(t *testing.T, e *env, how string, n int) int {
	mode := IMAP
	if strings.HasPrefix(how, "imaps") {
		mode = IMAPS
	}
	// A first session warms the pools and caches that are shared by all.
	e.connect(t, "imaps", true).expect("SELECT INBOX", "OK")
	time.Sleep(100 * time.Millisecond)
	heap0, stack0, gBefore := inUse()

	cmd := exec.Command(os.Args[0], "-test.run=^TestIdleMemoryClient$", "-test.v")
	cmd.Env = append(os.Environ(), idleClientAddr+"="+e.addrs[mode], idleClientHow+"="+how, idleClientN+"="+strconv.Itoa(n))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		cmd.Wait()
	}()
	out := bufio.NewScanner(stdout)
	ready := false
	for out.Scan() {
		if out.Text() == "ready" {
			ready = true
			break
		}
	}
	if !ready {
		t.Fatal("the client process did not get its sessions ready")
	}
	go io.Copy(io.Discard, stdout)
	// Let every IDLE settle into its wait.
	time.Sleep(time.Second)
	heap1, stack1, gHeld := inUse()
	if p := os.Getenv("SEALPOST_IDLE_PROFILE"); p != "" {
		f, err := os.Create(p + "." + how)
		if err != nil {
			t.Fatal(err)
		}
		pprof.WriteHeapProfile(f)
		f.Close()
		if f, err = os.Create(p + "." + how + ".goroutines"); err == nil {
			pprof.Lookup("goroutine").WriteTo(f, 1)
			f.Close()
		}
	}
	t.Logf("%s: heap %d → %d bytes, stacks %d → %d, goroutines %d → %d", how, heap0, heap1, stack0, stack1, gBefore, gHeld)
	return int(int64(heap1+stack1)-int64(heap0+stack0)) / n
}

// TestIdleMemoryClient is the client side of TestIdleMemory, run in a
// child process; it does nothing when run directly.
func TestIdleMemoryClient(t *testing.T) {
	addr := os.Getenv(idleClientAddr)
	if addr == "" {
		t.Skip("the client side of TestIdleMemory")
	}
	how := os.Getenv(idleClientHow)
	n, _ := strconv.Atoi(os.Getenv(idleClientN))
	conns := make([]net.Conn, 0, n)
	for range n {
		c, err := idleClient(addr, how)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	for _, c := range conns {
		c.Close()
	}
}

// idleClient opens one session as TestIdleMemory wants it.
func idleClient(addr, how string) (net.Conn, error) {
	tlsConf := &tls.Config{InsecureSkipVerify: true, ServerName: hostname}
	var c net.Conn
	var err error
	if strings.HasPrefix(how, "imaps") {
		c, err = tls.Dial("tcp", addr, tlsConf)
	} else {
		c, err = net.Dial("tcp", addr)
	}
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(time.Minute))
	r := bufio.NewReader(c)
	step := func(line, want string) error {
		if line != "" {
			if _, err := io.WriteString(c, line+"\r\n"); err != nil {
				return err
			}
		}
		for {
			got, err := r.ReadString('\n')
			if err != nil {
				return fmt.Errorf("%q: %v", line, err)
			}
			if strings.HasPrefix(got, want) {
				return nil
			}
			if !strings.HasPrefix(got, "* ") {
				return fmt.Errorf("%q: got %q, want %q", line, got, want)
			}
		}
	}
	if err := step("", "* OK"); err != nil {
		return nil, err
	}
	if how == "plain" {
		return c, step("a NOOP", "a OK")
	}
	if how == "starttls" {
		if err := step("s STARTTLS", "s OK"); err != nil {
			return nil, err
		}
		tc := tls.Client(c, tlsConf)
		c, r = tc, bufio.NewReader(tc)
	}
	if err := step(`l LOGIN `+ann+` "`+annPassword+`"`, "l OK"); err != nil {
		return nil, err
	}
	if how == "imaps-compress" {
		if err := step("z COMPRESS DEFLATE", "z OK"); err != nil {
			return nil, err
		}
		c, r = newDeflateConn(c), nil
		r = bufio.NewReader(c)
	}
	if err := step("s SELECT INBOX", "s OK"); err != nil {
		return nil, err
	}
	if err := step("i IDLE", "+ "); err != nil {
		return nil, err
	}
	c.SetDeadline(time.Time{})
	return c, nil
}
