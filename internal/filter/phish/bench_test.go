package phish

import (
	"fmt"
	"strings"
	"testing"
)

// benchKnown is a recipient with 200 correspondents and 20 colleagues.
func benchKnown() Known {
	k := Known{OurDomains: []string{"example.org", "example.net"}}
	for i := range 20 {
		k.LocalPeople = append(k.LocalPeople, Person{fmt.Sprintf("User Number%d", i), fmt.Sprintf("user%d@example.org", i)})
	}
	for i := range 200 {
		k.Correspondents = append(k.Correspondents, Person{fmt.Sprintf("Corr Espondent%d", i), fmt.Sprintf("c%d@company%d.com", i, i)})
	}
	return k
}

// benchMessage is a newsletter-sized message: 30 links, 5 KB of text.
func benchMessage() (Person, string, string, []Link) {
	var links []Link
	for i := range 30 {
		host := fmt.Sprintf("www.news%d.example.com", i%5)
		links = append(links, Link{Text: "Read more", Href: "https://" + host + "/story/" + fmt.Sprint(i), Host: host, HTML: true})
	}
	links = append(links, Link{Text: "www.paypal.com", Href: "http://192.0.2.1/login", Host: "192.0.2.1", HTML: true})
	text := strings.Repeat("This week in the newsletter: stories about gardens, trains and the weather in the north. ", 60)
	return Person{"The Weekly News", "news@news.example.com"}, "This week", text, links
}

// BenchmarkMessage is the per-message cost of every check here, with
// Known prepared once per recipient as the pipeline would.
func BenchmarkMessage(b *testing.B) {
	k := benchKnown().Prepare()
	from, subject, text, links := benchMessage()
	b.ReportAllocs()
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		DisplayName(from, k)
		LookalikeDomain(domainOf(from.Addr), k)
		Links(links, k)
		Wording(subject, text)
		DMARCReject("news.example.com", "pass", "reject")
	}
}

// BenchmarkMessageUnprepared is the same without Prepare: Known parsed
// on every call.
func BenchmarkMessageUnprepared(b *testing.B) {
	k := benchKnown()
	from, subject, text, links := benchMessage()
	b.ReportAllocs()
	for b.Loop() {
		DisplayName(from, k)
		LookalikeDomain(domainOf(from.Addr), k)
		Links(links, k)
		Wording(subject, text)
	}
}

func BenchmarkPrepare(b *testing.B) {
	k := benchKnown()
	b.ReportAllocs()
	for b.Loop() {
		k.Prepare()
	}
}

func BenchmarkLookalikeDomain(b *testing.B) {
	k := benchKnown().Prepare()
	b.ReportAllocs()
	for b.Loop() {
		LookalikeDomain("xn--exmple-4nf.org", k)
	}
}

func BenchmarkWording(b *testing.B) {
	text := strings.Repeat("Dear customer, please read our terms and the news about our shop. ", 1000)
	b.ReportAllocs()
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		Wording("Hello", text)
	}
}
