package interop

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestIMAPCompressWithPython runs Python's imaplib under COMPRESS=DEFLATE
// (RFC 4978) after STARTTLS on 143 and on 993: a big message is read,
// one appended and searched, all through raw deflate both ways, and the
// compressed stream must be far smaller than what it carried.
func TestIMAPCompressWithPython(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	d := startDev(t, dir, freePortBase(t), 10*time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "python3", "testdata/imap_compress.py", filepath.Join(dir, "dev.json")).CombinedOutput()
	if err != nil {
		t.Fatalf("imap_compress.py: %v\n%s\n%s", err, out, d.out)
	}
	type session struct {
		Compress  string `json:"compress"`
		Again     string `json:"again"`
		Exists    int    `json:"exists"`
		BodyOK    bool   `json:"body_ok"`
		Append    string `json:"append"`
		SearchAll string `json:"search_all"`
		Noop      string `json:"noop"`
		RawBytes  int    `json:"raw_bytes"`
		Logout    string `json:"logout"`
	}
	var got struct {
		BodyBytes int     `json:"body_bytes"`
		StartTLS  session `json:"starttls"`
		IMAPS     session `json:"imaps"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for name, s := range map[string]session{"starttls": got.StartTLS, "imaps": got.IMAPS} {
		if s.Compress != "OK" || !strings.HasPrefix(s.Again, "NO [COMPRESSIONACTIVE]") {
			t.Errorf("%s: COMPRESS %q, again %q", name, s.Compress, s.Again)
		}
		if s.Exists < 1 || !s.BodyOK || s.Append != "OK" || s.Noop != "OK" || s.Logout != "BYE" {
			t.Errorf("%s: %+v", name, s)
		}
		if s.RawBytes <= 0 || s.RawBytes > got.BodyBytes/4 {
			t.Errorf("%s: %d compressed bytes read for a body of %d", name, s.RawBytes, got.BodyBytes)
		}
	}
	if got.StartTLS.SearchAll != "1 2" || got.IMAPS.SearchAll != "1 2 3" {
		t.Errorf("SEARCH ALL: %q then %q", got.StartTLS.SearchAll, got.IMAPS.SearchAll)
	}
}
