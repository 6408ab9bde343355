package mtasts

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestPolicyString: a policy written out reads back the same, and its id
// follows its text.
func TestPolicyString(t *testing.T) {
	for _, p := range []Policy{
		{Mode: ModeEnforce, MX: []string{"mail.example.com"}, MaxAge: 7 * 24 * time.Hour},
		{Mode: ModeTesting, MX: []string{"mx1.example.com", "*.mx.example.net"}, MaxAge: 86400 * time.Second},
	} {
		got, err := ParsePolicy([]byte(p.String()))
		if err != nil || !reflect.DeepEqual(got, p) {
			t.Errorf("%q read back as %+v, %v", p.String(), got, err)
		}
	}
	a := Policy{Mode: ModeEnforce, MX: []string{"a.example"}, MaxAge: time.Hour}.String()
	b := Policy{Mode: ModeTesting, MX: []string{"a.example"}, MaxAge: time.Hour}.String()
	if PolicyID(a) == PolicyID(b) || PolicyID(a) != PolicyID(strings.Clone(a)) || len(PolicyID(a)) != 16 {
		t.Errorf("ids %q %q", PolicyID(a), PolicyID(b))
	}
}
