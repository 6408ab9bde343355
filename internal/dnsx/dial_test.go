package dnsx

import (
	"errors"
	"net"
	"testing"
)

func TestDial(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	zone := NewZone()
	if err := zone.AddDomain("dial.example"); err != nil {
		t.Fatal(err)
	}
	// The first address refuses; the second answers.
	if err := zone.Add("up.dial.example. A 127.0.0.2\nup.dial.example. A 127.0.0.1\nnoaddr.dial.example. TXT \"x\"\n"); err != nil {
		t.Fatal(err)
	}
	r := NewStub(zone, nil)
	d := &net.Dialer{}
	tests := []struct {
		host string
		want error // nil: connected
	}{
		{"up.dial.example", nil},
		{"noaddr.dial.example", ErrNoAddress},
		{"missing.dial.example", ErrNotFound},
	}
	for _, tt := range tests {
		c, err := Dial(t.Context(), r, d, "tcp", net.JoinHostPort(tt.host, port))
		if tt.want == nil {
			if err != nil {
				t.Errorf("Dial(%s): %v", tt.host, err)
				continue
			}
			if got := c.RemoteAddr().(*net.TCPAddr).IP.String(); got != "127.0.0.1" {
				t.Errorf("Dial(%s) reached %s", tt.host, got)
			}
			c.Close()
			continue
		}
		if !errors.Is(err, tt.want) {
			t.Errorf("Dial(%s) = %v, want %v", tt.host, err, tt.want)
		}
	}
	if _, err := Dial(t.Context(), r, d, "tcp", "no-port"); err == nil {
		t.Error("Dial without a port succeeded")
	}
}
