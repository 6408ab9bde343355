package dnsx

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// hostile is a raw DNS server for tests: reply gets each query and returns
// the datagrams to send back (over TCP, the raw bytes to write, length
// prefixes included, so that they can lie).
type hostile struct {
	addr string
}

func startHostile(t *testing.T, reply func(network string, q *dns.Msg) [][]byte) *hostile {
	t.Helper()
	var (
		l  net.Listener
		pc net.PacketConn
	)
	for i := 0; pc == nil; i++ {
		var err error
		if l, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		if pc, err = net.ListenPacket("udp", l.Addr().String()); err != nil {
			l.Close()
			if i == 10 {
				t.Fatalf("no port free for UDP and TCP: %v", err)
			}
		}
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); pc.Close(); wg.Wait() })
	wg.Go(func() {
		buf := make([]byte, 65536)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			q := new(dns.Msg)
			if q.Unpack(buf[:n]) != nil {
				continue
			}
			for _, d := range reply("udp", q) {
				pc.WriteTo(d, from)
			}
		}
	})
	wg.Go(func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(5 * time.Second))
				var lenBuf [2]byte
				if _, err := io.ReadFull(conn, lenBuf[:]); err != nil {
					return
				}
				raw := make([]byte, binary.BigEndian.Uint16(lenBuf[:]))
				if _, err := io.ReadFull(conn, raw); err != nil {
					return
				}
				q := new(dns.Msg)
				if q.Unpack(raw) != nil {
					return
				}
				for _, d := range reply("tcp", q) {
					conn.Write(d)
				}
				// Hold the connection open, as a stalling server would;
				// the client's deadline must end the wait.
				io.Copy(io.Discard, conn)
			})
		}
	})
	return &hostile{addr: l.Addr().String()}
}

func pack(t testing.TB, m *dns.Msg) []byte {
	t.Helper()
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func tcpFrame(b []byte) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(len(b))), b...)
}

// goodReply answers q with one A record 192.0.2.1 for its name.
func goodReply(q *dns.Msg) *dns.Msg {
	m := new(dns.Msg).SetReply(q)
	m.Answer = append(m.Answer, mustRR("A 192.0.2.1", q.Question[0].Name))
	return m
}

func mustRR(rdata, owner string) dns.RR {
	rr, err := dns.NewRR(owner + " 60 IN " + rdata)
	if err != nil {
		panic(err)
	}
	return rr
}

func TestClientHostileServer(t *testing.T) {
	cases := []struct {
		name    string
		reply   func(t *testing.T, network string, q *dns.Msg) [][]byte
		want    string // address expected, or "" for an error
		wantErr error
	}{
		{
			name: "wrong ID before the real reply",
			reply: func(t *testing.T, _ string, q *dns.Msg) [][]byte {
				bad := goodReply(q)
				bad.Id++
				bad.Answer[0].(*dns.A).A = net.IPv4(192, 0, 2, 66)
				return [][]byte{pack(t, bad), pack(t, goodReply(q))}
			},
			want: "192.0.2.1",
		},
		{
			name: "only wrong IDs",
			reply: func(t *testing.T, _ string, q *dns.Msg) [][]byte {
				bad := goodReply(q)
				bad.Id++
				return [][]byte{pack(t, bad)}
			},
			wantErr: ErrTemporary,
		},
		{
			name: "mismatched question before the real reply",
			reply: func(t *testing.T, _ string, q *dns.Msg) [][]byte {
				other := q.Copy()
				other.Question[0].Name = "evil.test."
				bad := goodReply(other)
				bad.Answer[0].(*dns.A).A = net.IPv4(192, 0, 2, 66)
				wrongType := q.Copy()
				wrongType.Question[0].Qtype = dns.TypeMX
				return [][]byte{pack(t, bad), pack(t, goodReply(wrongType)), pack(t, goodReply(q))}
			},
			want: "192.0.2.1",
		},
		{
			name: "query echoed without QR, garbage, empty, then the reply",
			reply: func(t *testing.T, _ string, q *dns.Msg) [][]byte {
				echo := pack(t, q)
				garbage := append([]byte{byte(q.Id >> 8), byte(q.Id), 0x81, 0x80}, make([]byte, 40)...)
				garbage[7] = 200 // ancount 200 with nothing behind it
				return [][]byte{echo, garbage[:3], {}, pack(t, goodReply(q))}
			},
			want: "192.0.2.1",
		},
		{
			name: "garbage with the right ID",
			reply: func(t *testing.T, _ string, q *dns.Msg) [][]byte {
				b := pack(t, goodReply(q))
				return [][]byte{b[:len(b)-3]}
			},
			wantErr: ErrTemporary,
		},
		{
			name: "more stray datagrams than the bound",
			reply: func(t *testing.T, _ string, q *dns.Msg) [][]byte {
				var out [][]byte
				for i := range maxStray + 4 {
					bad := goodReply(q)
					bad.Id += uint16(i + 1)
					out = append(out, pack(t, bad))
				}
				return out
			},
			wantErr: ErrTemporary,
		},
		{
			name: "records for other names are ignored",
			reply: func(t *testing.T, _ string, q *dns.Msg) [][]byte {
				m := goodReply(q)
				m.Answer = append([]dns.RR{mustRR("A 192.0.2.66", "evil.test.")}, m.Answer...)
				m.Answer = append(m.Answer, mustRR("A 192.0.2.67", "x."+q.Question[0].Name))
				return [][]byte{pack(t, m)}
			},
			want: "192.0.2.1",
		},
		{
			name: "too many answers over TCP",
			reply: func(t *testing.T, network string, q *dns.Msg) [][]byte {
				m := new(dns.Msg).SetReply(q)
				if network == "udp" {
					m.Truncated = true
					return [][]byte{pack(t, m)}
				}
				for i := range 2000 {
					m.Answer = append(m.Answer, &dns.A{
						Hdr: dns.RR_Header{Name: q.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60},
						A:   net.IPv4(10, 0, byte(i>>8), byte(i)),
					})
				}
				m.Compress = true
				return [][]byte{tcpFrame(pack(t, m))}
			},
			wantErr: ErrTemporary,
		},
		{
			name: "TCP length prefix longer than the data, then a stall",
			reply: func(t *testing.T, network string, q *dns.Msg) [][]byte {
				b := pack(t, goodReply(q))
				if network == "udp" {
					m := new(dns.Msg).SetReply(q)
					m.Truncated = true
					return [][]byte{pack(t, m)}
				}
				return [][]byte{append(binary.BigEndian.AppendUint16(nil, 0xffff), b...)}
			},
			wantErr: ErrTemporary,
		},
		{
			name: "TCP reply with a wrong ID",
			reply: func(t *testing.T, network string, q *dns.Msg) [][]byte {
				m := goodReply(q)
				if network == "udp" {
					m.Answer, m.Truncated = nil, true
				} else {
					m.Id++
				}
				return [][]byte{framed(network, pack(t, m))}
			},
			wantErr: ErrTemporary,
		},
		{
			name: "truncated over TCP too",
			reply: func(t *testing.T, network string, q *dns.Msg) [][]byte {
				m := new(dns.Msg).SetReply(q)
				m.Truncated = true
				return [][]byte{framed(network, pack(t, m))}
			},
			wantErr: ErrTemporary,
		},
		{
			name: "CNAME loop",
			reply: func(t *testing.T, _ string, q *dns.Msg) [][]byte {
				m := new(dns.Msg).SetReply(q)
				name := q.Question[0].Name
				m.Answer = []dns.RR{mustRR("CNAME b.test.", name), mustRR("CNAME "+name, "b.test.")}
				return [][]byte{pack(t, m)}
			},
			wantErr: ErrTemporary,
		},
		{
			name: "two CNAMEs for one name",
			reply: func(t *testing.T, _ string, q *dns.Msg) [][]byte {
				m := new(dns.Msg).SetReply(q)
				name := q.Question[0].Name
				m.Answer = []dns.RR{mustRR("CNAME b.test.", name), mustRR("CNAME c.test.", name),
					mustRR("A 192.0.2.1", "b.test."), mustRR("A 192.0.2.66", "c.test.")}
				return [][]byte{pack(t, m)}
			},
			wantErr: ErrTemporary,
		},
		{
			name: "NXDOMAIN with data",
			reply: func(t *testing.T, _ string, q *dns.Msg) [][]byte {
				m := goodReply(q)
				m.Rcode = dns.RcodeNameError
				return [][]byte{pack(t, m)}
			},
			wantErr: ErrNotFound,
		},
		{
			name: "REFUSED",
			reply: func(t *testing.T, _ string, q *dns.Msg) [][]byte {
				return [][]byte{pack(t, new(dns.Msg).SetRcode(q, dns.RcodeRefused))}
			},
			wantErr: ErrTemporary,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := startHostile(t, func(network string, q *dns.Msg) [][]byte {
				if q.Question[0].Qtype != dns.TypeA {
					return [][]byte{framed(network, pack(t, new(dns.Msg).SetReply(q)))}
				}
				return tc.reply(t, network, q)
			})
			c := newTestClient(t, h.addr, ClientConfig{Timeout: 300 * time.Millisecond, Attempts: 2, CacheSize: -1})
			start := time.Now()
			addrs, _, err := c.LookupIP(t.Context(), "victim.test")
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("took %v", d)
			}
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				if len(addrs) != 0 {
					t.Errorf("got addresses %v with the error", addrs)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(addrs) != 1 || addrs[0].String() != tc.want {
				t.Errorf("got %v, want [%s]", addrs, tc.want)
			}
		})
	}
}

// framed adds the TCP length prefix when network is TCP.
func framed(network string, b []byte) []byte {
	if network == "tcp" {
		return tcpFrame(b)
	}
	return b
}

func TestProcessReplyDropsEmptyRecords(t *testing.T) {
	q := new(dns.Msg).SetQuestion("example.test.", dns.TypeMX)
	m := new(dns.Msg).SetReply(q)
	hdr := dns.RR_Header{Name: "example.test.", Rrtype: dns.TypeMX, Class: dns.ClassINET, Ttl: 60}
	m.Answer = []dns.RR{&dns.MX{Hdr: hdr}, mustRR("MX 10 mx.example.test.", "example.test.")}
	raw := pack(t, m)
	a, truncated, err := processReply(q, raw)
	if err != nil || truncated {
		t.Fatalf("err %v, truncated %v", err, truncated)
	}
	if got := mxFrom(a.rrs); len(got) != 1 || got[0].Host != "mx.example.test." {
		t.Errorf("got %v, want only mx.example.test.", got)
	}
}
