package instance

import (
	"testing"

	"sealpost.dev/sealpost/internal/config"
	"sealpost.dev/sealpost/internal/filter"
)

func TestFilter(t *testing.T) {
	cfg, err := config.Parse([]byte(`hostname = "mail.example.com"
data_dir = "/tmp/x"
[tls]
cert_file = "/tmp/x/cert.pem"
key_file = "/tmp/x/key.pem"
[filter]
reject_score = 20
weights = ["headers.no_date=0", "dmarc=2.5"]
tempfail = ["clamd"]
exempt_recipients = ["abuse@example.com"]
`), "t.toml")
	if err != nil {
		t.Fatal(err)
	}
	f, err := Filter(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if f.RejectScore != 20 || f.JunkScore != 6 || f.WarnScore != 3 || f.Banner == nil || len(f.Checks) != len(filter.Builtin()) ||
		f.Weights["headers.no_date"] != 0 || f.Weights["dmarc"] != 2.5 || f.OnError["clamd"] != filter.Tempfail ||
		f.ExemptRecipients[0] != "abuse@example.com" {
		t.Errorf("filter %+v", f)
	}
	cfg.Filter.Enabled = false
	if f, _ := Filter(cfg, nil, nil); len(f.Checks) != 0 || f.RejectScore != 0 {
		t.Errorf("disabled filter %+v", f)
	}
}
