package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"time"
)

// ErrNoServer means no server answers on the admin socket: none is
// running on the data directory.
var ErrNoServer = errors.New("no Sealpost server is running")

// Error is an error the server answered with.
type Error struct {
	Status  int // the HTTP status
	Message string
}

func (e *Error) Error() string { return e.Message }

// Client talks to a running server through its admin socket.
type Client struct {
	path string
	http *http.Client
}

// NewClient returns a client for the server running on dataDir. It does
// not connect until asked something.
func NewClient(dataDir string) *Client {
	path := SocketPath(dataDir)
	return &Client{path: path, http: &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", path)
			},
		},
	}}
}

// Sessions lists the live sessions of an account.
func (c *Client) Sessions(ctx context.Context, address string) (SessionList, error) {
	var list SessionList
	err := c.do(ctx, http.MethodGet, "/v1/sessions?account="+url.QueryEscape(address), nil, &list)
	return list, err
}

// SignOut ends every live session of an account but keep (0: none).
func (c *Client) SignOut(ctx context.Context, address string, keep uint64) (SignOutResult, error) {
	var res SignOutResult
	err := c.do(ctx, http.MethodPost, "/v1/signout", SignOutRequest{Account: address, Keep: keep}, &res)
	return res, err
}

// EndAppPassword ends the live sessions that logged in with an app
// password of the account, once it is revoked.
func (c *Client) EndAppPassword(ctx context.Context, address string, appPassword int64) (EndAppPasswordResult, error) {
	var res EndAppPasswordResult
	err := c.do(ctx, http.MethodPost, "/v1/end-app-password", EndAppPasswordRequest{Account: address, AppPassword: appPassword}, &res)
	return res, err
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://sealpost"+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) {
			return fmt.Errorf("%w (no answer on %s)", ErrNoServer, c.path)
		}
		return fmt.Errorf("admin socket %s: %w", c.path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("admin socket: reading the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e errorBody
		if json.Unmarshal(data, &e) != nil || e.Error == "" {
			e.Error = fmt.Sprintf("server answered %s", resp.Status)
		}
		return &Error{Status: resp.StatusCode, Message: e.Error}
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("admin socket: a bad answer: %w", err)
	}
	return nil
}
