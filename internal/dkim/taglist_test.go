package dkim

import (
	"errors"
	"testing"
)

func TestParseTagList(t *testing.T) {
	got, err := ParseTagList(" v=1;a = rsa-sha256 ;\r\n\tb=ab\r\n cd ; n=x y;")
	if err != nil {
		t.Fatal(err)
	}
	want := TagList{{"v", "1"}, {"a", "rsa-sha256"}, {"b", "ab\r\n cd"}, {"n", "x y"}}
	if len(got) != len(want) {
		t.Fatalf("got %q", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("tag %d: got %q, want %q", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"v", "v=1; v=1", "1v=1", "=x", "a=b\x00c", "v-x=1"} {
		if _, err := ParseTagList(bad); !errors.Is(err, ErrSyntax) {
			t.Errorf("ParseTagList(%q): %v, want ErrSyntax", bad, err)
		}
	}
}

func TestParseKeyRecord(t *testing.T) {
	const ed = "p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
	for _, tc := range []struct {
		txt  string
		want error
	}{
		{"v=DKIM1; k=ed25519; " + ed, nil},
		{"k=ed25519; " + ed + "; t=y:s; h=sha256; s=email", nil},
		{"k=ed25519; v=DKIM1; " + ed, ErrSyntax}, // v= not first
		{"v=DKIM2; k=ed25519; " + ed, ErrSyntax},
		{"v=DKIM1; k=ed25519", ErrSyntax},
		{"v=DKIM1; k=ed25519; p=", ErrKeyRevoked},
		{"v=DKIM1; k=ed25519; p=AAAA", ErrSyntax},
		{"v=DKIM1; k=dsa; " + ed, ErrSyntax},
		{"v=DKIM1; k=rsa; " + ed, ErrSyntax},
		{"v=DKIM1; k=ed25519; p=!!", ErrSyntax},
	} {
		k, err := ParseKeyRecord(tc.txt)
		if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Errorf("ParseKeyRecord(%q) = %v, %v; want %v", tc.txt, k, err, tc.want)
		}
	}
	k, err := ParseKeyRecord("k=ed25519; " + ed + "; t=y:s")
	if err != nil || !k.Testing || !k.Strict || k.Bits != 256 {
		t.Errorf("flags: %+v, %v", k, err)
	}
}

func TestParseHeaderNames(t *testing.T) {
	got, err := ParseHeaderNames("From : to:\r\n\tSubject")
	if err != nil || len(got) != 3 || got[0] != "From" || got[1] != "to" || got[2] != "Subject" {
		t.Errorf("got %q, %v", got, err)
	}
	for _, bad := range []string{"", "from::to", "from:t o", "from:\x7f"} {
		if _, err := ParseHeaderNames(bad); !errors.Is(err, ErrSyntax) {
			t.Errorf("ParseHeaderNames(%q): %v", bad, err)
		}
	}
}

func TestCheckAlgorithm(t *testing.T) {
	ed, err := ParseKeyRecord("k=ed25519; h=sha256; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=")
	if err != nil {
		t.Fatal(err)
	}
	if err := ed.CheckAlgorithm(Ed25519SHA256); err != nil {
		t.Error(err)
	}
	if err := ed.CheckAlgorithm(RSASHA256); !errors.Is(err, ErrKeyMismatch) {
		t.Errorf("rsa-sha256 with an Ed25519 key: %v", err)
	}
}
