package phish

import (
	"fmt"
	"strings"
)

// DMARCReject reports a message whose From domain fails DMARC (RFC 7489
// §6.6.2) while that domain asks receivers to reject such mail (p=reject)
// or to treat it as suspicious (p=quarantine). dmarcResult and policy are
// the words of internal/dmarc ("fail", "reject", "quarantine"); the
// policy is the one in force after pct and sp were applied.
func DMARCReject(fromDomain, dmarcResult, policy string) []Finding {
	if !strings.EqualFold(strings.TrimSpace(dmarcResult), "fail") {
		return nil
	}
	switch strings.ToLower(strings.TrimSpace(policy)) {
	case "reject":
		return []Finding{{NameDMARCReject, 6,
			fmt.Sprintf("the message claims to be from %s, which asks that mail failing its checks be rejected, and it fails them", fromDomain)}}
	case "quarantine":
		return []Finding{{NameDMARCQuarantine, 3,
			fmt.Sprintf("the message claims to be from %s but fails that domain's sender checks", fromDomain)}}
	}
	return nil
}
