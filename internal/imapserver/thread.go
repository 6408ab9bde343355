package imapserver

import (
	"regexp"
	"slices"
	"strings"
	"time"

	"sealpost.dev/sealpost/internal/imap"
)

// thread answers THREAD and UID THREAD (RFC 5256) with the
// ORDEREDSUBJECT and REFERENCES algorithms.
func (ss *session) thread(cmd *imap.Command) bool {
	args := cmd.Args.(*imap.ThreadArgs)
	if args.Algorithm != "ORDEREDSUBJECT" && args.Algorithm != "REFERENCES" {
		return ss.bad(cmd.Tag, "thread algorithm "+args.Algorithm+" is not supported")
	}
	if !sortCharsetOK(args.Charset) {
		return ss.no(cmd.Tag, imap.CodeBadCharset([]string{"US-ASCII", "UTF-8"}), "unsupported charset")
	}
	if bad := unsupportedKey(args.Keys); bad != "" {
		return ss.bad(cmd.Tag, "search key "+bad+" is not supported")
	}
	if hasModSeqKey(args.Keys) {
		ss.enableCondStore()
	}
	ctx, cancel := ss.ctx()
	defer cancel()
	msgs, err := ss.sortables(ctx, args.Charset, args.Keys)
	if err != nil {
		return ss.storeError(cmd.Tag, err)
	}
	var roots []*node
	if args.Algorithm == "ORDEREDSUBJECT" {
		roots = orderedSubject(msgs)
	} else {
		roots = references(msgs)
	}
	ss.w.Untagged().Atom("THREAD")
	if len(roots) > 0 {
		ss.w.SP()
	}
	for _, n := range roots {
		ss.w.Atom(threadString(n, cmd.UID))
	}
	ss.w.End()
	ss.syncEnd(cmd, cmd.UID)
	return ss.ok(cmd.Tag, "THREAD completed")
}

// node is a message in a thread tree; msg is nil for a dummy, which holds
// the place of a message referred to but not present.
type node struct {
	msg      *sortable
	parent   *node
	children []*node
}

// date is the sent date a node sorts by: a dummy takes its first child's.
func (n *node) date() (time.Time, uint32) {
	for n.msg == nil && len(n.children) > 0 {
		n = n.children[0]
	}
	if n.msg == nil {
		return time.Time{}, 0
	}
	return n.msg.sent, n.msg.c.seq
}

func byDate(a, b *node) int {
	da, sa := a.date()
	db, sb := b.date()
	if c := da.Compare(db); c != 0 {
		return c
	}
	return int(sa) - int(sb)
}

// orderedSubject groups messages by base subject, threads sorted by the
// date of their first message, the others children of the first, by date
// (RFC 5256 §3, ORDEREDSUBJECT).
func orderedSubject(msgs []*sortable) []*node {
	sorted := slices.Clone(msgs)
	subj := map[*sortable]string{}
	for _, m := range msgs {
		subj[m], _ = baseSubject(m.env.Subject)
	}
	slices.SortStableFunc(sorted, func(a, b *sortable) int {
		if c := compareCasemap(subj[a], subj[b]); c != 0 {
			return c
		}
		return a.sent.Compare(b.sent)
	})
	var roots []*node
	var cur *node
	for i, m := range sorted {
		n := &node{msg: m}
		if i > 0 && compareCasemap(subj[m], subj[sorted[i-1]]) == 0 {
			n.parent = cur
			cur.children = append(cur.children, n)
			continue
		}
		cur = n
		roots = append(roots, n)
	}
	slices.SortStableFunc(roots, byDate)
	return roots
}

var msgIDPattern = regexp.MustCompile(`<[^<>\s]+>`)

// references threads messages by their Message-ID, References and
// In-Reply-To fields (RFC 5256 §3, REFERENCES).
func references(msgs []*sortable) []*node {
	table := map[string]*node{}
	get := func(id string) *node {
		n := table[id]
		if n == nil {
			n = &node{}
			table[id] = n
		}
		return n
	}
	for i, m := range msgs {
		id := msgIDPattern.FindString(m.env.MessageID)
		n := table[id]
		// A missing or repeated Message-ID gets one of its own.
		if id == "" || (n != nil && n.msg != nil) {
			id = "\x00" + itoa(i)
			n = nil
		}
		if n == nil {
			n = get(id)
		}
		n.msg = m
		refs := msgIDPattern.FindAllString(m.env.References, -1)
		if len(refs) == 0 {
			if r := msgIDPattern.FindString(m.env.InReplyTo); r != "" {
				refs = []string{r}
			}
		}
		// (1B) link the references in order, where it makes no loop and
		// no message already has a parent.
		var prev *node
		for _, r := range refs {
			c := get(r)
			if prev != nil && c.parent == nil && c != prev && !reaches(prev, c) && !reaches(c, prev) {
				link(prev, c)
			}
			prev = c
		}
		// (1C) the last reference is the message's parent. Any parent
		// an earlier message's References gave it goes, even when the new
		// one would make a loop and the message becomes a root.
		unlink(n)
		if prev != nil && prev != n && !reaches(n, prev) {
			link(prev, n)
		}
	}
	var roots []*node
	seen := map[*node]bool{}
	for _, n := range table {
		for n.parent != nil {
			n = n.parent
		}
		if !seen[n] {
			seen[n] = true
			roots = append(roots, n)
		}
	}
	roots = prune(roots, true)
	sortTree(roots)
	roots = groupBySubject(roots)
	sortTree(roots)
	return roots
}

// reaches reports whether to is below from.
func reaches(from, to *node) bool {
	for n := to.parent; n != nil; n = n.parent {
		if n == from {
			return true
		}
	}
	return false
}

func link(parent, child *node) {
	child.parent = parent
	parent.children = append(parent.children, child)
}

func unlink(n *node) {
	if p := n.parent; p != nil {
		p.children = slices.DeleteFunc(p.children, func(c *node) bool { return c == n })
		n.parent = nil
	}
}

// prune drops empty dummies and puts the children of a dummy in its place,
// except for a dummy at the root with more than one child (RFC 5256 §3,
// step 3).
func prune(list []*node, root bool) []*node {
	var out []*node
	for _, n := range list {
		n.children = prune(n.children, false)
		switch {
		case n.msg != nil:
			out = append(out, n)
		case len(n.children) == 0:
		case root && len(n.children) > 1:
			out = append(out, n)
		default:
			for _, c := range n.children {
				c.parent = n.parent
			}
			out = append(out, n.children...)
		}
	}
	if root {
		for _, n := range out {
			n.parent = nil
		}
	}
	return out
}

// sortTree sorts siblings by sent date, children first so that a dummy's
// date is that of its earliest child.
func sortTree(list []*node) {
	for _, n := range list {
		sortTree(n.children)
	}
	slices.SortStableFunc(list, byDate)
}

// groupBySubject merges threads whose roots share a base subject (RFC 5256
// §3, step 5).
func groupBySubject(roots []*node) []*node {
	type entry struct {
		n     *node
		reply bool
	}
	subjectOf := func(n *node) (string, bool) {
		m := n
		if m.msg == nil {
			m = n.children[0]
		}
		return baseSubject(m.msg.env.Subject)
	}
	table := map[string]entry{}
	for _, n := range roots {
		s, reply := subjectOf(n)
		if s == "" {
			continue
		}
		k := strings.ToUpper(s)
		old, ok := table[k]
		if !ok || (n.msg == nil && old.n.msg != nil) ||
			(old.n.msg != nil && n.msg != nil && old.reply && !reply) {
			table[k] = entry{n, reply}
		}
	}
	var out []*node
	for _, n := range roots {
		s, reply := subjectOf(n)
		e, ok := table[strings.ToUpper(s)]
		if s == "" || !ok || e.n == n {
			out = append(out, n)
			continue
		}
		switch {
		case e.n.msg == nil && n.msg == nil:
			for _, c := range n.children {
				link(e.n, c)
			}
		case e.n.msg == nil:
			link(e.n, n)
		case reply && !e.reply:
			link(e.n, n)
		default:
			// Neither is a reply of the other: both go under a new
			// dummy, which takes the table entry's place.
			d := &node{}
			*d = *e.n
			d.parent = nil
			for _, c := range d.children {
				c.parent = d
			}
			*e.n = node{}
			link(e.n, d)
			link(e.n, n)
		}
	}
	return out
}

// threadString writes a thread (RFC 5256 §4): a chain of single children
// goes flat, siblings go in parentheses.
func threadString(n *node, uid bool) string {
	var b strings.Builder
	b.WriteByte('(')
	writeMembers(&b, n, uid)
	b.WriteByte(')')
	return b.String()
}

func writeMembers(b *strings.Builder, n *node, uid bool) {
	if n.msg == nil {
		for _, c := range n.children {
			b.WriteString(threadString(c, uid))
		}
		return
	}
	num := n.msg.c.seq
	if uid {
		num = n.msg.c.m.UID
	}
	b.WriteString(itoa(int(num)))
	switch len(n.children) {
	case 0:
	case 1:
		b.WriteByte(' ')
		writeMembers(b, n.children[0], uid)
	default:
		b.WriteByte(' ')
		for _, c := range n.children {
			b.WriteString(threadString(c, uid))
		}
	}
}
