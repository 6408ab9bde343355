package phish_test

import (
	"fmt"

	"sealpost.dev/sealpost/internal/filter/phish"
)

func ExampleLookalikeDomain() {
	k := phish.Known{OurDomains: []string{"example.org"}}.Prepare()
	for _, d := range []string{"example.org", "xn--exmple-4nf.org", "exmaple.org", "example-secure.com"} {
		for _, f := range phish.LookalikeDomain(d, k) {
			fmt.Printf("%s: %s (%.1f)\n", d, f.Name, f.Score)
		}
	}
	// Output:
	// xn--exmple-4nf.org: lookalike_domain_homograph (6.0)
	// xn--exmple-4nf.org: mixed_script_domain (2.0)
	// exmaple.org: lookalike_domain_typo (4.0)
	// example-secure.com: lookalike_domain_words (4.0)
}

func ExampleDisplayName() {
	k := phish.Known{LocalPeople: []phish.Person{{Name: "Ann Smith", Addr: "ann@example.org"}}}
	for _, f := range phish.DisplayName(phish.Person{Name: "Ann Smith", Addr: "ann.smith@mail.test"}, k) {
		fmt.Println(f.Name+":", f.Reason)
	}
	// Output:
	// display_name_impersonation: claims to be Ann Smith <ann@example.org> (one of our users) but was sent from ann.smith@mail.test
}

func ExampleLinks() {
	links := []phish.Link{{Text: "https://www.paypal.com/", Href: "http://192.0.2.7/pp/", Host: "192.0.2.7", HTML: true}}
	for _, f := range phish.Links(links, phish.Known{}) {
		fmt.Println(f.Name+":", f.Reason)
	}
	// Output:
	// link_raw_ip: a link goes to the bare address 192.0.2.7
	// link_text_mismatch: a link shows www.paypal.com but goes to 192.0.2.7
}
