// Package config reads Sealpost's configuration: one TOML file (TOML 1.0 as
// accepted by github.com/BurntSushi/toml), decoded into [Config], completed
// with secure defaults and validated.
//
// Every problem is reported as an [*Error] naming the file, the line and the
// dotted key ("sealpost.toml:12: listeners.smtp: invalid address ...").
// When a file has several problems they are all returned, joined with
// errors.Join, in line order with problems of absent keys last. Unknown keys
// are errors, so a misspelt key never silently falls back to a default.
//
// Host and domain names are checked as RFC 1035 section 2.3.1 preferred
// names (with RFC 1123 section 2.1's leading digits); limits cite the RFC 5321
// minimums they must respect. Relative paths (data_dir, tls.cert_file,
// tls.key_file, testing.ca_file) are taken relative to the directory of the
// configuration file.
//
// The reference documentation, docs/config.md, and the example file,
// docs/sealpost.toml.example, are generated from the struct tags below
// (doc, example, required) by [Reference] and [Sample]; a test fails when
// they are out of date, and go generate rewrites them.
//
// Left out: environment-variable overrides, include files, reloading the
// file while running, and checks that touch the system (whether files exist,
// whether addresses can be bound).
package config

//go:generate go test -run TestGenerated . -update

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"time"

	"github.com/BurntSushi/toml"
)

// Config is the whole configuration file.
type Config struct {
	Hostname   string     `toml:"hostname" required:"true" example:"mail.example.com" doc:"The server's fully qualified host name: the name in SMTP greetings (HELO/EHLO) and the name its TLS certificate is for. ASCII only; write internationalized names in their A-label (xn--) form."`
	DataDir    string     `toml:"data_dir" required:"true" example:"/var/lib/sealpost" doc:"Directory for the database, message bodies, keys and the admin socket. Created with mode 0700 if missing. Relative paths are relative to the configuration file's directory."`
	Domains    []string   `toml:"domains" example:"example.com" doc:"Mail domains hosted here, created at start if missing. More can be added with the command sealpost domain add; removing one here does not delete it."`
	Postmaster string     `toml:"postmaster" example:"" doc:"Where mail to postmaster@ of a hosted domain goes when that domain has no account or alias of that name (RFC 5321 section 4.5.1 requires every domain to accept it; DMARC and TLS reports sent to it are read by Sealpost too): an address, or \"\" for the domain's oldest account."`
	Log        Log        `toml:"log" doc:"Logging."`
	Storage    Storage    `toml:"storage" doc:"Where metadata, the queue and message bodies are stored."`
	TLS        TLS        `toml:"tls" doc:"Certificates and TLS policy, shared by every listener."`
	Listeners  Listeners  `toml:"listeners" doc:"Listening addresses, as host:port. The host must be an IP address or empty (all addresses); an empty string turns a listener off; port 0 picks a free port."`
	Limits     Limits     `toml:"limits" doc:"Limits that protect the server from oversized or abusive clients."`
	DNS        DNS        `toml:"dns" doc:"DNS resolution. Sealpost never uses the system resolver."`
	Queue      Queue      `toml:"queue" doc:"Outbound mail queue."`
	Passwords  Passwords  `toml:"passwords" doc:"Account password policy and hashing (argon2id, RFC 9106)."`
	LoginGuard LoginGuard `toml:"login_guard" doc:"Defence of IMAP, POP3, SMTP and web logins against password guessing. Failed logins are counted per IP address, per network and per account: each attempt from an address with recent failures waits a growing delay, and too many failures lock the address, the network or the account out for a while, each repeat twice as long. An account locked out still accepts logins from the networks it has logged in from successfully before (its trusted networks), so an attacker elsewhere cannot lock the owner out. Loopback and private addresses are not exempt. Lock-outs are logged, listed by the administrator and kept in memory only; trusted networks are kept in the database."`
	Auth       Auth       `toml:"auth" doc:"Mail authentication of inbound mail: SPF (RFC 7208), DKIM (RFC 6376), DMARC (RFC 7489) and ARC (RFC 8617), reported in one Authentication-Results field (RFC 8601)."`
	Filter     Filter     `toml:"filter" doc:"Spam and phishing filtering of inbound mail from other servers (package filter), after mail authentication. Each check adds named, weighted scores; their total decides: at reject_score the message is refused at DATA (550 5.7.1 with the main reasons), at junk_score it is filed into the recipient's Junk folder, at warn_score it is delivered with a warning. Each stored copy carries X-Sealpost-Score and X-Sealpost-Reasons fields; every X-Sealpost- field that arrives over SMTP is removed, so that no sender can forge a verdict or a security alert. Every verdict is logged. Mail of authenticated users is not filtered."`
	SRS        SRS        `toml:"srs" doc:"Sender Rewriting Scheme for mail that aliases forward to outside addresses: the reverse path becomes an address of the alias's domain (SRS0=hash=time=domain=local@alias-domain), so that the forwarded mail passes SPF at its receiver, and bounces sent to it go back to the original sender. The secret that signs these addresses is generated once into data_dir/srs.key; nodes that share a database must share that file."`
	Outbound   Outbound   `toml:"outbound" doc:"Outbound abuse control: per-account limits on the mail an account submits to recipients outside the hosted domains, so that a stolen password cannot send spam. When one is exceeded, the message is still accepted but its outside copy is queued held, as is every later one of the account; the account is flagged, its owner and the postmaster are alerted and a warning is logged. Held mail leaves only after sealpost queue release --account USER. Mail to hosted domains is never held. Counts are kept in the database, shared by every node. A limit of 0 is not checked."`
	Greylist   Greylist   `toml:"greylist" doc:"Greylisting of unknown senders on the MX listener: the first attempt of a client network (IPv4 /24, IPv6 /64), envelope sender and recipient is answered 451 4.7.1, and a retry after delay and within window is accepted; the network is then not greylisted for whitelist. Mail servers retry; much bulk mail software does not. Authenticated submissions are never greylisted, and if the database cannot be asked the mail is accepted. State is kept in the database, so it survives restarts and is shared by nodes. Off by default: it delays the first mail of every new sender by at least delay."`
	DKIM       DKIM       `toml:"dkim" doc:"Rotation of the DKIM keys that sign outgoing mail (RFC 6376). sealpost dkim rotate DOMAIN makes new keys, to be published in DNS as sealpost dns DOMAIN shows; the running server completes the rotation."`
	Testing    Testing    `toml:"testing" doc:"Settings for Sealpost's own interoperability tests, which run remote mail servers on loopback ports. Never set these on a real server: they make outbound delivery use other ports than the standards allow and trust extra certificate authorities. The keys are refused unless enabled is true, and the server logs a warning at start when it is."`
}

// Log configures logging through log/slog.
type Log struct {
	Level  string `toml:"level" doc:"Least severe level written: debug, info, warn or error."`
	Format string `toml:"format" doc:"Log line format: text (key=value) or json."`
	// ActivityRetention is how long the store keeps its event log.
	ActivityRetention Duration `toml:"activity_retention" doc:"How long the store keeps the event log: every sign-in attempt on every protocol, with remote IP, client, outcome and reason, as sealpost account activity shows it. Older entries are deleted daily. 1h to 87600h (10 years)."`
}

// Storage selects the storage backend.
type Storage struct {
	Backend     string `toml:"backend" doc:"sqlite (embedded database in data_dir, bodies as files) or postgres (metadata and bodies in PostgreSQL; several Sealpost nodes may share one database)."`
	PostgresDSN Secret `toml:"postgres_dsn" doc:"PostgreSQL connection string, as a URL (postgres://user:password@host/db) or keyword/value pairs (host=... dbname=...). Required when backend is postgres and refused otherwise. Its password is never printed or logged."`
}

// Shared reports whether other nodes may share the store (PostgreSQL):
// what one node of several should do alone is then claimed in it first.
func (s Storage) Shared() bool { return s.Backend == BackendPostgres }

// TLS configures certificates and the TLS policy.
type TLS struct {
	Mode          string `toml:"mode" doc:"Where certificates come from: files (cert_file and key_file, reloaded on SIGHUP), self-signed (generated into data_dir; for testing only, clients will warn) or acme (obtained and renewed automatically over ACME, RFC 8555)."`
	CertFile      string `toml:"cert_file" example:"/etc/sealpost/tls/fullchain.pem" doc:"PEM certificate chain, leaf first. Required when mode is files and refused otherwise."`
	KeyFile       string `toml:"key_file" example:"/etc/sealpost/tls/privkey.pem" doc:"PEM private key of the certificate. Required when mode is files and refused otherwise."`
	MinVersion    string `toml:"min_version" doc:"Oldest TLS version accepted, as a string: \"1.2\" or \"1.3\". Older versions are never offered."`
	ACMEDirectory string `toml:"acme_directory" doc:"ACME directory URL (https). Only used when mode is acme; may be changed only then."`
	ACMEEmail     string `toml:"acme_email" doc:"Contact address given to the ACME certificate authority for expiry and incident notices. Required when mode is acme and refused otherwise."`
}

// Listeners holds one address per protocol; "" turns that listener off.
type Listeners struct {
	SMTP        string `toml:"smtp" doc:"Inbound mail from other servers (MX), with STARTTLS (RFC 5321, RFC 3207)."`
	Submission  string `toml:"submission" doc:"Message submission from clients, STARTTLS required before AUTH (RFC 6409)."`
	Submissions string `toml:"submissions" doc:"Message submission over implicit TLS (RFC 8314)."`
	IMAP        string `toml:"imap" doc:"IMAP with STARTTLS required before login (RFC 9051)."`
	IMAPS       string `toml:"imaps" doc:"IMAP over implicit TLS (RFC 8314)."`
	POP3        string `toml:"pop3" doc:"POP3 with STLS required before login (RFC 1939, RFC 2595)."`
	POP3S       string `toml:"pop3s" doc:"POP3 over implicit TLS (RFC 8314)."`
	HTTPS       string `toml:"https" doc:"Webmail, account settings, autoconfiguration, MTA-STS policy and WKD."`
	Admin       string `toml:"admin" doc:"Prometheus /metrics and /healthz, over plain HTTP. Must be a loopback address unless admin_public is true."`
	AdminPublic bool   `toml:"admin_public" doc:"Allow the admin listener on a non-loopback address. Only do this behind a firewall: the metrics reveal traffic volumes and account activity."`
}

// Limits bounds what one client or message may use.
type Limits struct {
	MaxMessageSize      Size     `toml:"max_message_size" doc:"Largest message accepted, announced with the SMTP SIZE extension (RFC 1870). Between 1KiB and 2GiB."`
	MaxRecipients       int      `toml:"max_recipients" doc:"Most recipients in one SMTP transaction, 1 to 10000. RFC 5321 section 4.5.3.1.8 asks servers to accept at least 100."`
	MaxLineLength       int      `toml:"max_line_length" doc:"Longest command line accepted, in octets including CRLF, 1000 to 1048576 (RFC 5321 section 4.5.3.1.6 requires at least 1000 for text lines). Lines of a message may be up to 1 MiB; longer ones get the message refused."`
	MaxConnectionsPerIP int      `toml:"max_connections_per_ip" doc:"Simultaneous connections from one IP address (IPv6: one /64) across all protocols, 1 to 10000."`
	MaxAuthFailures     int      `toml:"max_auth_failures" doc:"Failed authentications allowed in one connection before it is closed, 1 to 100."`
	MaxSessions         int      `toml:"max_sessions" doc:"Simultaneous sessions on each SMTP and POP3 listener, 1 to 100000; more connections are refused with a temporary error."`
	MaxIMAPSessions     int      `toml:"max_imap_sessions" doc:"Simultaneous sessions on each IMAP listener, 1 to 1000000. IMAP clients keep connections open (IDLE), several per user; an idle session costs about 16 KiB over TLS."`
	SessionTimeout      Duration `toml:"session_timeout" doc:"How long a connection may sit idle between commands before it is closed, 1s to 24h."`
	CommandTimeout      Duration `toml:"command_timeout" doc:"How long one command, including a whole message transfer, may take, 1s to 24h."`
	ShutdownTimeout     Duration `toml:"shutdown_timeout" doc:"How long a graceful shutdown waits for work in progress before closing connections, 1s to 10m."`
}

// DNS configures name resolution.
type DNS struct {
	Resolver string `toml:"resolver" doc:"A DNSSEC-validating resolver, as IP:port. Sealpost trusts its AD bit for DANE, so it should run on this host or be reached over a trusted network."`
}

// Queue configures outbound delivery.
type Queue struct {
	Deliver      bool     `toml:"deliver" doc:"Deliver queued mail to other servers. When false, outbound mail is kept in the queue, where it can be inspected and delivered later."`
	MaxAge       Duration `toml:"max_age" doc:"How long delivery is retried before the message is returned to its sender as undeliverable, 1h to 2160h (RFC 5321 section 4.5.4.1 suggests at least 4-5 days)."`
	DelayWarning Duration `toml:"delay_warning" doc:"When the sender is told that a message is delayed but still being retried (RFC 3464). Between 1m and max_age."`
}

// Passwords configures the password policy and argon2id hashing. The hash
// parameters apply to new hashes; existing hashes keep theirs.
type Passwords struct {
	MinLength           int      `toml:"min_length" doc:"Shortest password accepted, in characters, 8 to 128."`
	Argon2Time          int      `toml:"argon2_time" doc:"argon2id passes over memory, 1 to 64."`
	Argon2Memory        Size     `toml:"argon2_memory" doc:"argon2id memory per hash, a whole number of KiB between 19MiB and 4GiB. Concurrent logins each use this much."`
	Argon2Threads       int      `toml:"argon2_threads" doc:"argon2id parallelism, 1 to 255."`
	LoginCacheTTL       Duration `toml:"login_cache_ttl" doc:"How long a successful login is remembered, so that the same account and password are accepted again without another argon2id check: 0s (never) to 24h. Only a keyed hash of address and password is kept, in memory; a password change or sign-out ends it at once, and failed logins are never remembered."`
	LoginCacheSize      int      `toml:"login_cache_size" doc:"Most logins remembered at once, 1 to 1000000."`
	MaxConcurrentChecks int      `toml:"max_concurrent_checks" doc:"Most argon2id checks run at once, each using argon2_memory; further logins wait their turn, so a flood of attempts costs at most this many times argon2_memory. 0 means twice the number of CPUs; at most 1024."`
}

// LoginGuard configures the brute-force defence of logins (package
// authguard).
type LoginGuard struct {
	IPv4Prefix      int      `toml:"ipv4_prefix" doc:"Prefix length of an IPv4 network, whose addresses' failures are counted together and which a successful login makes trusted, 8 to 32."`
	IPv6Prefix      int      `toml:"ipv6_prefix" doc:"Prefix length of an IPv6 network, 16 to 128; /64 is what one customer usually holds."`
	BaseDelay       Duration `toml:"base_delay" doc:"Wait before a login attempt from an IP address with one recent failure, 0s to max_delay; it doubles with each further failure."`
	MaxDelay        Duration `toml:"max_delay" doc:"Longest wait before a login attempt, 0s to 1m. The client holds its connection while it waits."`
	IPFailures      int      `toml:"ip_failures" doc:"Failed logins from one IP address within window that lock it out, 1 to 1000."`
	NetworkFailures int      `toml:"network_failures" doc:"Failed logins from the addresses of one network within window that lock the network out, except for the accounts that trust it, 1 to 100000."`
	Window          Duration `toml:"window" doc:"How long a failure counts against its IP address and network, 1s to 24h."`
	AccountFailures int      `toml:"account_failures" doc:"Failed logins to one account within account_window, from anywhere, that lock the account out from every network it does not trust, 1 to 100000."`
	AccountWindow   Duration `toml:"account_window" doc:"How long a failure counts against its account, 1s to 168h."`
	LockDuration    Duration `toml:"lock_duration" doc:"The first lock-out of an IP address, network or account, 1s to 24h. Each further lock-out while the previous one is remembered lasts twice as long."`
	MaxLockDuration Duration `toml:"max_lock_duration" doc:"Longest lock-out, lock_duration to 720h; also how long a lock-out is remembered after it ends."`
	TrustPeriod     Duration `toml:"trust_period" doc:"How long a network stays trusted by an account after the account's last successful login from it, 1h to 8760h."`
	MaxTracked      int      `toml:"max_tracked" doc:"Most IP addresses, networks and accounts counted at once, 100 to 10000000, about 300 bytes each; when full, the least recently seen are forgotten, lock-outs last."`
}

// Auth configures the checks of inbound mail and what their results do.
type Auth struct {
	AuthservID        string   `toml:"authserv_id" example:"mail.example.com" doc:"The name that Sealpost's Authentication-Results fields carry (RFC 8601 section 2.5); \"\" means the hostname. Fields that arrive from outside with this name are removed."`
	DMARCEnforce      bool     `toml:"dmarc_enforce" doc:"Apply the sender domain's DMARC policy: p=reject refuses the message at DATA (550 5.7.1) and p=quarantine files it in Junk. When false the result is only recorded."`
	DMARCExempt       []string `toml:"dmarc_exempt" example:"lists.example.org" doc:"Domains whose mail is exempt from DMARC enforcement: a message is delivered normally when its From domain, or a domain that passed SPF or DKIM for it, is listed or below one listed. For mailing lists and forwarders that break DMARC. Every exemption applied is logged."`
	ARCTrustedSealers []string `toml:"arc_trusted_sealers" example:"google.com" doc:"Forwarders whose ARC seal (RFC 8617) is trusted: a valid ARC chain whose latest seal is by one of these domains, and that says the message passed DMARC on its arrival there, overrides a DMARC failure here."`
	CheckTimeout      Duration `toml:"check_timeout" doc:"Time allowed for the DNS lookups of all checks of one message together, 1s to 2m; checks that run out report a temporary error."`
}

// Filter configures spam and phishing filtering.
type Filter struct {
	Enabled          bool     `toml:"enabled" doc:"Filter inbound mail. When false no check runs; forged X-Sealpost- fields are still removed."`
	RejectScore      float64  `toml:"reject_score" doc:"Total score at which a message is refused at SMTP time (550 5.7.1); 0 never refuses. Above junk_score when both are set."`
	JunkScore        float64  `toml:"junk_score" doc:"Total score at which a message is filed into the recipient's Junk folder; 0 never does. Above warn_score when both are set."`
	WarnScore        float64  `toml:"warn_score" doc:"Total score at which a message is delivered to the inbox with a warning (the banner, when banner is on); 0 never warns."`
	Banner           bool     `toml:"banner" doc:"Put a warning at the top of the body of suspicious mail delivered to the inbox: warn verdicts, and phishing findings (such as a DMARC failure of a domain with p=reject) below junk_score. Done for text/plain, text/html and text alternatives of multipart/alternative and of the first part of multipart/mixed; other messages are warned of in the header only."`
	BannerText       string   `toml:"banner_text" doc:"The banner's text as a Go text/template; \"\" is the built-in text. Its data: .From (the From address), .Sender (the envelope sender, or the HELO name), .Mismatch (true when the From domain is neither authenticated nor the sender's), .Reasons (list of the findings to tell), .Score and .Verdict."`
	Weights          []string `toml:"weights" example:"headers.no_message_id=0" doc:"Weight overrides, each \"name=number\": a score's full name (check.finding, as X-Sealpost-Reasons shows it) sets that score's weight; a check's name (such as structure, headers, dmarc) multiplies all of its scores (0 turns the check off)."`
	Tempfail         []string `toml:"tempfail" example:"clamd" doc:"Checks whose failure or time-out defers the message (451 4.7.1) so that the sender tries again later, rather than passing it unscored, such as a virus scanner that is down."`
	ExemptRecipients []string `toml:"exempt_recipients" example:"abuse@example.com" doc:"Recipient addresses, or whole domains, whose mail is not filtered (abuse and postmaster boxes that must see spam)."`
	ExemptSenders    []string `toml:"exempt_senders" example:"partner.example.org" doc:"Sender domains whose authenticated mail (DMARC-aligned, or passing SPF or DKIM, for the domain or one below it) is not filtered. An unauthenticated claim exempts nothing."`
	Timeout          Duration `toml:"timeout" doc:"Time allowed for all checks of one message together, 1s to 2m; a check that runs out scores nothing (or defers, see tempfail)."`
	DNSBLZones       []string `toml:"dnsbl_zones" example:"zen.spamhaus.org=4 127.0.0.2 127.0.0.3 127.0.0.4" doc:"DNS blocklists of IP addresses (RFC 5782) asked about the client's address, each \"zone=score\", optionally followed by the answers that count (otherwise any 127.0.0.x but 127.0.0.1). A listing adds the zone's score once (named dnsbl.ZONE). Loopback and private addresses are not asked. None by default: public lists require registration, and they are asked through dns.resolver, which must not be a large public resolver they refuse."`
	URIBLZones       []string `toml:"uribl_zones" example:"dbl.spamhaus.org=4 127.0.1.2 127.0.1.4" doc:"Domain blocklists (URIBL, SURBL, Spamhaus DBL) asked about the registrable domains of the From address and of the message's links (at most 20), in the form of dnsbl_zones."`
	Clamd            string   `toml:"clamd" example:"/run/clamav/clamd.ctl" doc:"ClamAV's clamd, to scan every message for malware: the path of its unix socket (Debian's clamav-daemon: /run/clamav/clamd.ctl) or host:port of its TCP socket. \"\" scans nothing. A virus found scores clamd.infected=100, which refuses the message (550 5.7.1, naming the signature)."`
	ClamdOnError     string   `toml:"clamd_on_error" doc:"What to do with a message when clamd gives no verdict (it is down, too slow or fails): tempfail defers it (451 4.7.1) so that the sender retries later, pass delivers it unscanned (and logs it). Mail is never lost either way. It decides for clamd whatever tempfail lists."`
	Retrain          Duration `toml:"retrain" doc:"How often the content classifier's global model is made again from the users' own mail: what they reported as spam or phishing (moved into Junk or Phishing) and what they read and kept for two days (package usercorpus), once there are at least 200 ham and 200 spam and phishing messages; the first time ten minutes after start. A model an administrator trained from corpora (sealpost filter train without --mailboxes) is kept. 0 never retrains; otherwise 1h to 720h."`
}

// DKIM configures how the server completes DKIM key rotations.
type DKIM struct {
	AutoActivate bool     `toml:"auto_activate" doc:"Let the server make new keys sign by itself: every hour, and shortly after start, it looks up the records of pending keys through dns.resolver and activates them once DNS has shown each one, holding exactly its key, for publish_hold. A record holding anything else is logged and stops the activation. When false, the publication is still watched and shown by sealpost dkim keys, and sealpost dkim activate DOMAIN makes the keys sign."`
	PublishHold  Duration `toml:"publish_hold" doc:"How long DNS must have shown the new keys' records before they sign, so that resolvers everywhere have them and have forgotten any earlier negative answer, 1m to 720h."`
	Overlap      Duration `toml:"overlap" doc:"How long the replaced keys stay published once the new ones sign, since mail signed with them may still be in transit or be verified late, 1h to 2160h; also the default of sealpost dkim activate --overlap. The server then deletes them, logging it, and their records can be removed."`
}

// Outbound configures outbound abuse control (package sendlimit).
type Outbound struct {
	Enabled              bool `toml:"enabled" doc:"Check every submission against the limits below. When false, nothing is counted or held (mail already held stays held)."`
	MessagesPerMinute    int  `toml:"messages_per_minute" doc:"Messages with outside recipients an account may submit in any 60 seconds, 0 to 10000."`
	MessagesPerHour      int  `toml:"messages_per_hour" doc:"Messages with outside recipients an account may submit in any hour, 0 to 100000."`
	MessagesPerDay       int  `toml:"messages_per_day" doc:"Messages with outside recipients an account may submit in any 24 hours, 0 to 1000000. Large providers allow personal accounts a few hundred."`
	RecipientsPerMinute  int  `toml:"recipients_per_minute" doc:"Outside recipients, summed over messages, an account may write to in any 60 seconds, 0 to 100000."`
	RecipientsPerHour    int  `toml:"recipients_per_hour" doc:"Outside recipients an account may write to in any hour, 0 to 1000000."`
	RecipientsPerDay     int  `toml:"recipients_per_day" doc:"Outside recipients an account may write to in any 24 hours, 0 to 10000000."`
	NewRecipientsPerHour int  `toml:"new_recipients_per_hour" doc:"Outside recipients the account has never written to nor received mail from that it may write to in any hour, 0 to 1000000: a thief writes to strangers, an owner mostly to known people."`
	NewRecipientsPerDay  int  `toml:"new_recipients_per_day" doc:"Never-seen outside recipients an account may write to in any 24 hours, 0 to 10000000."`
	BurstFactor          int  `toml:"burst_factor" doc:"A burst is held: more messages in the last hour than burst_minimum and than burst_factor times the account's usual hourly rate over the past week. 0 turns burst detection off; otherwise 2 to 1000."`
	BurstMinimum         int  `toml:"burst_minimum" doc:"Messages an hour an account may always send without counting as a burst, whatever its history, 1 to 100000."`
	Correspondents       int  `toml:"correspondents" doc:"How many of each account's most recent correspondents (addresses it wrote to or received from) are remembered to tell new recipients from known ones, 100 to 100000."`
}

// SRS configures sender rewriting of forwarded mail.
type SRS struct {
	Enabled bool     `toml:"enabled" doc:"Rewrite the reverse path of forwarded mail, and accept mail (bounces, replies) to the rewritten addresses for the original sender when their hash matches and they are not older than max_age; others are refused with 550 5.1.1. When false, forwarded mail keeps its original reverse path, and addresses starting SRS0= or SRS1= are ordinary ones."`
	MaxAge  Duration `toml:"max_age" doc:"How long a rewritten address is honoured, in whole days, 24h to 8760h: bounces usually come within the queue's lifetime, and a longer time lets an address harvested from one message be used longer."`
}

// Greylist configures greylisting on the MX listener (package greylist).
type Greylist struct {
	Enabled      bool     `toml:"enabled" doc:"Greylist unknown senders."`
	Delay        Duration `toml:"delay" doc:"How long after a first attempt a retry is accepted, 1m to 1h. Most servers retry within 15 to 30 minutes."`
	Window       Duration `toml:"window" doc:"How long after a first attempt a retry is awaited before an attempt counts as a first one again, 1h to 168h."`
	Whitelist    Duration `toml:"whitelist" doc:"How long a network whose retry was accepted is not greylisted, renewed while its mail keeps coming, 24h to 8760h."`
	SpareAligned bool     `toml:"spare_aligned" doc:"Spare sender domains that proved themselves: once mail from a domain and network passed SPF with a DKIM signature aligned with its From domain, later mail from that domain and network is not greylisted. The spam filter tells greylisting of such a sender after delivering its message (not into Junk), when filter.enabled is on. A new sender's first message still is greylisted: DKIM is only known after DATA."`
}

// Testing holds test-only overrides of outbound delivery. They are
// accepted only with Enabled set, so that none is switched on by a stray key.
type Testing struct {
	Enabled    bool   `toml:"enabled" doc:"Allow the other keys of this table, and the https destinations of TLS reports on loopback and private addresses (refused otherwise). For tests only: the server logs a warning at start when this is true."`
	SMTPPort   int    `toml:"smtp_port" doc:"Remote SMTP port for outbound delivery instead of 25, 0 for 25. DANE still looks up the TLSA records of port 25. For tests only."`
	MTASTSPort int    `toml:"mtasts_port" doc:"Port from which MTA-STS policies are fetched instead of 443 (RFC 8461 allows no other), 0 for 443. For tests only."`
	CAFile     string `toml:"ca_file" doc:"PEM file of extra certificate authorities trusted, beside the system's, for MX certificates that MTA-STS requires to be valid, for MTA-STS policy hosts and for the https destinations of TLS reports. For tests only."`
}

// Enumerated values.
const (
	BackendSQLite   = "sqlite"
	BackendPostgres = "postgres"

	TLSModeFiles      = "files"
	TLSModeSelfSigned = "self-signed"
	TLSModeACME       = "acme"

	// LetsEncryptDirectory is the default ACME directory.
	LetsEncryptDirectory = "https://acme-v02.api.letsencrypt.org/directory"
)

// maxFileSize bounds what Load and Parse read; real configurations are a few KiB.
const maxFileSize = 1 << 20

// Default returns the configuration used for every key a file leaves out.
// Hostname and DataDir are empty and must be set.
func Default() *Config {
	return &Config{
		Log:     Log{Level: "info", Format: "text", ActivityRetention: Duration(180 * 24 * time.Hour)},
		Storage: Storage{Backend: BackendSQLite},
		TLS: TLS{
			Mode:          TLSModeFiles,
			MinVersion:    "1.2",
			ACMEDirectory: LetsEncryptDirectory,
		},
		Listeners: Listeners{
			SMTP:        ":25",
			Submission:  ":587",
			Submissions: ":465",
			IMAP:        ":143",
			IMAPS:       ":993",
			POP3:        ":110",
			POP3S:       ":995",
			HTTPS:       ":443",
			Admin:       "127.0.0.1:8025",
		},
		Limits: Limits{
			MaxMessageSize:      50 * MiB,
			MaxRecipients:       100,
			MaxLineLength:       4096,
			MaxConnectionsPerIP: 20,
			MaxAuthFailures:     5,
			MaxSessions:         1000,
			MaxIMAPSessions:     10000,
			SessionTimeout:      Duration(10 * time.Minute),
			CommandTimeout:      Duration(5 * time.Minute),
			ShutdownTimeout:     Duration(10 * time.Second),
		},
		DNS:   DNS{Resolver: "127.0.0.1:53"},
		Queue: Queue{Deliver: true, MaxAge: Duration(120 * time.Hour), DelayWarning: Duration(4 * time.Hour)},
		LoginGuard: LoginGuard{
			IPv4Prefix:      24,
			IPv6Prefix:      64,
			BaseDelay:       Duration(250 * time.Millisecond),
			MaxDelay:        Duration(4 * time.Second),
			IPFailures:      10,
			NetworkFailures: 50,
			Window:          Duration(15 * time.Minute),
			AccountFailures: 50,
			AccountWindow:   Duration(time.Hour),
			LockDuration:    Duration(15 * time.Minute),
			MaxLockDuration: Duration(24 * time.Hour),
			TrustPeriod:     Duration(90 * 24 * time.Hour),
			MaxTracked:      100000,
		},
		Auth: Auth{DMARCEnforce: true, CheckTimeout: Duration(20 * time.Second)},
		SRS:  SRS{Enabled: true, MaxAge: Duration(504 * time.Hour)},
		Greylist: Greylist{Delay: Duration(5 * time.Minute), Window: Duration(24 * time.Hour),
			Whitelist: Duration(840 * time.Hour), SpareAligned: true},
		Filter: Filter{Enabled: true, RejectScore: 15, JunkScore: 6, WarnScore: 3, Banner: true,
			Timeout: Duration(15 * time.Second), ClamdOnError: "tempfail", Retrain: Duration(24 * time.Hour)},
		Outbound: Outbound{Enabled: true,
			MessagesPerMinute: 20, MessagesPerHour: 100, MessagesPerDay: 500,
			RecipientsPerMinute: 50, RecipientsPerHour: 200, RecipientsPerDay: 500,
			NewRecipientsPerHour: 50, NewRecipientsPerDay: 200,
			BurstFactor: 10, BurstMinimum: 40, Correspondents: 2000},
		DKIM: DKIM{AutoActivate: true, PublishHold: Duration(24 * time.Hour), Overlap: Duration(168 * time.Hour)},
		Passwords: Passwords{
			MinLength:      10,
			Argon2Time:     3,
			Argon2Memory:   64 * MiB,
			Argon2Threads:  2,
			LoginCacheTTL:  Duration(15 * time.Minute),
			LoginCacheSize: 10000,
		},
	}
}

// Load reads and parses the configuration file at path.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &Error{File: path, Msg: err.Error(), Err: err}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, &Error{File: path, Msg: err.Error(), Err: err}
	}
	return Parse(data, path)
}

// Parse parses and validates a configuration file's contents. filename is
// used in error messages and to resolve relative paths.
func Parse(data []byte, filename string) (*Config, error) {
	if len(data) > maxFileSize {
		return nil, errorf(filename, 0, "", "file larger than %d bytes", maxFileSize)
	}
	var raw map[string]any
	if _, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&raw); err != nil {
		return nil, syntaxError(filename, err)
	}
	d := &decoder{file: filename, lines: indexLines(data)}
	c := Default()
	d.table(reflect.ValueOf(c).Elem(), raw, "")
	// A key that failed to decode kept its default and is not validated;
	// the rest are, so one pass finds every problem.
	d.skip = map[string]bool{}
	for _, e := range d.errs {
		d.skip[e.Key] = true
	}
	d.validate(c)
	if err := d.err(); err != nil {
		return nil, err
	}
	c.resolvePaths(filepath.Dir(filename))
	return c, nil
}

// Validate checks a Config built in code, such as Default() with some
// fields set, by the same rules as Parse. Errors have no file or line.
// Like Parse, it writes Hostname and Domains in lower case.
func (c *Config) Validate() error {
	d := &decoder{lines: lineIndex{}}
	d.validate(c)
	return d.err()
}

func syntaxError(file string, err error) error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		line := pe.Position.Line
		if line < 1 {
			line = 1
		}
		return &Error{File: file, Line: line, Key: pe.LastKey, Msg: pe.Message, Err: err}
	}
	return &Error{File: file, Line: 1, Msg: err.Error(), Err: err}
}

// err returns the collected errors in line order: nil, one *Error, or
// several joined with errors.Join.
func (d *decoder) err() error {
	// Problems with absent keys (line 0) come after those in the file.
	order := func(e *Error) int {
		if e.Line == 0 {
			return math.MaxInt
		}
		return e.Line
	}
	sort.SliceStable(d.errs, func(i, j int) bool { return order(d.errs[i]) < order(d.errs[j]) })
	switch len(d.errs) {
	case 0:
		return nil
	case 1:
		return d.errs[0]
	}
	errs := make([]error, len(d.errs))
	for i, e := range d.errs {
		errs[i] = e
	}
	return errors.Join(errs...)
}

func (c *Config) resolvePaths(dir string) {
	for _, p := range []*string{&c.DataDir, &c.TLS.CertFile, &c.TLS.KeyFile, &c.Testing.CAFile} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
}

// WriteTOML writes c as a TOML file, every key included, with secrets
// redacted. Parsing the output gives c back, except for secrets.
func (c *Config) WriteTOML(w io.Writer) error {
	var b bytes.Buffer
	writeTOML(&b, reflect.ValueOf(c).Elem(), false)
	_, err := w.Write(b.Bytes())
	return err
}

// SlogLevel returns the configured level as a slog.Level.
func (l Log) SlogLevel() slog.Level {
	switch l.Level {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// Version returns MinVersion as a crypto/tls version constant.
func (t TLS) Version() uint16 {
	if t.MinVersion == "1.3" {
		return tls.VersionTLS13
	}
	return tls.VersionTLS12
}

// Argon2MemoryKiB returns Argon2Memory in KiB, the unit argon2.IDKey takes.
func (p Passwords) Argon2MemoryKiB() uint32 { return uint32(p.Argon2Memory / KiB) }
