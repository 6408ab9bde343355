package storetest

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"sealpost.dev/sealpost/internal/store"
)

// testFilterModels covers storing and replacing the global and per-account
// filter models, the bounds, and that an account's model goes with it.
func testFilterModels(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := credAccount(t, s, "model@cred.test")
	b := credAccount(t, s, "other@cred.test")

	for _, id := range []int64{0, a.ID} {
		if _, _, err := s.GetFilterModel(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("model %d before any put: %v, want ErrNotFound", id, err)
		}
	}
	before := time.Now().Add(-time.Second)
	noErr(t, s.PutFilterModel(ctx, 0, []byte("global v1")))
	noErr(t, s.PutFilterModel(ctx, a.ID, []byte("personal a")))
	noErr(t, s.PutFilterModel(ctx, b.ID, []byte("personal b")))
	noErr(t, s.PutFilterModel(ctx, 0, []byte("global v2")))
	for id, want := range map[int64]string{0: "global v2", a.ID: "personal a", b.ID: "personal b"} {
		data, updated, err := s.GetFilterModel(ctx, id)
		if err != nil || string(data) != want || updated.Before(before) || updated.After(time.Now().Add(time.Second)) {
			t.Errorf("model %d: %q, %v, %v; want %q", id, data, updated, err, want)
		}
	}
	big := bytes.Repeat([]byte{0xAB}, 3<<20)
	noErr(t, s.PutFilterModel(ctx, a.ID, big))
	if data, _, err := s.GetFilterModel(ctx, a.ID); err != nil || !bytes.Equal(data, big) {
		t.Errorf("big model: %d bytes, %v", len(data), err)
	}

	wantErr(t, "unknown account", s.PutFilterModel(ctx, 1<<40, []byte("x")), store.ErrNotFound)
	wantErr(t, "empty", s.PutFilterModel(ctx, a.ID, nil), store.ErrInvalid)
	wantErr(t, "negative account", s.PutFilterModel(ctx, -1, []byte("x")), store.ErrInvalid)

	noErr(t, s.DeleteAccount(ctx, a.Address))
	if _, _, err := s.GetFilterModel(ctx, a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("model of a deleted account: %v, want ErrNotFound", err)
	}
	if data, _, err := s.GetFilterModel(ctx, b.ID); err != nil || string(data) != "personal b" {
		t.Errorf("other account's model: %q, %v", data, err)
	}
	if data, _, err := s.GetFilterModel(ctx, 0); err != nil || string(data) != "global v2" {
		t.Errorf("global model after deleting an account: %q, %v", data, err)
	}
}
