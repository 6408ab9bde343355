package smtp_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"sealpost.dev/sealpost/internal/smtp"
)

func ExampleParseCommand() {
	cmd, err := smtp.ParseCommand([]byte(`RCPT TO:<"a@evil.example"@ours.example> NOTIFY=NEVER`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cmd.Verb, cmd.Path.Local, cmd.Path.Quoted, cmd.Path.Domain, cmd.Params)
	// Output: RCPT a@evil.example true ours.example  NOTIFY=NEVER
}

func ExampleNewDataReader() {
	// A smuggling attempt: "<LF>.<LF>" is not an end, and the message is
	// refused once the real end has been read.
	conn := bufio.NewReader(strings.NewReader("Subject: hi\r\n\n.\nMAIL FROM:<x@y.example>\r\n.\r\nQUIT\r\n"))
	_, err := io.Copy(io.Discard, smtp.NewDataReader(conn, 1000, 10<<20))
	var reply *smtp.Reply
	if errors.As(err, &reply) {
		fmt.Println(reply.Code, reply.Enhanced, reply.Text)
	}
	next, _ := smtp.ReadLine(conn, smtp.MaxCommandLine)
	fmt.Printf("next command: %s\n", next)
	// Output:
	// 550 5.6.0 Message refused: bare LF next to a line-start dot
	// next command: QUIT
}
