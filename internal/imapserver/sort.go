package imapserver

import (
	"cmp"
	"context"
	"net/mail"
	"slices"
	"strings"
	"time"

	"sealpost.dev/sealpost/internal/imap"
	"sealpost.dev/sealpost/internal/mimeinfo"
	"sealpost.dev/sealpost/internal/mimeutil"
	"sealpost.dev/sealpost/internal/store"
)

// sortable is one message under SORT or THREAD, with what its keys need.
type sortable struct {
	c    *candidate
	env  *mimeinfo.Envelope // from the stored summary; empty if it has none
	sent time.Time          // the Date field in UTC, else the internal date
}

// sortables returns the messages that match keys, in sequence order, with
// the envelopes of their summaries: SORT and THREAD read the date,
// subject, addresses and message IDs there, never the message itself.
func (ss *session) sortables(ctx context.Context, charset string, keys []imap.SearchKey) ([]*sortable, error) {
	found, err := ss.matching(ctx, keys)
	if err != nil {
		return nil, err
	}
	out := make([]*sortable, 0, len(found))
	for batch := range slices.Chunk(found, fetchBatch) {
		msgs := make([]store.Message, len(batch))
		for i, c := range batch {
			msgs[i] = c.m
		}
		sums, _, err := ss.summaries(ctx, msgs, nil)
		if err != nil {
			return nil, err
		}
		for _, c := range batch {
			s := &sortable{c: c, env: &mimeinfo.Envelope{}, sent: c.m.InternalDate.UTC()}
			if sum := sums[c.m.BlobID].summary(); sum != nil && sum.Root.Envelope != nil {
				s.env = sum.Root.Envelope
			}
			if d, err := mail.ParseDate(s.env.Date); err == nil {
				s.sent = d.UTC()
			}
			out = append(out, s)
		}
	}
	return out, nil
}

// sortCharsetOK reports whether a SORT or THREAD charset is one Sealpost
// searches in.
func sortCharsetOK(cs string) bool { return cs == "US-ASCII" || cs == "UTF-8" }

// sortCmd answers SORT and UID SORT (RFC 5256 §3), with RFC 5267 ESORT
// results when RETURN is given, RFC 9394 PARTIAL, RFC 5267 UPDATE and
// RFC 5957 DISPLAYFROM and DISPLAYTO.
func (ss *session) sortCmd(cmd *imap.Command) bool {
	args := cmd.Args.(*imap.SortArgs)
	if slices.Contains(args.Return, "PARTIAL") && slices.Contains(args.Return, "ALL") {
		return ss.bad(cmd.Tag, "RETURN PARTIAL and ALL exclude each other") // RFC 9394 §3.1
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
	order := sortOrder(msgs, args.Criteria)
	nums := make([]uint32, len(order))
	uids := make([]uint32, len(order))
	for i, j := range order {
		nums[i], uids[i] = msgs[j].c.seq, msgs[j].c.m.UID
		if cmd.UID {
			nums[i] = uids[i]
		}
	}
	if slices.Contains(args.Return, "UPDATE") &&
		!ss.addUpdate(&liveSearch{tag: cmd.Tag, uid: cmd.UID, keys: args.Keys, criteria: args.Criteria, result: uids}) {
		ss.w.Status("*", "NO", imap.Code("NOUPDATE "+quoteTag(cmd.Tag)), "too many searches kept up to date")
	}
	if args.HasReturn {
		ss.writeESort(cmd, args, nums)
	} else {
		ss.w.Untagged().Atom("SORT")
		for _, n := range nums {
			ss.w.SP().Number(uint64(n))
		}
		ss.w.End()
	}
	ss.syncEnd(cmd, cmd.UID)
	return ss.ok(cmd.Tag, "SORT completed")
}

// sortOrder returns the indexes of msgs in the order of the criteria.
// Ties fall back to sequence order, which msgs is in (RFC 5256 §3).
func sortOrder(msgs []*sortable, criteria []imap.SortCriterion) []int {
	keys := make([][]string, len(msgs))
	for i, m := range msgs {
		keys[i] = sortKeys(m, criteria)
	}
	order := make([]int, len(msgs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		for k, c := range criteria {
			r := compareKey(c.Key, msgs[a], msgs[b], keys[a][k], keys[b][k])
			if c.Reverse {
				r = -r
			}
			if r != 0 {
				return r
			}
		}
		return 0
	})
	return order
}

// sortKeys computes the string keys of the criteria; numeric and date
// criteria get "".
func sortKeys(m *sortable, crit []imap.SortCriterion) []string {
	out := make([]string, len(crit))
	for i, c := range crit {
		switch c.Key {
		case "SUBJECT":
			out[i], _ = baseSubject(m.env.Subject)
		case "FROM":
			out[i] = addrMailbox(m.env.From)
		case "TO":
			out[i] = addrMailbox(m.env.To)
		case "CC":
			out[i] = addrMailbox(m.env.Cc)
		case "DISPLAYFROM":
			out[i] = display(m.env.From)
		case "DISPLAYTO":
			out[i] = display(m.env.To)
		}
	}
	return out
}

func compareKey(key string, a, b *sortable, ka, kb string) int {
	switch key {
	case "ARRIVAL":
		return a.c.m.InternalDate.Compare(b.c.m.InternalDate)
	case "DATE":
		return a.sent.Compare(b.sent)
	case "SIZE":
		return cmp.Compare(a.c.m.Size, b.c.m.Size)
	}
	return compareCasemap(ka, kb)
}

// compareCasemap is the i;ascii-casemap comparator (RFC 4790 §9.2).
func compareCasemap(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if x, y := upperASCII(a[i]), upperASCII(b[i]); x != y {
			return cmp.Compare(x, y)
		}
	}
	return cmp.Compare(len(a), len(b))
}

func upperASCII(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}

// addrMailbox returns the local part of the first address of a list
// (RFC 5256 §3: the addr-mailbox; a group's name for a group), "" if
// there is none.
func addrMailbox(list []mimeinfo.Address) string {
	if len(list) == 0 {
		return ""
	}
	return list[0].LocalPart()
}

// display returns what RFC 5957 §3 sorts on for an address list: the
// display name of its first address, else the address.
func display(list []mimeinfo.Address) string {
	if len(list) == 0 {
		return ""
	}
	return list[0].Display()
}

// writeESort writes the RFC 5267 ESEARCH answer to SORT: MIN and MAX are
// the first and last in sort order, ALL keeps that order.
func (ss *session) writeESort(cmd *imap.Command, args *imap.SortArgs, nums []uint32) {
	ret := slices.DeleteFunc(slices.Clone(args.Return), func(r string) bool { return r == "UPDATE" || r == "CONTEXT" })
	if len(ret) == 0 && !slices.Contains(args.Return, "UPDATE") {
		ret = []string{"ALL"}
	}
	w := ss.w
	w.Untagged().Atom("ESEARCH (TAG ").String(cmd.Tag).Close()
	if cmd.UID {
		w.Atom(" UID")
	}
	for _, r := range ret {
		switch {
		case r == "COUNT":
			w.Atom(" COUNT ").Number(uint64(len(nums)))
		case r == "PARTIAL":
			writePartial(w, nums, args.Partial, true)
		case len(nums) == 0:
		case r == "MIN":
			w.Atom(" MIN ").Number(uint64(nums[0]))
		case r == "MAX":
			w.Atom(" MAX ").Number(uint64(nums[len(nums)-1]))
		case r == "ALL":
			w.Atom(" ALL ").Atom(orderedSet(nums))
		}
	}
	w.End()
}

// orderedSet writes numbers as a sequence-set that keeps their order:
// only ascending runs become ranges.
func orderedSet(nums []uint32) string {
	var b strings.Builder
	for i := 0; i < len(nums); {
		j := i
		for j+1 < len(nums) && nums[j+1] == nums[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(itoa(int(nums[i])))
		if j > i {
			b.WriteByte(':')
			b.WriteString(itoa(int(nums[j])))
		}
		i = j + 1
	}
	return b.String()
}

// baseSubject extracts the base subject (RFC 5256 §2.1) and reports
// whether the subject marked a reply or forward.
func baseSubject(s string) (string, bool) {
	s = strings.Join(strings.Fields(mimeutil.DecodeWords(s)), " ")
	reply := false
	for range 100 {
		// (2) trailing "(fwd)" and white space.
		for {
			t := strings.TrimRight(s, " ")
			if len(t) >= 5 && strings.EqualFold(t[len(t)-5:], "(fwd)") {
				s, reply = t[:len(t)-5], true
				continue
			}
			s = t
			break
		}
		// (3) and (4): leaders and a leading blob, until nothing changes.
		for range 100 {
			old := s
			var r bool
			s, r = stripLeader(s)
			reply = reply || r
			if rest, ok := stripBlob(s); ok && rest != "" {
				s = rest
			}
			if s == old {
				break
			}
		}
		// (5) "[fwd: ...]".
		if len(s) >= 6 && strings.EqualFold(s[:5], "[fwd:") && s[len(s)-1] == ']' {
			s, reply = s[5:len(s)-1], true
			continue
		}
		break
	}
	return s, reply
}

// stripBlob removes one leading subj-blob: "[" *BLOBCHAR "]" *WSP.
func stripBlob(s string) (string, bool) {
	if !strings.HasPrefix(s, "[") {
		return s, false
	}
	end := strings.IndexAny(s[1:], "[]")
	if end < 0 || s[1+end] != ']' {
		return s, false
	}
	return strings.TrimLeft(s[end+2:], " "), true
}

// stripLeader removes leading white space and subj-leaders
// (*subj-blob subj-refwd) and reports whether it removed a subj-refwd.
func stripLeader(s string) (string, bool) {
	reply := false
	for range 100 {
		if t := strings.TrimLeft(s, " "); t != s {
			s = t
			continue
		}
		rest := s
		for {
			r, ok := stripBlob(rest)
			if !ok {
				break
			}
			rest = r
		}
		r, ok := stripRefwd(rest)
		if !ok {
			break
		}
		s, reply = r, true
	}
	return s, reply
}

// stripRefwd removes a leading subj-refwd: ("re" / "fw" / "fwd") *WSP
// [subj-blob] ":".
func stripRefwd(s string) (string, bool) {
	l := strings.ToLower(s)
	var rest string
	switch {
	case strings.HasPrefix(l, "re"):
		rest = s[2:]
	case strings.HasPrefix(l, "fwd"):
		rest = s[3:]
	case strings.HasPrefix(l, "fw"):
		rest = s[2:]
	default:
		return s, false
	}
	rest = strings.TrimLeft(rest, " ")
	if r, ok := stripBlob(rest); ok {
		rest = r
	}
	if !strings.HasPrefix(rest, ":") {
		return s, false
	}
	return rest[1:], true
}
