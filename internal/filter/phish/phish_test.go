package phish

import (
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// known is the world of the tests: we host example.org and
// mail.example.net; Ann and Bob are our users; Carol writes often.
var known = Known{
	OurDomains: []string{"example.org", "mail.example.net"},
	LocalPeople: []Person{
		{"Ann Smith", "ann@example.org"},
		{"Bob Jones", "bob@example.org"},
		{"Ann Smith", "ann.smith@example.net"},
	},
	Correspondents: []Person{
		{"Carol Díaz", "carol@partnerfirm.com"},
		{"Dave", "dave@gmail.com"},
	},
}

func names(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Name)
	}
	slices.Sort(out)
	return out
}

// check fails unless fs has exactly the names want (sorted or not), each
// with a positive score and a reason.
func check(t *testing.T, fs []Finding, want ...string) {
	t.Helper()
	slices.Sort(want)
	if got := names(fs); !slices.Equal(got, want) {
		t.Fatalf("findings %v, want %v\n%v", got, want, fs)
	}
	for _, f := range fs {
		if f.Score <= 0 || f.Reason == "" {
			t.Errorf("finding %+v lacks a score or a reason", f)
		}
	}
}

func TestLookalikeDomain(t *testing.T) {
	tests := []struct {
		domain string
		want   []string
	}{
		// Ours and theirs, and what lies under them: nothing.
		{"example.org", nil},
		{"www.example.org", nil},
		{"EXAMPLE.ORG.", nil},
		{"example.net", nil},
		{"partnerfirm.com", nil},
		{"paypal.com", nil},
		{"www.paypal.com", nil},
		{"paypal.de", nil}, // same label, another country
		{"gmail.com", nil},
		{"google-analytics.com", nil}, // a brand's own
		{"amazonaws.com", nil},
		{"outlooksecure.com", nil}, // glued to a brand: an honest name as often as not
		{"example.com", nil},       // the same name under another suffix
		{"news.ycombinator.com", nil},
		{"lists.debian.org", nil},
		{"sample.org", nil},
		{"example.sharepoint.com", nil}, // a tenant named after us
		{"example.evil.test", nil},      // the same shape: not told apart
		{"пример.рф", nil},
		{"xn--e1afmkfd.xn--p1ai", nil},
		{"mail1.example.net", nil},
		{"пример.com", nil}, // Cyrillic that reads as nothing Latin
		{"bücher.de", nil},
		{"日本語.jp", nil},
		{"", nil},
		{"com", nil},
		{"[192.0.2.1]", nil},
		// Homographs.
		{"exаmple.org", []string{NameHomograph, NameMixedScript}}, // Cyrillic а
		{"xn--exmple-4nf.org", []string{NameHomograph, NameMixedScript}},
		{"examp1e.org", []string{NameHomograph}},
		{"examp1e.com", []string{NameHomograph}},
		{"pаypal.com", []string{NameHomograph, NameMixedScript}},
		{"paypa1.com", []string{NameHomograph}},
		{"rnicrosoft.com", []string{NameHomograph}},
		{"раураl.com", []string{NameHomograph, NameMixedScript}},  // Cyrillic р а у а + Latin l
		{"сһаѕе.com", []string{NameHomograph, NameConfusableIDN}}, // all Cyrillic
		{"ᴄhase.com", []string{NameHomograph}},                    // small capital C
		{"ехаmрlе.org", []string{NameHomograph, NameMixedScript}},
		// Unicode's data maps the Cyrillic palochka "ӏ" to "i", not "l":
		// "раураӏ" reads "paypai", one edit from paypal; "аррӏе" reads
		// "appie", too short for the typo check on a brand.
		{"раураӏ.com", []string{NameTypo, NameConfusableIDN}},
		{"xn--80ak6aa92e.com", []string{NameConfusableIDN}}, // "аррӏе.com"
		{"partnerf1rm.com", []string{NameTypo}},             // "1" is confusable with "l", not "i"
		// One-edit typos.
		{"exmaple.org", []string{NameTypo}},
		{"exampel.org", []string{NameTypo}},
		{"examples.org", []string{NameTypo}},
		{"exampe.net", []string{NameTypo}},
		{"partnerfirn.com", []string{NameTypo}},
		{"paypall.com", []string{NameTypo}},
		{"netflx.com", []string{NameTypo}},
		// Added words.
		{"example-secure.com", []string{NameAddedWords}},
		{"secure-example.com", []string{NameAddedWords}},
		{"example.org.login.test", []string{NameAddedWords}},
		{"www.example.org.account-verify.test", []string{NameAddedWords}},
		{"examplelogin.com", []string{NameAddedWords}},
		{"paypal-secure.com", []string{NameAddedWords}},
		{"paypal.com.evil.test", []string{NameAddedWords}},
		{"example-login.evil.test", []string{NameAddedWords}},
		{"partnerfirm-invoices.com", []string{NameAddedWords}},
		// Scripts alone.
		{"gοοd-domain.test", []string{NameMixedScript}}, // Greek ο
		{"good.gοοd-domain.test", []string{NameMixedScript}},
		{"gοοd.good-domain.test", []string{NameMixedScript}},
	}
	k := known.Prepare()
	for _, tt := range tests {
		t.Run(tt.domain, func(t *testing.T) {
			check(t, LookalikeDomain(tt.domain, k), tt.want...)
			// Without Prepare the answer is the same.
			check(t, LookalikeDomain(tt.domain, known), tt.want...)
		})
	}
}

func TestLookalikeReason(t *testing.T) {
	fs := LookalikeDomain("exаmple.org", known)
	if len(fs) == 0 || !strings.Contains(fs[0].Reason, "example.org") {
		t.Fatalf("reason does not name the imitated domain: %v", fs)
	}
	if fs[0].Score < 5 {
		t.Errorf("a homograph of our own domain scores %v, want ≥ 5", fs[0].Score)
	}
}

func TestBrandsAndShortenersConfigurable(t *testing.T) {
	k := Known{Brands: []string{}, Shorteners: []string{"sho.rt"}}
	check(t, LookalikeDomain("paypa1.com", k)) // no brands: nothing to imitate
	check(t, Links([]Link{{Href: "https://sho.rt/x", Host: "sho.rt"}}, k), NameLinkShortener)
	check(t, Links([]Link{{Href: "https://bit.ly/x", Host: "bit.ly"}}, k))
	k.Brands = []string{"bigbank.test"}
	check(t, LookalikeDomain("blgbank.test", k), NameTypo)
}

func TestDisplayName(t *testing.T) {
	tests := []struct {
		name string
		from Person
		want []string
	}{
		{"our user", Person{"Ann Smith", "ann@example.org"}, nil},
		{"our user, other known address", Person{"Ann Smith", "ann.smith@example.net"}, nil},
		{"correspondent", Person{"Carol Díaz", "carol@partnerfirm.com"}, nil},
		{"correspondent, case and accents as written", Person{"CAROL DÍAZ", "Carol@partnerfirm.com"}, nil},
		{"stranger", Person{"Erin Example", "erin@elsewhere.test"}, nil},
		{"no name", Person{"", "x@evil.test"}, nil},
		{"single first name is not matched", Person{"Dave", "dave@evil.test"}, nil},
		{"own address in name", Person{"ann@example.org", "ann@example.org"}, nil},
		{"paypal itself", Person{"PayPal", "service@paypal.com"}, nil},
		{"paypal elsewhere in the world", Person{"PayPal", "service@paypal.de"}, nil},
		{"ordinary company", Person{"Example Newsletter", "news@example-news.test"}, nil},
		{"impersonates our user", Person{"Ann Smith", "ann.smith@gmail.com"}, []string{NameDisplayImpersonation}},
		{"impersonates with a homoglyph", Person{"Аnn Smith", "ceo@evil.test"}, []string{NameDisplayImpersonation}},
		{"impersonates a correspondent", Person{"Carol Diaz", "carol@partnerfirm-mail.test"}, []string{NameDisplayImpersonation}},
		{"address in the name", Person{"ann@example.org", "x@evil.test"}, []string{NameDisplayAddress}},
		{"someone else's address in the name", Person{"support@bank.test", "x@evil.test"}, []string{NameDisplayAddress}},
		{"our domain in the name", Person{"example.org IT desk", "it@evil.test"}, []string{NameDisplayDomain}},
		{"brand name elsewhere", Person{"PayPal", "service@paypal-mail.test"}, []string{NameDisplayBrand}},
		{"brand name and service words", Person{"PayPal Security Team", "x@evil.test"}, []string{NameDisplayBrand}},
		{"a person named like a brand", Person{"Chase Smith", "chase.smith@gmail.com"}, nil},
		{"a company named like a brand", Person{"Apple Valley Farm", "shop@applevalley.test"}, nil},
	}
	k := known.Prepare()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check(t, DisplayName(tt.from, k), tt.want...)
		})
	}
}

func TestDisplayNameScores(t *testing.T) {
	ours := DisplayName(Person{"Ann Smith", "ann@evil.test"}, known)
	theirs := DisplayName(Person{"Carol Díaz", "carol@evil.test"}, known)
	sameOrg := DisplayName(Person{"Bob Jones", "bob.jones@example.org"}, known)
	if len(ours) != 1 || len(theirs) != 1 || len(sameOrg) != 1 {
		t.Fatalf("findings: %v %v %v", ours, theirs, sameOrg)
	}
	if !(ours[0].Score > theirs[0].Score && theirs[0].Score > sameOrg[0].Score) {
		t.Errorf("scores %v, %v, %v: want our user > correspondent > same organisation",
			ours[0].Score, theirs[0].Score, sameOrg[0].Score)
	}
	list := DisplayName(Person{"'carol@partnerfirm.com' via Friends", "friends@lists.example.com"}, known)
	if len(list) != 1 || list[0].Score >= 1 {
		t.Errorf("a list's rewritten From: %v, want one finding under 1", list)
	}
	if want := "claims to be Ann Smith <ann@example.org>"; !strings.Contains(ours[0].Reason, want) {
		t.Errorf("reason %q lacks %q", ours[0].Reason, want)
	}
}

func TestLinks(t *testing.T) {
	tests := []struct {
		name  string
		links []Link
		want  []string
	}{
		{"none", nil, nil},
		{"newsletter", []Link{
			{Text: "Read the full story", Href: "https://www.nytimes.com/2026/11/01/world/x.html", Host: "www.nytimes.com", HTML: true},
			{Text: "www.nytimes.com", Href: "https://www.nytimes.com/", Host: "www.nytimes.com", HTML: true},
			{Text: "Unsubscribe", Href: "https://nl.nytimes.com/unsub?id=1", Host: "nl.nytimes.com", HTML: true},
			{Text: "nytimes.com", Href: "https://click.nytimes.com/?qs=abc", Host: "click.nytimes.com", HTML: true},
			{Text: "", Href: "mailto:help@nytimes.com", HTML: true},
			{Text: "https://www.example.com/path", Href: "https://example.us12.list-manage.com/track/click?u=1", Host: "example.us12.list-manage.com", HTML: true},
			{Text: "View on GitHub", Href: "https://github.com/golang/go/issues/1", Host: "github.com", HTML: true},
			{Text: "index.html", Href: "https://files.example.com/index.html", Host: "files.example.com", HTML: true},
			{Href: "https://www.paypal.com/signin", Host: "www.paypal.com"},
		}, nil},
		{"text shows another domain", []Link{{Text: "https://www.paypal.com/login", Href: "http://login.evil.test/pp", Host: "login.evil.test", HTML: true}}, []string{NameLinkTextMismatch}},
		{"raw IPv4", []Link{{Text: "Log in", Href: "http://192.0.2.7/paypal/", Host: "192.0.2.7", HTML: true}}, []string{NameLinkIP}},
		{"raw IPv4 behind a domain", []Link{{Text: "www.paypal.com", Href: "http://192.0.2.7/paypal/", Host: "192.0.2.7", HTML: true}}, []string{NameLinkIP, NameLinkTextMismatch}},
		{"raw IPv6", []Link{{Href: "http://[2001:db8::1]/x"}}, []string{NameLinkIP}},
		{"integer IPv4", []Link{{Href: "http://3221225991/x"}}, []string{NameLinkIP}},
		{"shortener", []Link{{Href: "https://bit.ly/3abc", Host: "bit.ly"}}, []string{NameLinkShortener}},
		{"userinfo", []Link{{Href: "http://www.paypal.com@evil.test/", Host: "evil.test"}}, []string{NameLinkUserinfo}},
		{"form", []Link{{Href: "http://evil.test/post.php", Host: "evil.test", HTML: true, Form: true}}, []string{NameForm}},
		{"lookalike host", []Link{{Text: "Sign in", Href: "https://examp1e.org/login", Host: "examp1e.org", HTML: true}}, []string{NameLinkLookalike}},
		{"percent-escaped host", []Link{{Text: "Verify", Href: "http://%77%77%77%2E%65%76%69%6C%2E%74%65%73%74/x", Host: "www.evil.test"}}, []string{NameLinkObfuscated}},
		{"space in host", []Link{{Text: "Renew", Href: "http://login.evil.test\n/login/index.htm"}}, []string{NameLinkObfuscated}},
		{"escapes in the path are fine", []Link{{Href: "https://www.example.com/a%20b?q=%41", Host: "www.example.com"}}, nil},
		{"many of one kind give one finding", []Link{
			{Href: "http://192.0.2.7/a", Host: "192.0.2.7"}, {Href: "http://192.0.2.8/b", Host: "192.0.2.8"},
		}, []string{NameLinkIP}},
	}
	k := known.Prepare()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check(t, Links(tt.links, k), tt.want...)
		})
	}
}

func TestLinkTextMismatchOfKnownDomainWeighsMore(t *testing.T) {
	ours := Links([]Link{{Text: "www.example.org", Href: "http://evil.test/", Host: "evil.test", HTML: true}}, known)
	other := Links([]Link{{Text: "www.somewhere.com", Href: "http://evil.test/", Host: "evil.test", HTML: true}}, known)
	if len(ours) != 1 || len(other) != 1 || ours[0].Score <= other[0].Score {
		t.Fatalf("our domain shown: %v; another shown: %v", ours, other)
	}
}

func TestFreshDomain(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		first time.Time
		want  []string
	}{
		{time.Time{}, []string{NameFreshDomain}},
		{now.Add(-time.Hour), []string{NameFreshDomain}},
		{now.Add(-72 * time.Hour), []string{NameFreshDomain}},
		{now.Add(time.Hour), []string{NameFreshDomain}}, // clock skew: as new
		{now.Add(-8 * 24 * time.Hour), nil},
		{now.Add(-400 * 24 * time.Hour), nil},
	}
	for _, tt := range tests {
		check(t, FreshDomain("www.new-shop.test", tt.first, now), tt.want...)
	}
	if a, b := FreshDomain("x.test", now, now), FreshDomain("x.test", now.Add(-72*time.Hour), now); a[0].Score <= b[0].Score {
		t.Errorf("an hour-old domain scores %v, a three-day-old one %v", a[0].Score, b[0].Score)
	}
	check(t, FreshDomain("com", time.Time{}, now))
}

func TestDMARCReject(t *testing.T) {
	tests := []struct {
		result, policy string
		want           []string
	}{
		{"fail", "reject", []string{NameDMARCReject}},
		{"FAIL", "Reject", []string{NameDMARCReject}},
		{"fail", "quarantine", []string{NameDMARCQuarantine}},
		{"fail", "none", nil},
		{"pass", "reject", nil},
		{"none", "reject", nil},
		{"temperror", "reject", nil},
		{"", "", nil},
	}
	for _, tt := range tests {
		check(t, DMARCReject("bank.test", tt.result, tt.policy), tt.want...)
	}
}

func TestWithinOneEdit(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"example", "example", false},
		{"example", "exmaple", true},
		{"example", "exampl", true},
		{"example", "examples", true},
		{"example", "exbmple", true},
		{"example", "xeample", true},
		{"example", "exmapel", false},
		{"mail1", "mail2", false},
		{"mail1", "maill", true},
		{"", "a", true},
		{"ab", "ba", true},
		{"abc", "cba", false},
	}
	for _, tt := range tests {
		if got := withinOneEdit([]rune(tt.a), []rune(tt.b)); got != tt.want {
			t.Errorf("withinOneEdit(%q, %q) = %v", tt.a, tt.b, got)
		}
	}
}

func TestSkeleton(t *testing.T) {
	tests := []struct{ in, want string }{
		{"paypal", "paypal"},
		{"pаypal", "paypal"},
		{"paypa1", "paypal"},
		{"g00gle", "google"},
		{"microsoft", "rnicrosoft"},
		{"ехаmрlе", "exarnple"},
		{"café", "cafe\u0301"},
	}
	for _, tt := range tests {
		if got := skeleton(tt.in); got != tt.want {
			t.Errorf("skeleton(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestConfusablesData checks every line of the embedded data is read and
// keeps to the subset's rule: one source code point, ASCII or a lower-case
// (or caseless) letter of the scripts domains are spoofed with, mapped to
// an all-ASCII prototype, with the comment showing those very characters.
func TestConfusablesData(t *testing.T) {
	scripts := []*unicode.RangeTable{unicode.Latin, unicode.Greek, unicode.Cyrillic, unicode.Armenian}
	seen := make(map[rune]bool)
	lines := 0
	for line := range strings.Lines(confusablesData) {
		l := strings.TrimSpace(line)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		lines++
		data, comment, _ := strings.Cut(l, "#")
		f := strings.Split(data, ";")
		if len(f) != 3 || strings.TrimSpace(f[2]) != "MA" {
			t.Errorf("%q: want source ; prototype ; MA", l)
			continue
		}
		src, ok1 := parseCodePoints(f[0])
		proto, ok2 := parseCodePoints(f[1])
		if !ok1 || !ok2 || utf8.RuneCountInString(src) != 1 {
			t.Errorf("%q: bad code points", l)
			continue
		}
		r, _ := utf8.DecodeRuneInString(src)
		if seen[r] {
			t.Errorf("%q: source listed twice", l)
		}
		seen[r] = true
		// U+2113 SCRIPT SMALL L is a letterlike symbol of script Common.
		letter := unicode.IsLetter(r) && unicode.ToLower(r) == r && (unicode.In(r, scripts...) || r == 'ℓ')
		if r >= utf8.RuneSelf && !letter {
			t.Errorf("%q: source is neither ASCII nor a lower-case letter of the kept scripts", l)
		}
		if !isASCII(proto) {
			t.Errorf("%q: prototype is not ASCII", l)
		}
		if want := "( " + src + " → " + proto + " )"; strings.TrimSpace(comment) != want {
			t.Errorf("%q: comment should read %q", l, want)
		}
	}
	for _, p := range confusables() {
		for _, r := range p {
			if seen[r] {
				t.Errorf("prototype %q has a source in it: the skeleton would not be a fixed point", p)
			}
		}
	}
	if n := len(confusables()); n != lines || n < 60 {
		t.Fatalf("%d mappings read from %d data lines", n, lines)
	}
}

// TestPreparedConcurrent runs the checks on one prepared Known from many
// goroutines: run with -race.
func TestPreparedConcurrent(t *testing.T) {
	k := known.Prepare()
	done := make(chan bool)
	for range 8 {
		go func() {
			defer func() { done <- true }()
			for range 50 {
				DisplayName(Person{"Ann Smith", "ann@evil.test"}, k)
				LookalikeDomain("exаmple.org", k)
				Links([]Link{{Text: "www.example.org", Href: "http://evil.test/", Host: "evil.test"}}, k)
				Wording("Suspended", "verify your password now, urgent")
			}
		}()
	}
	for range 8 {
		<-done
	}
}

func TestLinksUnicodeHost(t *testing.T) {
	// content.Link gives IDN hosts in Unicode; A-labels come the same.
	for _, host := range []string{"exаmple.org", "xn--exmple-4nf.org"} {
		check(t, Links([]Link{{Href: "https://" + host + "/", Host: host}}, known), NameLinkLookalike, NameMixedScript)
	}
}
