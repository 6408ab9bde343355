package clamd

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// Defaults of a Client's zero fields.
const (
	DefaultTimeout   = time.Minute
	DefaultMaxSize   = 25 << 20 // clamd's default StreamMaxLength
	DefaultChunkSize = 64 << 10
	// MaxReply bounds a reply, in bytes.
	MaxReply = 4096
)

var (
	// ErrUnavailable reports that clamd gave no verdict: it is down,
	// unreachable, too slow, or answered with an error or nonsense.
	ErrUnavailable = errors.New("clamd: unavailable")
	// ErrTooLarge reports a stream longer than the client's or clamd's
	// limit: it was not scanned.
	ErrTooLarge = errors.New("clamd: stream too large to scan")
)

// Client talks to one clamd. The zero value of each field but Address takes
// its default. A Client is safe for concurrent use: each call opens its own
// connection, as clamd serves one command per connection.
type Client struct {
	// Network is "unix" (default) or "tcp".
	Network string
	// Address is the socket path, or host:port for TCP.
	Address string
	// Timeout bounds each call; default DefaultTimeout.
	Timeout time.Duration
	// MaxSize is the longest stream sent; default DefaultMaxSize. It
	// should not exceed clamd's StreamMaxLength.
	MaxSize int64
	// ChunkSize is the size of each INSTREAM chunk; default
	// DefaultChunkSize.
	ChunkSize int
}

// Result is clamd's verdict on a stream.
type Result struct {
	Infected bool
	// Signature names what was found, as clamd reports it
	// ("Win.Test.EICAR_HDB-1"); "" when clean.
	Signature string
}

// Scan sends r to clamd with INSTREAM and returns its verdict.
func (c *Client) Scan(ctx context.Context, r io.Reader) (Result, error) {
	conn, done, err := c.dial(ctx)
	if err != nil {
		return Result{}, err
	}
	defer done()
	w := bufio.NewWriterSize(conn, c.chunkSize()+4)
	w.WriteString("zINSTREAM\x00")
	if err := c.stream(w, r); err != nil {
		if errors.Is(err, errConn) {
			// clamd may have stopped reading and said why (its size limit).
			if res, rerr := readReply(conn); rerr == nil || !errors.Is(rerr, errConn) {
				return res, rerr
			}
		}
		return Result{}, unwrapConn(err, ctx)
	}
	res, err := readReply(conn)
	return res, unwrapConn(err, ctx)
}

// errConn marks a failure of the connection to clamd, as opposed to one of
// the reader being scanned.
var errConn = errors.New("connection")

type connError struct{ err error }

func (e *connError) Error() string { return e.err.Error() }
func (e *connError) Unwrap() []error {
	return []error{errConn, e.err}
}

// stream writes r as INSTREAM chunks and the final zero-length chunk.
func (c *Client) stream(w *bufio.Writer, r io.Reader) error {
	buf := make([]byte, c.chunkSize())
	var sent int64
	for {
		n, rerr := io.ReadFull(r, buf)
		if n > 0 {
			sent += int64(n)
			if sent > c.maxSize() {
				return fmt.Errorf("%w: more than %d bytes", ErrTooLarge, c.maxSize())
			}
			var hdr [4]byte
			binary.BigEndian.PutUint32(hdr[:], uint32(n))
			w.Write(hdr[:])
			if _, err := w.Write(buf[:n]); err != nil {
				return &connError{err}
			}
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			return fmt.Errorf("clamd: reading the message: %w", rerr)
		}
	}
	w.Write([]byte{0, 0, 0, 0})
	if err := w.Flush(); err != nil {
		return &connError{err}
	}
	return nil
}

// readReply reads one null-terminated reply and parses it.
func readReply(conn net.Conn) (Result, error) {
	line, err := readLine(conn)
	if err != nil {
		return Result{}, err
	}
	return ParseReply(line)
}

// readLine reads up to the NUL (or newline) ending a reply.
func readLine(conn net.Conn) (string, error) {
	br := bufio.NewReaderSize(io.LimitReader(conn, MaxReply+1), 512)
	var b []byte
	for {
		c, err := br.ReadByte()
		if err != nil {
			if err == io.EOF && len(b) > MaxReply {
				return "", fmt.Errorf("%w: reply longer than %d bytes", ErrUnavailable, MaxReply)
			}
			if err == io.EOF && len(b) > 0 {
				return string(b), nil // closed after a reply without its NUL
			}
			return "", &connError{fmt.Errorf("reading the reply: %w", err)}
		}
		if c == 0 || c == '\n' {
			return string(b), nil
		}
		b = append(b, c)
	}
}

// ParseReply reads clamd's reply to INSTREAM (or to a SCAN of one file),
// without its terminating NUL: "stream: OK", "stream: NAME FOUND",
// "... ERROR", each possibly prefixed by an IDSESSION request number
// ("1: stream: OK").
func ParseReply(reply string) (Result, error) {
	s := strings.TrimRight(reply, "\x00\r\n")
	switch {
	case strings.HasSuffix(s, " ERROR"):
		msg := strings.TrimSuffix(s, " ERROR")
		if strings.Contains(msg, "size limit exceeded") {
			return Result{}, fmt.Errorf("%w: clamd says %q", ErrTooLarge, printable(msg))
		}
		return Result{}, fmt.Errorf("%w: clamd says %q", ErrUnavailable, printable(msg))
	case strings.HasSuffix(s, ": OK"):
		return Result{}, nil
	case strings.HasSuffix(s, " FOUND"):
		body := strings.TrimSuffix(s, " FOUND")
		i := strings.LastIndex(body, ": ")
		if i < 0 {
			break
		}
		sig := body[i+2:]
		if sig == "" || strings.ContainsAny(sig, " \x00") || !isPrintable(sig) {
			break
		}
		return Result{Infected: true, Signature: sig}, nil
	}
	return Result{}, fmt.Errorf("%w: unexpected reply %q", ErrUnavailable, printable(s))
}

// Ping checks that clamd answers.
func (c *Client) Ping(ctx context.Context) error {
	reply, err := c.command(ctx, "PING")
	if err != nil {
		return err
	}
	if reply != "PONG" {
		return fmt.Errorf("%w: PING answered %q", ErrUnavailable, printable(reply))
	}
	return nil
}

// Version returns clamd's version line, such as
// "ClamAV 1.4.3/27000/Mon Jan 1 09:00:00 2026".
func (c *Client) Version(ctx context.Context) (string, error) {
	reply, err := c.command(ctx, "VERSION")
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(reply, "ClamAV ") || !isPrintable(reply) {
		return "", fmt.Errorf("%w: VERSION answered %q", ErrUnavailable, printable(reply))
	}
	return reply, nil
}

// command sends one command without data and returns the reply.
func (c *Client) command(ctx context.Context, name string) (string, error) {
	conn, done, err := c.dial(ctx)
	if err != nil {
		return "", err
	}
	defer done()
	if _, err := conn.Write([]byte("z" + name + "\x00")); err != nil {
		return "", unwrapConn(&connError{err}, ctx)
	}
	reply, err := readLine(conn)
	return reply, unwrapConn(err, ctx)
}

// dial connects and arms the deadline and the context's cancellation; done
// releases both and closes the connection.
func (c *Client) dial(ctx context.Context) (net.Conn, func(), error) {
	network := c.Network
	if network == "" {
		network = "unix"
	}
	if network != "unix" && network != "tcp" {
		return nil, nil, fmt.Errorf("clamd: network %q, want unix or tcp", network)
	}
	if c.Address == "" {
		return nil, nil, fmt.Errorf("%w: no address configured", ErrUnavailable)
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, c.Address)
	if err != nil {
		cancel()
		return nil, nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	return conn, func() {
		stop()
		cancel()
		conn.Close()
	}, nil
}

// unwrapConn turns a connection failure into ErrUnavailable, naming the
// context's error when that is what ended it.
func unwrapConn(err error, ctx context.Context) error {
	if err == nil || !errors.Is(err, errConn) {
		return err
	}
	var ce *connError
	errors.As(err, &ce)
	if ctx.Err() != nil {
		return fmt.Errorf("%w: %w (%v)", ErrUnavailable, ctx.Err(), ce.err)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("%w: timed out: %v", ErrUnavailable, ce.err)
	}
	return fmt.Errorf("%w: %v", ErrUnavailable, ce.err)
}

func (c *Client) chunkSize() int {
	if c.ChunkSize <= 0 {
		return DefaultChunkSize
	}
	return c.ChunkSize
}

func (c *Client) maxSize() int64 {
	if c.MaxSize <= 0 {
		return DefaultMaxSize
	}
	return c.MaxSize
}

func isPrintable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// printable shortens s and hides its control bytes, for error messages.
func printable(s string) string {
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return string(bytes.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, []byte(s)))
}
