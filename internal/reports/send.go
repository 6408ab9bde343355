package reports

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"sealpost.dev/sealpost/internal/dmarc"
	"sealpost.dev/sealpost/internal/dnsx"
	"sealpost.dev/sealpost/internal/store"
)

// Store is what sending reports needs of the store: the counted rows, the
// record of what was sent, and the outbound queue.
type Store interface {
	store.Reports
	store.KV
	Enqueue(ctx context.Context, body io.Reader, item store.NewQueueItem) (store.QueueItem, error)
}

// sentNamespace is the store.KV namespace that remembers the reports
// sent, by kind, day and policy domain, so that a restart sends none
// twice.
const sentNamespace = "reports-sent"

// Scheduler sends the daily reports. The server calls SendDue once a day,
// or more often: each report goes once.
type Scheduler struct {
	Store    Store
	Resolver dnsx.Resolver
	// OrgName is the domain of the reporting organization, as reports
	// and their file names name it (RFC 7489 section 7.2.1.1).
	OrgName string
	// Address is the reporting address: the report mail's From and
	// envelope sender, and the contact in the report.
	Address string
	// Hostname is the right side of Message-IDs; OrgName when empty.
	Hostname string
	// Days is how many past days SendDue looks back for reports not yet
	// sent, and keeps rows for; 0 means 3.
	Days int
	// Logger receives what was sent and skipped; slog.Default when nil.
	Logger *slog.Logger
	// Sign, when set, returns the DKIM-Signature fields for a report
	// message (RFC 8460 section 3 asks for TLS reports to be signed; the
	// receivers of DMARC reports check them like any mail). A failure
	// postpones the report.
	Sign func(ctx context.Context, msg []byte) (string, error)
	// RootCAs are the trust anchors for the certificates of https
	// destinations of TLS reports; nil means the system's roots.
	RootCAs *x509.CertPool
	// AllowPrivate lets https destinations be on loopback, private,
	// link-local and other non-public addresses. Off, a report POSTed to
	// such an address is refused: the destination comes from another
	// domain's DNS, which must not make Sealpost send requests into its
	// own network. Tests on loopback set it.
	AllowPrivate bool
	// PostTimeout bounds one HTTPS POST of a TLS report; 0 means
	// DefaultPostTimeout.
	PostTimeout time.Duration
	// MaxPostSize is the largest compressed TLS report POSTed; 0 means
	// DefaultMaxPostSize.
	MaxPostSize int
}

// Sent describes a report SendDue sent.
type Sent struct {
	Kind     store.ReportKind
	Domain   string
	Day      time.Time
	ReportID string
	To       []string // mailto addresses, queued as one message
	QueueID  int64
	Posted   []string // https URIs the report was POSTed to
}

func (s *Scheduler) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

func (s *Scheduler) days() int {
	if s.Days <= 0 {
		return 3
	}
	return s.Days
}

// SendDue sends the reports of the complete UTC days before now, up to
// Days back, that were not sent yet, and deletes the rows older than that.
// A report whose destination check met a DNS failure is tried again on
// the next call. It returns the reports sent; an error stops it, leaving
// the rest for the next call.
func (s *Scheduler) SendDue(ctx context.Context, now time.Time) ([]Sent, error) {
	if s.OrgName == "" || s.Address == "" {
		return nil, errors.New("reports: Scheduler needs OrgName and Address")
	}
	today := store.ReportDay(now)
	var sent []Sent
	for back := s.days(); back >= 1; back-- {
		day := today.AddDate(0, 0, -back)
		for _, kind := range []store.ReportKind{store.ReportDMARC, store.ReportTLS} {
			out, err := s.sendDay(ctx, kind, day, now)
			sent = append(sent, out...)
			if err != nil {
				return sent, err
			}
		}
	}
	for _, kind := range []store.ReportKind{store.ReportDMARC, store.ReportTLS} {
		if _, err := s.Store.DeleteReportRows(ctx, kind, today.AddDate(0, 0, -s.days())); err != nil {
			return sent, err
		}
	}
	return sent, nil
}

// sendDay sends the reports of kind for day, one per policy domain.
func (s *Scheduler) sendDay(ctx context.Context, kind store.ReportKind, day, now time.Time) ([]Sent, error) {
	rows, err := s.Store.ReportRows(ctx, kind, day)
	if err != nil {
		return nil, err
	}
	var sent []Sent
	for len(rows) > 0 {
		n := 1
		for n < len(rows) && rows[n].Domain == rows[0].Domain {
			n++
		}
		domain, domainRows := rows[0].Domain, rows[:n]
		rows = rows[n:]
		key := string(kind) + "/" + day.Format("2006-01-02") + "/" + domain
		// The key is claimed before the report is made: on several
		// nodes sharing a store, the one that claims it sends it. A
		// report sent replaces the claim with the report's ID; one not
		// sent gives it back, for the next round on any node. A node
		// that stops in between leaves the claim to expire.
		if claimed, err := s.Store.AddValue(ctx, sentNamespace, key, []byte(claimValue), time.Now().Add(claimFor)); err != nil {
			return sent, err
		} else if !claimed {
			continue // sent, or being sent
		}
		out, err := s.sendDomain(ctx, kind, domain, day, domainRows, now)
		// The claim is settled even when the round is cut short (a
		// shutdown): left, it would hold the report back for claimFor.
		settle := context.WithoutCancel(ctx)
		switch {
		case errors.Is(err, errNotSent):
			err = s.Store.DeleteValue(settle, sentNamespace, key)
		case err == nil:
			if out.QueueID != 0 || len(out.Posted) > 0 {
				sent = append(sent, out)
			}
			err = s.Store.PutValue(settle, sentNamespace, key, []byte(out.ReportID), now.Add(time.Duration(s.days()+30)*24*time.Hour))
		default:
			// The claim is given back; the error ends the round.
			if derr := s.Store.DeleteValue(settle, sentNamespace, key); derr != nil {
				err = errors.Join(err, derr)
			}
		}
		if err != nil {
			return sent, err
		}
	}
	return sent, nil
}

// claimValue marks a report claimed and not yet sent, for claimFor at
// most: longer than making and handing one report on takes.
const (
	claimValue = "sending"
	claimFor   = time.Hour
)

// errNotSent says a report was not sent and is to be tried again next
// round: postponed, or not made (logged).
var errNotSent = errors.New("reports: not sent")

// sendDomain makes and sends the report of kind for domain and day.
func (s *Scheduler) sendDomain(ctx context.Context, kind store.ReportKind, domain string, day time.Time, domainRows []store.ReportRow, now time.Time) (Sent, error) {
	var rep *report
	var err error
	switch kind {
	case store.ReportDMARC:
		rep, err = s.dmarcReport(domain, day, domainRows, now)
	case store.ReportTLS:
		rep, err = s.tlsReport(ctx, domain, day, domainRows, now)
	}
	if errors.Is(err, dnsx.ErrTemporary) {
		s.logger().Info("report postponed", "kind", kind, "domain", domain, "err", err)
		return Sent{}, errNotSent
	}
	if err != nil {
		s.logger().Warn("report not made", "kind", kind, "domain", domain, "day", day.Format(time.DateOnly), "err", err)
		return Sent{}, errNotSent
	}
	out, err := s.deliver(ctx, rep)
	if errors.Is(err, dmarc.ErrTemporary) || errors.Is(err, dnsx.ErrTemporary) || errors.Is(err, errPostTemporary) {
		s.logger().Info("report postponed", "kind", kind, "domain", domain, "err", err)
		return out, errNotSent
	}
	return out, err
}

// report is a report ready to send.
type report struct {
	kind     store.ReportKind
	domain   string
	day      time.Time
	id       string
	rua      []string // as published, with size limits ("mailto:a@b!10m")
	filename string
	gz       []byte
	message  func(to []string) []byte
}

// deliver checks each destination of rep and enqueues the report for the
// ones that may receive it.
func (s *Scheduler) deliver(ctx context.Context, rep *report) (Sent, error) {
	type dest struct {
		addr string
		max  uint64
	}
	var dests []dest
	var posts []*url.URL
	for _, raw := range rep.rua {
		u := parseRUA(raw)
		addr := mailtoAddress(u.Address)
		if hu := httpsURL(raw); hu != nil && rep.kind == store.ReportTLS && addr == "" {
			posts = append(posts, hu)
			continue
		}
		if addr == "" {
			s.logger().Info("report URI skipped: not a mailto URI (or https for TLS reports)", "domain", rep.domain, "uri", raw)
			continue
		}
		if rep.kind == store.ReportDMARC {
			err := dmarc.VerifyDestination(ctx, s.Resolver, rep.domain, u)
			if errors.Is(err, dmarc.ErrTemporary) {
				return Sent{}, err
			}
			if err != nil {
				s.logger().Info("report destination refused", "domain", rep.domain, "uri", raw, "err", err)
				continue
			}
		}
		dests = append(dests, dest{addr, u.MaxSize})
	}
	var to []string
	msg := rep.message(nil)
	for _, d := range dests {
		if d.max > 0 && uint64(len(msg)) > d.max {
			s.logger().Info("report larger than its destination accepts", "domain", rep.domain, "to", d.addr,
				"size", len(msg), "max", d.max)
			continue
		}
		to = append(to, d.addr)
	}
	out := Sent{Kind: rep.kind, Domain: rep.domain, Day: rep.day, ReportID: rep.id, To: to}
	if len(to) > 0 {
		id, err := s.enqueue(ctx, rep, to)
		if err != nil {
			return out, err
		}
		out.QueueID = id
	}
	// After the mail is queued: a queueing failure sends the report again
	// at the next call, and a POST must not go out twice for it.
	var err error
	out.Posted, err = s.postAll(ctx, rep, posts, len(to) > 0)
	return out, err
}

// enqueue queues the report mail of rep to the addresses to, signed.
func (s *Scheduler) enqueue(ctx context.Context, rep *report, to []string) (int64, error) {
	item := store.NewQueueItem{From: s.Address}
	for _, a := range to {
		item.Recipients = append(item.Recipients, store.NewQueueRecipient{Address: a, Notify: store.NotifyNever})
	}
	msg := rep.message(to)
	if s.Sign != nil {
		sig, err := s.Sign(ctx, msg)
		if err != nil {
			return 0, fmt.Errorf("signing the report: %w", err)
		}
		msg = append([]byte(sig), msg...)
	}
	qi, err := s.Store.Enqueue(ctx, bytes.NewReader(msg), item)
	if err != nil {
		return 0, err
	}
	s.logger().Info("report queued", "kind", rep.kind, "domain", rep.domain, "day", rep.day.Format(time.DateOnly),
		"report_id", rep.id, "to", strings.Join(to, ","), "queue_id", qi.ID)
	return qi.ID, nil
}

// postAll POSTs rep to its https destinations and returns those that
// took it. When every destination failed for a reason that may pass and
// no mail carries the report either, the error wraps errPostTemporary, so
// that the report is tried again at the next call; otherwise failures are
// logged and the report counts as sent.
func (s *Scheduler) postAll(ctx context.Context, rep *report, posts []*url.URL, mailed bool) ([]string, error) {
	limit := s.MaxPostSize
	if limit <= 0 {
		limit = DefaultMaxPostSize
	}
	var posted []string
	var temporary error
	for _, u := range posts {
		if len(rep.gz) > limit {
			s.logger().Info("report larger than an https destination is sent", "domain", rep.domain, "uri", u.String(),
				"size", len(rep.gz), "max", limit)
			continue
		}
		err := s.post(ctx, u, rep.gz)
		if err != nil {
			s.logger().Info("report POST failed", "domain", rep.domain, "uri", u.String(), "err", err)
			if errors.Is(err, errPostTemporary) {
				temporary = err
			}
			continue
		}
		posted = append(posted, u.String())
		s.logger().Info("report POSTed", "kind", rep.kind, "domain", rep.domain, "day", rep.day.Format(time.DateOnly),
			"report_id", rep.id, "uri", u.String())
	}
	if len(posted) == 0 && !mailed && temporary != nil {
		return nil, temporary
	}
	return posted, nil
}

// reportID names a report: the same day and domain give the same ID, so
// that a report sent twice reads as one to its receiver.
func reportID(kind store.ReportKind, domain string, day time.Time) string {
	sum := sha256.Sum256([]byte(string(kind) + "\x00" + domain))
	return day.Format("20060102") + "." + hex.EncodeToString(sum[:6])
}

// dmarcReport makes the aggregate report of domain for day from its rows.
func (s *Scheduler) dmarcReport(domain string, day time.Time, rows []store.ReportRow, now time.Time) (*report, error) {
	fb, rua, err := s.Feedback(domain, day, rows)
	if err != nil {
		return nil, err
	}
	doc, err := MarshalFeedback(fb)
	if err != nil {
		return nil, err
	}
	gz := gzipBytes(doc)
	rep := &report{
		kind: store.ReportDMARC, domain: domain, day: day, id: fb.Metadata.ReportID, rua: rua, gz: gz,
		filename: fmt.Sprintf("%s!%s!%d!%d.xml.gz", s.OrgName, domain, fb.Metadata.DateRange.Begin, fb.Metadata.DateRange.End),
	}
	subject := fmt.Sprintf("Report Domain: %s Submitter: %s Report-ID: <%s>", domain, s.OrgName, rep.id)
	text := fmt.Sprintf("This is a DMARC aggregate report (RFC 7489) about mail from %s\r\n"+
		"received by %s between %s and %s UTC: %d rows.\r\n",
		domain, s.OrgName, day.Format(time.DateTime), day.Add(24*time.Hour-time.Second).Format(time.DateTime), len(fb.Records))
	rep.message = func(to []string) []byte {
		return s.reportMessage(to, subject, text, "application/gzip", rep, now)
	}
	return rep, nil
}

// Feedback builds the aggregate report of domain for day from the rows
// DMARCRecorder counted, and returns it with the rua URIs of the policy
// published. The policy published is the one of the row counted most (a
// record changed during the day shows in the rows only).
func (s *Scheduler) Feedback(domain string, day time.Time, rows []store.ReportRow) (Feedback, []string, error) {
	fb := Feedback{
		Version: "1.0",
		Metadata: ReportMetadata{
			OrgName: s.OrgName, Email: s.Address, ReportID: reportID(store.ReportDMARC, domain, day),
			DateRange: DateRange{Begin: day.Unix(), End: day.Add(24*time.Hour).Unix() - 1},
		},
	}
	var rua []string
	var best int64
	for _, r := range rows {
		var row dmarcRow
		if err := json.Unmarshal(r.Data, &row); err != nil {
			return fb, nil, fmt.Errorf("reports: a DMARC row of %s does not decode: %w", domain, err)
		}
		if r.Count > best {
			best, fb.PolicyPublished, rua = r.Count, row.Policy, row.RUA
		}
		fb.Records = append(fb.Records, Record{
			Row: Row{SourceIP: row.SourceIP, Count: r.Count, PolicyEvaluated: PolicyEvaluated{
				Disposition: row.Disposition, DKIM: passFail(row.DKIMAligned), SPF: passFail(row.SPFAligned), Reasons: row.Reasons,
			}},
			Identifiers: Identifiers{EnvelopeTo: row.EnvelopeTo, EnvelopeFrom: row.EnvelopeFrom, HeaderFrom: row.HeaderFrom},
			AuthResults: AuthResults{DKIM: row.DKIM, SPF: []SPFAuthResult{row.SPF}},
		})
	}
	if len(fb.Records) == 0 {
		return fb, nil, fmt.Errorf("reports: no rows for %s", domain)
	}
	fillPolicyDefaults(&fb.PolicyPublished, domain)
	return fb, rua, nil
}

// fillPolicyDefaults gives the elements the schema requires the values a
// record without them means (RFC 7489 section 6.3).
func fillPolicyDefaults(p *PolicyPublished, domain string) {
	if p.Domain == "" {
		p.Domain = domain
	}
	if p.P == "" {
		p.P = "none"
	}
	if p.SP == "" {
		p.SP = p.P
	}
	if p.FO == "" {
		p.FO = "0"
	}
}

func passFail(ok bool) string {
	if ok {
		return "pass"
	}
	return "fail"
}

// MarshalFeedback returns the report as an XML document.
func MarshalFeedback(fb Feedback) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	enc.Indent("", "  ")
	if err := enc.Encode(fb); err != nil {
		return nil, fmt.Errorf("reports: encoding report: %w", err)
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// gzipBytes compresses b with no name or time in the header, so that the
// same report compresses to the same bytes.
func gzipBytes(b []byte) []byte {
	var out bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&out, gzip.BestCompression)
	zw.Write(b)
	zw.Close()
	return out.Bytes()
}

// reportMessage is the mail carrying a report (RFC 7489 section 7.2.1.1,
// RFC 8460 section 5.3): a text part and the compressed report.
func (s *Scheduler) reportMessage(to []string, subject, text, ctype string, rep *report, now time.Time) []byte {
	host := s.Hostname
	if host == "" {
		host = s.OrgName
	}
	boundary := "report-" + strings.ReplaceAll(rep.id, ".", "-")
	var b strings.Builder
	h := func(name, value string) { b.WriteString(name + ": " + value + "\r\n") }
	h("From", "<"+s.Address+">")
	if len(to) > 0 {
		h("To", "<"+strings.Join(to, ">, <")+">")
	} else {
		h("To", "undisclosed-recipients:;")
	}
	h("Subject", subject)
	h("Date", now.UTC().Format(time.RFC1123Z))
	h("Message-ID", "<"+rep.id+"."+string(rep.kind)+"@"+host+">")
	if rep.kind == store.ReportTLS {
		h("TLS-Report-Domain", rep.domain)
		h("TLS-Report-Submitter", s.OrgName)
	}
	h("MIME-Version", "1.0")
	h("Content-Type", fmt.Sprintf("multipart/%s; boundary=%q", map[bool]string{true: "report; report-type=tlsrpt", false: "mixed"}[rep.kind == store.ReportTLS], boundary))
	b.WriteString("\r\n--" + boundary + "\r\n")
	h("Content-Type", "text/plain; charset=utf-8")
	h("Content-Transfer-Encoding", "7bit")
	b.WriteString("\r\n" + text)
	b.WriteString("\r\n--" + boundary + "\r\n")
	h("Content-Type", ctype+"; name=\""+rep.filename+"\"")
	h("Content-Disposition", "attachment; filename=\""+rep.filename+"\"")
	h("Content-Transfer-Encoding", "base64")
	b.WriteString("\r\n")
	enc := base64.StdEncoding.EncodeToString(rep.gz)
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n--" + boundary + "--\r\n")
	return []byte(b.String())
}

// parseRUA reads a URI as dmarc.URI.String wrote it.
func parseRUA(s string) dmarc.URI {
	if i := strings.LastIndexByte(s, '!'); i > 0 {
		if n, err := strconv.ParseUint(s[i+1:], 10, 64); err == nil {
			return dmarc.URI{Address: s[:i], MaxSize: n}
		}
	}
	return dmarc.URI{Address: s}
}

// mailtoAddress returns the address of a mailto URI, or "".
func mailtoAddress(uri string) string {
	u, err := url.Parse(uri)
	if err != nil || !strings.EqualFold(u.Scheme, "mailto") {
		return ""
	}
	addr := u.Opaque
	if i := strings.IndexByte(addr, '?'); i >= 0 {
		addr = addr[:i]
	}
	if dec, err := url.PathUnescape(addr); err == nil {
		addr = dec
	}
	if at := strings.LastIndexByte(addr, '@'); at < 1 || at == len(addr)-1 || strings.ContainsAny(addr, " <>,\r\n") {
		return ""
	}
	return addr
}
