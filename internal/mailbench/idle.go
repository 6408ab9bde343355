package mailbench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// IdleConfig describes one run of held IMAP IDLE connections. Addr, User
// and Connections are required; the zero value of every other field takes
// the default documented on it.
type IdleConfig struct {
	Addr        string
	AllowRemote bool
	// SourceIPs: connections come from these addresses in turn, so a
	// server's limit per client address does not cap the count.
	SourceIPs []net.IP
	Security  Security // default ImplicitTLS

	User, Password string
	Mailbox        string // default "INBOX"
	// NoLogin holds each connection before login instead, after the
	// greeting and a NOOP: how connections wait where the server refuses
	// logins, as in IMAP in the clear. User and Mailbox are not used.
	NoLogin bool

	Connections int           // connections to open and hold
	Parallel    int           // connections being set up at once; default 16
	Hold        time.Duration // how long to hold them all in IDLE; default 10s
	Timeout     time.Duration // bound on each set-up step; default 30s

	// RSS, when set, is sampled before the first connection is opened and
	// again at the end of the hold, while every connection is still open.
	RSS func() (int64, error)
}

// IdleResult is what an idle run measured.
type IdleResult struct {
	Held   int           // connections that reached IDLE
	Failed int           // connections that did not
	Setup  time.Duration // time to open all connections
	// RSSBefore and RSSHeld are the sampled resident set sizes in bytes.
	RSSBefore, RSSHeld int64
	Errors             map[string]int
	ErrorSamples       map[string]string
}

// RSSPerConnection is the growth of the resident set size per held
// connection, in bytes.
func (r IdleResult) RSSPerConnection() float64 {
	if r.Held == 0 {
		return 0
	}
	return float64(r.RSSHeld-r.RSSBefore) / float64(r.Held)
}

func (cfg IdleConfig) withDefaults() (IdleConfig, error) {
	if cfg.Connections <= 0 {
		return cfg, errors.New("mailbench: the number of connections must be positive")
	}
	if cfg.User == "" && !cfg.NoLogin {
		return cfg, errors.New("mailbench: no user")
	}
	if err := checkTarget(cfg.Addr, cfg.SourceIPs, cfg.AllowRemote); err != nil {
		return cfg, err
	}
	if cfg.Security == "" {
		cfg.Security = ImplicitTLS
	}
	if !cfg.Security.valid() {
		return cfg, fmt.Errorf("mailbench: unknown security %q", cfg.Security)
	}
	if cfg.Mailbox == "" {
		cfg.Mailbox = "INBOX"
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = 16
	}
	if cfg.Hold <= 0 {
		cfg.Hold = 10 * time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	return cfg, nil
}

// RunIdle opens cfg.Connections connections, cfg.Parallel at a time, each
// doing LOGIN, SELECT and IDLE (RFC 2177), or with cfg.NoLogin a NOOP;
// holds them all for cfg.Hold; samples cfg.RSS; then ends each with DONE
// (after IDLE) and LOGOUT and closes it. It
// returns an error when the configuration is invalid, when no connection
// reached IDLE, or when RSS could not be read.
func RunIdle(ctx context.Context, cfg IdleConfig) (IdleResult, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return IdleResult{}, err
	}
	var res IdleResult
	if cfg.RSS != nil {
		if res.RSSBefore, err = cfg.RSS(); err != nil {
			return res, err
		}
	}
	rec := newIMAPRecorder()
	type held struct {
		c   *imapConn
		tag string
	}
	conns := make([]held, cfg.Connections)
	start := time.Now()
	sem := make(chan struct{}, cfg.Parallel)
	var wg sync.WaitGroup
	for i := range conns {
		var local net.Addr
		if len(cfg.SourceIPs) > 0 {
			local = &net.TCPAddr{IP: cfg.SourceIPs[i%len(cfg.SourceIPs)]}
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			c, tag, err := openIdle(ctx, &cfg, local)
			if err != nil {
				rec.fail(err)
				return
			}
			conns[i] = held{c, tag}
		})
	}
	wg.Wait()
	res.Setup = time.Since(start)
	defer func() {
		// End politely, a few at a time, each bounded by cfg.Timeout.
		var end sync.WaitGroup
		for _, h := range conns {
			if h.c == nil {
				continue
			}
			sem <- struct{}{}
			end.Go(func() {
				defer func() { <-sem }()
				if h.tag == "" || h.c.done(h.tag) == nil {
					h.c.logout()
				}
				h.c.conn.Close()
			})
		}
		end.Wait()
	}()
	for _, h := range conns {
		if h.c != nil {
			res.Held++
		}
	}
	res.Failed, res.Errors, res.ErrorSamples = rec.failed, rec.errors, rec.samples
	if res.Held == 0 {
		return res, fmt.Errorf("mailbench: no connection to %s was held (%d failed)", cfg.Addr, res.Failed)
	}
	select {
	case <-time.After(cfg.Hold):
	case <-ctx.Done():
		return res, ctx.Err()
	}
	if cfg.RSS != nil {
		if res.RSSHeld, err = cfg.RSS(); err != nil {
			return res, err
		}
	}
	return res, nil
}

// openIdle sets up one connection as far as IDLE and returns it with the
// IDLE command's tag; with cfg.NoLogin, as far as a NOOP, and no tag.
func openIdle(ctx context.Context, cfg *IdleConfig, local net.Addr) (*imapConn, string, error) {
	c, err := dialIMAP(ctx, cfg.Addr, local, cfg.Security, cfg.Timeout)
	if err != nil {
		return nil, "", err
	}
	if cfg.NoLogin {
		if _, err := c.command("NOOP"); err != nil {
			c.conn.Close()
			return nil, "", &stepError{"noop", err}
		}
		return c, "", nil
	}
	mbox, err := quote(cfg.Mailbox)
	if err == nil {
		err = c.login(cfg.User, cfg.Password)
	}
	if err == nil {
		if _, err = c.command("SELECT " + mbox); err != nil {
			err = &stepError{"select", err}
		}
	}
	var tag string
	if err == nil {
		if tag, err = c.idle(); err != nil {
			err = &stepError{"idle", err}
		}
	}
	if err != nil {
		c.conn.Close()
		return nil, "", err
	}
	return c, tag, nil
}

// ProcessRSS returns the resident set size of process pid in bytes: VmRSS
// in /proc/PID/status (proc(5)).
func ProcessRSS(pid int) (int64, error) {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0, fmt.Errorf("mailbench: memory of process %d: %w", pid, err)
	}
	return parseVmRSS(data)
}

// parseVmRSS reads the VmRSS line of /proc/PID/status, given in kB.
func parseVmRSS(data []byte) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("mailbench: malformed VmRSS line %q", sc.Text())
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("mailbench: malformed VmRSS line %q", sc.Text())
		}
		return n * 1024, nil
	}
	return 0, errors.New("mailbench: no VmRSS in /proc status (a kernel thread or a zombie?)")
}
