package dnsx

import (
	"context"
	"errors"
	"fmt"
	"net"
)

// ErrNoAddress is returned by Dial for a host whose lookup succeeded with
// no address.
var ErrNoAddress = errors.New("dnsx: no addresses")

// Dial connects to addr ("host:port") with d, looking the host up through
// r, never the system resolver, and trying its addresses in turn until one
// answers. It is an http.Transport's DialContext for clients that must
// resolve through Sealpost's resolver. A lookup error is returned as it
// is, so callers can tell a missing host (ErrNotFound) from a failure.
func Dial(ctx context.Context, r Resolver, d *net.Dialer, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	ips, _, err := r.LookupIP(ctx, host)
	if len(ips) == 0 {
		if err == nil {
			err = fmt.Errorf("%w for %s", ErrNoAddress, host)
		}
		return nil, err
	}
	var errs []error
	for _, ip := range ips {
		conn, err := d.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
		if err == nil {
			return conn, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}
