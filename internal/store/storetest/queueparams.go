package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

// paramCases are items whose delivery parameters, between them, take every
// value the store accepts.
var paramCases = []struct {
	name string
	item store.NewQueueItem
}{
	{"defaults", newItem("alice@example.test", "plain@one.test")},
	{"all set", store.NewQueueItem{
		From: "bob@example.test",
		Recipients: []store.NewQueueRecipient{
			{Address: "x@one.test", Notify: "SUCCESS,FAILURE,DELAY", ORCPT: "rfc822;X@One.test"},
			{Address: "y@two.test", Notify: "NEVER"},
			{Address: "z@three.test", ORCPT: "utf-8;zo\u00eb@three.test"},
		},
		RequireTLS: true, SMTPUTF8: true, BodyType: store.BodyType8BitMIME,
		EnvID: "QQ314159 + env", Ret: store.RetHeaders, Submitter: 42,
	}},
	{"bounce", store.NewQueueItem{
		Recipients: []store.NewQueueRecipient{{Address: "alice@example.test", Notify: "DELAY,FAILURE"}},
		BodyType:   store.BodyType7Bit, Ret: store.RetFull,
	}},
	{"binary", store.NewQueueItem{
		From:       "carol@example.test",
		Recipients: []store.NewQueueRecipient{{Address: "w@four.test", Notify: "FAILURE"}, {Address: "v@four.test", Notify: "SUCCESS"}},
		BodyType:   store.BodyTypeBinaryMIME, EnvID: "\u00e9nv", Submitter: 7,
	}},
}

// checkParams reports where got's delivery parameters differ from those
// item was queued with (recipients still pending, no warning sent).
func checkParams(t testing.TB, what string, got store.QueueItem, item store.NewQueueItem) {
	t.Helper()
	want := store.QueueItem{
		From: item.From, RequireTLS: item.RequireTLS, SMTPUTF8: item.SMTPUTF8, BodyType: item.BodyType,
		EnvID: item.EnvID, Ret: item.Ret, Submitter: item.Submitter,
	}
	gotP := store.QueueItem{
		From: got.From, RequireTLS: got.RequireTLS, SMTPUTF8: got.SMTPUTF8, BodyType: got.BodyType,
		EnvID: got.EnvID, Ret: got.Ret, Submitter: got.Submitter, DelayWarned: got.DelayWarned,
	}
	if fmt.Sprintf("%+v", gotP) != fmt.Sprintf("%+v", want) {
		t.Errorf("%s: parameters %+v, want %+v", what, gotP, want)
	}
	if !slices.Equal(got.Recipients, store.QueueRecipients(item)) {
		t.Errorf("%s: recipients %+v, want %+v", what, got.Recipients, store.QueueRecipients(item))
	}
}

// testQueueParams: every delivery parameter comes back as queued from
// Enqueue, GetQueueItem, ListQueue and ClaimDue.
func testQueueParams(t *testing.T, s store.Store) {
	ctx := context.Background()
	ids := map[int64]store.NewQueueItem{}
	var order []int64
	for _, tc := range paramCases {
		it := must(s.Enqueue(ctx, strings.NewReader("body of "+tc.name), tc.item)).get(t)
		checkParams(t, "Enqueue "+tc.name, it, tc.item)
		checkParams(t, "GetQueueItem "+tc.name, must(s.GetQueueItem(ctx, it.ID)).get(t), tc.item)
		ids[it.ID] = tc.item
		order = append(order, it.ID)
	}
	list := must(s.ListQueue(ctx)).get(t)
	if len(list) != len(paramCases) {
		t.Fatalf("ListQueue has %d items, want %d", len(list), len(paramCases))
	}
	for i, it := range list {
		if it.ID != order[i] {
			t.Errorf("ListQueue[%d] is item %d, want %d", i, it.ID, order[i])
		}
		checkParams(t, fmt.Sprint("ListQueue item ", it.ID), it, ids[it.ID])
	}
	claimed := must(s.ClaimDue(ctx, "w", time.Now().Add(time.Second), time.Minute, 10)).get(t)
	if len(claimed) != len(paramCases) {
		t.Fatalf("ClaimDue claimed %d items, want %d", len(claimed), len(paramCases))
	}
	for _, it := range claimed {
		checkParams(t, fmt.Sprint("ClaimDue item ", it.ID), it, ids[it.ID])
	}
}

// testQueueRecipientParams: NOTIFY and ORCPT, fixed at Enqueue, survive
// every FinishAttempt, whatever its update says of them and in whatever
// order it lists the recipients; an update that loses or invents a
// recipient is refused and changes nothing.
func testQueueRecipientParams(t *testing.T, s store.Store) {
	ctx := context.Background()
	item := paramCases[1].item
	it := must(s.Enqueue(ctx, strings.NewReader("body"), item)).get(t)
	want := store.QueueRecipients(item)
	now := time.Now()
	claim := func() string {
		t.Helper()
		c := must(s.ClaimDue(ctx, "w", now.Add(time.Hour), time.Minute, 1)).get(t)
		if len(c) != 1 || c[0].ID != it.ID {
			t.Fatalf("ClaimDue = %+v, want item %d", c, it.ID)
		}
		return c[0].ClaimToken
	}
	token := claim()
	for _, tc := range []struct {
		name string
		rs   []store.QueueRecipient
	}{
		{"missing one", []store.QueueRecipient{{Address: "x@one.test", Done: true}, {Address: "y@two.test", Done: true}}},
		{"one unknown", []store.QueueRecipient{{Address: "x@one.test"}, {Address: "y@two.test"}, {Address: "q@elsewhere.test", Done: true}}},
		{"one twice", []store.QueueRecipient{{Address: "x@one.test"}, {Address: "x@one.test"}, {Address: "y@two.test"}}},
		{"one extra", []store.QueueRecipient{{Address: "x@one.test"}, {Address: "y@two.test"}, {Address: "z@three.test"}, {Address: "z@three.test"}}},
	} {
		err := s.FinishAttempt(ctx, store.QueueUpdate{ID: it.ID, ClaimToken: token, Recipients: tc.rs, NextAttempt: now})
		wantErr(t, "FinishAttempt with recipients "+tc.name, err, store.ErrInvalid)
	}
	got := must(s.GetQueueItem(ctx, it.ID)).get(t)
	if got.State != store.QueueDelivery || got.ClaimToken != token || !slices.Equal(got.Recipients, want) {
		t.Fatalf("refused updates changed the item: %+v", got)
	}

	// Out of order, without NOTIFY and ORCPT, or with others: the stored
	// ones stay, in the stored order.
	next := now.Add(time.Minute)
	noErr(t, s.FinishAttempt(ctx, store.QueueUpdate{ID: it.ID, ClaimToken: token, NextAttempt: next, Recipients: []store.QueueRecipient{
		{Address: "z@three.test", LastError: "451 4.4.1 no answer", Notify: "NEVER"},
		{Address: "x@one.test", Done: true},
		{Address: "y@two.test", LastError: "452 4.2.2 full", ORCPT: "rfc822;other@two.test"},
	}}))
	want[0].Done = true
	want[1].LastError = "452 4.2.2 full"
	want[2].LastError = "451 4.4.1 no answer"
	got = must(s.GetQueueItem(ctx, it.ID)).get(t)
	if !slices.Equal(got.Recipients, want) {
		t.Errorf("after the first attempt: recipients %+v, want %+v", got.Recipients, want)
	}

	// An empty update keeps them all.
	token = claim()
	noErr(t, s.FinishAttempt(ctx, store.QueueUpdate{ID: it.ID, ClaimToken: token, NextAttempt: next}))
	if got := must(s.GetQueueItem(ctx, it.ID)).get(t); !slices.Equal(got.Recipients, want) || got.Attempts != 2 {
		t.Errorf("after an empty update: %+v, want recipients %+v", got, want)
	}
	token = claim()
	if c := must(s.GetQueueItem(ctx, it.ID)).get(t); !slices.Equal(c.Recipients, want) {
		t.Errorf("claimed again: recipients %+v, want %+v", c.Recipients, want)
	}
	noErr(t, s.FinishAttempt(ctx, store.QueueUpdate{ID: it.ID, ClaimToken: token, Recipients: []store.QueueRecipient{
		{Address: "x@one.test", Done: true}, {Address: "y@two.test", Done: true, Failed: true}, {Address: "z@three.test", Done: true},
	}}))
	_, err := s.GetQueueItem(ctx, it.ID)
	wantErr(t, "GetQueueItem after the last recipient", err, store.ErrNotFound)
}

// testQueueDelayWarned: FinishAttempt sets DelayWarned, and no later
// attempt clears it.
func testQueueDelayWarned(t *testing.T, s store.Store) {
	ctx := context.Background()
	it := enqueue(t, s, "body", "r@x.test")
	other := enqueue(t, s, "other", "r@y.test")
	if it.DelayWarned {
		t.Fatalf("new item already warned: %+v", it)
	}
	now := time.Now()
	pending := []store.QueueRecipient{{Address: "r@x.test", LastError: "451 later"}}
	for i, warn := range []bool{false, true, false, false} {
		at := now.Add(time.Duration(i+1) * time.Hour)
		c := must(s.ClaimDue(ctx, "w", at, time.Minute, 10)).get(t)
		var token string
		for _, ci := range c {
			if ci.ID == it.ID {
				token = ci.ClaimToken
				if ci.DelayWarned != (i >= 2) {
					t.Errorf("attempt %d: claimed with DelayWarned %v", i, ci.DelayWarned)
				}
			}
		}
		if token == "" {
			t.Fatalf("attempt %d: item %d not claimed: %+v", i, it.ID, c)
		}
		noErr(t, s.FinishAttempt(ctx, store.QueueUpdate{ID: it.ID, ClaimToken: token, NextAttempt: at,
			Recipients: pending, DelayWarned: warn}))
		got := must(s.GetQueueItem(ctx, it.ID)).get(t)
		if wantW := i >= 1; got.DelayWarned != wantW || got.State != store.QueueReady {
			t.Errorf("after attempt %d (warn %v): DelayWarned %v, state %s; want %v, ready", i, warn, got.DelayWarned, got.State, wantW)
		}
	}
	for _, li := range must(s.ListQueue(ctx)).get(t) {
		if want := li.ID == it.ID; li.DelayWarned != want {
			t.Errorf("ListQueue item %d: DelayWarned %v, want %v", li.ID, li.DelayWarned, want)
		}
	}
	if got := must(s.GetQueueItem(ctx, other.ID)).get(t); got.DelayWarned {
		t.Errorf("the other item was marked warned: %+v", got)
	}
}

// testQueueInvalid: Enqueue refuses items no delivery could honour, and
// stores neither the item nor its body.
func testQueueInvalid(t *testing.T, s store.Store) {
	ctx := context.Background()
	valid := paramCases[1].item
	with := func(change func(*store.NewQueueItem)) store.NewQueueItem {
		it := valid
		it.Recipients = slices.Clone(valid.Recipients)
		change(&it)
		return it
	}
	notify := func(n string) store.NewQueueItem {
		return with(func(it *store.NewQueueItem) { it.Recipients[2].Notify = n })
	}
	orcpt := func(o string) store.NewQueueItem {
		return with(func(it *store.NewQueueItem) { it.Recipients[0].ORCPT = o })
	}
	for _, tc := range []struct {
		name string
		item store.NewQueueItem
	}{
		{"no recipients", with(func(it *store.NewQueueItem) { it.Recipients = nil })},
		{"empty recipients", with(func(it *store.NewQueueItem) { it.Recipients = []store.NewQueueRecipient{} })},
		{"empty address", with(func(it *store.NewQueueItem) { it.Recipients[1].Address = "" })},
		{"body type lower case", with(func(it *store.NewQueueItem) { it.BodyType = "8bitmime" })},
		{"body type 8BIT", with(func(it *store.NewQueueItem) { it.BodyType = "8BIT" })},
		{"ret lower case", with(func(it *store.NewQueueItem) { it.Ret = "full" })},
		{"ret HEADERS", with(func(it *store.NewQueueItem) { it.Ret = "HEADERS" })},
		{"negative submitter", with(func(it *store.NewQueueItem) { it.Submitter = -1 })},
		{"notify lower case", notify("never")},
		{"notify NEVER with others", notify("NEVER,FAILURE")},
		{"notify twice", notify("DELAY,DELAY")},
		{"notify trailing comma", notify("SUCCESS,")},
		{"notify comma", notify(",")},
		{"notify space", notify("SUCCESS, FAILURE")},
		{"notify unknown", notify("ALWAYS")},
		{"orcpt without type", orcpt("x@one.test")},
		{"orcpt empty type", orcpt(";x@one.test")},
		{"orcpt empty address", orcpt("rfc822;")},
	} {
		_, err := s.Enqueue(ctx, strings.NewReader("refused "+tc.name), tc.item)
		wantErr(t, "Enqueue with "+tc.name, err, store.ErrInvalid)
	}
	if list := must(s.ListQueue(ctx)).get(t); len(list) != 0 {
		t.Errorf("refused items were queued: %+v", list)
	}
	// The valid item the cases were made from is accepted.
	it := must(s.Enqueue(ctx, strings.NewReader("accepted"), valid)).get(t)
	checkParams(t, "Enqueue of the valid item", it, valid)
}
