package account

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/store"
	"sealpost.dev/sealpost/internal/store/sqlite"
)

// newService returns a Service on a fresh SQLite store with the domains
// example.com and other.example.
func newService(t testing.TB) *Service {
	t.Helper()
	ctx := t.Context()
	st, err := sqlite.Open(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Error(err)
		}
	})
	s := &Service{Store: st, Hasher: cheap, MinPasswordLength: 8}
	for _, d := range []string{"example.com", "other.example"} {
		if _, err := s.AddDomain(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// snapshot describes everything the Service manages, to check that a call
// that fails changed nothing.
func snapshot(t *testing.T, s *Service) string {
	t.Helper()
	ctx := t.Context()
	var b strings.Builder
	ds, err := s.Store.ListDomains(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		fmt.Fprintf(&b, "domain %s\n", d.Name)
	}
	as, err := s.Store.ListAccounts(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range as {
		mbs, err := s.Store.ListMailboxes(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "account %s %s %d %v %d mailboxes\n", a.Address, a.PasswordHash, a.QuotaBytes, a.Disabled, len(mbs))
	}
	als, err := s.Store.ListAliases(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range als {
		fmt.Fprintf(&b, "alias %s %v\n", a.Address, a.Targets)
	}
	return b.String()
}

func mustAccount(t *testing.T, s *Service, addr string) store.Account {
	t.Helper()
	a, err := s.AddAccount(t.Context(), addr, "a long enough password", 0)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func mustAlias(t *testing.T, s *Service, addr string, targets ...string) {
	t.Helper()
	if _, err := s.AddAlias(t.Context(), addr, targets); err != nil {
		t.Fatal(err)
	}
}

func TestDomains(t *testing.T) {
	s := newService(t)
	ctx := t.Context()
	d, err := s.AddDomain(ctx, "Bücher.Example.")
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "xn--bcher-kva.example" || d.ID == 0 {
		t.Errorf("AddDomain = %+v, want name xn--bcher-kva.example", d)
	}
	before := snapshot(t, s)
	for _, tt := range []struct {
		name string
		want error
	}{
		{"bücher.example", store.ErrExists},
		{"XN--BCHER-KVA.EXAMPLE", store.ErrExists},
		{"exa mple.com", ErrInvalid},
		{"[192.0.2.1]", ErrInvalid},
		{"", ErrInvalid},
	} {
		if _, err := s.AddDomain(ctx, tt.name); !errors.Is(err, tt.want) {
			t.Errorf("AddDomain(%q) = %v, want %v", tt.name, err, tt.want)
		}
	}
	if after := snapshot(t, s); after != before {
		t.Errorf("failed AddDomain changed the store:\n%s\nwas\n%s", after, before)
	}
	ds, err := s.ListDomains(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range ds {
		names = append(names, d.Name)
	}
	slices.Sort(names)
	if want := []string{"example.com", "other.example", "xn--bcher-kva.example"}; !slices.Equal(names, want) {
		t.Errorf("ListDomains = %v, want %v", names, want)
	}
}

func TestDeleteDomain(t *testing.T) {
	s := newService(t)
	ctx := t.Context()
	mustAccount(t, s, "user@example.com")
	mustAlias(t, s, "alias@other.example", "someone@outside.test")
	before := snapshot(t, s)
	for _, tt := range []struct {
		name string
		want error
	}{
		{"example.com", store.ErrNotEmpty},   // an account
		{"other.example", store.ErrNotEmpty}, // an alias
		{"unknown.test", ErrNotHosted},
		{"unknown.test", store.ErrNotFound},
		{"not a domain", ErrInvalid},
	} {
		if err := s.DeleteDomain(ctx, tt.name); !errors.Is(err, tt.want) {
			t.Errorf("DeleteDomain(%q) = %v, want %v", tt.name, err, tt.want)
		}
	}
	if after := snapshot(t, s); after != before {
		t.Errorf("failed DeleteDomain changed the store:\n%s\nwas\n%s", after, before)
	}
	if err := s.DeleteAccount(ctx, "user@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAlias(ctx, "alias@other.example"); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"Example.COM", "other.example."} {
		if err := s.DeleteDomain(ctx, d); err != nil {
			t.Errorf("DeleteDomain(%q) = %v", d, err)
		}
	}
	if ds, err := s.ListDomains(ctx); err != nil || len(ds) != 0 {
		t.Errorf("ListDomains after deleting all = %v, %v", ds, err)
	}
}

func TestAddAccount(t *testing.T) {
	s := newService(t)
	ctx := t.Context()
	acc, err := s.AddAccount(ctx, "Jürgen@Example.COM", "a long enough password", 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	if acc.Address != "jürgen@example.com" || acc.QuotaBytes != 1<<30 || acc.Disabled {
		t.Errorf("AddAccount = %+v", acc)
	}
	if ok, err := s.Hasher.Verify(acc.PasswordHash, "a long enough password"); !ok || err != nil {
		t.Errorf("stored hash %q does not verify: %v", acc.PasswordHash, err)
	}
	mbs, err := s.Store.ListMailboxes(ctx, acc.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range mbs {
		got = append(got, fmt.Sprintf("%s %s %v", m.Name, m.SpecialUse, m.Subscribed))
	}
	slices.Sort(got)
	want := []string{`Archive \Archive true`, `Drafts \Drafts true`, "INBOX  true", `Junk \Junk true`, `Sent \Sent true`, `Trash \Trash true`}
	if !slices.Equal(got, want) {
		t.Errorf("mailboxes = %q, want %q", got, want)
	}

	mustAlias(t, s, "alias@example.com", "jürgen@example.com")
	before := snapshot(t, s)
	for _, tt := range []struct {
		addr, pw string
		quota    int64
		want     error
	}{
		{"not an address", "a long enough password", 0, ErrInvalid},
		{"a@b@example.com", "a long enough password", 0, ErrInvalid},
		{"@example.com", "a long enough password", 0, ErrInvalid},
		{"new@example.com", "short", 0, ErrInvalid},
		{"new@example.com", "        ", 0, ErrInvalid},
		{"new@example.com", "new@example.com", 0, ErrInvalid},
		{"new@example.com", "a long enough password\n", 0, ErrInvalid},
		{"new@example.com", "a long enough password", -1, ErrInvalid},
		{"new@unknown.test", "a long enough password", 0, ErrNotHosted},
		{"new@unknown.test", "a long enough password", 0, store.ErrNotFound},
		{"JÜRGEN@example.com", "a long enough password", 0, store.ErrExists},
		{"ju\u0308rgen@example.com", "a long enough password", 0, store.ErrExists},
		{"alias@example.com", "a long enough password", 0, store.ErrExists},
	} {
		_, err := s.AddAccount(ctx, tt.addr, tt.pw, tt.quota)
		if !errors.Is(err, tt.want) {
			t.Errorf("AddAccount(%q, %q, %d) = %v, want %v", tt.addr, tt.pw, tt.quota, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "password\n") {
			t.Errorf("error %q shows the password", err)
		}
	}
	if after := snapshot(t, s); after != before {
		t.Errorf("failed AddAccount changed the store:\n%s\nwas\n%s", after, before)
	}
}

func TestZeroHasherIsDefault(t *testing.T) {
	s := &Service{}
	if s.hasher() != DefaultHasher() {
		t.Errorf("zero Hasher gives %+v, want DefaultHasher", s.hasher())
	}
}

func TestListAccounts(t *testing.T) {
	s := newService(t)
	ctx := t.Context()
	mustAccount(t, s, "a@example.com")
	mustAccount(t, s, "b@example.com")
	mustAccount(t, s, "c@other.example")
	for _, tt := range []struct {
		domain string
		want   []string
		err    error
	}{
		{"", []string{"a@example.com", "b@example.com", "c@other.example"}, nil},
		{"example.com", []string{"a@example.com", "b@example.com"}, nil},
		{"OTHER.example.", []string{"c@other.example"}, nil},
		{"unknown.test", nil, ErrNotHosted},
		{"bad domain", nil, ErrInvalid},
	} {
		as, err := s.ListAccounts(ctx, tt.domain)
		if !errors.Is(err, tt.err) {
			t.Errorf("ListAccounts(%q) error %v, want %v", tt.domain, err, tt.err)
			continue
		}
		var got []string
		for _, a := range as {
			got = append(got, a.Address)
		}
		slices.Sort(got)
		if !slices.Equal(got, tt.want) {
			t.Errorf("ListAccounts(%q) = %v, want %v", tt.domain, got, tt.want)
		}
	}
}

func TestSetPassword(t *testing.T) {
	s := newService(t)
	ctx := t.Context()
	mustAccount(t, s, "user@example.com")
	if err := s.SetPassword(ctx, "USER@example.com", "the new password"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, "user@example.com", "the new password"); err != nil {
		t.Errorf("new password: %v", err)
	}
	if _, err := s.Authenticate(ctx, "user@example.com", "a long enough password"); !errors.Is(err, ErrAuthFailed) {
		t.Errorf("old password: %v, want ErrAuthFailed", err)
	}
	before := snapshot(t, s)
	for _, tt := range []struct {
		addr, pw string
		want     error
	}{
		{"user@example.com", "short", ErrInvalid},
		{"user@example.com", "user@example.com", ErrInvalid},
		{"user@", "the newer password", ErrInvalid},
		{"nobody@example.com", "the newer password", store.ErrNotFound},
	} {
		if err := s.SetPassword(ctx, tt.addr, tt.pw); !errors.Is(err, tt.want) {
			t.Errorf("SetPassword(%q, %q) = %v, want %v", tt.addr, tt.pw, err, tt.want)
		}
	}
	if after := snapshot(t, s); after != before {
		t.Errorf("failed SetPassword changed the store:\n%s\nwas\n%s", after, before)
	}
}

func TestDeleteAccount(t *testing.T) {
	s := newService(t)
	ctx := t.Context()
	mustAccount(t, s, "user@example.com")
	mustAccount(t, s, "target@example.com")
	mustAlias(t, s, "alias@other.example", "target@example.com")
	before := snapshot(t, s)
	for _, tt := range []struct {
		addr string
		want error
	}{
		{"target@example.com", store.ErrNotEmpty},
		{"nobody@example.com", store.ErrNotFound},
		{"bad address", ErrInvalid},
	} {
		if err := s.DeleteAccount(ctx, tt.addr); !errors.Is(err, tt.want) {
			t.Errorf("DeleteAccount(%q) = %v, want %v", tt.addr, err, tt.want)
		}
	}
	if after := snapshot(t, s); after != before {
		t.Errorf("failed DeleteAccount changed the store:\n%s\nwas\n%s", after, before)
	}
	if err := s.DeleteAccount(ctx, "User@Example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Store.GetAccount(ctx, "user@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("account still there after DeleteAccount: %v", err)
	}
}

func TestAliases(t *testing.T) {
	s := newService(t)
	ctx := t.Context()
	mustAccount(t, s, "a@example.com")
	mustAccount(t, s, "b@example.com")
	al, err := s.AddAlias(ctx, "Sales@Example.com", []string{"A@example.com", "b@EXAMPLE.com", "a@example.com", "Ext@Bücher.test"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a@example.com", "b@example.com", "ext@xn--bcher-kva.test"}; al.Address != "sales@example.com" || !slices.Equal(al.Targets, want) {
		t.Errorf("AddAlias = %s %v, want sales@example.com %v", al.Address, al.Targets, want)
	}
	if _, err := s.AddAlias(ctx, "@Example.com", []string{"sales@example.com"}); err != nil {
		t.Errorf("catch-all: %v", err)
	}

	before := snapshot(t, s)
	for _, tt := range []struct {
		addr    string
		targets []string
		want    error
	}{
		{"x@example.com", nil, ErrInvalid},
		{"x@example.com", []string{"bad target"}, ErrInvalid},
		{"x@example.com", []string{"@example.com"}, ErrInvalid},
		{"x@example.com", []string{"X@example.com"}, ErrInvalid},
		{"x@example.com", []string{"a@example.com", "a@b@c"}, ErrInvalid},
		{"x@example.com", make([]string, MaxAliasTargets+1), ErrInvalid},
		{"bad alias", []string{"a@example.com"}, ErrInvalid},
		{"@bad domain", []string{"a@example.com"}, ErrInvalid},
		{"x@example.com", []string{"nobody@example.com"}, store.ErrNotFound},
		{"x@example.com", []string{"nobody@other.example"}, store.ErrNotFound},
		{"x@unknown.test", []string{"a@example.com"}, ErrNotHosted},
		{"@unknown.test", []string{"a@example.com"}, ErrNotHosted},
		{"a@example.com", []string{"b@example.com"}, store.ErrExists},
		{"SALES@example.com", []string{"b@example.com"}, store.ErrExists},
		{"@example.com", []string{"b@example.com"}, store.ErrExists},
	} {
		if _, err := s.AddAlias(ctx, tt.addr, tt.targets); !errors.Is(err, tt.want) {
			t.Errorf("AddAlias(%q, %q) = %v, want %v", tt.addr, tt.targets, err, tt.want)
		}
	}
	for _, tt := range []struct {
		addr string
		want error
	}{
		{"sales@example.com", store.ErrNotEmpty}, // the catch-all points to it
		{"nobody@example.com", store.ErrNotFound},
		{"@other.example", store.ErrNotFound},
		{"bad alias", ErrInvalid},
	} {
		if err := s.DeleteAlias(ctx, tt.addr); !errors.Is(err, tt.want) {
			t.Errorf("DeleteAlias(%q) = %v, want %v", tt.addr, err, tt.want)
		}
	}
	if _, err := s.ListAliases(ctx, "unknown.test"); !errors.Is(err, ErrNotHosted) {
		t.Errorf("ListAliases(unknown.test) = %v, want ErrNotHosted", err)
	}
	if after := snapshot(t, s); after != before {
		t.Errorf("failed alias calls changed the store:\n%s\nwas\n%s", after, before)
	}

	if err := s.DeleteAlias(ctx, "@EXAMPLE.com"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAlias(ctx, "sales@example.com"); err != nil {
		t.Fatal(err)
	}
	if as, err := s.ListAliases(ctx, "example.com"); err != nil || len(as) != 0 {
		t.Errorf("ListAliases after deleting all = %v, %v", as, err)
	}
}

// TestAliasDepth builds the longest chain AddAlias allows: chain1 points to
// the account, chainN to chain(N-1).
func TestAliasDepth(t *testing.T) {
	s := newService(t)
	ctx := t.Context()
	mustAccount(t, s, "a@example.com")
	prev := "a@example.com"
	for i := 1; i <= MaxAliasDepth; i++ {
		addr := fmt.Sprintf("chain%d@example.com", i)
		mustAlias(t, s, addr, prev)
		prev = addr
	}
	r, err := s.Resolve(ctx, prev)
	if err != nil || !slices.Equal(r.Accounts, []string{"a@example.com"}) {
		t.Errorf("Resolve(%s) = %+v, %v", prev, r, err)
	}
	_, err = s.AddAlias(ctx, "toodeep@example.com", []string{prev})
	if !errors.Is(err, ErrInvalid) || !errors.Is(err, errTooDeep) {
		t.Errorf("AddAlias one level deeper = %v, want ErrInvalid", err)
	}
	// The store itself does not check; Resolve still stops.
	if _, err := s.Store.CreateAlias(ctx, "toodeep@example.com", []string{prev}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Resolve(ctx, "toodeep@example.com"); !errors.Is(err, errTooDeep) {
		t.Errorf("Resolve of a chain too deep = %v", err)
	}
}

func TestResolve(t *testing.T) {
	s := newService(t)
	ctx := t.Context()
	for _, a := range []string{"a@example.com", "b@example.com", "c@example.com", "d@other.example"} {
		mustAccount(t, s, a)
	}
	if err := s.Store.SetDisabled(ctx, "c@example.com", true); err != nil {
		t.Fatal(err)
	}
	mustAlias(t, s, "sales@example.com", "a@example.com", "b@example.com", "ext@outside.test")
	mustAlias(t, s, "team@example.com", "sales@example.com", "c@example.com")
	mustAlias(t, s, "all@example.com", "team@example.com", "a@example.com", "d@other.example")
	mustAlias(t, s, "@example.com", "b@example.com")
	mustAlias(t, s, "@other.example", "team@example.com", "d@other.example")
	// Loops cannot be made through the Service (a target must exist and
	// cannot be deleted while referenced), but the store allows them.
	for _, al := range []struct {
		addr    string
		targets []string
	}{
		{"loop1@example.com", []string{"loop2@example.com"}},
		{"loop2@example.com", []string{"loop1@example.com", "a@example.com"}},
		{"pure1@example.com", []string{"pure2@example.com"}},
		{"pure2@example.com", []string{"pure1@example.com"}},
		{"self@example.com", []string{"self@example.com", "unknown@example.com"}},
	} {
		if _, err := s.Store.CreateAlias(ctx, al.addr, al.targets); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		addr     string
		accounts []string
		external []string
		err      error
	}{
		{"a@example.com", []string{"a@example.com"}, nil, nil},
		{"A@EXAMPLE.COM", []string{"a@example.com"}, nil, nil},
		{"c@example.com", []string{"c@example.com"}, nil, nil}, // disabled still receives
		{"sales@example.com", []string{"a@example.com", "b@example.com"}, []string{"ext@outside.test"}, nil},
		{"team@example.com", []string{"a@example.com", "b@example.com", "c@example.com"}, []string{"ext@outside.test"}, nil},
		{"all@example.com", []string{"a@example.com", "b@example.com", "c@example.com", "d@other.example"}, []string{"ext@outside.test"}, nil},
		{"nobody@example.com", []string{"b@example.com"}, nil, nil},
		{"nobody@other.example", []string{"a@example.com", "b@example.com", "c@example.com", "d@other.example"}, []string{"ext@outside.test"}, nil},
		{"loop1@example.com", []string{"a@example.com"}, nil, nil},
		{"loop2@example.com", []string{"a@example.com"}, nil, nil},
		{"self@example.com", []string{"b@example.com"}, nil, nil}, // unknown falls to the catch-all
		{"pure1@example.com", nil, nil, store.ErrNotFound},
		{"x@outside.test", nil, nil, ErrNotHosted},
		{"x@outside.test", nil, nil, store.ErrNotFound},
		{"a@b@c", nil, nil, ErrInvalid},
		{"", nil, nil, ErrInvalid},
	}
	for _, tt := range tests {
		r, err := s.Resolve(ctx, tt.addr)
		if !errors.Is(err, tt.err) {
			t.Errorf("Resolve(%q) error %v, want %v", tt.addr, err, tt.err)
			continue
		}
		if !slices.Equal(r.Accounts, tt.accounts) || !slices.Equal(r.External, tt.external) {
			t.Errorf("Resolve(%q) = %v %v, want %v %v", tt.addr, r.Accounts, r.External, tt.accounts, tt.external)
		}
	}

	// Without a catch-all an unknown address is not found.
	if err := s.DeleteAlias(ctx, "@other.example"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Resolve(ctx, "nobody@other.example"); !errors.Is(err, store.ErrNotFound) || errors.Is(err, ErrNotHosted) {
		t.Errorf("Resolve(nobody@other.example) = %v, want ErrNotFound, not ErrNotHosted", err)
	}
}

// TestResolvePostmaster: postmaster@ of every hosted domain reaches
// someone (RFC 5321 section 4.5.1), as configured or by default.
func TestResolvePostmaster(t *testing.T) {
	s := newService(t)
	ctx := t.Context()
	mustAccount(t, s, "first@example.com")
	mustAccount(t, s, "admin@other.example")
	mustAccount(t, s, "aaa@example.com") // sorts first, but is newer
	if _, err := s.AddDomain(ctx, "empty.example"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddDomain(ctx, "own.example"); err != nil {
		t.Fatal(err)
	}
	mustAccount(t, s, "postmaster@own.example")
	tests := []struct {
		setting, addr string
		accounts      []string
		err           error
	}{
		{"", "postmaster@example.com", []string{"first@example.com"}, nil},
		{"", "PostMaster@example.com", []string{"first@example.com"}, nil},
		{"", "postmaster@own.example", []string{"postmaster@own.example"}, nil}, // its own account
		{"", "postmaster@empty.example", nil, store.ErrNotFound},
		{"admin@other.example", "postmaster@empty.example", []string{"admin@other.example"}, nil},
		{"admin@other.example", "postmaster@example.com", []string{"admin@other.example"}, nil},
		{"admin@other.example", "postmaster@own.example", []string{"postmaster@own.example"}, nil},
		// A setting that leads nowhere, or to itself, falls back.
		{"gone@other.example", "postmaster@example.com", []string{"first@example.com"}, nil},
		{"postmaster@example.com", "postmaster@example.com", []string{"first@example.com"}, nil},
		{"", "webmaster@example.com", nil, store.ErrNotFound},
	}
	for _, tt := range tests {
		s.Postmaster = tt.setting
		r, err := s.Resolve(ctx, tt.addr)
		if !errors.Is(err, tt.err) || !slices.Equal(r.Accounts, tt.accounts) {
			t.Errorf("with postmaster %q, Resolve(%q) = %v, %v; want %v, %v", tt.setting, tt.addr, r.Accounts, err, tt.accounts, tt.err)
		}
	}
}

func TestAuthenticate(t *testing.T) {
	s := newService(t)
	ctx := t.Context()
	want := mustAccount(t, s, "user@example.com")
	mustAccount(t, s, "off@example.com")
	if err := s.Store.SetDisabled(ctx, "off@example.com", true); err != nil {
		t.Fatal(err)
	}
	const pw = "a long enough password"
	for _, tt := range []struct {
		addr, pw string
		ok       bool
	}{
		{"user@example.com", pw, true},
		{"User@Example.COM", pw, true},
		{"user@example.com", "a long enough passworD", false},
		{"user@example.com", "", false},
		{"off@example.com", pw, false},
		{"nobody@example.com", pw, false},
		{"user@unknown.test", pw, false},
		{"not an address", pw, false},
		{"", "", false},
	} {
		acc, err := s.Authenticate(ctx, tt.addr, tt.pw)
		if tt.ok {
			if err != nil || acc.ID != want.ID {
				t.Errorf("Authenticate(%q) = %+v, %v; want account %d", tt.addr, acc, err, want.ID)
			}
			continue
		}
		if !errors.Is(err, ErrAuthFailed) || acc.ID != 0 {
			t.Errorf("Authenticate(%q, %q) = %+v, %v; want ErrAuthFailed", tt.addr, tt.pw, acc, err)
		}
		if err != nil && tt.pw != "" && strings.Contains(err.Error(), tt.pw) {
			t.Errorf("error %q shows the password", err)
		}
	}

	// A stored hash that cannot be read fails the login, without panic.
	if err := s.Store.SetPasswordHash(ctx, "user@example.com", "$argon2id$garbage"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, "user@example.com", pw); !errors.Is(err, ErrAuthFailed) {
		t.Errorf("corrupt hash: %v, want ErrAuthFailed", err)
	}

	// A failing store is a failure of the server, not of the client.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Authenticate(cctx, "user@example.com", pw); err == nil || errors.Is(err, ErrAuthFailed) {
		t.Errorf("cancelled context: %v, want an error other than ErrAuthFailed", err)
	}
}

// TestAuthenticateTiming checks that an unknown user costs a password hash
// like a known one: with a hash of a few milliseconds, the fastest of
// several tries must be within a factor of three either way (loose, as
// other work shares the machine; without the dummy hash the factor is in
// the hundreds).
func TestAuthenticateTiming(t *testing.T) {
	if testing.Short() {
		t.Skip("timing")
	}
	s := newService(t)
	s.Hasher = Hasher{Time: 1, MemoryKiB: 4 << 10, Threads: 1}
	ctx := t.Context()
	mustAccount(t, s, "user@example.com")
	mustAccount(t, s, "off@example.com")
	if err := s.Store.SetDisabled(ctx, "off@example.com", true); err != nil {
		t.Fatal(err)
	}
	fastest := func(addr string) time.Duration {
		best := time.Duration(1<<63 - 1)
		for range 11 {
			start := time.Now()
			if _, err := s.Authenticate(ctx, addr, "a wrong password"); !errors.Is(err, ErrAuthFailed) {
				t.Fatalf("Authenticate(%s) = %v", addr, err)
			}
			best = min(best, time.Since(start))
		}
		return best
	}
	known := fastest("user@example.com")
	for _, addr := range []string{"nobody@example.com", "off@example.com", "bad address"} {
		d := fastest(addr)
		if d < known/3 || d > known*3 {
			t.Errorf("Authenticate(%s) took %v, a known user %v", addr, d, known)
		}
	}
}

func TestAuthenticateBoundsConcurrentChecks(t *testing.T) {
	svc := newService(t)
	svc.MaxConcurrentChecks = 1
	ctx := context.Background()
	// Hold the only turn; a check must then wait and give up with ctx.
	release, err := svc.acquireCheck(ctx)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := svc.Authenticate(short, "nobody@example.org", "whatever password"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Authenticate while all turns are taken: %v, want context.DeadlineExceeded", err)
	}
	release()
	if _, err := svc.Authenticate(ctx, "nobody@example.org", "whatever password"); !errors.Is(err, ErrAuthFailed) {
		t.Errorf("Authenticate after release: %v, want ErrAuthFailed", err)
	}
}
