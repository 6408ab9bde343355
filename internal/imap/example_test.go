package imap_test

import (
	"bufio"
	"fmt"
	"strings"

	"sealpost.dev/sealpost/internal/imap"
)

func Example() {
	in := "a1 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 42)\r\n"
	var out strings.Builder
	w := imap.NewWriter(&out)
	r := imap.NewReader(bufio.NewReader(strings.NewReader(in)), imap.Limits{}, func(info imap.LiteralInfo) error {
		if info.Sync {
			return w.Continue("go ahead")
		}
		return nil
	})
	cmd, err := r.ReadCommand()
	if err != nil {
		fmt.Println(err)
		return
	}
	f := cmd.Args.(*imap.FetchArgs)
	fmt.Println(cmd.Tag, cmd.UID, cmd.Name, f.Set, f.ChangedSince)
	w.Untagged().Number(1).Atom(" FETCH (UID 7 FLAGS ").Flags([]string{`\Seen`}).Atom(" MODSEQ (50))").End()
	w.Status(cmd.Tag, "OK", "", "FETCH completed")
	w.Flush()
	fmt.Print(strings.ReplaceAll(out.String(), "\r\n", "\n"))
	// Output:
	// a1 true FETCH 1:* 42
	// * 1 FETCH (UID 7 FLAGS (\Seen) MODSEQ (50))
	// a1 OK FETCH completed
}

func ExampleSeqSet() {
	s, _ := imap.ParseSeqSet("9:*,1:5,7,4")
	fmt.Println(s, s.Resolve(12), s.Count(12))
	for n := range s.All(3) {
		fmt.Print(n, " ")
	}
	fmt.Println()
	// Output:
	// 1:5,7,9:* 1:5,7,9:12 10
	// 1 2 3
}

func ExampleEncodeMailboxUTF7() {
	fmt.Println(imap.EncodeMailboxUTF7("Entwürfe/台北"))
	name, err := imap.DecodeMailboxUTF7("Entw&APw-rfe")
	fmt.Println(name, err)
	// Output:
	// Entw&APw-rfe/&U,BTFw-
	// Entwürfe <nil>
}
