package tlsconf

import (
	"crypto/tls"
	"strings"
	"testing"
)

func TestPolicy(t *testing.T) {
	ecKey := makeKeyPair(t, "ecdsa", "ec.sealpost.test", "ec.sealpost.test")
	rsaKey := makeKeyPair(t, "rsa", "rsa.sealpost.test", "rsa.sealpost.test")

	tests := []struct {
		name       string
		serverKey  testKeyPair
		minVersion uint16 // server's Options.MinVersion
		client     *tls.Config
		// wantErr is a fragment of the client's handshake error; empty
		// means the handshake must succeed with the values below.
		wantErr     string
		wantVersion uint16
		wantSuite   uint16
		wantCurve   tls.CurveID
	}{
		{
			name:        "TLS 1.3 default client",
			serverKey:   ecKey,
			wantVersion: tls.VersionTLS13,
			wantCurve:   tls.X25519MLKEM768,
		},
		{
			name:        "TLS 1.3 X25519",
			serverKey:   ecKey,
			client:      &tls.Config{CurvePreferences: []tls.CurveID{tls.X25519}},
			wantVersion: tls.VersionTLS13,
			wantCurve:   tls.X25519,
		},
		{
			name:        "TLS 1.3 P-256",
			serverKey:   ecKey,
			client:      &tls.Config{CurvePreferences: []tls.CurveID{tls.CurveP256}},
			wantVersion: tls.VersionTLS13,
			wantCurve:   tls.CurveP256,
		},
		{
			name:        "TLS 1.3 required and offered",
			serverKey:   ecKey,
			minVersion:  tls.VersionTLS13,
			wantVersion: tls.VersionTLS13,
		},
		{
			name:        "TLS 1.2 ECDHE-ECDSA AES-128-GCM",
			serverKey:   ecKey,
			client:      &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}},
			wantVersion: tls.VersionTLS12,
			wantSuite:   tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
		},
		{
			name:        "TLS 1.2 ECDHE-ECDSA AES-256-GCM",
			serverKey:   ecKey,
			client:      &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384}},
			wantVersion: tls.VersionTLS12,
			wantSuite:   tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
		},
		{
			name:        "TLS 1.2 ECDHE-ECDSA ChaCha20-Poly1305",
			serverKey:   ecKey,
			client:      &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}},
			wantVersion: tls.VersionTLS12,
			wantSuite:   tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
		},
		{
			name:        "TLS 1.2 ECDHE-RSA AES-128-GCM",
			serverKey:   rsaKey,
			client:      &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}},
			wantVersion: tls.VersionTLS12,
			wantSuite:   tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
		},
		{
			name:        "TLS 1.2 ECDHE-RSA ChaCha20-Poly1305",
			serverKey:   rsaKey,
			client:      &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256}},
			wantVersion: tls.VersionTLS12,
			wantSuite:   tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
		{
			name:        "TLS 1.2 P-256 only",
			serverKey:   ecKey,
			client:      &tls.Config{MaxVersion: tls.VersionTLS12, CurvePreferences: []tls.CurveID{tls.CurveP256}},
			wantVersion: tls.VersionTLS12,
			wantCurve:   tls.CurveP256,
		},
		{
			name:      "TLS 1.1 refused",
			serverKey: ecKey,
			client:    &tls.Config{MinVersion: tls.VersionTLS11, MaxVersion: tls.VersionTLS11},
			wantErr:   "protocol version",
		},
		{
			name:      "TLS 1.0 refused",
			serverKey: rsaKey,
			client:    &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS10},
			wantErr:   "protocol version",
		},
		{
			name:       "TLS 1.2 refused when 1.3 is the minimum",
			serverKey:  ecKey,
			minVersion: tls.VersionTLS13,
			client:     &tls.Config{MaxVersion: tls.VersionTLS12},
			wantErr:    "protocol version",
		},
		{
			name:      "TLS 1.2 CBC-only ECDSA refused",
			serverKey: ecKey,
			client: &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{
				tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
				tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
				tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
			}},
			wantErr: "handshake failure",
		},
		{
			name:      "TLS 1.2 CBC-only RSA refused",
			serverKey: rsaKey,
			client: &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{
				tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
				tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
				tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
			}},
			wantErr: "handshake failure",
		},
		{
			name:      "TLS 1.2 static RSA key exchange refused",
			serverKey: rsaKey,
			client: &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{
				tls.TLS_RSA_WITH_AES_128_GCM_SHA256,
				tls.TLS_RSA_WITH_AES_256_GCM_SHA384,
			}},
			wantErr: "handshake failure",
		},
		{
			name:      "TLS 1.2 3DES refused",
			serverKey: rsaKey,
			client: &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{
				tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA,
			}},
			wantErr: "handshake failure",
		},
		{
			name:      "TLS 1.2 P-384 only refused",
			serverKey: ecKey,
			client:    &tls.Config{MaxVersion: tls.VersionTLS12, CurvePreferences: []tls.CurveID{tls.CurveP384}},
			wantErr:   "handshake failure",
		},
		{
			name:      "TLS 1.3 P-384 only refused",
			serverKey: ecKey,
			client:    &tls.Config{CurvePreferences: []tls.CurveID{tls.CurveP384}},
			wantErr:   "handshake failure",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filesProvider(t, tt.serverKey, tt.minVersion)
			addr := serveEcho(t, p.Config())

			cfg := &tls.Config{}
			if tt.client != nil {
				cfg = tt.client.Clone()
			}
			cfg.ServerName = tt.serverKey.leaf.DNSNames[0]
			cfg.RootCAs = poolOf(tt.serverKey.leaf)
			c, err := dialTLS(t, addr, cfg)
			if tt.wantErr != "" {
				if err == nil {
					st := c.ConnectionState()
					t.Fatalf("handshake succeeded with %s %s, want refusal",
						tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite))
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("handshake error %q, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("handshake: %v", err)
			}
			st := c.ConnectionState()
			if st.Version != tt.wantVersion {
				t.Errorf("version %s, want %s", tls.VersionName(st.Version), tls.VersionName(tt.wantVersion))
			}
			if tt.wantSuite != 0 && st.CipherSuite != tt.wantSuite {
				t.Errorf("suite %s, want %s", tls.CipherSuiteName(st.CipherSuite), tls.CipherSuiteName(tt.wantSuite))
			}
			if tt.wantCurve != 0 && st.CurveID != tt.wantCurve {
				t.Errorf("curve %s, want %s", st.CurveID, tt.wantCurve)
			}
			echo(t, c, "policy ok")
		})
	}
}

// TestConfigIsolated checks that a listener changing its copy of the
// configuration does not change what other listeners get.
func TestConfigIsolated(t *testing.T) {
	p := filesProvider(t, makeKeyPair(t, "ecdsa", "a.sealpost.test", "a.sealpost.test"), 0)
	a := p.Config()
	a.NextProtos = append(a.NextProtos, "h2")
	a.CipherSuites[0] = tls.TLS_RSA_WITH_AES_128_CBC_SHA
	a.MinVersion = tls.VersionTLS10

	b := p.Config()
	if len(b.NextProtos) != 0 {
		t.Errorf("NextProtos leaked between configs: %q", b.NextProtos)
	}
	if b.CipherSuites[0] == tls.TLS_RSA_WITH_AES_128_CBC_SHA {
		t.Error("cipher suite change leaked between configs")
	}
	if b.MinVersion != tls.VersionTLS12 {
		t.Errorf("MinVersion %s, want TLS 1.2", tls.VersionName(b.MinVersion))
	}
	for _, s := range b.CipherSuites {
		if tls.CipherSuiteName(s) == "" || !strings.Contains(tls.CipherSuiteName(s), "ECDHE") {
			t.Errorf("suite %s lacks ECDHE", tls.CipherSuiteName(s))
		}
		if strings.Contains(tls.CipherSuiteName(s), "CBC") {
			t.Errorf("suite %s is CBC", tls.CipherSuiteName(s))
		}
	}
}
