package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

// An account's web sessions and tokens are each listed under the account's
// ID in a namespace of store.KV of their own, so that they can be found
// and ended together; a record that has expired or gone is dropped from
// its list when the list is next read.

// readIndex returns the keys listed for an account in namespace ns. A
// damaged list reads as empty: that loses only the listing.
func readIndex(ctx context.Context, kv store.KV, ns string, accountID int64) ([]string, error) {
	b, err := kv.GetValue(ctx, ns, strconv.FormatInt(accountID, 10))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var keys []string
	if json.Unmarshal(b, &keys) != nil {
		return nil, nil
	}
	return keys, nil
}

// writeIndex stores an account's list until expires, or deletes it when
// it is empty.
func writeIndex(ctx context.Context, kv store.KV, ns string, accountID int64, keys []string, expires time.Time) error {
	key := strconv.FormatInt(accountID, 10)
	if len(keys) == 0 {
		return kv.DeleteValue(ctx, ns, key)
	}
	b, err := json.Marshal(keys)
	if err != nil {
		return err
	}
	return kv.PutValue(ctx, ns, key, b, expires)
}

// pruneIndex keeps of keys those whose record get finds and owner says is
// the account's, putting the records in found by key. A failure of get
// keeps the key and is returned.
func pruneIndex[T any](keys []string, get func(key string) (*T, error), owner func(*T) int64, accountID int64, found map[string]*T) ([]string, error) {
	var failed error
	keys = slices.DeleteFunc(keys, func(k string) bool {
		rec, err := get(k)
		if err != nil {
			failed = err
			return false
		}
		if rec == nil || owner(rec) != accountID {
			return true
		}
		found[k] = rec
		return false
	})
	return keys, failed
}

// putRecord stores v as JSON under key in namespace ns until expires.
func putRecord(ctx context.Context, kv store.KV, ns, key string, v any, expires time.Time) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return kv.PutValue(ctx, ns, key, b, expires)
}

// getRecord reads the JSON record under key in namespace ns, or nil when
// there is none; what names it in an error.
func getRecord[T any](ctx context.Context, kv store.KV, ns, key, what string) (*T, error) {
	b, err := kv.GetValue(ctx, ns, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var rec T
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return &rec, nil
}
