package mailbench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// WriteMaildir writes n messages, made as a run of cfg would make them
// (cfg.Size, cfg.From, cfg.SenderDomains, cfg.To), into the Maildir dir,
// creating it: so a server that reads a Maildir can be given the same
// mailbox another was sent over SMTP. Files are written in tmp/ and moved
// to new/, as Maildir delivery does.
func WriteMaildir(ctx context.Context, dir string, n int, cfg Config) error {
	if len(cfg.To) == 0 {
		cfg.To = []string{"mailbench@bench.test"}
	}
	cfg.Messages = n
	cfg.Addr = "127.0.0.1:25" // unused; withDefaults checks it
	cfg, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	for _, sub := range []string{"tmp", "new", "cur"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return fmt.Errorf("mailbench: %w", err)
		}
	}
	gen := newGenerator(cfg)
	pid := os.Getpid()
	for i := range n {
		if err := ctx.Err(); err != nil {
			return err
		}
		_, _, text := gen.message(i)
		name := fmt.Sprintf("%d.M%dP%d.mailbench,S=%d", gen.run/1e9, i, pid, len(text))
		tmp := filepath.Join(dir, "tmp", name)
		if err := os.WriteFile(tmp, text, 0o600); err != nil {
			return fmt.Errorf("mailbench: %w", err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, "new", name)); err != nil {
			return fmt.Errorf("mailbench: %w", err)
		}
	}
	return nil
}

func runWriteMaildir(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("write-maildir", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg Config
	n := fs.Int("n", 0, "messages to write (required)")
	fs.IntVar(&cfg.Size, "size", 4096, "message size in `bytes`")
	fs.StringVar(&cfg.From, "from", "", "sender `ADDR` (default mailbench@bench.test)")
	to := fs.String("to", "", "recipients, comma-separated, one per message in turn")
	fs.IntVar(&cfg.SenderDomains, "sender-domains", 1, "vary the sender's domain over `K` subdomains of -from's")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	if fs.NArg() != 1 || *n <= 0 {
		return usageError{"write-maildir: want -n N and one Maildir directory"}
	}
	for _, a := range strings.Split(*to, ",") {
		if a = strings.TrimSpace(a); a != "" {
			cfg.To = append(cfg.To, a)
		}
	}
	if err := WriteMaildir(ctx, fs.Arg(0), *n, cfg); err != nil {
		return err
	}
	_, err := fmt.Fprintln(stdout, strconv.Itoa(*n))
	return err
}
