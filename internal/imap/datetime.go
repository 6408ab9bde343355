package imap

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

var months = [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// ErrBadDate is wrapped by ParseDate and ParseDateTime errors.
var ErrBadDate = errors.New("imap: invalid date")

func parseMonth(s string) (time.Month, bool) {
	for i, m := range months {
		if strings.EqualFold(s, m) {
			return time.Month(i + 1), true
		}
	}
	return 0, false
}

func atoiN(s string, min, max int) (int, bool) {
	if s == "" || len(s) > 4 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
	}
	n, _ := strconv.Atoi(s)
	return n, n >= min && n <= max
}

// ParseDate parses date-text, "d-Mon-yyyy" (RFC 9051 §9: date-day is one
// or two digits, the month is case-insensitive), as midnight UTC.
func ParseDate(s string) (time.Time, error) {
	parts := strings.Split(s, "-")
	if len(parts) != 3 || len(parts[0]) > 2 || len(parts[2]) != 4 {
		return time.Time{}, fmt.Errorf("%w: %q", ErrBadDate, s)
	}
	day, ok1 := atoiN(parts[0], 1, 31)
	mon, ok2 := parseMonth(parts[1])
	year, ok3 := atoiN(parts[2], 1, 9999)
	if !ok1 || !ok2 || !ok3 {
		return time.Time{}, fmt.Errorf("%w: %q", ErrBadDate, s)
	}
	t := time.Date(year, mon, day, 0, 0, 0, 0, time.UTC)
	if t.Day() != day {
		return time.Time{}, fmt.Errorf("%w: no such day: %q", ErrBadDate, s)
	}
	return t, nil
}

// FormatDate formats t's calendar day as date-text, "2-Jan-2006".
func FormatDate(t time.Time) string {
	return fmt.Sprintf("%d-%s-%04d", t.Day(), months[t.Month()-1], t.Year())
}

// ParseDateTime parses the inside of a date-time, "dd-Mon-yyyy hh:mm:ss
// +zzzz" (RFC 9051 §9; the day may be space-padded or, leniently, one
// digit).
func ParseDateTime(s string) (time.Time, error) {
	bad := func() (time.Time, error) { return time.Time{}, fmt.Errorf("%w: %q", ErrBadDate, s) }
	s2 := strings.TrimPrefix(s, " ")
	date, rest, ok := strings.Cut(s2, " ")
	if !ok {
		return bad()
	}
	d, err := ParseDate(date)
	if err != nil {
		return bad()
	}
	clock, zone, ok := strings.Cut(rest, " ")
	if !ok || len(clock) != 8 || clock[2] != ':' || clock[5] != ':' || len(zone) != 5 {
		return bad()
	}
	h, ok1 := atoiN(clock[0:2], 0, 23)
	m, ok2 := atoiN(clock[3:5], 0, 59)
	sec, ok3 := atoiN(clock[6:8], 0, 60)
	zh, ok4 := atoiN(zone[1:3], 0, 99)
	zm, ok5 := atoiN(zone[3:5], 0, 59)
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || (zone[0] != '+' && zone[0] != '-') {
		return bad()
	}
	off := zh*3600 + zm*60
	if zone[0] == '-' {
		off = -off
	}
	loc := time.FixedZone("", off)
	return time.Date(d.Year(), d.Month(), d.Day(), h, m, sec, 0, loc), nil
}

// FormatDateTime formats t as the inside of a date-time (the caller adds
// the quotes), "02-Jan-2006 15:04:05 -0700" with a space-padded day.
func FormatDateTime(t time.Time) string {
	return t.Format("_2-Jan-2006 15:04:05 -0700")
}

// dateTime reads a quoted date-time.
func (p *parser) dateTime() time.Time {
	s := p.quoted()
	t, err := ParseDateTime(s)
	if err != nil {
		p.fail("%v", err)
	}
	return t
}
