package dnsx

import "strings"

// ZoneTXT writes a TXT record's text the way a zone file takes it: as
// quoted character-strings of at most 255 octets each (RFC 1035 sections
// 3.3 and 5.1), separated by spaces, with '"' and '\' escaped. A DKIM key
// record of an RSA-2048 key is longer than one string can hold; resolvers
// join the strings back into one text.
func ZoneTXT(text string) string {
	var b strings.Builder
	for first := true; first || text != ""; first = false {
		n := min(len(text), 255)
		if !first {
			b.WriteByte(' ')
		}
		b.WriteByte('"')
		for i := 0; i < n; i++ {
			if c := text[i]; c == '"' || c == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(text[i])
		}
		b.WriteByte('"')
		text = text[n:]
	}
	return b.String()
}

// joinTXT joins the character-strings of a TXT record into its text.
// The DNS library hands them over in presentation form, '"' and '\' as
// \" and \\, and bytes outside printable ASCII as \DDD (decimal); the
// text is the bytes themselves, so an SPF explanation or a DMARC record
// with such characters reads as it was published.
func joinTXT(strs []string) string {
	joined := strings.Join(strs, "")
	if strings.IndexByte(joined, '\\') < 0 {
		return joined
	}
	b := make([]byte, 0, len(joined))
	for i := 0; i < len(joined); i++ {
		c := joined[i]
		if c != '\\' || i+1 == len(joined) {
			b = append(b, c)
			continue
		}
		if i+3 < len(joined) && isDigit(joined[i+1]) && isDigit(joined[i+2]) && isDigit(joined[i+3]) {
			if n := int(joined[i+1]-'0')*100 + int(joined[i+2]-'0')*10 + int(joined[i+3]-'0'); n <= 255 {
				b = append(b, byte(n))
				i += 3
				continue
			}
		}
		b = append(b, joined[i+1])
		i++
	}
	return string(b)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
