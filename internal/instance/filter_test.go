package instance

import (
	"slices"
	"testing"

	"sealpost.dev/sealpost/internal/config"
	"sealpost.dev/sealpost/internal/dnsx"
	"sealpost.dev/sealpost/internal/filter"
	"sealpost.dev/sealpost/internal/store/sqlite"
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
	f, err := Filter(cfg, nil, FilterDeps{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if f.RejectScore != 20 || f.JunkScore != 6 || f.WarnScore != 3 || f.Banner == nil || len(f.Checks) != len(filter.Builtin())+1 ||
		f.Weights["headers.no_date"] != 0 || f.Weights["dmarc"] != 2.5 || f.OnError["clamd"] != filter.Tempfail ||
		f.ExemptRecipients[0] != "abuse@example.com" {
		t.Errorf("filter %+v", f)
	}
	cfg.Filter.Enabled = false
	if f, _ := Filter(cfg, nil, FilterDeps{}, nil); len(f.Checks) != 0 || f.RejectScore != 0 {
		t.Errorf("disabled filter %+v", f)
	}
}

// TestFilterChecks: every adapter is wired as configured.
func TestFilterChecks(t *testing.T) {
	cfg, err := config.Parse([]byte(`hostname = "mail.example.com"
data_dir = "/tmp/x"
[tls]
cert_file = "/tmp/x/cert.pem"
key_file = "/tmp/x/key.pem"
[greylist]
enabled = true
spare_aligned = true
[filter]
dnsbl_zones = ["bl.example=3"]
uribl_zones = ["uri.example=4 127.0.1.2"]
clamd = "/run/clamav/clamd.ctl"
`), "t.toml")
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(t.Context(), t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := Filter(cfg, st, FilterDeps{}, nil); err == nil {
		t.Error("blocklists without a resolver: no error")
	}
	bg := filter.NewBackground(10, nil)
	defer bg.Close()
	deps := FilterDeps{Resolver: dnsx.NewStub(dnsx.NewZone(), nil), Greylist: Greylist(cfg, st), Background: bg}
	f, err := Filter(cfg, st, deps, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range f.Checks {
		names = append(names, c.Name())
	}
	for _, c := range f.AccountChecks {
		names = append(names, "account "+c.Name())
	}
	want := []string{"structure", "headers", "attach", "phish", "dnsbl", "clamd", "account classifier", "account phish", "account reputation"}
	if !slices.Equal(names, want) || f.OnError["clamd"] != filter.Tempfail || f.OnVerdict == nil {
		t.Errorf("checks %v, want %v; on error %v", names, want, f.OnError)
	}
	d := f.Checks[4].(*filter.DNSBL)
	if len(d.IPZones) != 1 || d.IPZones[0].Name != "bl.example" || len(d.DomainZones) != 1 || len(d.DomainZones[0].Codes) != 1 {
		t.Errorf("zones %+v %+v", d.IPZones, d.DomainZones)
	}
	cfg.Filter.ClamdOnError = "pass"
	cfg.Filter.Tempfail = []string{"clamd"}
	if f, _ := Filter(cfg, st, deps, nil); f.OnError["clamd"] != filter.Ignore {
		t.Errorf("clamd_on_error pass: %v", f.OnError)
	}
}
