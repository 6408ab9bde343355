package imap

import (
	"testing"
	"time"
)

func TestParseDate(t *testing.T) {
	tests := []struct{ in, want string }{
		{"1-Feb-2024", "2024-02-01"},
		{"01-feb-2024", "2024-02-01"},
		{"29-FEB-2024", "2024-02-29"},
		{"31-Dec-1999", "1999-12-31"},
		{"29-Feb-2023", ""},
		{"0-Jan-2024", ""},
		{"1-Jan-24", ""},
		{"001-Jan-2024", ""},
		{"1-January-2024", ""},
		{"1 Jan 2024", ""},
		{"", ""},
		{"+1-Jan-2024", ""},
	}
	for _, tt := range tests {
		got, err := ParseDate(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("ParseDate(%q) = %v, want error", tt.in, got)
			}
			continue
		}
		if err != nil || got.Format(time.DateOnly) != tt.want || got.Location() != time.UTC {
			t.Errorf("ParseDate(%q) = %v, %v; want %s", tt.in, got, err, tt.want)
		}
	}
	if got := FormatDate(time.Date(2024, 3, 5, 23, 0, 0, 0, time.UTC)); got != "5-Mar-2024" {
		t.Errorf("FormatDate = %q", got)
	}
}

func TestDateTime(t *testing.T) {
	tests := []struct{ in, want string }{
		{"17-Jul-1996 02:44:25 -0700", "1996-07-17T02:44:25-07:00"},
		{" 7-Jul-1996 02:44:25 +0000", "1996-07-07T02:44:25Z"},
		{"7-Jul-1996 02:44:25 +0530", "1996-07-07T02:44:25+05:30"},
		{"17-Jul-1996 24:00:00 -0700", ""},
		{"17-Jul-1996 02:44 -0700", ""},
		{"17-Jul-1996 02:44:25", ""},
		{"17-Jul-1996 02:44:25 0700", ""},
		{"17-Jul-1996 02:44:25 +07000", ""},
		{"17-Jul-1996  02:44:25 +0700", ""},
	}
	for _, tt := range tests {
		got, err := ParseDateTime(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("ParseDateTime(%q) = %v, want error", tt.in, got)
			}
			continue
		}
		if err != nil || got.Format(time.RFC3339) != tt.want {
			t.Errorf("ParseDateTime(%q) = %v, %v; want %s", tt.in, got, err, tt.want)
		}
		// Formatting and parsing again gives the same instant and zone.
		back, err := ParseDateTime(FormatDateTime(got))
		if err != nil || !back.Equal(got) || back.Format(time.RFC3339) != tt.want {
			t.Errorf("round trip of %q: %v %v", tt.in, back, err)
		}
	}
	d := time.Date(2024, 3, 5, 7, 8, 9, 0, time.FixedZone("", -3*3600-1800))
	if got := FormatDateTime(d); got != " 5-Mar-2024 07:08:09 -0330" {
		t.Errorf("FormatDateTime = %q", got)
	}
}
