// Package reports makes, sends, receives and shows the reports of mail
// authentication: DMARC aggregate reports (RFC 7489 section 7.2) and SMTP
// TLS reports (RFC 8460).
//
// # Implemented
//
//   - Recording: DMARCRecorder.Record counts each inbound DMARC evaluation
//     (policy domain, rua, policy published, source IP, identifiers,
//     disposition, aligned results, DKIM and SPF results) in the store,
//     identical rows of a UTC day counted together (store.Reports).
//   - Sending: Scheduler.SendDue makes, for each complete UTC day and
//     policy domain, the aggregate report of RFC 7489 Appendix C, gzipped
//     and named receiver!policy-domain!begin!end.xml.gz (section 7.2.1.1),
//     and enqueues a mail with the Subject "Report Domain: ... Submitter:
//     ... Report-ID: ..." and the report attached, from a configured
//     reporting address, DKIM-signed by the caller's Sign (the server
//     signs with the reporting domain's keys). Destinations outside the policy domain's
//     Organizational Domain must agree (section 7.1, dmarc.VerifyDestination);
//     a DNS failure postpones the report to the next call. A destination
//     whose size limit (rua=...!10m) the message exceeds is skipped. What
//     was sent is remembered in store.KV, so that a restart sends nothing
//     twice; report IDs depend only on the day and domain, so a report sent
//     again has the same ID.
//   - Receiving: Ingest reads a mail sent to a report address, finds the
//     report in it (XML as the body or an attachment, raw, gzip or zip,
//     in nested multiparts), and stores it; a report received again is
//     recognized by its org_name and report_id. The message is read up to
//     MaxMessageSize and the document expanded up to MaxDocumentSize:
//     past either, ErrTooLarge, so that a zip or gzip bomb costs at most
//     that. ParseFeedback reads RFC 7489 reports and the DMARCbis
//     namespace alike.
//   - Showing: SummarizeDMARC adds up the received reports per policy
//     domain, source IP and From domain, and says in one line what to fix
//     (add the source to SPF, sign with DKIM, align the MAIL FROM or the
//     d= domain); `sealpost report dmarc` prints it.
//   - TLS reports (RFC 8460): TLSRecorder.Record counts each outbound
//     session's TLS outcome per policy (sts, tlsa, no-policy-found, with
//     the policy-string and mx-host the queue hands over: the MTA-STS
//     policy lines or the TLSA records, bounded in size), successes and
//     failures by result type and detail (sending and receiving IP,
//     receiving MX host name, the error as failure-reason-code); the
//     report has the policies, summary and failure-details of section
//     4; SendDue sends,
//     per recipient domain and day, the JSON report gzipped as
//     application/tlsrpt+gzip in a multipart/report mail with the
//     TLS-Report-Domain and TLS-Report-Submitter fields (section 5.3), to
//     the mailto URIs of the domain's single v=TLSRPTv1 record at
//     _smtp._tls (LookupTLSRPT), and by HTTPS POST with Content-Type
//     application/tlsrpt+gzip to its https URIs (section 3): the host
//     resolved through the Scheduler's Resolver and refused if it is not a
//     public address (unless AllowPrivate), the certificate verified
//     against RootCAs (the system's roots unless set), redirects not
//     followed, each POST bounded by PostTimeout and the report by
//     MaxPostSize, any 2xx taken as delivered. A POST that failed for a
//     reason that may pass (no connection, 5xx, 429, timeout) postpones
//     the report to the next call when no mail carries it either; other
//     failures are logged and that destination gets nothing. Ingest reads
//     received TLS reports (JSON, raw or gzip), and SummarizeTLS adds
//     them up for `sealpost report tls`.
//
// # Left out
//
//   - Failure reports (ruf, RFC 7489 section 7.3).
//   - The short "report too large" notice of section 7.2.1.1: a destination
//     whose limit the report exceeds gets nothing, and the skip is logged.
//   - Report intervals other than a day (ri): every report covers one UTC
//     day, as section 7.2 allows.
//   - https destinations of DMARC reports (DMARCbis drops them): DMARC
//     reports go to mailto URIs only; other URIs are logged and skipped.
//   - Retrying a failed HTTPS POST of a TLS report when the report also
//     went by mail: the mail is queued (and retried by the queue), the
//     POST is not repeated.
//   - Checking that a received report is about one of our domains: Ingest
//     stores what arrives at the report address.
package reports
