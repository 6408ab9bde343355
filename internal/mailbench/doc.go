// Package mailbench measures how fast an SMTP server takes mail, for
// Sealpost's benchmarks: it sends a bounded number of generated messages
// over a few concurrent connections and reports messages per second, the
// latency of each transaction and the replies that refused one.
//
// What it speaks: RFC 5321 mail transactions (MAIL, RCPT, DATA, with RSET
// only after a refused transaction), STARTTLS (RFC 3207) without checking
// the server's certificate, since test servers use self-signed ones, and
// AUTH PLAIN (RFC 4954, RFC 4616). It uses the standard library's net/smtp
// and so sends one command at a time: PIPELINING (RFC 2920), CHUNKING and
// the other extensions are left out, which costs a few loopback round trips
// per message and is the same for every server measured.
//
// It is a load generator for machines the operator owns: it refuses any
// address that is not loopback unless told otherwise, and every run is
// bounded both in messages and in time.
//
// It also reads the CPU time a process has used (Linux /proc/PID/stat) and
// counts the messages in a Maildir, so a benchmark can compare servers that
// store mail differently.
package mailbench
