package reports

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"sealpost.dev/sealpost/internal/store"
)

// SourceSummary is what the received DMARC reports say of one source IP
// sending as one From domain.
type SourceSummary struct {
	Domain     string   `json:"domain"` // the policy domain
	SourceIP   string   `json:"source_ip"`
	HeaderFrom string   `json:"header_from"`
	Messages   int64    `json:"messages"`
	Pass       int64    `json:"dmarc_pass"` // DKIM or SPF aligned and passing
	SPFPass    int64    `json:"spf_aligned_pass"`
	DKIMPass   int64    `json:"dkim_aligned_pass"`
	Reporters  []string `json:"reporters"`
	// SPFDomains and DKIMDomains are the domains SPF and DKIM passed for,
	// aligned or not.
	SPFDomains  []string `json:"spf_pass_domains,omitempty"`
	DKIMDomains []string `json:"dkim_pass_domains,omitempty"`
	// Advice says what to fix, or is empty when all is well.
	Advice string `json:"advice,omitempty"`
}

// SummarizeDMARC adds up received DMARC aggregate reports per policy
// domain, source IP and From domain, failing sources first, and says what
// to fix for each. Reports that no longer parse are skipped and counted.
func SummarizeDMARC(reports []store.ReceivedReport) (sums []SourceSummary, skipped int) {
	byKey := map[[3]string]*SourceSummary{}
	for _, rep := range reports {
		fb, err := ParseFeedback(rep.Data)
		if err != nil {
			skipped++
			continue
		}
		for _, rec := range fb.Records {
			key := [3]string{rep.Domain, rec.Row.SourceIP, strings.ToLower(rec.Identifiers.HeaderFrom)}
			s := byKey[key]
			if s == nil {
				s = &SourceSummary{Domain: key[0], SourceIP: key[1], HeaderFrom: key[2]}
				byKey[key] = s
			}
			n := rec.Row.Count
			s.Messages += n
			pe := rec.Row.PolicyEvaluated
			spf, dkim := strings.EqualFold(pe.SPF, "pass"), strings.EqualFold(pe.DKIM, "pass")
			if spf {
				s.SPFPass += n
			}
			if dkim {
				s.DKIMPass += n
			}
			if spf || dkim {
				s.Pass += n
			}
			addOnce(&s.Reporters, fb.Metadata.OrgName)
			for _, r := range rec.AuthResults.SPF {
				if strings.EqualFold(r.Result, "pass") {
					addOnce(&s.SPFDomains, strings.ToLower(r.Domain))
				}
			}
			for _, r := range rec.AuthResults.DKIM {
				if strings.EqualFold(r.Result, "pass") {
					addOnce(&s.DKIMDomains, strings.ToLower(r.Domain))
				}
			}
		}
	}
	for _, s := range byKey {
		s.Advice = advice(s)
		sums = append(sums, *s)
	}
	slices.SortFunc(sums, func(a, b SourceSummary) int {
		return cmp.Or(cmp.Compare(a.Domain, b.Domain), cmp.Compare(b.Messages-b.Pass, a.Messages-a.Pass),
			cmp.Compare(b.Messages, a.Messages), cmp.Compare(a.SourceIP, b.SourceIP), cmp.Compare(a.HeaderFrom, b.HeaderFrom))
	})
	return sums, skipped
}

func addOnce(list *[]string, s string) {
	if s != "" && !slices.Contains(*list, s) {
		*list = append(*list, s)
	}
}

// advice says, in one line, what the owner of the From domain should fix
// for the mail of s to pass DMARC.
func advice(s *SourceSummary) string {
	who := fmt.Sprintf("%s sends as %s", s.SourceIP, s.HeaderFrom)
	switch {
	case s.Pass == s.Messages:
		return ""
	case s.Pass > 0:
		return fmt.Sprintf("%s, fails DMARC for %d of %d messages: if this server is yours, check that it signs every message; "+
			"otherwise forwarding or a mailing list may explain it", who, s.Messages-s.Pass, s.Messages)
	}
	var hints []string
	if others := without(s.SPFDomains, s.HeaderFrom); len(others) > 0 {
		hints = append(hints, fmt.Sprintf("SPF passes for %s, not aligned with %s: use a MAIL FROM under %s",
			strings.Join(others, ", "), s.HeaderFrom, s.HeaderFrom))
	}
	if others := without(s.DKIMDomains, s.HeaderFrom); len(others) > 0 {
		hints = append(hints, fmt.Sprintf("it signs as %s, not aligned with %s: sign with a key of %s",
			strings.Join(others, ", "), s.HeaderFrom, s.HeaderFrom))
	}
	if len(hints) > 0 {
		return who + ", fails DMARC: " + strings.Join(hints, "; ")
	}
	return who + ", fails SPF and DKIM: add it to SPF or sign its mail with DKIM; if it is not yours, it is spoofing and the policy handles it"
}

// without returns the domains of list that do not share from's
// Organizational Domain by suffix; alignment itself was judged by the
// reporter.
func without(list []string, from string) []string {
	var out []string
	for _, d := range list {
		if d != from && !strings.HasSuffix(d, "."+from) && !strings.HasSuffix(from, "."+d) {
			out = append(out, d)
		}
	}
	return out
}
