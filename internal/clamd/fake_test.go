package clamd

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// fake serves one behaviour on a unix socket of loopback, for what a real
// clamd will not do: stall, babble, or show its chunks.
func fake(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "s")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				serve(c)
			}()
		}
	}()
	return path
}

// readChunks reads an INSTREAM command and its chunks.
func readChunks(r *bufio.Reader) (cmd string, chunks [][]byte, err error) {
	cmd, err = r.ReadString(0)
	if err != nil {
		return
	}
	for {
		var n uint32
		if err = binary.Read(r, binary.BigEndian, &n); err != nil {
			return
		}
		if n == 0 {
			return
		}
		b := make([]byte, n)
		if _, err = io.ReadFull(r, b); err != nil {
			return
		}
		chunks = append(chunks, b)
	}
}

// TestChunking: the stream arrives whole, in chunks of at most ChunkSize,
// after the null-terminated command.
func TestChunking(t *testing.T) {
	got := make(chan [][]byte, 1)
	addr := fake(t, func(c net.Conn) {
		cmd, chunks, err := readChunks(bufio.NewReader(c))
		if err != nil || cmd != "zINSTREAM\x00" {
			t.Errorf("command %q, %v", cmd, err)
		}
		got <- chunks
		c.Write([]byte("stream: OK\x00"))
	})
	msg := bytes.Repeat([]byte("abcdefghij"), 1001)
	c := &Client{Address: addr, ChunkSize: 1000}
	res, err := c.Scan(context.Background(), iotest.OneByteReader(bytes.NewReader(msg)))
	if err != nil || res.Infected {
		t.Fatalf("%+v, %v", res, err)
	}
	chunks := <-got
	if len(chunks) != 11 || !bytes.Equal(bytes.Join(chunks, nil), msg) {
		t.Errorf("%d chunks, %d bytes", len(chunks), len(bytes.Join(chunks, nil)))
	}
	for _, ch := range chunks {
		if len(ch) > 1000 {
			t.Errorf("chunk of %d bytes", len(ch))
		}
	}
}

// TestHostileServer: a server that stalls or babbles costs at most the
// timeout, and the error says clamd is unavailable.
func TestHostileServer(t *testing.T) {
	tests := map[string]func(net.Conn){
		"silent":         func(c net.Conn) { io.Copy(io.Discard, c) },
		"babbles":        func(c net.Conn) { c.Write(bytes.Repeat([]byte("A"), 1<<20)) },
		"closes at once": func(c net.Conn) {},
		"nonsense":       func(c net.Conn) { readChunks(bufio.NewReader(c)); c.Write([]byte("stream: MAYBE\x00")) },
		"clamd error": func(c net.Conn) {
			readChunks(bufio.NewReader(c))
			c.Write([]byte("stream: Can't allocate memory ERROR\x00"))
		},
		"control in name": func(c net.Conn) { readChunks(bufio.NewReader(c)); c.Write([]byte("stream: Evil\x1b[2J FOUND\x00")) },
	}
	for name, serve := range tests {
		t.Run(name, func(t *testing.T) {
			c := &Client{Address: fake(t, serve), Timeout: 300 * time.Millisecond}
			start := time.Now()
			_, err := c.Scan(context.Background(), strings.NewReader("hello"))
			if !errors.Is(err, ErrUnavailable) {
				t.Errorf("Scan: %v", err)
			}
			if err := c.Ping(context.Background()); !errors.Is(err, ErrUnavailable) {
				t.Errorf("Ping: %v", err)
			}
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("took %v", took)
			}
		})
	}
}

// TestContext: a cancelled context ends a scan at once.
func TestContext(t *testing.T) {
	c := &Client{Address: fake(t, func(c net.Conn) { io.Copy(io.Discard, c) })}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := c.Scan(ctx, strings.NewReader("hello"))
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.Canceled) {
		t.Errorf("err %v", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("took %v", took)
	}
}

// TestReaderError: a message that cannot be read is the caller's failure,
// not clamd's.
func TestReaderError(t *testing.T) {
	c := &Client{Address: fake(t, func(c net.Conn) { io.Copy(io.Discard, c) })}
	boom := errors.New("disk on fire")
	_, err := c.Scan(context.Background(), iotest.ErrReader(boom))
	if !errors.Is(err, boom) || errors.Is(err, ErrUnavailable) {
		t.Errorf("err %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	if err := (&Client{}).Ping(context.Background()); !errors.Is(err, ErrUnavailable) {
		t.Errorf("no address: %v", err)
	}
	if err := (&Client{Network: "udp", Address: "127.0.0.1:1"}).Ping(context.Background()); err == nil {
		t.Error("udp accepted")
	}
}

func TestParseReply(t *testing.T) {
	tests := []struct {
		reply string
		want  Result
		err   error
	}{
		{"stream: OK", Result{}, nil},
		{"stream: OK\x00", Result{}, nil},
		{"1: stream: OK", Result{}, nil},
		{"stream: Win.Test.EICAR_HDB-1 FOUND", Result{Infected: true, Signature: "Win.Test.EICAR_HDB-1"}, nil},
		{"2: stream: Eicar-Signature FOUND\n", Result{Infected: true, Signature: "Eicar-Signature"}, nil},
		{"INSTREAM size limit exceeded. ERROR", Result{}, ErrTooLarge},
		{"stream: Can't open file ERROR", Result{}, ErrUnavailable},
		{"UNKNOWN COMMAND", Result{}, ErrUnavailable},
		{"", Result{}, ErrUnavailable},
		{"stream:  FOUND", Result{}, ErrUnavailable},
		{"FOUND", Result{}, ErrUnavailable},
		{"stream: two words FOUND", Result{}, ErrUnavailable},
	}
	for _, tc := range tests {
		got, err := ParseReply(tc.reply)
		if got != tc.want || !errors.Is(err, tc.err) || (err == nil) != (tc.err == nil) {
			t.Errorf("ParseReply(%q) = %+v, %v; want %+v, %v", tc.reply, got, err, tc.want, tc.err)
		}
	}
}
