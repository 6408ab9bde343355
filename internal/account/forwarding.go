package account

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

// ForwardTokenTTL is how long the target of a forwarding rule has to
// confirm it.
const ForwardTokenTTL = 7 * 24 * time.Hour

// ForwardConfirmPath is the path of the web page where the target of a
// forwarding rule confirms it.
const ForwardConfirmPath = "/forwarding/confirm"

// ErrBadForwardToken is wrapped by ConfirmForwarding's refusal of a token
// that is unknown, used already or expired.
var ErrBadForwardToken = errors.New("invalid or expired confirmation link")

// The reminders of an active outside forward: how long after it became
// active each is sent.
var ForwardReminders = []time.Duration{24 * time.Hour, 7 * 24 * time.Hour}

// AddForwarding is the owner's addition of a forwarding rule, which takes
// a fresh step-up (see StepUp): mail to address goes to target as well
// (keepCopy) or instead. A refusal for want of a step-up raises
// AlertForwardingChanged too, since it is what a thief holding a session
// would try. See AddForwardingAdmin for the rest.
func (s *Service) AddForwarding(ctx context.Context, su StepUp, address, target string, keepCopy bool) (store.ForwardRule, error) {
	acc, err := s.steppedUp(ctx, su, address)
	if err != nil {
		if errors.Is(err, ErrStepUpRequired) {
			s.refusedForwarding(ctx, su, address, target, err)
		}
		return store.ForwardRule{}, fmt.Errorf("add forwarding: %w", err)
	}
	return s.addForwarding(withOrigin(ctx, su), acc, target, keepCopy, "web")
}

// AddForwardingAdmin is the administrator's addition of a forwarding rule,
// without step-up. A target in a hosted domain is active at once; an
// outside target starts pending, and is sent a confirmation message
// through the outbound queue with a one-time link valid for
// ForwardTokenTTL: nothing is forwarded to it until it follows the link
// (ConfirmForwarding), so that no one is sent mail they did not ask for.
// Forwarding to the account itself, or to an address whose mail comes
// back to it, is refused (ErrInvalid). Each addition is in the event log
// (Kind "forwarding") and raises AlertForwardingChanged.
func (s *Service) AddForwardingAdmin(ctx context.Context, address, target string, keepCopy bool) (store.ForwardRule, error) {
	acc, err := s.account(ctx, address)
	if err != nil {
		return store.ForwardRule{}, fmt.Errorf("add forwarding: %w", err)
	}
	return s.addForwarding(ctx, acc, target, keepCopy, "cli")
}

func (s *Service) addForwarding(ctx context.Context, acc store.Account, target string, keepCopy bool, protocol string) (store.ForwardRule, error) {
	t, err := ParseAddress(target)
	if err != nil {
		return store.ForwardRule{}, fmt.Errorf("forwarding target: %w", err)
	}
	if t.IsCatchAll() {
		return store.ForwardRule{}, invalidf("forwarding target %s: not an address", target)
	}
	if t.String() == acc.Address {
		return store.ForwardRule{}, invalidf("forwarding target %s: the account itself", t)
	}
	r := s.newResolver()
	hosted, err := r.isHosted(ctx, t.Domain)
	if err != nil {
		return store.ForwardRule{}, fmt.Errorf("add forwarding of %s: %w", acc.Address, err)
	}
	now := s.now()
	rule := store.ForwardRule{AccountID: acc.ID, Target: t.String(), KeepCopy: keepCopy, Created: now}
	var token string
	if hosted {
		if err := s.checkForwardLoop(ctx, acc, t); err != nil {
			return store.ForwardRule{}, err
		}
		rule.State, rule.Confirmed = store.ForwardActive, now
	} else {
		token = rand.Text() + rand.Text() // 2 × 130 bits
		h := sha256.Sum256([]byte(token))
		rule.State, rule.TokenHash, rule.TokenExpires = store.ForwardPending, h[:], now.Add(ForwardTokenTTL)
	}
	rule, err = s.Store.AddForwardRule(ctx, rule)
	if err != nil {
		return store.ForwardRule{}, fmt.Errorf("add forwarding of %s to %s: %w", acc.Address, t, err)
	}
	detail := fmt.Sprintf("Mail to %s is now forwarded to %s%s.", acc.Address, rule.Target, keepNote(keepCopy))
	if !hosted {
		detail = fmt.Sprintf("Forwarding of mail to %s to %s%s was added. It starts once %s follows the link in the confirmation message sent there.",
			acc.Address, rule.Target, keepNote(keepCopy), rule.Target)
		if err := s.sendForwardConfirmation(ctx, acc, rule, token); err != nil {
			// The rule stays pending; removing and adding it again sends
			// another message.
			s.logger().Warn("forwarding confirmation not queued", "account", acc.Address, "target", rule.Target, "err", err)
		}
	}
	s.auditForwarding(ctx, acc.ID, protocol, "added", fmt.Sprintf("rule %d to %s, %s%s", rule.ID, rule.Target, rule.State, keepNote(keepCopy)))
	s.alert(ctx, Alert{AccountID: acc.ID, Kind: AlertForwardingChanged, Detail: detail})
	return rule, nil
}

func keepNote(keepCopy bool) string {
	if keepCopy {
		return ", a copy kept"
	}
	return ""
}

// checkForwardLoop refuses a hosted target whose mail comes back to acc.
func (s *Service) checkForwardLoop(ctx context.Context, acc store.Account, t Address) error {
	r := s.newResolver()
	found, err := r.expand(ctx, t, 1)
	if err != nil {
		return fmt.Errorf("forwarding target %s: %w", t, err)
	}
	if !found {
		return fmt.Errorf("forwarding target %s: no such account or alias: %w", t, store.ErrNotFound)
	}
	if r.seen[acc.Address] {
		return invalidf("forwarding target %s: its mail comes back to %s, a loop", t, acc.Address)
	}
	return nil
}

// refusedForwarding logs and alerts an addition refused for want of a
// step-up.
func (s *Service) refusedForwarding(ctx context.Context, su StepUp, address, target string, why error) {
	acc, err := s.account(ctx, address)
	if err != nil {
		return
	}
	ctx = withOrigin(ctx, su)
	s.auditForwarding(ctx, acc.ID, "web", "refused", fmt.Sprintf("to %s: %v", target, why))
	s.alert(ctx, Alert{AccountID: acc.ID, Kind: AlertForwardingChanged,
		Detail: fmt.Sprintf("An attempt to forward mail to %s to %q was refused: it was made without entering the password again.", acc.Address, target)})
}

// FromRemote returns ctx carrying where a request that needs no step-up
// came from (the target confirming a forward), so that the log entry and
// the alert of the change name it.
func FromRemote(ctx context.Context, ip netip.Addr, client string) context.Context {
	return withOrigin(ctx, StepUp{RemoteIP: ip, Client: client})
}

// ConfirmForwarding makes the pending forwarding rule whose confirmation
// token is token active, once, before the token expires; otherwise it
// fails with ErrBadForwardToken. The token is looked up by its SHA-256
// only, so that neither the store nor its timing learns anything of it.
// It raises AlertForwardingChanged, naming where the confirmation came
// from when ctx says (FromRemote).
func (s *Service) ConfirmForwarding(ctx context.Context, token string) (store.ForwardRule, error) {
	if token == "" || len(token) > 128 {
		return store.ForwardRule{}, ErrBadForwardToken
	}
	h := sha256.Sum256([]byte(token))
	rule, err := s.Store.ConfirmForwardRule(ctx, h[:], s.now())
	if errors.Is(err, store.ErrNotFound) {
		return store.ForwardRule{}, ErrBadForwardToken
	}
	if err != nil {
		return store.ForwardRule{}, fmt.Errorf("confirm forwarding: %w", err)
	}
	address := fmt.Sprintf("account %d", rule.AccountID)
	if acc, err := s.Store.GetAccountByID(ctx, rule.AccountID); err == nil {
		address = acc.Address
	}
	s.auditForwarding(ctx, rule.AccountID, "web", "confirmed", fmt.Sprintf("rule %d to %s", rule.ID, rule.Target))
	s.alert(ctx, Alert{AccountID: rule.AccountID, Kind: AlertForwardingChanged,
		Detail: fmt.Sprintf("%s confirmed the forwarding: mail to %s is now forwarded there%s.", rule.Target, address, keepNote(rule.KeepCopy))})
	return rule, nil
}

// RemoveForwarding is the owner's removal of forwarding rule id. It takes
// no step-up: removing a rule can only keep mail at home, and an owner who
// has just been alerted to a thief's rule must be able to remove it at
// once. su, when not the zero StepUp, names where the change came from.
// It raises AlertForwardingChanged.
func (s *Service) RemoveForwarding(ctx context.Context, su StepUp, address string, id int64) error {
	acc, err := s.account(ctx, address)
	if err != nil {
		return fmt.Errorf("remove forwarding: %w", err)
	}
	return s.removeForwarding(withOrigin(ctx, su), acc, id, "web")
}

// RemoveForwardingAdmin is the administrator's RemoveForwarding.
func (s *Service) RemoveForwardingAdmin(ctx context.Context, address string, id int64) error {
	acc, err := s.account(ctx, address)
	if err != nil {
		return fmt.Errorf("remove forwarding: %w", err)
	}
	return s.removeForwarding(ctx, acc, id, "cli")
}

func (s *Service) removeForwarding(ctx context.Context, acc store.Account, id int64, protocol string) error {
	rule, err := s.Store.DeleteForwardRule(ctx, acc.ID, id)
	if err != nil {
		return fmt.Errorf("remove forwarding %d of %s: %w", id, acc.Address, err)
	}
	s.auditForwarding(ctx, acc.ID, protocol, "removed", fmt.Sprintf("rule %d to %s, was %s", rule.ID, rule.Target, rule.State))
	s.alert(ctx, Alert{AccountID: acc.ID, Kind: AlertForwardingChanged,
		Detail: fmt.Sprintf("Forwarding of mail to %s to %s was removed.", acc.Address, rule.Target)})
	return nil
}

// ListForwarding returns the forwarding rules of the account, oldest
// first. Their token hashes are left out.
func (s *Service) ListForwarding(ctx context.Context, address string) ([]store.ForwardRule, error) {
	acc, err := s.account(ctx, address)
	if err != nil {
		return nil, err
	}
	rules, err := s.Store.ListForwardRules(ctx, acc.ID)
	if err != nil {
		return nil, fmt.Errorf("forwarding of %s: %w", acc.Address, err)
	}
	for i := range rules {
		rules[i].TokenHash = nil
	}
	return rules, nil
}

// auditForwarding writes a change to the event log, with where it came
// from when the context says.
func (s *Service) auditForwarding(ctx context.Context, accountID int64, protocol, outcome, detail string) {
	e := store.LogEntry{Time: s.now(), AccountID: accountID, Kind: "forwarding", Protocol: protocol, Outcome: outcome, Detail: detail}
	if su, ok := ctx.Value(originKey{}).(StepUp); ok {
		e.RemoteIP, e.Client = su.RemoteIP, su.Client
	}
	if _, err := s.Store.AppendLog(ctx, e); err != nil {
		s.logger().Warn("forwarding change not logged", "account_id", accountID, "err", err)
	}
}

// ForwardConfirmURL is the link the target of a pending rule follows.
func (s *Service) ForwardConfirmURL(token string) string {
	u := url.URL{Scheme: "https", Host: s.WebHostname, Path: ForwardConfirmPath, RawQuery: url.Values{"token": {token}}.Encode()}
	return u.String()
}

// sendForwardConfirmation queues the message asking the target of rule to
// confirm it, from the null sender, DKIM-signed when the domain has a key.
func (s *Service) sendForwardConfirmation(ctx context.Context, acc store.Account, rule store.ForwardRule, token string) error {
	if s.WebHostname == "" {
		return errors.New("no web hostname for the confirmation link")
	}
	msg, err := composeForwardConfirmation(acc.Address, rule.Target, s.ForwardConfirmURL(token), s.now())
	if err != nil {
		return err
	}
	domain := acc.Address[strings.LastIndexByte(acc.Address, '@')+1:]
	sig, err := s.SignDKIM(ctx, domain, bytes.NewReader(msg))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("signing: %w", err)
	}
	_, err = s.Store.Enqueue(ctx, strings.NewReader(sig+string(msg)), store.NewQueueItem{
		Recipients: []store.NewQueueRecipient{{Address: rule.Target}},
		SMTPUTF8:   !isASCII(acc.Address) || !isASCII(rule.Target),
	})
	if err != nil {
		return err
	}
	if s.Queued != nil {
		s.Queued()
	}
	return nil
}

// composeForwardConfirmation writes the confirmation message. Both
// addresses are normalised ones; the link is ours.
func composeForwardConfirmation(address, target, link string, now time.Time) ([]byte, error) {
	for _, a := range []string{address, target} {
		if strings.ContainsAny(a, "<>\r\n\t ") {
			return nil, fmt.Errorf("address %q cannot go in a header field", a)
		}
	}
	domain := address[strings.LastIndexByte(address, '@')+1:]
	var b strings.Builder
	field := func(name, value string) { b.WriteString(name + ": " + value + "\r\n") }
	field("From", `"Sealpost" <postmaster@`+domain+">")
	field("To", "<"+target+">")
	field("Subject", "Confirm forwarding of mail from "+address)
	field("Date", now.Format(time.RFC1123Z))
	field("Message-ID", "<"+rand.Text()+"@"+domain+">")
	field("Auto-Submitted", "auto-generated")
	field("MIME-Version", "1.0")
	field("Content-Type", "text/plain; charset=utf-8")
	field("Content-Transfer-Encoding", "8bit")
	b.WriteString("\r\n")
	text := fmt.Sprintf("The owner of %s asked that the mail it receives be forwarded to %s.\n\n"+
		"To accept, open this link and press the button on the page within 7 days:\n\n%s\n\n"+
		"If you did not expect this, ignore this message: nothing is forwarded to you unless you accept.\n",
		address, target, link)
	b.WriteString(strings.ReplaceAll(text, "\n", "\r\n"))
	return []byte(b.String()), nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// RemindForwarding announces each active outside forward to its owner
// again (AlertForwardingActive) once each ForwardReminders interval after
// it became active, each at most once: a reminder is marked in the store
// before it is sent, so two servers never both send it, and one missed
// while the server was down is sent late rather than not at all (a later
// one due as well replaces it). It returns how many were sent.
func (s *Service) RemindForwarding(ctx context.Context) (int, error) {
	rules, err := s.Store.ActiveForwardRules(ctx)
	if err != nil {
		return 0, fmt.Errorf("forwarding reminders: %w", err)
	}
	now, sent := s.now(), 0
	r := s.newResolver()
	for _, rule := range rules {
		due := 0
		for i, after := range ForwardReminders {
			if !rule.Confirmed.IsZero() && !now.Before(rule.Confirmed.Add(after)) {
				due = i + 1
			}
		}
		if due <= rule.Reminders {
			continue
		}
		t, err := ParseAddress(rule.Target)
		if err != nil {
			continue
		}
		if hosted, err := r.isHosted(ctx, t.Domain); err != nil || hosted {
			continue // the reminders are for mail leaving Sealpost
		}
		if err := s.markReminders(ctx, rule, due, now); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				continue // removed, or reminded by another server
			}
			return sent, err
		}
		s.alert(ctx, Alert{AccountID: rule.AccountID, Kind: AlertForwardingActive,
			Detail: fmt.Sprintf("Mail to this account is being forwarded to %s%s, since %s. If you did not set this up, remove the forwarding and change your password.",
				rule.Target, keepNote(rule.KeepCopy), rule.Confirmed.UTC().Format("Mon, 2 Jan 2006 15:04 UTC"))})
		sent++
	}
	return sent, nil
}

// markReminders records reminders up to due as sent.
func (s *Service) markReminders(ctx context.Context, rule store.ForwardRule, due int, now time.Time) error {
	for n := rule.Reminders + 1; n <= due; n++ {
		if err := s.Store.MarkForwardReminded(ctx, rule.ID, n, now); err != nil {
			return fmt.Errorf("forwarding reminder: %w", err)
		}
	}
	return nil
}

// ForwardingLog returns the audit trail of the account's forwarding rules,
// newest first: every addition, refusal, confirmation and removal, with
// where it came from when known.
func (s *Service) ForwardingLog(ctx context.Context, address string, limit int) ([]store.LogEntry, error) {
	acc, err := s.account(ctx, address)
	if err != nil {
		return nil, err
	}
	es, err := s.Store.QueryLog(ctx, store.LogQuery{AccountID: acc.ID, Kind: "forwarding", Limit: limit})
	if err != nil {
		return nil, fmt.Errorf("forwarding log of %s: %w", acc.Address, err)
	}
	return es, nil
}
