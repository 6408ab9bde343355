// Package account manages what Sealpost hosts: domains, accounts, aliases
// (catch-alls included) and passwords, on top of a store.Store.
//
// Addresses are parsed and normalised once, here, so every other package
// compares plain strings:
//   - the local part is a dot-atom or a quoted string (RFC 5321 section
//     4.1.2), may be UTF-8 (RFC 6531 section 3.3), is NFC-normalised (RFC
//     6532 section 3.1) and lower-cased (see normalizeAddress for why), and
//     is at most 64 octets (RFC 5321 section 4.5.3.1.1);
//   - the domain is converted to its A-label with the IDNA 2008 lookup
//     profile (RFC 5890, RFC 5891 section 5, UTS #46 mapping), lower case,
//     with labels and length checked (RFC 1035 section 2.3.4);
//   - the whole address is at most 254 octets (RFC 5321 section 4.5.3.1.3).
//
// Passwords are hashed with argon2id (RFC 9106) and stored in the PHC
// string format; Verify uses the parameters stored with each hash, so the
// parameters can be raised without invalidating existing passwords.
//
// Each domain signs with two DKIM keys, Ed25519 (RFC 8463) and RSA-2048
// (RFC 6376, RFC 8301). A rotation (RotateDKIM) adds a pending pair under
// new selectors; it starts signing when the administrator activates it
// (ActivateDKIM) or, with AdvanceDKIM, which the server runs hourly, once
// DNS has shown both records, each holding exactly the key, for a hold
// time. The replaced pair stays published for an overlap, then goes.
//
// With an srs.Rewriter (Service.SRS), Resolve sends mail for a Sender
// Rewriting Scheme address of a hosted domain (SRS0=..., SRS1=..., before
// any account, alias or catch-all) to the address it was made from, and
// refuses, with an *SRSError, one that is forged, expired or malformed:
// only addresses Sealpost made lead outside.
//
// Login is the one way in for IMAP, POP3, SMTP submission and the web. It
// takes the account's main password or one of its app passwords, asks the
// brute-force Guard first when there is one, and records every attempt,
// whatever its outcome and for unknown users too, in the login log with
// protocol, remote IP, client identity, method and the reason for a
// refusal (never a secret). An unknown user costs a password hash like a
// known one, so neither reply nor timing tells who has an account.
//
// 2-step verification uses TOTP (RFC 6238 over the HOTP of RFC 4226:
// HMAC-SHA-1, 6 digits, 30-second steps, one step of drift either way,
// a 160-bit key), through github.com/pquerna/otp, which also writes the
// otpauth:// URI authenticator apps read. A code is accepted once: the
// store keeps the last step used and refuses it and every earlier one.
// EnableTwoStep also makes ten single-use recovery codes. With 2-step
// verification on, the main password is refused for IMAP, POP3 and SMTP,
// which take app passwords only; the web takes it, then asks for a code
// (VerifyTOTP or UseRecoveryCode).
//
// App passwords are generated, 24 letters from an alphabet of 23 (about
// 108 bits), shown once, scoped to any of IMAP, POP3 and SMTP (never the
// web), revocable one by one (Service.Revoked then ends the sessions using
// them), with their last use recorded. They and the recovery codes (16
// letters, about 72 bits) are kept as a SHA-256: argon2id is for
// passwords people choose, whose few bits a slow hash must protect from
// offline guessing; random values of 72 bits and more are out of reach of
// guessing however fast the hash, and a plain hash lets a login find an
// app password by an index lookup instead of an argon2id run per stored
// password.
//
// Step-up authentication (StepUp, StepUpAttempt, RequireStepUp) guards the
// risky changes an account's owner makes: ChangePassword,
// AddAppPasswordStepUp, DisableTwoStepStepUp and SetRecoveryAddress take a
// StepUp, the proof that the main password (and, with 2-step verification
// on, a TOTP or recovery code) was given within StepUpWindow, whatever
// session is in hand; their alerts name where it was given. The administrator's methods (SetPassword, AddAppPassword,
// DisableTwoStep) take none. A password change of either kind ends the
// account's live sessions through Service.EndSessions.
//
// Security alerts (Alert, raised through Service.Alerts, delivered by
// package alert) announce each step a thief would take: a new app
// password, 2-step verification off, a password or recovery address
// changed, and a sign-in from a network (IPv4 /24, IPv6 /64) or client not
// seen on the account within SignInMemory, remembered in store.KV; an
// account's first sign-in raises none, and one repeating a recent place
// costs no store access.
//
// CheckPassword refuses, besides passwords too short or malformed, the
// most common passwords (NIST SP 800-63B section 5.1.1.2), from a list
// shipped gzipped in the package (COMMONPASSWORDS.md gives its source and
// licence) and read into a set on first use; CheckPasswordFor also
// refuses the account's address and its parts. Login refuses an account's
// sign-in from outside its allow-list of networks for the protocol
// (AllowNetworks), before any password is checked and at the cost of a
// wrong password.
//
// Forwarding rules (AddForwarding, ConfirmForwarding, RemoveForwarding,
// ListForwarding, RemindForwarding) send an account's mail on to other
// addresses, Resolve following the active ones. The owner's addition
// takes a step-up; an outside target stays pending until it follows the
// one-time link of a confirmation message (a token of 260 random bits,
// kept as its SHA-256, valid for ForwardTokenTTL), so no one receives
// forwarded mail they did not accept; removal takes no step-up, since it
// only keeps mail at home. Every change is in the event log (Kind
// "forwarding") and raises AlertForwardingChanged; an active outside
// forward is announced again a day and a week later
// (AlertForwardingActive). ResolveLocal ignores the rules, for the
// alerts, which must never follow a thief's forward.
//
// Left out: address literals ("user@[192.0.2.1]") are never hosted and so
// rejected; local parts are not case-sensitive, and no sub-addressing
// ("user+tag") is applied here; UTF-8 local parts are accepted, but
// invisible and control characters are not. TOTP enrolment takes
// effect at once, without a first code to confirm the authenticator has
// the key (the web pages will ask for one); TOTP algorithms other than
// SHA-1, 8-digit codes and other periods are not offered, since common
// authenticator apps ignore them; turning 2-step verification off keeps
// the app passwords. Reverse DNS of the remote IP is not in the login log.
// Sessions and lock-out policy live elsewhere; StepUp without a remote
// address is not counted by the Guard (StepUpAttempt is). Forwarding
// rules cannot be disabled and re-enabled yet, nor filtered.
package account
