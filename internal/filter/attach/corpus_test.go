package attach

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"os"
	"path/filepath"
	"testing"

	"sealpost.dev/sealpost/internal/mimeutil"
)

// The corpora of issue 7, read in place (four levels up is /work).
const corpora = "../../../../shared/conformance"

type attachment struct {
	name, mediaType string
	data            []byte
}

// attachments walks a message's MIME tree for its non-text parts and
// parts with a file name (a small walker for the tests; the pipeline uses
// internal/filter/content).
func attachments(raw []byte) []attachment {
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return nil
	}
	var out []attachment
	var walk func(h mail.Header, body io.Reader, depth int)
	walk = func(h mail.Header, body io.Reader, depth int) {
		mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
		if err != nil {
			mt = "text/plain"
		}
		if len(mt) > 10 && mt[:10] == "multipart/" && depth < 10 {
			mr := multipart.NewReader(body, params["boundary"])
			for {
				p, err := mr.NextRawPart()
				if err != nil {
					return
				}
				walk(mail.Header(p.Header), p, depth+1)
			}
		}
		name := params["name"]
		if _, dp, err := mime.ParseMediaType(h.Get("Content-Disposition")); err == nil && dp["filename"] != "" {
			name = dp["filename"]
		}
		if name == "" && (len(mt) > 5 && mt[:5] == "text/" || len(mt) > 10 && mt[:10] == "multipart/") {
			return
		}
		data, _ := io.ReadAll(io.LimitReader(mimeutil.TransferReader(h.Get("Content-Transfer-Encoding"), body), 16<<20))
		out = append(out, attachment{mimeutil.DecodeWords(name), mt, data})
	}
	walk(m.Header, m.Body, 0)
	return out
}

// TestCorporaAttachments inspects every attachment of the SpamAssassin
// ham: ordinary attachments (patches, pictures, PGP signatures, Word
// documents) must not score 3 or more. Spam's are counted for the record.
func TestCorporaAttachments(t *testing.T) {
	dir := filepath.Join(corpora, "spamassassin")
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("corpora missing under CI: %v", err)
		}
		t.Skipf("corpora missing: %v", err)
	}
	for _, sub := range []string{"easy_ham", "hard_ham", "spam"} {
		paths, _ := filepath.Glob(filepath.Join(dir, sub, "*"))
		if len(paths) == 0 {
			t.Fatalf("no messages in %s", sub)
		}
		var n, flagged int
		for _, p := range paths {
			raw, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range attachments(raw) {
				n++
				fs := Inspect(a.name, a.mediaType, a.data, Limits{})
				if len(fs) > 0 {
					flagged++
				}
				if sub != "spam" {
					for _, f := range fs {
						report := t.Logf
						if f.Score >= 3 {
							report = t.Errorf
						}
						report("%s: ham attachment %q (%s): %s: %s", filepath.Base(p), a.name, a.mediaType, f.Name, f.Reason)
					}
				}
			}
		}
		t.Logf("%s: %d attachments, %d with findings", sub, n, flagged)
	}
	var n, flagged int
	names := map[string]int{}
	for _, mbox := range []string{"phishing0.mbox", "phishing1.mbox", "20051114.mbox"} {
		data, err := os.ReadFile(filepath.Join(corpora, "phishing-nazario", mbox))
		if err != nil {
			t.Fatal(err)
		}
		for _, raw := range bytes.Split(data, []byte("\nFrom ")) {
			for _, a := range attachments(raw[bytes.IndexByte(raw, '\n')+1:]) {
				n++
				fs := Inspect(a.name, a.mediaType, a.data, Limits{})
				if len(fs) > 0 {
					flagged++
				}
				for _, f := range fs {
					names[f.Name]++
				}
			}
		}
	}
	t.Logf("phishing: %d attachments, %d with findings %v", n, flagged, names)
}
