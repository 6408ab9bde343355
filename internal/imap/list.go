package imap

var listSelectOpts = map[string]bool{
	"SUBSCRIBED": true, "REMOTE": true, "RECURSIVEMATCH": true, "SPECIAL-USE": true,
}

var listReturnOpts = map[string]bool{
	"SUBSCRIBED": true, "CHILDREN": true, "SPECIAL-USE": true, "MYRIGHTS": true,
}

func parseList(p *parser, _ *Command) any {
	a := &ListArgs{}
	p.sp()
	if p.peek() == '(' {
		a.Extended = true
		a.Selection = []string{}
		p.list(true, func() {
			w := p.word()
			if !listSelectOpts[w] {
				p.fail("unknown LIST selection option %s", w)
			}
			a.Selection = append(a.Selection, w)
		})
		p.sp()
		// RFC 5258 §3: RECURSIVEMATCH needs another option, not only REMOTE.
		if has(a.Selection, "RECURSIVEMATCH") {
			other := false
			for _, s := range a.Selection {
				other = other || (s != "RECURSIVEMATCH" && s != "REMOTE")
			}
			if !other {
				p.fail("RECURSIVEMATCH needs another selection option")
			}
		}
	}
	a.Reference = p.mailbox()
	p.sp()
	if p.peek() == '(' {
		a.Extended = true
		p.list(false, func() { a.Patterns = append(a.Patterns, p.listMailbox()) })
	} else {
		a.Patterns = []string{p.listMailbox()}
	}
	if p.accept(' ') {
		if !p.keyword("RETURN") {
			p.fail("expected RETURN at %s", p.where())
		}
		a.Extended = true
		a.Return = []string{}
		p.sp()
		p.list(true, func() {
			w := p.word()
			switch {
			case w == "STATUS":
				if a.Status != nil {
					p.fail("STATUS given twice")
				}
				p.sp()
				a.Status = p.statusItems()
			case listReturnOpts[w]:
				a.Return = append(a.Return, w)
			default:
				p.fail("unknown LIST return option %s", w)
			}
		})
	}
	return a
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func parseLsub(p *parser, _ *Command) any {
	p.sp()
	a := &ListArgs{Reference: p.mailbox()}
	p.sp()
	a.Patterns = []string{p.listMailbox()}
	return a
}

// NotifyArgs is NOTIFY (RFC 5465). None is NOTIFY NONE; otherwise
// Status says whether STATUS was given and Groups holds the event groups.
type NotifyArgs struct {
	None   bool
	Status bool
	Groups []NotifyGroup
}

// NotifyGroup is one event-group.
type NotifyGroup struct {
	// Filter is SELECTED, SELECTED-DELAYED, INBOXES, PERSONAL, SUBSCRIBED,
	// SUBTREE or MAILBOXES; Mailboxes holds the names of the last two.
	Filter    string
	Mailboxes []string
	// Events is nil for NONE.
	Events []NotifyEvent
}

// NotifyEvent is one event. Name is upper case (MESSAGENEW,
// MESSAGEEXPUNGE, FLAGCHANGE, ANNOTATIONCHANGE, MAILBOXNAME,
// SUBSCRIPTIONCHANGE, MAILBOXMETADATACHANGE, SERVERMETADATACHANGE or an
// extension's atom); FetchAtts holds MessageNew's fetch attributes.
type NotifyEvent struct {
	Name      string
	FetchAtts []FetchItem
}

func parseNotify(p *parser, _ *Command) any {
	p.sp()
	a := &NotifyArgs{}
	if p.keyword("NONE") {
		a.None = true
		return a
	}
	if !p.keyword("SET") {
		p.fail("expected SET or NONE")
	}
	p.sp()
	if p.keyword("STATUS") {
		a.Status = true
		p.sp()
	}
	for range 64 {
		a.Groups = append(a.Groups, p.notifyGroup())
		if !p.accept(' ') {
			return a
		}
	}
	p.fail("too many NOTIFY event groups")
	return a
}

func (p *parser) notifyGroup() NotifyGroup {
	var g NotifyGroup
	p.expect('(')
	p.enter()
	defer p.leave()
	g.Filter = p.word()
	switch g.Filter {
	case "SELECTED", "SELECTED-DELAYED", "INBOXES", "PERSONAL", "SUBSCRIBED":
	case "SUBTREE", "MAILBOXES":
		p.sp()
		if p.peek() == '(' {
			p.list(false, func() { g.Mailboxes = append(g.Mailboxes, p.mailbox()) })
		} else {
			g.Mailboxes = []string{p.mailbox()}
		}
	default:
		p.fail("unknown NOTIFY filter %s", g.Filter)
	}
	p.sp()
	if p.keyword("NONE") {
		p.expect(')')
		return g
	}
	g.Events = []NotifyEvent{}
	p.list(false, func() {
		ev := NotifyEvent{Name: p.word()}
		if ev.Name == "MESSAGENEW" && p.peek() == ' ' && p.peekAt(1) == '(' {
			p.sp()
			p.list(false, func() { ev.FetchAtts = append(ev.FetchAtts, p.fetchAtt()) })
		}
		g.Events = append(g.Events, ev)
	})
	p.expect(')')
	return g
}
