package attach_test

import (
	"fmt"

	"sealpost.dev/sealpost/internal/filter/attach"
)

func ExampleInspect() {
	for _, f := range attach.Inspect("invoice\u202Efdp.exe", "application/octet-stream", []byte("MZ"), attach.Limits{}) {
		fmt.Printf("%s (%.0f)\n", f.Name, f.Score)
	}
	// Output:
	// attachment_bidi_name (5)
	// attachment_executable (5)
}
