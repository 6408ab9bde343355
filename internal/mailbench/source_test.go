package mailbench

import (
	"bufio"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// peerServer is a minimal SMTP server that records the address each
// connection came from.
type peerServer struct {
	ln    net.Listener
	mu    sync.Mutex
	peers map[string]int // source IP -> connections
	wg    sync.WaitGroup
}

func startPeerServer(t *testing.T) *peerServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &peerServer{ln: ln, peers: map[string]int{}}
	s.wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Go(func() { s.serve(conn) })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		s.wg.Wait()
	})
	return s
}

func (s *peerServer) serve(conn net.Conn) {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	host, _, _ := net.SplitHostPort(conn.RemoteAddr().String())
	s.mu.Lock()
	s.peers[host]++
	s.mu.Unlock()
	r, w := bufio.NewReader(conn), bufio.NewWriter(conn)
	say := func(line string) { w.WriteString(line + "\r\n"); w.Flush() }
	say("220 peer.test ESMTP")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		verb, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			say("250 peer.test")
		case "DATA":
			say("354 go on")
			for line != ".\r\n" {
				if line, err = r.ReadString('\n'); err != nil {
					return
				}
			}
			say("250 2.0.0 stored")
		case "QUIT":
			say("221 bye")
			return
		default:
			say("250 ok")
		}
	}
}

func TestRunSpreadsSourceAddresses(t *testing.T) {
	srv := startPeerServer(t)
	res, err := Run(t.Context(), quick(Config{
		Addr: srv.ln.Addr().String(), Messages: 8, Connections: 4, To: []string{"x@example.test"},
		SourceIPs: []net.IP{net.IPv4(127, 0, 0, 2), net.IPv4(127, 0, 0, 3)},
	}))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Sent != 8 {
		t.Fatalf("sent %d, want 8 (errors %v)", res.Sent, res.ErrorSamples)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if len(srv.peers) != 2 || srv.peers["127.0.0.2"] != 2 || srv.peers["127.0.0.3"] != 2 {
		t.Errorf("connections by source %v, want two from each of 127.0.0.2 and 127.0.0.3", srv.peers)
	}

	_, err = Run(t.Context(), quick(Config{
		Addr: srv.ln.Addr().String(), Messages: 1, To: []string{"x@example.test"},
		SourceIPs: []net.IP{net.IPv4(192, 0, 2, 1)},
	}))
	if err == nil || !strings.Contains(err.Error(), "not a loopback") {
		t.Errorf("Run from 192.0.2.1: %v, want a refusal", err)
	}
}
