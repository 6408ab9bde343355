package smtpclient_test

import (
	"context"
	"fmt"
	"strings"

	"sealpost.dev/sealpost/internal/smtpclient"
	"sealpost.dev/sealpost/internal/smtpclient/smtptest"
)

func Example() {
	srv, err := smtptest.New(smtptest.Config{Extensions: []string{"PIPELINING", "DSN"},
		Reply: func(_ *smtptest.SessionState, line string) string {
			if strings.Contains(line, "<nobody@") {
				return "550 5.1.1 No such user"
			}
			return ""
		}})
	if err != nil {
		panic(err)
	}
	defer srv.Close()

	ctx := context.Background()
	c, err := smtpclient.Dial(ctx, srv.Addr(), smtpclient.Options{LocalName: "mx.example.org"})
	if err != nil {
		fmt.Println("dial:", err)
		return
	}
	defer c.Quit(ctx)
	env := smtpclient.Envelope{
		From:       "alice@example.org",
		Recipients: []smtpclient.Recipient{{Address: "bob@example.net", Notify: "FAILURE"}, {Address: "nobody@example.net"}},
	}
	errs, err := c.Send(ctx, env, strings.NewReader("Subject: hello\r\n\r\nHi Bob.\r\n"))
	if err != nil {
		fmt.Println("send:", err)
		return
	}
	for i, e := range errs {
		fmt.Printf("%s: %v (permanent: %v)\n", env.Recipients[i].Address, e, smtpclient.IsPermanent(e))
	}
	fmt.Println(srv.Messages()[0].Rcpts[0])
	// Output:
	// bob@example.net: <nil> (permanent: false)
	// nobody@example.net: smtpclient: RCPT: server replied 550 5.1.1 No such user (permanent: true)
	// RCPT TO:<bob@example.net> NOTIFY=FAILURE
}
