package sasl_test

import (
	"context"
	"errors"
	"fmt"

	"sealpost.dev/sealpost/internal/sasl"
)

// An SMTP session runs "AUTH LOGIN" without an initial response: each
// challenge goes out after "334 ", each line that comes back is decoded.
func Example() {
	var user string
	auth := func(_ context.Context, username, password string) error {
		if username != "alice@example.org" || password != "secret" {
			return sasl.ErrAuthFailed
		}
		user = username
		return nil
	}
	m, _ := sasl.New("LOGIN", auth)
	client := []string{"YWxpY2VAZXhhbXBsZS5vcmc=", "c2VjcmV0"}
	var resp []byte // nil: no initial response
	for i := 0; ; i++ {
		challenge, done, err := m.Next(context.Background(), resp)
		switch {
		case errors.Is(err, sasl.ErrAuthFailed):
			fmt.Println("535 5.7.8 Authentication credentials invalid")
			return
		case err != nil:
			fmt.Println("501 5.5.2 Syntax error")
			return
		case done:
			fmt.Println("235 2.7.0 Authentication successful:", user)
			return
		}
		fmt.Println("334", sasl.EncodeChallenge(challenge))
		if resp, err = sasl.DecodeResponse(client[i]); err != nil {
			fmt.Println("501 5.5.2 Syntax error")
			return
		}
	}
	// Output:
	// 334 VXNlcm5hbWU6
	// 334 UGFzc3dvcmQ6
	// 235 2.7.0 Authentication successful: alice@example.org
}
