package account

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"time"

	"sealpost.dev/sealpost/internal/dkim"
	"sealpost.dev/sealpost/internal/dnsx"
	"sealpost.dev/sealpost/internal/store"
)

// DefaultDKIMPublishHold is how long DNS must have shown a pending key's
// record before the key signs: long enough for the resolvers of every
// receiver to have forgotten an earlier negative answer (an SOA minimum
// is rarely above a day, RFC 2308 section 5) and to have the record.
const DefaultDKIMPublishHold = 24 * time.Hour

// DKIMRotation says how AdvanceDKIM completes rotations.
type DKIMRotation struct {
	// AutoActivate makes pending keys sign once DNS has shown the records
	// of all of them, each holding exactly the key, for PublishHold.
	// When false, their publication is still recorded (for `sealpost dkim
	// keys`) and the administrator activates them.
	AutoActivate bool
	// PublishHold is how long the records must have been seen; 0 means
	// DefaultDKIMPublishHold.
	PublishHold time.Duration
	// Overlap is how long the keys that activation replaces stay
	// published; 0 means DefaultDKIMOverlap.
	Overlap time.Duration
}

func (p DKIMRotation) hold() time.Duration {
	if p.PublishHold <= 0 {
		return DefaultDKIMPublishHold
	}
	return p.PublishHold
}

func (p DKIMRotation) overlap() time.Duration {
	if p.Overlap <= 0 {
		return DefaultDKIMOverlap
	}
	return p.Overlap
}

// DKIMEventKind names what AdvanceDKIM did or saw.
type DKIMEventKind string

// The events of AdvanceDKIM.
const (
	// DKIMSeenPublished: a pending key's record was seen in DNS for the
	// first time; the hold starts.
	DKIMSeenPublished DKIMEventKind = "seen-published"
	// DKIMUnpublished: a pending key's record seen before is gone; the
	// hold starts again when it comes back.
	DKIMUnpublished DKIMEventKind = "unpublished"
	// DKIMRecordDiffers: the name of a pending key holds a record that is
	// not exactly the key. Nothing is activated while it does.
	DKIMRecordDiffers DKIMEventKind = "record-differs"
	// DKIMLookupFailed: DNS could not say; nothing changes until it can.
	DKIMLookupFailed DKIMEventKind = "lookup-failed"
	// DKIMActivated: the pending keys sign from now on; the keys they
	// replace retire at RetireAt.
	DKIMActivated DKIMEventKind = "activated"
	// DKIMDeleted: a retiring key's time is up and it was deleted; its
	// DNS record can go.
	DKIMDeleted DKIMEventKind = "deleted"
)

// DKIMEvent is one thing AdvanceDKIM did or saw, for the log.
type DKIMEvent struct {
	Domain    string
	Kind      DKIMEventKind
	Selectors []string
	// Detail says more: what the record holds, why a lookup failed.
	Detail string
	// Replaced, for DKIMActivated, are the selectors of the keys that
	// stopped signing, and RetireAt when they go.
	Replaced []string
	RetireAt time.Time
}

// AdvanceDKIM moves the DKIM rotations of every hosted domain on, as the
// server does hourly: it looks the records of pending keys up through r,
// records when each was first seen published exactly, activates the
// pending keys once all were seen for the hold time (if p.AutoActivate),
// and deletes retiring keys whose time is up. It returns what happened;
// the error joins the failures of single domains, which do not stop the
// others.
func (s *Service) AdvanceDKIM(ctx context.Context, r dnsx.Resolver, p DKIMRotation) ([]DKIMEvent, error) {
	domains, err := s.Store.ListDomains(ctx)
	if err != nil {
		return nil, fmt.Errorf("DKIM rotation: %w", err)
	}
	var events []DKIMEvent
	var errs []error
	for _, d := range domains {
		ev, err := s.advanceDomainDKIM(ctx, r, d.Name, p)
		events = append(events, ev...)
		if err != nil {
			errs = append(errs, fmt.Errorf("DKIM rotation of %s: %w", d.Name, err))
		}
		if ctx.Err() != nil {
			break
		}
	}
	return events, errors.Join(errs...)
}

func (s *Service) advanceDomainDKIM(ctx context.Context, r dnsx.Resolver, domain string, p DKIMRotation) ([]DKIMEvent, error) {
	keys, err := s.Store.ListDKIMKeys(ctx, domain)
	if err != nil {
		return nil, err
	}
	seen := map[string]dkimObservation{}
	for _, k := range keys {
		if k.State == store.DKIMPending {
			seen[k.Selector] = observeDKIMKey(ctx, r, domain, k)
		}
	}
	now := s.now()
	plan := planDKIM(now, keys, seen, p)
	var events []DKIMEvent
	for _, e := range plan.events {
		e.Domain = domain
		events = append(events, e)
	}
	for _, m := range plan.marks {
		err := s.Store.MarkDKIMKeyPublished(ctx, domain, m.selector, m.since)
		if err != nil && !errors.Is(err, store.ErrNotFound) { // not found: activated by hand meanwhile
			return events, err
		}
	}
	if len(plan.remove) > 0 {
		n, err := s.Store.DeleteDKIMKeys(ctx, domain, now)
		if err != nil {
			return events, err
		}
		if n > 0 { // none when another node sharing the store was first
			events = append(events, DKIMEvent{Domain: domain, Kind: DKIMDeleted, Selectors: plan.remove,
				Detail: "retired; remove their DNS records"})
		}
	}
	if !plan.activateBy.IsZero() {
		retireAt := now.Add(p.overlap())
		err := s.Store.ActivatePublishedDKIMKeys(ctx, domain, plan.activateBy, retireAt)
		switch {
		case errors.Is(err, store.ErrNotFound):
			// The keys changed since they were listed (activated or
			// rotated by hand): the next round looks again.
		case err != nil:
			return events, err
		default:
			s.forgetSigners(domain)
			events = append(events, DKIMEvent{Domain: domain, Kind: DKIMActivated, Selectors: plan.activate,
				Replaced: plan.replaced, RetireAt: retireAt})
		}
	}
	return events, nil
}

// forgetSigners drops the cached signers of a domain, so that keys
// activated here sign at once.
func (s *Service) forgetSigners(domain string) {
	s.signersMu.Lock()
	delete(s.signers, domain)
	s.signersMu.Unlock()
}

// dkimSight is what DNS shows at a pending key's name.
type dkimSight int

const (
	dkimAbsent    dkimSight = iota // no such name, or no record there
	dkimPublished                  // every record there is exactly the key
	dkimDiffers                    // a record there is something else
	dkimUnknown                    // the lookup failed
)

type dkimObservation struct {
	sight  dkimSight
	detail string
}

// observeDKIMKey looks up a key's record. Several records at the name
// leave receivers to pick one (RFC 6376 section 3.6.2.2), so each must be
// the key, with tags that let it verify our signatures.
func observeDKIMKey(ctx context.Context, r dnsx.Resolver, domain string, k store.DKIMKey) dkimObservation {
	want, alg, err := dkimPublicKey(k)
	if err != nil {
		return dkimObservation{dkimUnknown, err.Error()}
	}
	name := dkim.KeyName(k.Selector, domain)
	txts, _, err := r.LookupTXT(ctx, name)
	switch {
	case errors.Is(err, dnsx.ErrNotFound):
		return dkimObservation{dkimAbsent, "no such name"}
	case err != nil:
		return dkimObservation{dkimUnknown, err.Error()}
	case len(txts) == 0:
		return dkimObservation{dkimAbsent, "no TXT record"}
	}
	for _, txt := range txts {
		got, err := dkim.ParseKeyRecord(txt)
		if err == nil {
			err = got.CheckAlgorithm(alg)
		}
		if err == nil && !want.Equal(got.PublicKey) {
			err = errors.New("another key")
		}
		if err != nil {
			return dkimObservation{dkimDiffers, fmt.Sprintf("%s TXT %q: %v", name, txt, err)}
		}
	}
	return dkimObservation{dkimPublished, ""}
}

// dkimPublicKey returns the public half of a stored key and the algorithm
// Sealpost signs with it.
func dkimPublicKey(k store.DKIMKey) (interface{ Equal(crypto.PublicKey) bool }, dkim.Algorithm, error) {
	priv, err := x509.ParsePKCS8PrivateKey(k.PrivateKey)
	if err != nil {
		return nil, "", fmt.Errorf("DKIM key %s: %w", k.Selector, err)
	}
	signer, ok := priv.(crypto.Signer)
	if !ok {
		return nil, "", fmt.Errorf("DKIM key %s: a %T cannot sign", k.Selector, priv)
	}
	pub, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok {
		return nil, "", fmt.Errorf("DKIM key %s: a %T cannot be compared", k.Selector, signer.Public())
	}
	alg := dkim.RSASHA256
	if k.Algorithm == "ed25519" {
		alg = dkim.Ed25519SHA256
	}
	return pub, alg, nil
}

// dkimPlan is what one round does for a domain.
type dkimPlan struct {
	marks []dkimMark
	// activateBy, when set, activates the pending keys if each was seen
	// published by then; activate are their selectors, replaced those of
	// the active keys.
	activateBy         time.Time
	activate, replaced []string
	// remove are the retiring keys whose time is up.
	remove []string
	events []DKIMEvent
}

// dkimMark sets (or, with a zero since, clears) when a pending key was
// first seen published.
type dkimMark struct {
	selector string
	since    time.Time
}

// planDKIM decides a round from the keys, what DNS showed for each
// pending one and the clock, without touching store or network.
func planDKIM(now time.Time, keys []store.DKIMKey, seen map[string]dkimObservation, p DKIMRotation) dkimPlan {
	var plan dkimPlan
	allHeld := true
	for _, k := range keys {
		switch k.State {
		case store.DKIMRetiring:
			if k.RetireAt.Before(now) {
				plan.remove = append(plan.remove, k.Selector)
			}
			continue
		case store.DKIMActive:
			plan.replaced = append(plan.replaced, k.Selector)
			continue
		}
		plan.activate = append(plan.activate, k.Selector)
		since := k.PublishedSince
		o := seen[k.Selector]
		event := func(kind DKIMEventKind) {
			plan.events = append(plan.events, DKIMEvent{Kind: kind, Selectors: []string{k.Selector}, Detail: o.detail})
		}
		switch o.sight {
		case dkimPublished:
			if since.IsZero() {
				since = now
				plan.marks = append(plan.marks, dkimMark{k.Selector, now})
				event(DKIMSeenPublished)
			}
		case dkimUnknown:
			event(DKIMLookupFailed)
			allHeld = false
			continue
		case dkimDiffers:
			event(DKIMRecordDiffers)
			fallthrough
		default:
			if !since.IsZero() {
				plan.marks = append(plan.marks, dkimMark{k.Selector, time.Time{}})
				if o.sight == dkimAbsent {
					event(DKIMUnpublished)
				}
			}
			allHeld = false
			continue
		}
		allHeld = allHeld && !now.Before(since.Add(p.hold()))
	}
	if p.AutoActivate && allHeld && len(plan.activate) > 0 {
		plan.activateBy = now.Add(-p.hold())
	} else {
		plan.activate, plan.replaced = nil, nil
	}
	slices.Sort(plan.remove)
	return plan
}
