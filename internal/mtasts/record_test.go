package mtasts

import (
	"context"
	"errors"
	"testing"

	"sealpost.dev/sealpost/internal/dnsx"
	"sealpost.dev/sealpost/internal/dnsx/dnstest"
)

func TestParseRecord(t *testing.T) {
	tests := []struct {
		text   string
		wantID string // empty: must fail with ErrNoRecord
	}{
		{"v=STSv1; id=20160831085700Z;", "20160831085700Z"},
		{"v=STSv1; id=20160831085700Z", "20160831085700Z"},
		{"v=STSv1;id=abc", "abc"},
		{"v=STSv1 ;\tid=abc ; ", "abc"},
		{"v=STSv1; ext_1=x; id=abc; other.thing=a:b", "abc"},
		{"v=STSv1; id=" + "a1234567890123456789012345678901", "a1234567890123456789012345678901"},
		{"v=STSv1;", ""},
		{"v=STSv1", ""},
		{"v=STSv1; ", ""},
		{"v=STSv2; id=abc", ""},
		{"V=STSv1; id=abc", ""},
		{"v=STSv1; ID=abc", ""},
		{"id=abc; v=STSv1", ""},
		{"v=STSv1x; id=abc", ""},
		{"v=STSv1; id=", ""},
		{"v=STSv1; id=ab-c", ""},
		{"v=STSv1; id=" + "a12345678901234567890123456789012", ""},
		{"v=STSv1; id=abc; id=def", ""},
		{"v=STSv1; id=abc;; x=y", ""},
		{"v=STSv1; id=abc; x=", ""},
		{"v=STSv1; id=abc; _x=y", ""},
		{"v=STSv1; id=abc; x=a b", ""},
	}
	for _, tc := range tests {
		rec, err := ParseRecord(tc.text)
		if tc.wantID == "" {
			if !errors.Is(err, ErrNoRecord) {
				t.Errorf("ParseRecord(%q) = %+v, %v; want ErrNoRecord", tc.text, rec, err)
			}
			continue
		}
		if err != nil || rec.ID != tc.wantID {
			t.Errorf("ParseRecord(%q) = %+v, %v; want id %q", tc.text, rec, err, tc.wantID)
		}
	}
}

func TestLookupRecord(t *testing.T) {
	srv := dnstest.Start(t, `
_mta-sts.one.test.      TXT "v=STSv1; id=abc"
_mta-sts.split.test.    TXT "v=STSv1; " "id=split"
_mta-sts.other.test.    TXT "something else"
_mta-sts.other.test.    TXT "v=STSv1; id=kept"
_mta-sts.two.test.      TXT "v=STSv1; id=a"
_mta-sts.two.test.      TXT "v=STSv1; id=b"
_mta-sts.bad.test.      TXT "v=STSv1; id=not valid"
_mta-sts.unrelated.test. TXT "v=spf1 -all"
_mta-sts.alias.test.    CNAME _mta-sts.one.test.
nodata.test.            A 192.0.2.1
_mta-sts.nodata.test.   A 192.0.2.1
$SERVFAIL _mta-sts.broken.test.
`)
	r, err := dnsx.NewClient(srv.Addr(), dnsx.ClientConfig{Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		domain  string
		wantID  string
		wantErr error
	}{
		{"one.test", "abc", nil},
		{"ONE.test.", "abc", nil},
		{"split.test", "split", nil},
		{"other.test", "kept", nil},
		{"alias.test", "abc", nil},
		{"two.test", "", ErrNoRecord},
		{"bad.test", "", ErrNoRecord},
		{"unrelated.test", "", ErrNoRecord},
		{"nodata.test", "", ErrNoRecord},
		{"missing.test", "", ErrNoRecord},
		{"broken.test", "", dnsx.ErrTemporary},
	}
	for _, tc := range tests {
		rec, err := LookupRecord(context.Background(), r, tc.domain)
		if tc.wantErr != nil {
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("LookupRecord(%s) = %+v, %v; want %v", tc.domain, rec, err, tc.wantErr)
			}
			if tc.wantErr == dnsx.ErrTemporary && errors.Is(err, ErrNoRecord) {
				t.Errorf("LookupRecord(%s): a DNS failure reported as no record", tc.domain)
			}
			continue
		}
		if err != nil || rec.ID != tc.wantID {
			t.Errorf("LookupRecord(%s) = %+v, %v; want id %s", tc.domain, rec, err, tc.wantID)
		}
	}
}
