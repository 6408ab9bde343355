package reports

import (
	"fmt"

	"sealpost.dev/sealpost/internal/store"
)

func parseTLSDocument(doc []byte) (store.ReceivedReport, error) {
	return store.ReceivedReport{}, fmt.Errorf("%w: TLS reports not read yet", ErrMalformed)
}
