package imapserver

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"strings"

	"sealpost.dev/sealpost/internal/imap"
	"sealpost.dev/sealpost/internal/mimeinfo"
	"sealpost.dev/sealpost/internal/mimeutil"
	"sealpost.dev/sealpost/internal/store"
)

// nstring writes a header value or NIL when empty.
func nstring(w *imap.Writer, s string) {
	w.NString(s, s != "")
}

// writeEnvelope writes an ENVELOPE (RFC 9051 §7.5.2). Strings are sent
// as they are in the header, encoded words included.
func writeEnvelope(w *imap.Writer, e *mimeinfo.Envelope) {
	if e == nil {
		e = &mimeinfo.Envelope{}
	}
	w.Open()
	nstring(w, e.Date)
	w.SP()
	nstring(w, e.Subject)
	for _, l := range [][]mimeinfo.Address{e.From, e.Sender, e.ReplyTo, e.To, e.Cc, e.Bcc} {
		w.SP()
		writeAddresses(w, l)
	}
	w.SP()
	nstring(w, e.InReplyTo)
	w.SP()
	nstring(w, e.MessageID)
	w.Close()
}

// writeAddresses writes an address list; a group is its start marker
// (NIL NIL name NIL), its members and its end marker (NIL NIL NIL NIL).
func writeAddresses(w *imap.Writer, l []mimeinfo.Address) {
	if len(l) == 0 {
		w.NIL()
		return
	}
	w.Open()
	for _, a := range l {
		w.Open()
		nstring(w, a.Name)
		w.SP()
		nstring(w, a.Route)
		w.SP()
		nstring(w, a.Mailbox)
		w.SP()
		nstring(w, a.Host)
		w.Close()
	}
	w.Close()
}

// emptyMessage stands for the message of a message/rfc822 part nested too
// deep to be described.
var emptyMessage = &mimeinfo.Part{Type: "text", Subtype: "plain"}

// writeBodyStructure writes BODYSTRUCTURE (ext) or BODY (RFC 9051 §7.5.2).
func writeBodyStructure(w *imap.Writer, p *mimeinfo.Part, ext bool) {
	w.Open()
	if p.Multipart() {
		for _, c := range p.Parts {
			writeBodyStructure(w, c, ext)
		}
		w.SP().String(p.Subtype)
		if ext {
			w.SP()
			writeParams(w, p.Params)
			writeExtTail(w, p)
		}
		w.Close()
		return
	}
	w.String(p.Type).SP().String(p.Subtype).SP()
	writeParams(w, p.Params)
	w.SP()
	nstring(w, p.ID)
	w.SP()
	nstring(w, p.Description)
	w.SP()
	enc := strings.ToUpper(strings.TrimSpace(p.Encoding))
	if enc == "" {
		enc = "7BIT"
	}
	w.String(enc)
	w.SP().Number(uint64(p.BodySize()))
	switch {
	case p.IsMessage():
		msg := p.Message
		if msg == nil {
			msg = emptyMessage
		}
		w.SP()
		writeEnvelope(w, msg.Envelope)
		w.SP()
		writeBodyStructure(w, msg, ext)
		w.SP().Number(uint64(p.Lines))
	case p.Type == "text":
		w.SP().Number(uint64(p.Lines))
	}
	if ext {
		w.SP()
		nstring(w, p.MD5)
		writeExtTail(w, p)
	}
	w.Close()
}

// writeExtTail writes the extension data every kind of part ends with:
// disposition, language and location, each after a space.
func writeExtTail(w *imap.Writer, p *mimeinfo.Part) {
	w.SP()
	writeDisposition(w, p)
	w.SP()
	writeLanguage(w, p.Language)
	w.SP()
	nstring(w, p.Location)
}

func writeParams(w *imap.Writer, params []mimeinfo.Param) {
	if len(params) == 0 {
		w.NIL()
		return
	}
	w.Open()
	for i, pa := range params {
		if i > 0 {
			w.SP()
		}
		w.String(pa.Name).SP().String(pa.Value)
	}
	w.Close()
}

func writeDisposition(w *imap.Writer, p *mimeinfo.Part) {
	if p.Disposition == "" {
		w.NIL()
		return
	}
	w.Open().String(p.Disposition).SP()
	writeParams(w, p.DispParams)
	w.Close()
}

// writeLanguage writes Content-Language as a list of its tags.
func writeLanguage(w *imap.Writer, v string) {
	var tags []string
	for _, t := range strings.Split(v, ",") {
		if t = strings.TrimSpace(t); t != "" {
			tags = append(tags, t)
		}
	}
	if len(tags) == 0 {
		w.NIL()
		return
	}
	w.Open()
	for i, t := range tags {
		if i > 0 {
			w.SP()
		}
		w.String(t)
	}
	w.Close()
}

// binarySection locates a BINARY section: the byte range and the
// transfer encoding to undo. BINARY[] is the whole message as stored; a
// multipart or message part is sent as stored too, as only leaf parts
// carry an encoding (RFC 2045 §6.4). It returns ok false for a part that
// does not exist.
func binarySection(sum *mimeinfo.Summary, s *imap.Section, size int64) (start, end int64, enc string, ok bool) {
	if len(s.Part) == 0 {
		return 0, size, "", true
	}
	p := sum.Find(s.Part)
	if p == nil {
		return 0, 0, "", false
	}
	if !p.Multipart() && p.Message == nil {
		enc = strings.ToLower(strings.TrimSpace(p.Encoding))
	}
	return p.BodyStart, max(p.BodyStart, p.End), enc, true
}

// knownCTE reports whether Sealpost can decode a transfer encoding.
func knownCTE(enc string) bool {
	switch enc {
	case "", "7bit", "8bit", "binary", "base64", "quoted-printable":
		return true
	}
	return false
}

// errUnknownCTE fails a BINARY fetch of a part whose transfer encoding
// Sealpost cannot decode (RFC 3516).
var errUnknownCTE = errors.New("unknown content transfer encoding")

// checkBinary fails with errUnknownCTE if a BINARY item names a part whose
// encoding cannot be undone.
func checkBinary(items []imap.FetchItem, sum *fetchSummary) error {
	for _, it := range items {
		if it.Name != "BINARY" && it.Name != "BINARY.SIZE" {
			continue
		}
		if _, _, enc, ok := binarySection(sum.Summary, it.Section, sum.Size); ok && !knownCTE(enc) {
			return errUnknownCTE
		}
	}
	return nil
}

// sizer counts bytes and notes whether any is NUL.
type sizer struct {
	n   int64
	nul bool
}

func (s *sizer) Write(p []byte) (int, error) {
	s.n += int64(len(p))
	s.nul = s.nul || bytes.IndexByte(p, 0) >= 0
	return len(p), nil
}

// fetchBinary writes BINARY[section]<partial> or BINARY.SIZE[section]
// (RFC 3516). The decoded part is read twice, once to learn its size and
// whether it holds NUL (then it goes as a literal8), once to send it, so
// that memory stays bounded whatever the part's size.
func (ss *session) fetchBinary(ctx context.Context, it imap.FetchItem, m store.Message, sum *mimeinfo.Summary) error {
	w := ss.w
	w.Atom(it.Name + "[" + sectionString(it.Section) + "]")
	start, end, enc, ok := binarySection(sum, it.Section, m.Size)
	if !ok {
		if it.Name == "BINARY" {
			writeOrigin(w, it.Partial)
		}
		w.SP().NIL()
		return w.Err()
	}
	var sz sizer
	if err := ss.decodeRange(ctx, m, start, end, enc, &sz); err != nil {
		return err
	}
	if it.Name == "BINARY.SIZE" {
		w.SP().Number(uint64(sz.n))
		return w.Err()
	}
	off, n := int64(0), sz.n
	if it.Partial != nil {
		writeOrigin(w, it.Partial)
		off = min(int64(it.Partial.Offset), sz.n)
		n = min(int64(it.Partial.Count), sz.n-off)
	}
	w.SP()
	r, err := ss.openRange(ctx, m, start, end)
	if err != nil {
		return err
	}
	defer r.Close()
	d := mimeutil.TransferReader(enc, r)
	if _, err := io.CopyN(io.Discard, d, off); err != nil && n > 0 {
		return err
	}
	w.Literal(n, d, sz.nul)
	return w.Err()
}

// decodeRange decodes bytes [start, end) of the message into dst.
func (ss *session) decodeRange(ctx context.Context, m store.Message, start, end int64, enc string, dst io.Writer) error {
	r, err := ss.openRange(ctx, m, start, end)
	if err != nil {
		return err
	}
	defer r.Close()
	_, err = io.Copy(dst, mimeutil.TransferReader(enc, r))
	if err != nil && enc != "" && enc != "7bit" && enc != "8bit" && enc != "binary" {
		return nil // undecodable data ends the part, here as when sent
	}
	return err
}

// base64Lines encodes b in base64 lines of 76 characters.
func base64Lines(b []byte) []byte {
	enc := base64.StdEncoding.EncodeToString(b)
	var out bytes.Buffer
	for len(enc) > 76 {
		out.WriteString(enc[:76])
		out.WriteString("\r\n")
		enc = enc[76:]
	}
	out.WriteString(enc)
	return out.Bytes()
}

// filterHeader keeps (or, with not, drops) the named fields, with their
// continuation lines, and ends with the blank line.
func filterHeader(hdr []byte, names []string, not bool) []byte {
	var out []byte
	keep := false
	for len(hdr) > 0 {
		nl := bytes.IndexByte(hdr, '\n')
		line := hdr
		if nl >= 0 {
			line = hdr[:nl+1]
		}
		hdr = hdr[len(line):]
		t := bytes.TrimRight(line, "\r\n")
		if len(t) == 0 {
			break
		}
		if t[0] != ' ' && t[0] != '\t' {
			name, _, _ := bytes.Cut(t, []byte(":"))
			in := false
			for _, n := range names {
				if strings.EqualFold(strings.TrimSpace(string(name)), n) {
					in = true
				}
			}
			keep = in != not
		}
		if keep {
			out = append(out, line...)
		}
	}
	return append(out, "\r\n"...)
}
