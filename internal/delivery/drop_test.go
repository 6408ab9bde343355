package delivery

import (
	"io"
	"strings"
	"testing"
)

func TestDropFields(t *testing.T) {
	const msg = "Received: from a\r\n by b\r\nAuthentication-Results: mx.example; spf=pass\r\n" +
		"Subject: hi\r\nAuthentication-Results: other.example;\r\n\tdkim=pass\r\n\r\nbody\r\nAuthentication-Results: not a field\r\n"
	long := "X-Long: " + strings.Repeat("x", 10000) + "\r\n"
	tests := []struct {
		name string
		in   string
		drop []int
		want string
	}{
		{"none", msg, nil, msg},
		{"second", msg, []int{1},
			"Received: from a\r\n by b\r\nSubject: hi\r\nAuthentication-Results: other.example;\r\n\tdkim=pass\r\n\r\nbody\r\nAuthentication-Results: not a field\r\n"},
		{"folded", msg, []int{3},
			"Received: from a\r\n by b\r\nAuthentication-Results: mx.example; spf=pass\r\nSubject: hi\r\n\r\nbody\r\nAuthentication-Results: not a field\r\n"},
		{"first and beyond the header", msg, []int{0, 4, 5},
			"Authentication-Results: mx.example; spf=pass\r\nSubject: hi\r\nAuthentication-Results: other.example;\r\n\tdkim=pass\r\n\r\nbody\r\nAuthentication-Results: not a field\r\n"},
		{"long field dropped", long + "Subject: x\r\n\r\nb\r\n", []int{0}, "Subject: x\r\n\r\nb\r\n"},
		{"long field kept", "Subject: x\r\n" + long + "\r\nb\r\n", []int{0}, long + "\r\nb\r\n"},
		{"no body", "A: 1\r\nB: 2\r\n", []int{1}, "A: 1\r\n"},
		{"no final newline", "A: 1\r\nB: 2", []int{0}, "B: 2"},
		{"bare LF", "A: 1\nB: 2\n\nA: 3\n", []int{0}, "B: 2\n\nA: 3\n"},
		{"empty", "", []int{0}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := io.ReadAll(dropFields(strings.NewReader(tt.in), tt.drop))
			if err != nil || string(got) != tt.want {
				t.Errorf("got %q (%v)\nwant %q", got, err, tt.want)
			}
		})
	}
}

// FuzzDropFields: dropping nothing changes nothing, and dropping never
// adds bytes or touches what follows the header.
func FuzzDropFields(f *testing.F) {
	f.Add("A: 1\r\n b\r\nC: 2\r\n\r\nbody", 0)
	f.Add("\r\n", 1)
	f.Add("X: "+strings.Repeat("y", 5000)+"\nZ: 1\n\nA: b", 1)
	f.Fuzz(func(t *testing.T, msg string, field int) {
		same, err := io.ReadAll(dropFields(strings.NewReader(msg), nil))
		if err != nil || string(same) != msg {
			t.Fatalf("without drops: %q, %v", same, err)
		}
		got, err := io.ReadAll(dropFields(strings.NewReader(msg), []int{field}))
		if err != nil || len(got) > len(msg) {
			t.Fatalf("dropping %d: %q, %v", field, got, err)
		}
		if i := strings.Index(msg, "\r\n\r\n"); i >= 0 && !strings.Contains(msg[:i+2], "\n\n") && !strings.HasSuffix(string(got), msg[i+2:]) {
			t.Fatalf("dropping %d changed the body: %q from %q", field, got, msg)
		}
	})
}
