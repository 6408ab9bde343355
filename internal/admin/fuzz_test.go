package admin

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// FuzzDecodeSignOut: any body is either refused with a message or gives a
// request naming an account that survives a round trip.
func FuzzDecodeSignOut(f *testing.F) {
	for _, seed := range []string{
		`{"account": "ana@example.org"}`,
		`{"account": "ana@example.org", "keep": 12}`,
		`{"account": "ana@example.org", "keep": -1}`,
		`{"account": "ana@example.org", "keep": 1e3}`,
		`{"account": "\u00e9@example.org", "keep": 0}`,
		`{"account": "a"} {}`,
		`[]`, `null`, ``, `{`, `{"ACCOUNT": "x"}`, `{"account": null}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := DecodeSignOut(bytes.NewReader(body))
		if err != nil {
			if err.Error() == "" || strings.Contains(err.Error(), "json: ") {
				t.Errorf("error %q does not explain itself in the API's words", err)
			}
			if req != (SignOutRequest{}) {
				t.Errorf("refused body gave a request %+v", req)
			}
			return
		}
		if req.Account == "" {
			t.Fatalf("accepted %q with no account", body)
		}
		again, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		back, err := DecodeSignOut(bytes.NewReader(again))
		if err != nil || back != req {
			t.Fatalf("round trip of %q: %+v, %v; want %+v", body, back, err, req)
		}
	})
}
