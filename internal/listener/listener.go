// Package listener serves the connections of one protocol listener (SMTP,
// POP3, IMAP): it accepts, enforces the connection limits (per source
// through a shared connlimit.Limiter, and per listener), keeps the set of
// live sessions, and shuts them down gracefully. What a session does is the
// protocol package's business.
package listener

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"sealpost.dev/sealpost/internal/connlimit"
)

// Session is one served connection.
type Session interface {
	// Run serves the connection until it ends, and closes it.
	Run()
	// Shutdown asks the session to end: at once if it waits for a command,
	// after the transfer under way otherwise. It must not block.
	Shutdown()
	// Close ends the session at once by closing its connection.
	Close()
}

// Server runs one listener.
type Server struct {
	// Conns bounds connections per source, across listeners; nil means no
	// bound.
	Conns *connlimit.Limiter
	// MaxSessions bounds the live sessions of this listener; 0 means none.
	MaxSessions int
	// TooManyFromSource and TooBusy are the lines (without CRLF) sent to a
	// connection refused by the limits, in the protocol's own words.
	TooManyFromSource, TooBusy string
	// NewSession makes the session for an accepted connection.
	NewSession func(c net.Conn, remote netip.Addr) Session
	Logger     *slog.Logger

	mu       sync.Mutex
	sessions map[Session]struct{}
	closing  atomic.Bool
	wg       sync.WaitGroup
}

// Serve accepts connections until the listener is closed or Shutdown is
// called.
func (s *Server) Serve(ln net.Listener) error {
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.closing.Load() || errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return err
		}
		// Registering under the lock orders this Add before Shutdown's Wait.
		s.mu.Lock()
		if s.closing.Load() {
			s.mu.Unlock()
			c.Close()
			return nil
		}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			s.handle(c)
		}()
	}
}

// Shutdown asks every session to end and waits for them until ctx ends,
// then closes the rest. Close the listener first, so Serve returns.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing.Store(true)
	for ss := range s.sessions {
		ss.Shutdown()
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for ss := range s.sessions {
			ss.Close()
		}
		s.mu.Unlock()
		<-done
		return ctx.Err()
	}
}

func (s *Server) handle(c net.Conn) {
	log := s.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	remote := connlimit.RemoteAddr(c)
	if s.Conns != nil {
		release, ok := s.Conns.Acquire(remote)
		if !ok {
			refuse(c, s.TooManyFromSource)
			log.Info("connection refused: too many from one source", "remote", remote)
			return
		}
		defer release()
	}
	ss := s.NewSession(c, remote)
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		c.Close()
		return
	}
	if s.MaxSessions > 0 && len(s.sessions) >= s.MaxSessions {
		s.mu.Unlock()
		refuse(c, s.TooBusy)
		log.Warn("connection refused: too many sessions", "remote", remote)
		return
	}
	if s.sessions == nil {
		s.sessions = map[Session]struct{}{}
	}
	s.sessions[ss] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.sessions, ss)
		s.mu.Unlock()
	}()
	ss.Run()
}

// refuse answers a connection that is not served and closes it. On an
// implicit-TLS listener the line goes out in the clear, before any
// handshake: the client sees a failed handshake, which is still a refusal.
func refuse(c net.Conn, line string) {
	c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	c.Write([]byte(line + "\r\n"))
	c.Close()
}
