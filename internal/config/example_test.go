package config_test

import (
	"errors"
	"fmt"
	"time"

	"sealpost.dev/sealpost/internal/config"
)

func ExampleParse() {
	file := []byte(`hostname = "mail.example.com"
data_dir = "/var/lib/sealpost"

[tls]
mode = "self-signed"

[limits]
session_timeout = "30m"
`)
	c, err := config.Parse(file, "sealpost.toml")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.Hostname, c.Listeners.SMTP, time.Duration(c.Limits.SessionTimeout), c.Limits.MaxMessageSize)
	// Output: mail.example.com :25 30m0s 50MiB
}

func ExampleError() {
	file := []byte(`hostname = "mail.example.com"
data_dir = "/var/lib/sealpost"

[listeners]
smtp = "x"
`)
	_, err := config.Parse(file, "sealpost.toml")
	fmt.Println(err)

	var first *config.Error
	if errors.As(err, &first) {
		fmt.Printf("first problem: line %d, key %s\n", first.Line, first.Key)
	}
	// Output:
	// sealpost.toml:5: listeners.smtp: invalid address "x": missing port in address
	// sealpost.toml: tls.cert_file: required when tls.mode is "files"
	// sealpost.toml: tls.key_file: required when tls.mode is "files"
	// first problem: line 5, key listeners.smtp
}
