package imapserver

import (
	"bytes"

	"sealpost.dev/sealpost/internal/mimeinfo"
)

// addressMatches reports whether a SEARCH FROM, TO, CC or BCC string is
// in a header value (RFC 9051 §6.4.4): in a name, an address, or a group
// name. A value without any address is matched as text.
func addressMatches(v, sub string) bool {
	list := mimeinfo.ParseAddressList(v)
	if len(list) == 0 {
		return containsFold([]byte(v), sub)
	}
	for _, a := range list {
		if a.GroupEnd() {
			continue
		}
		name, spec := a.DisplayName(), a.Spec()
		if containsFold([]byte(name), sub) || containsFold([]byte(spec), sub) {
			return true
		}
		if name != "" && containsFold([]byte(name+" <"+spec+">"), sub) {
			return true
		}
	}
	return false
}

// containsFold reports whether sub is in s, ignoring ASCII and Unicode
// simple case.
func containsFold(s []byte, sub string) bool {
	return bytes.Contains(bytes.ToLower(s), bytes.ToLower([]byte(sub)))
}
