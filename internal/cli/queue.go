package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"sealpost.dev/sealpost/internal/config"
	"sealpost.dev/sealpost/internal/instance"
	"sealpost.dev/sealpost/internal/store"
)

// queueRow is a queued message as `queue list --json` and `queue show
// --json` print it.
type queueRow struct {
	ID          int64          `json:"id"`
	From        string         `json:"from"`
	Recipients  []queueRcptRow `json:"recipients"`
	Size        int64          `json:"size"`
	State       string         `json:"state"`
	Attempts    int            `json:"attempts"`
	Created     time.Time      `json:"created"`
	NextAttempt time.Time      `json:"next_attempt"`
	LastAttempt *time.Time     `json:"last_attempt,omitempty"`
	RequireTLS  bool           `json:"require_tls"`
	Headers     string         `json:"headers,omitempty"`
}

type queueRcptRow struct {
	Address   string `json:"address"`
	Status    string `json:"status"` // pending, delivered, failed
	LastError string `json:"last_error,omitempty"`
}

func newQueueRow(it store.QueueItem) queueRow {
	r := queueRow{
		ID: it.ID, From: it.From, Size: it.Size, State: string(it.State), Attempts: it.Attempts,
		Created: it.Created.UTC(), NextAttempt: it.NextAttempt.UTC(), RequireTLS: it.RequireTLS,
	}
	if !it.LastAttempt.IsZero() {
		t := it.LastAttempt.UTC()
		r.LastAttempt = &t
	}
	for _, rc := range it.Recipients {
		status := "pending"
		switch {
		case rc.Done && rc.Failed:
			status = "failed"
		case rc.Done:
			status = "delivered"
		}
		r.Recipients = append(r.Recipients, queueRcptRow{rc.Address, status, rc.LastError})
	}
	return r
}

func runQueue(ctx context.Context, env *Env, args []string) error {
	verb, args, err := subcommand(args, "list", "show", "retry", "hold", "release", "drop", "held")
	if err != nil {
		return err
	}
	switch {
	case verb == "held":
		return runQueueHeld(ctx, env, args)
	case verb == "release" && isAccountRelease(args):
		return runQueueReleaseAccount(ctx, env, args)
	}
	var f instanceFlags
	usage := "queue " + verb + " [-config FILE | --data DIR] ID"
	if verb == "list" || verb == "show" {
		usage = "queue " + verb + " [-config FILE | --data DIR] [--json]" + map[string]string{"list": "", "show": " ID"}[verb]
	}
	fs := newFlagSet(env, "queue "+verb, usage)
	f.register(fs, verb == "list" || verb == "show")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	var id int64
	if verb == "list" {
		if len(pos) != 0 {
			fs.Usage()
			return usagef("queue list: no arguments expected")
		}
	} else {
		if len(pos) != 1 {
			fs.Usage()
			return usagef("queue %s: expected one message ID", verb)
		}
		if id, err = strconv.ParseInt(pos[0], 10, 64); err != nil || id <= 0 {
			return usagef("queue %s: %q is not a message ID", verb, pos[0])
		}
	}
	st, done, err := openStore(ctx, f)
	if err != nil {
		return err
	}
	defer done()
	switch verb {
	case "list":
		items, err := st.ListQueue(ctx)
		if err != nil {
			return err
		}
		return printQueue(env.Stdout, items, f.json)
	case "show":
		it, err := st.GetQueueItem(ctx, id)
		if err != nil {
			return fmt.Errorf("queue item %d: %w", id, err)
		}
		row := newQueueRow(it)
		if row.Headers, err = readHeaders(ctx, st, it.BlobID); err != nil {
			return err
		}
		if f.json {
			return writeJSON(env.Stdout, row)
		}
		printQueueItem(env.Stdout, row)
		return nil
	case "retry":
		err = st.RetryNow(ctx, id)
	case "hold":
		err = st.SetQueueState(ctx, id, store.QueueHeld)
	case "release":
		err = st.SetQueueState(ctx, id, store.QueueReady)
	case "drop":
		err = st.DropQueueItem(ctx, id)
	}
	if err != nil {
		return fmt.Errorf("queue item %d: %w", id, err)
	}
	fmt.Fprintf(env.Stdout, "queue item %d: %s\n", id, map[string]string{
		"retry": "due now", "hold": "held", "release": "released, due now", "drop": "dropped"}[verb])
	return nil
}

// openStore opens the store of the instance the flags name.
func openStore(ctx context.Context, f instanceFlags) (store.Store, func(), error) {
	cfg, err := loadInstanceConfig(f)
	if err != nil {
		return nil, nil, err
	}
	st, err := instance.OpenStore(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	return st, func() { st.Close() }, nil
}

// maxShownHeaders bounds what `queue show` prints of a message's header.
const maxShownHeaders = 64 << 10

// readHeaders returns the header section of a stored message, at most
// maxShownHeaders bytes of it.
func readHeaders(ctx context.Context, st store.Store, blobID string) (string, error) {
	body, err := st.OpenBody(ctx, blobID)
	if err != nil {
		return "", fmt.Errorf("message body: %w", err)
	}
	defer body.Close()
	r := bufio.NewReader(io.LimitReader(body, maxShownHeaders))
	var b strings.Builder
	for {
		line, err := r.ReadString('\n')
		if strings.TrimRight(line, "\r\n") == "" {
			break // end of header, or of the body
		}
		b.WriteString(strings.TrimRight(line, "\r\n"))
		b.WriteByte('\n')
		if err != nil {
			break
		}
	}
	return b.String(), nil
}

func printQueue(w io.Writer, items []store.QueueItem, asJSON bool) error {
	if asJSON {
		return writeJSONRows(w, items, newQueueRow)
	}
	if len(items) == 0 {
		fmt.Fprintln(w, "the queue is empty")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tSIZE\tATTEMPTS\tNEXT ATTEMPT\tFROM\tRECIPIENTS")
	for _, it := range items {
		from := it.From
		if from == "" {
			from = "<>"
		}
		var pending []string
		for _, rc := range it.Recipients {
			if !rc.Done {
				pending = append(pending, rc.Address)
			}
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\t%s\n", it.ID, it.State, config.Size(it.Size), it.Attempts,
			it.NextAttempt.UTC().Format(time.RFC3339), from, strings.Join(pending, ", "))
	}
	return tw.Flush()
}

func printQueueItem(w io.Writer, r queueRow) {
	from := r.From
	if from == "" {
		from = "<> (a bounce)"
	}
	fmt.Fprintf(w, "ID:            %d\n", r.ID)
	fmt.Fprintf(w, "State:         %s\n", r.State)
	fmt.Fprintf(w, "From:          %s\n", from)
	fmt.Fprintf(w, "Size:          %s\n", config.Size(r.Size))
	fmt.Fprintf(w, "Created:       %s\n", r.Created.Format(time.RFC3339))
	fmt.Fprintf(w, "Attempts:      %d\n", r.Attempts)
	if r.LastAttempt != nil {
		fmt.Fprintf(w, "Last attempt:  %s\n", r.LastAttempt.Format(time.RFC3339))
	}
	fmt.Fprintf(w, "Next attempt:  %s\n", r.NextAttempt.Format(time.RFC3339))
	fmt.Fprintf(w, "Require TLS:   %v\n", r.RequireTLS)
	fmt.Fprintln(w, "Recipients:")
	for _, rc := range r.Recipients {
		fmt.Fprintf(w, "  %-10s %s", rc.Status, rc.Address)
		if rc.LastError != "" {
			fmt.Fprintf(w, "  (%s)", rc.LastError)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "\n%s", r.Headers)
}
