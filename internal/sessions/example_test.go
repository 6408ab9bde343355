package sessions_test

import (
	"fmt"
	"net"

	"sealpost.dev/sealpost/internal/sessions"
)

func Example() {
	var r sessions.Registry
	client, server := net.Pipe()
	defer client.Close()
	// A protocol server registers the session once the login succeeded,
	// and removes it when the connection ends.
	id, remove := r.Add(sessions.Info{AccountID: 1, Address: "ana@example.org", Protocol: "imap"},
		func() { server.Close() })
	defer remove()
	other, _ := r.Add(sessions.Info{AccountID: 1, Protocol: "web"}, nil)

	fmt.Println(len(r.List(1)), "sessions")
	// "Sign out all other sessions", from the web session.
	fmt.Println(r.SignOut(1, other), "ended")
	_, err := server.Write([]byte("x"))
	fmt.Println(err, id != other)
	// Output:
	// 2 sessions
	// 1 ended
	// io: read/write on closed pipe true
}
