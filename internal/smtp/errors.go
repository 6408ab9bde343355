package smtp

// Replies returned as errors where the caller decides on them. They are
// values to compare with errors.Is and to send as they are; never modify
// them.
var (
	// ErrLineTooLong: a command line exceeded the reader's limit
	// (RFC 5321 section 4.5.3.1.4 and the "500 Line too long" of section
	// 4.5.3.1.10). The rest of the line was discarded; the session is
	// still in sync.
	ErrLineTooLong = &Reply{Code: 500, Enhanced: "5.5.2", Text: "Line too long"}

	// ErrBareLF: a command line ended in LF without CR. RFC 5321 section
	// 2.3.8 requires CRLF; the line is refused rather than executed.
	ErrBareLF = &Reply{Code: 500, Enhanced: "5.5.2", Text: "Bare LF in command line, lines must end in CRLF"}

	// ErrUnknownCommand: the verb is not one this package parses.
	ErrUnknownCommand = &Reply{Code: 500, Enhanced: "5.5.1", Text: "Command unrecognized"}

	// ErrBareCR: message content held a CR not followed by LF
	// (RFC 5321 section 2.3.8). Refused outright because such bytes are
	// how end-of-data sequences are smuggled past one server to another
	// (CVE-2023-51766 and relatives). X.6.0 is "other or undefined media
	// error" (RFC 3463 section 3.7).
	ErrBareCR = &Reply{Code: 550, Enhanced: "5.6.0", Text: "Message refused: bare CR in content, lines must end in CRLF"}

	// ErrBareLFDot: message content held a bare LF next to a dot at the
	// start of a line ("<LF>.<LF>", "<LF>.<CR><LF>", "<CR><LF>.<LF>", or a
	// dot right after a bare LF): a sequence some software reads as the end
	// of data, hence a smuggling attempt or a badly broken client.
	ErrBareLFDot = &Reply{Code: 550, Enhanced: "5.6.0", Text: "Message refused: bare LF next to a line-start dot"}

	// ErrTooLarge: the message exceeded the size limit (RFC 1870 section
	// 6; RFC 3463 X.3.4 "message too big for system").
	ErrTooLarge = &Reply{Code: 552, Enhanced: "5.3.4", Text: "Message too big"}

	// ErrDataLineTooLong: a line of message content exceeded the limit
	// (RFC 5321 section 4.5.3.1.6). 550 is among the replies RFC 5321
	// section 4.3.2 allows after the end of data; X.6.0 as for ErrBareCR.
	ErrDataLineTooLong = &Reply{Code: 550, Enhanced: "5.6.0", Text: "Message refused: line too long"}
)
