package training

import "testing"

// FuzzDescribe: any bytes are described without a panic, within bounds.
func FuzzDescribe(f *testing.F) {
	f.Add([]byte(spamMessage))
	f.Add([]byte("Received: from [1.2.3.4] ([IPv6:::1]) by h; x\r\n\r\nhttps://a.test https://"))
	f.Add([]byte("Authentication-Results: h; dmarc=pass header.from=\r\n\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		d := Describe(raw, "h", "h")
		if len(d.LinkDomains) > 50 {
			t.Fatalf("%d link domains", len(d.LinkDomains))
		}
	})
}
