package account

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"sealpost.dev/sealpost/internal/dnsx"
	"sealpost.dev/sealpost/internal/srs"
	"sealpost.dev/sealpost/internal/store"
)

// ErrAuthFailed is returned by Authenticate and Login for an unknown user,
// a disabled account and a wrong password alike, and by Login for a
// credential refused on that protocol. The wrapping error's text says which,
// for the log; it must never be shown to the client.
var ErrAuthFailed = errors.New("authentication failed")

// ErrNotHosted is returned when an address or name is in a domain Sealpost
// does not host. It matches store.ErrNotFound too.
var ErrNotHosted error = notHostedError{}

type notHostedError struct{}

func (notHostedError) Error() string        { return "domain not hosted" }
func (notHostedError) Is(target error) bool { return target == store.ErrNotFound }

// Limits on aliases.
const (
	// MaxAliasTargets bounds the targets of one alias.
	MaxAliasTargets = 1000
	// MaxAliasDepth bounds alias → alias chains: an alias whose targets
	// are aliases is one level deeper than they are.
	MaxAliasDepth = 10
	// maxResolved bounds the addresses one resolution visits.
	maxResolved = 10000
)

// Service manages domains, accounts and aliases on a store. Every method
// validates and normalises its input before it changes anything, so bad
// input (errors wrapping ErrInvalid) leaves the store as it was.
type Service struct {
	Store store.Store
	// Hasher hashes new passwords; the zero value means DefaultHasher().
	Hasher Hasher
	// MinPasswordLength is the shortest new password in characters; 0
	// means DefaultMinPasswordLength.
	MinPasswordLength int
	// MaxConcurrentChecks bounds the password checks Authenticate runs at
	// once, since each takes the Hasher's memory (64 MiB by default); 0
	// means twice the number of CPUs.
	MaxConcurrentChecks int
	// LoginCacheTTL is how long a successful password check is remembered
	// (see Authenticate); 0 means DefaultLoginCacheTTL and a negative value
	// remembers nothing.
	LoginCacheTTL time.Duration
	// LoginCacheSize bounds the remembered checks; 0 means
	// DefaultLoginCacheSize.
	LoginCacheSize int
	// DKIMKeyGen makes DKIM keys (GenerateDKIMKeys). AddDomain gives each
	// new domain a pair only when it is set, since generating an RSA key
	// takes a while; RotateDKIM uses GenerateDKIMKeys when it is not.
	DKIMKeyGen func(now time.Time, state store.DKIMKeyState, taken []string) ([]store.DKIMKey, error)
	// Postmaster is where mail to postmaster@ of a hosted domain without
	// an account or alias of that name goes; "" means the domain's oldest
	// account (see Resolve).
	Postmaster string
	// SRS, when set, reverses the Sender Rewriting Scheme addresses of
	// hosted domains in Resolve: mail to them goes to the original sender,
	// and a forged or expired one is refused (an *SRSError).
	SRS *srs.Rewriter
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Guard, when set, is asked by Login before any password is checked
	// and told every outcome: the brute-force defence.
	Guard Guard
	// Alerts, when set, delivers the security alerts the Service raises.
	Alerts Alerter
	// Resolver, when set, gives the login log the reverse DNS name of each
	// attempt's address (forward-confirmed; see store.LogEntry.ReverseDNS).
	Resolver dnsx.Resolver
	// Revoked, when set, is called after an app password is revoked, so
	// that the live sessions that logged in with it end.
	Revoked func(accountID, appPasswordID int64)
	// EndSessions, when set, is called after a password change to end
	// every live session of the account, those of its app passwords
	// included: whoever knew the old password is out at once.
	EndSessions func(accountID int64)
	// TOTPIssuer names the service in authenticator apps; "" means
	// DefaultTOTPIssuer.
	TOTPIssuer string
	// WebHostname is the host name of Sealpost's HTTPS listener, for the
	// links in forwarding confirmation messages; "" sends none (an outside
	// forward then stays pending).
	WebHostname string
	// Queued, when set, is called after the Service queued a message (a
	// forwarding confirmation), to wake the outbound queue.
	Queued func()
	// Logger is for what Login cannot return (a login log entry that could
	// not be written); nil means slog.Default().
	Logger *slog.Logger

	signersMu sync.Mutex
	signers   map[string]cachedSigners // by domain

	semOnce   sync.Once
	sem       chan struct{}
	cacheOnce sync.Once
	cache     *loginCache
	recent    recentSignInSet // the last places of sign-ins, see noteSignIn
}

// DefaultMailboxes returns the mailboxes every new account gets: INBOX and
// the special-use mailboxes of RFC 6154, all subscribed.
func DefaultMailboxes() []store.NewMailbox {
	return []store.NewMailbox{
		{Name: "INBOX", Subscribed: true},
		{Name: "Sent", SpecialUse: `\Sent`, Subscribed: true},
		{Name: "Drafts", SpecialUse: `\Drafts`, Subscribed: true},
		{Name: "Junk", SpecialUse: `\Junk`, Subscribed: true},
		{Name: "Trash", SpecialUse: `\Trash`, Subscribed: true},
		{Name: "Archive", SpecialUse: `\Archive`, Subscribed: true},
	}
}

func (s *Service) hasher() Hasher {
	if s.Hasher == (Hasher{}) {
		return DefaultHasher()
	}
	return s.Hasher
}

// AddDomain starts hosting a domain, given in any form NormalizeDomain
// accepts, with its first pair of DKIM keys when DKIMKeyGen is set. If the
// keys cannot be made or stored, the domain is hosted all the same and the
// error says so.
func (s *Service) AddDomain(ctx context.Context, name string) (store.Domain, error) {
	d, err := NormalizeDomain(name)
	if err != nil {
		return store.Domain{}, err
	}
	dom, err := s.Store.CreateDomain(ctx, d)
	if err != nil {
		return store.Domain{}, fmt.Errorf("add domain %s: %w", d, err)
	}
	return dom, s.addDomainKeys(ctx, d)
}

// ListDomains lists the hosted domains.
func (s *Service) ListDomains(ctx context.Context) ([]store.Domain, error) {
	ds, err := s.Store.ListDomains(ctx)
	if err != nil {
		return nil, fmt.Errorf("list domains: %w", err)
	}
	return ds, nil
}

// DeleteDomain stops hosting a domain. It refuses, with an error wrapping
// store.ErrNotEmpty, while the domain has accounts or aliases.
func (s *Service) DeleteDomain(ctx context.Context, name string) error {
	d, err := s.hostedDomain(ctx, name)
	if err != nil {
		return err
	}
	accounts, err := s.Store.ListAccounts(ctx, d)
	if err != nil {
		return fmt.Errorf("delete domain %s: %w", d, err)
	}
	aliases, err := s.Store.ListAliases(ctx, d)
	if err != nil {
		return fmt.Errorf("delete domain %s: %w", d, err)
	}
	if len(accounts) > 0 || len(aliases) > 0 {
		return fmt.Errorf("delete domain %s: %d accounts and %d aliases remain: %w",
			d, len(accounts), len(aliases), store.ErrNotEmpty)
	}
	if err := s.Store.DeleteDomain(ctx, d); err != nil {
		return fmt.Errorf("delete domain %s: %w", d, err)
	}
	return nil
}

// AddAccount creates an account with its password and quota (0 for none)
// and its mailboxes (DefaultMailboxes) in one step. The domain must be
// hosted and the address must not be taken by an account or an alias.
func (s *Service) AddAccount(ctx context.Context, address, password string, quotaBytes int64) (store.Account, error) {
	a, err := ParseAddress(address)
	if err != nil {
		return store.Account{}, err
	}
	if err := CheckPasswordFor(a, password, s.MinPasswordLength); err != nil {
		return store.Account{}, err
	}
	if quotaBytes < 0 {
		return store.Account{}, invalidf("quota %d: negative", quotaBytes)
	}
	if err := s.requireHosted(ctx, a.Domain); err != nil {
		return store.Account{}, fmt.Errorf("add account %s: %w", a, err)
	}
	phc, err := s.hasher().Hash(password)
	if err != nil {
		return store.Account{}, fmt.Errorf("add account %s: %w", a, err)
	}
	acc, err := s.Store.CreateAccount(ctx, store.NewAccount{
		Address:      a.String(),
		PasswordHash: phc,
		QuotaBytes:   quotaBytes,
		Mailboxes:    DefaultMailboxes(),
	})
	if err != nil {
		return store.Account{}, fmt.Errorf("add account %s: %w", a, err)
	}
	return acc, nil
}

// SetPassword is the administrator's change of an account's password.
// Like ChangePassword, the owner's, it forgets the cached logins, ends the
// account's other sessions through EndSessions (a thief's among them) and
// raises AlertPasswordChanged.
func (s *Service) SetPassword(ctx context.Context, address, password string) error {
	a, err := ParseAddress(address)
	if err != nil {
		return err
	}
	if err := CheckPasswordFor(a, password, s.MinPasswordLength); err != nil {
		return err
	}
	// Look first: no point hashing for an account that is not there.
	acc, err := s.Store.GetAccount(ctx, a.String())
	if err != nil {
		return fmt.Errorf("set password of %s: %w", a, err)
	}
	return s.replacePassword(ctx, acc, password)
}

// replacePassword stores the hash of a checked new password, and does
// what a password change must.
func (s *Service) replacePassword(ctx context.Context, acc store.Account, password string) error {
	phc, err := s.hasher().Hash(password)
	if err != nil {
		return fmt.Errorf("set password of %s: %w", acc.Address, err)
	}
	if err := s.Store.SetPasswordHash(ctx, acc.Address, phc); err != nil {
		return fmt.Errorf("set password of %s: %w", acc.Address, err)
	}
	// The new stored hash already stops the old password's cache entries;
	// forgetting them frees their room at once.
	s.ForgetLogins(acc.Address)
	if s.EndSessions != nil {
		s.EndSessions(acc.ID)
	}
	// A network a thief logged in from must not keep the trust the Guard
	// gives an account's own networks; the owner's next login restores it.
	if g, ok := s.Guard.(interface {
		ForgetTrust(ctx context.Context, address string) error
	}); ok {
		if err := g.ForgetTrust(ctx, acc.Address); err != nil {
			s.logger().Warn("forgetting the networks an account trusts", "account", acc.Address, "err", err)
		}
	}
	s.alert(ctx, Alert{AccountID: acc.ID, Kind: AlertPasswordChanged, Detail: "The password of the account was changed."})
	return nil
}

// ListAccounts lists the accounts of a hosted domain, or of all domains if
// domain is "".
func (s *Service) ListAccounts(ctx context.Context, domain string) ([]store.Account, error) {
	d, err := s.optionalDomain(ctx, domain)
	if err != nil {
		return nil, err
	}
	as, err := s.Store.ListAccounts(ctx, d)
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	return as, nil
}

// DeleteAccount removes an account with its mailboxes and messages. It
// refuses, with an error wrapping store.ErrNotEmpty, while aliases point to
// the account: otherwise a new account of the same name would later receive
// their mail.
func (s *Service) DeleteAccount(ctx context.Context, address string) error {
	a, err := ParseAddress(address)
	if err != nil {
		return err
	}
	acc, err := s.Store.GetAccount(ctx, a.String())
	if err != nil {
		return fmt.Errorf("delete account %s: %w", a, err)
	}
	if err := s.checkUnreferenced(ctx, a); err != nil {
		return fmt.Errorf("delete account %s: %w", a, err)
	}
	if err := s.Store.DeleteAccount(ctx, a.String()); err != nil {
		return fmt.Errorf("delete account %s: %w", a, err)
	}
	s.ForgetLogins(a.String())
	s.forgetSignIns(ctx, acc.ID)
	return nil
}

// AddAlias creates an alias, or a catch-all alias if address is "@domain".
// Its domain must be hosted. Each target is an address; targets in hosted
// domains must be existing accounts or aliases, and the chain they start
// must not be deeper than MaxAliasDepth.
func (s *Service) AddAlias(ctx context.Context, address string, targets []string) (store.Alias, error) {
	a, err := parseAliasAddress(address)
	if err != nil {
		return store.Alias{}, err
	}
	ts, err := normalizeTargets(a, targets)
	if err != nil {
		return store.Alias{}, err
	}
	if err := s.requireHosted(ctx, a.Domain); err != nil {
		return store.Alias{}, fmt.Errorf("add alias %s: %w", a, err)
	}
	r := s.newResolver()
	for _, t := range ts {
		err := r.checkTarget(ctx, t)
		if errors.Is(err, errTooDeep) {
			return store.Alias{}, fmt.Errorf("%w alias %s: target %s: %w", ErrInvalid, a, t, err)
		}
		if err != nil {
			return store.Alias{}, fmt.Errorf("add alias %s: target %s: %w", a, t, err)
		}
	}
	al, err := s.Store.CreateAlias(ctx, a.String(), addressStrings(ts))
	if err != nil {
		return store.Alias{}, fmt.Errorf("add alias %s: %w", a, err)
	}
	return al, nil
}

// normalizeTargets parses alias targets and drops duplicates, keeping the
// order given.
func normalizeTargets(a Address, targets []string) ([]Address, error) {
	if len(targets) == 0 {
		return nil, invalidf("alias %s: no targets", a)
	}
	if len(targets) > MaxAliasTargets {
		return nil, invalidf("alias %s: %d targets, more than %d", a, len(targets), MaxAliasTargets)
	}
	seen := make(map[Address]bool, len(targets))
	var ts []Address
	for _, t := range targets {
		ta, err := ParseAddress(t)
		if err != nil {
			return nil, fmt.Errorf("alias %s: target: %w", a, err)
		}
		if ta == a {
			return nil, invalidf("alias %s: targets itself", a)
		}
		if !seen[ta] {
			seen[ta] = true
			ts = append(ts, ta)
		}
	}
	return ts, nil
}

// ListAliases lists the aliases of a hosted domain, or of all domains if
// domain is "".
func (s *Service) ListAliases(ctx context.Context, domain string) ([]store.Alias, error) {
	d, err := s.optionalDomain(ctx, domain)
	if err != nil {
		return nil, err
	}
	as, err := s.Store.ListAliases(ctx, d)
	if err != nil {
		return nil, fmt.Errorf("list aliases: %w", err)
	}
	return as, nil
}

// DeleteAlias removes an alias or, for "@domain", a catch-all. Like
// DeleteAccount it refuses while other aliases point to it.
func (s *Service) DeleteAlias(ctx context.Context, address string) error {
	a, err := parseAliasAddress(address)
	if err != nil {
		return err
	}
	if _, err := s.Store.GetAlias(ctx, a.String()); err != nil {
		return fmt.Errorf("delete alias %s: %w", a, err)
	}
	if err := s.checkUnreferenced(ctx, a); err != nil {
		return fmt.Errorf("delete alias %s: %w", a, err)
	}
	if err := s.Store.DeleteAlias(ctx, a.String()); err != nil {
		return fmt.Errorf("delete alias %s: %w", a, err)
	}
	return nil
}

// parseAliasAddress accepts an address or a catch-all "@domain".
func parseAliasAddress(s string) (Address, error) {
	if strings.HasPrefix(s, "@") {
		return ParseCatchAll(s)
	}
	return ParseAddress(s)
}

// checkUnreferenced fails if an alias has a as a target.
func (s *Service) checkUnreferenced(ctx context.Context, a Address) error {
	aliases, err := s.Store.ListAliases(ctx, "")
	if err != nil {
		return err
	}
	addr := a.String()
	var refs []string
	for _, al := range aliases {
		for _, t := range al.Targets {
			if t == addr {
				refs = append(refs, al.Address)
				break
			}
		}
	}
	if len(refs) > 0 {
		return fmt.Errorf("still the target of alias %s: %w", strings.Join(refs, ", "), store.ErrNotEmpty)
	}
	return nil
}

// hostedDomain normalises name and checks it is hosted.
func (s *Service) hostedDomain(ctx context.Context, name string) (string, error) {
	d, err := NormalizeDomain(name)
	if err != nil {
		return "", err
	}
	if err := s.requireHosted(ctx, d); err != nil {
		return "", err
	}
	return d, nil
}

// optionalDomain is hostedDomain, except that "" (all domains) is kept.
func (s *Service) optionalDomain(ctx context.Context, name string) (string, error) {
	if name == "" {
		return "", nil
	}
	return s.hostedDomain(ctx, name)
}

// requireHosted fails with ErrNotHosted if the normalised domain d is not
// hosted.
func (s *Service) requireHosted(ctx context.Context, d string) error {
	_, err := s.Store.GetDomain(ctx, d)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%s: %w", d, ErrNotHosted)
	}
	return err
}

func addressStrings(as []Address) []string {
	ss := make([]string, len(as))
	for i, a := range as {
		ss[i] = a.String()
	}
	return ss
}
