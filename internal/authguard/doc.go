// Package authguard defends logins against password guessing. A Guard is
// consulted before each password check (Admit) and told each outcome
// (Record); it counts failures per source IP address, per network (an IPv4
// /24 or IPv6 /64 by default) and per account, and answers with
//
//   - a growing delay before each attempt from an IP address with recent
//     failures (250 ms after one, doubling to 4 s), and, from a network the
//     account does not trust, after recent failures on the account;
//   - a temporary lock-out of an IP address after 10 failures within 15
//     minutes, and of a network after 50: 15 minutes at first, doubling on
//     each repeat up to a day;
//   - a lock-out of an account after 50 failures within an hour from
//     wherever they come, which holds only against networks the account
//     does not trust.
//
// Attempts admitted but not yet recorded count towards the thresholds, so
// that an attacker opening many connections at once gets no more password
// checks than one connection would: at most 10 from one address before it
// is locked out, however many run in parallel.
//
// A network becomes trusted by an account when the account logs in from it
// successfully, and stays so for 90 days after its last such login. An
// account's trusted networks are admitted while the account, or the
// network itself, is locked out for everyone else, so an attacker cannot
// lock the owner out from a network the owner has used; the owner's own IP
// address is still counted and locked like any other. Loopback and private
// addresses are not exempt. Every limit is a field of Limits.
//
// Failures are counted in sliding windows estimated from two buckets, so
// each counted key costs the same small memory however many failures it
// has. At most Limits.MaxTracked keys are counted at once: when full, the
// one least recently seen is forgotten, preferring those with no
// lock-out in force, so an attacker spraying addresses (or IPv6 addresses)
// cannot grow memory without bound, and each key it adds costs it a
// failed password check.
//
// Trusted networks are kept in the store (store.KV, namespace "authguard",
// one value per account expiring with its last trusted network), so they
// survive a restart and are shared by the nodes of one database; a node
// reads another's new trust within five minutes. Failure counts and
// lock-outs are kept in memory only: a restart forgets them, and nodes
// sharing a database count separately.
//
// For the administrator, Locked lists the lock-outs in force and Unlock
// ends one; TrustedNetworks lists an account's trusted networks and
// ForgetTrust clears them, as a password change after a theft should.
//
// Admit's refusals wrap ErrLockedOut, which the account package's
// ErrLockedOut is meant to be, so callers test either.
//
// The Guard never tells whether an account exists: it counts and locks
// any address it is given the same way, and a lock-out of an unknown
// address looks like any other.
//
// Left out: per-account and per-protocol allow-lists of networks; counting
// across the nodes of a cluster; telling the owner by mail of a lock-out
// (the lock-outs are logged, and listed by Locked); and any defence against
// an attacker inside a network the account trusts beyond its per-address
// counts: such an attacker is slowed and locked out address by address,
// which an attacker holding many addresses of that network can spread.
package authguard
