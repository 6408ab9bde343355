package tlsconf_test

import (
	"crypto/tls"
	"fmt"
	"log"
	"os"

	"sealpost.dev/sealpost/internal/tlsconf"
)

// A development server uses a self-signed certificate kept in its data
// directory; every listener takes its configuration from the provider.
func ExampleNew() {
	dir, err := os.MkdirTemp("", "sealpost-tls")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	p, err := tlsconf.New(tlsconf.Options{
		Mode:      tlsconf.ModeSelfSigned,
		Hostnames: []string{"mail.example.test", "localhost", "127.0.0.1"},
		Dir:       dir,
	}, nil)
	if err != nil {
		log.Fatal(err)
	}
	cfg := p.Config()
	cfg.NextProtos = append(cfg.NextProtos, "imap")
	fmt.Println("minimum:", tls.VersionName(cfg.MinVersion))
	// Output: minimum: TLS 1.2
}
