package account

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"strings"
	"sync"

	"golang.org/x/text/unicode/norm"
)

// commonPasswordsGz is the list of the most common passwords, one a line,
// most common first, gzipped; see COMMONPASSWORDS.md for its source and
// licence.
//
//go:embed commonpasswords.txt.gz
var commonPasswordsGz []byte

// commonPasswords is the list as a set of lowercased entries, read on
// first use: a few megabytes that a process which never checks a new
// password does not pay for.
var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	set := make(map[string]struct{}, 100_000)
	zr, err := gzip.NewReader(bytes.NewReader(commonPasswordsGz))
	if err != nil {
		panic("account: the embedded list of common passwords is corrupt: " + err.Error())
	}
	sc := bufio.NewScanner(zr)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			set[strings.ToLower(norm.NFC.String(line))] = struct{}{}
		}
	}
	if err := sc.Err(); err != nil {
		panic("account: the embedded list of common passwords is corrupt: " + err.Error())
	}
	return set
})

// IsCommonPassword reports whether pw, ignoring case and the white space
// around it, is on the list of the most common passwords.
func IsCommonPassword(pw string) bool {
	_, ok := commonPasswords()[strings.ToLower(norm.NFC.String(strings.TrimSpace(pw)))]
	return ok
}
