package mtasts

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParsePolicy(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		want    Policy
		wantErr string // substring; empty means success
	}{
		{
			name: "enforce CRLF",
			text: "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmax_age: 604800\r\n",
			want: Policy{Mode: ModeEnforce, MX: []string{"mail.example.com", "*.example.net"}, MaxAge: 604800 * time.Second},
		},
		{
			name: "testing LF no final newline",
			text: "version: STSv1\nmode: testing\nmx: MX.Example.COM\nmax_age: 86400",
			want: Policy{Mode: ModeTesting, MX: []string{"mx.example.com"}, MaxAge: 86400 * time.Second},
		},
		{
			name: "none needs no mx",
			text: "version: STSv1\nmode: none\nmax_age: 0\n",
			want: Policy{Mode: ModeNone, MaxAge: 0},
		},
		{
			name: "field order free, no space after colon, trailing space",
			text: "max_age:3600  \nmx:mx.example.com\t\nmode:enforce\nversion:STSv1\n",
			want: Policy{Mode: ModeEnforce, MX: []string{"mx.example.com"}, MaxAge: time.Hour},
		},
		{
			name: "unknown fields ignored",
			text: "version: STSv1\nmode: enforce\nx-note: anything goes – even UTF-8\nmx: mx.example.com\nmax_age: 60\nfuture_field.v2: 1\n",
			want: Policy{Mode: ModeEnforce, MX: []string{"mx.example.com"}, MaxAge: time.Minute},
		},
		{
			name: "max_age capped",
			text: "version: STSv1\nmode: enforce\nmx: mx.example.com\nmax_age: 9999999999\n",
			want: Policy{Mode: ModeEnforce, MX: []string{"mx.example.com"}, MaxAge: MaxMaxAge},
		},
		{
			name: "blank lines tolerated",
			text: "version: STSv1\r\n\r\nmode: enforce\r\nmx: mx.example.com\r\nmax_age: 60\r\n\r\n",
			want: Policy{Mode: ModeEnforce, MX: []string{"mx.example.com"}, MaxAge: time.Minute},
		},
		{name: "empty", text: "", wantErr: "no version"},
		{name: "no version", text: "mode: enforce\nmx: a.example\nmax_age: 1\n", wantErr: "no version"},
		{name: "wrong version", text: "version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 1\n", wantErr: "unknown version"},
		{name: "version case", text: "version: stsv1\nmode: enforce\nmx: a.example\nmax_age: 1\n", wantErr: "unknown version"},
		{name: "field name case", text: "Version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 1\n", wantErr: "no version"},
		{name: "unknown mode", text: "version: STSv1\nmode: Enforce\nmx: a.example\nmax_age: 1\n", wantErr: "unknown mode"},
		{name: "no mode", text: "version: STSv1\nmx: a.example\nmax_age: 1\n", wantErr: "no mode"},
		{name: "two modes", text: "version: STSv1\nmode: testing\nmode: enforce\nmx: a.example\nmax_age: 1\n", wantErr: "mode given twice"},
		{name: "no max_age", text: "version: STSv1\nmode: enforce\nmx: a.example\n", wantErr: "no max_age"},
		{name: "negative max_age", text: "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: -1\n", wantErr: "invalid max_age"},
		{name: "11 digit max_age", text: "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 10000000000\n", wantErr: "invalid max_age"},
		{name: "enforce without mx", text: "version: STSv1\nmode: enforce\nmax_age: 1\n", wantErr: "no mx"},
		{name: "mx with port", text: "version: STSv1\nmode: enforce\nmx: a.example:25\nmax_age: 1\n", wantErr: "invalid mx"},
		{name: "mx double wildcard", text: "version: STSv1\nmode: enforce\nmx: *.*.example\nmax_age: 1\n", wantErr: "invalid mx"},
		{name: "mx inner wildcard", text: "version: STSv1\nmode: enforce\nmx: mx*.example\nmax_age: 1\n", wantErr: "invalid mx"},
		{name: "mx trailing dot", text: "version: STSv1\nmode: enforce\nmx: mx.example.\nmax_age: 1\n", wantErr: "invalid mx"},
		{name: "mx hyphen label", text: "version: STSv1\nmode: enforce\nmx: -mx.example\nmax_age: 1\n", wantErr: "invalid mx"},
		{name: "line without colon", text: "version: STSv1\nmode enforce\n", wantErr: "malformed field"},
		{name: "leading space", text: " version: STSv1\n", wantErr: "malformed field"},
		{name: "control char in extension", text: "version: STSv1\nx: a\x01b\nmode: none\nmax_age: 1\n", wantErr: "malformed value"},
		{name: "bare CR inside line", text: "version: STSv1\rmode: none\nmax_age: 1\n", wantErr: "unknown version"},
		{name: "not UTF-8", text: "version: STSv1\nx: \xff\nmode: none\nmax_age: 1\n", wantErr: "not UTF-8"},
		{name: "oversize", text: "version: STSv1\nmode: none\nmax_age: 1\n" + strings.Repeat("x: y\n", MaxPolicySize/5), wantErr: "larger than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParsePolicy([]byte(tc.text))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, ErrInvalidPolicy) {
					t.Fatalf("ParsePolicy = %+v, %v; want error with %q wrapping ErrInvalidPolicy", got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParsePolicy: %v", err)
			}
			if got.Mode != tc.want.Mode || got.MaxAge != tc.want.MaxAge || !slices.Equal(got.MX, tc.want.MX) {
				t.Errorf("ParsePolicy = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestPolicyMatch(t *testing.T) {
	p := Policy{Mode: ModeEnforce, MX: []string{"mail.example.com", "*.example.net"}}
	tests := []struct {
		host string
		want bool
	}{
		{"mail.example.com", true},
		{"MAIL.Example.Com.", true},
		{"example.com", false},
		{"mail.example.com.evil.test", false},
		{"xmail.example.com", false},
		{"mx1.example.net", true},
		{"mx1.example.net.", true},
		{"example.net", false},
		{".example.net", false},
		{"a.mx1.example.net", false}, // the wildcard covers one label only
		{"mx1.example.network", false},
		{"", false},
	}
	for _, tc := range tests {
		if got := p.Match(tc.host); got != tc.want {
			t.Errorf("Match(%q) = %v, want %v", tc.host, got, tc.want)
		}
	}
}
