package store

import (
	"context"
	"time"
)

// MaxFilterModel bounds the stored form of one filter model.
const MaxFilterModel = 64 << 20

// FilterModels keeps the content classifier's models
// (internal/filter/classify) as opaque bytes: the global model under
// account 0, each account's own corrections under its ID.
type FilterModels interface {
	// GetFilterModel returns a model and when it was last put.
	// accountID 0 is the global model. ErrNotFound when none was saved.
	GetFilterModel(ctx context.Context, accountID int64) (data []byte, updated time.Time, err error)
	// PutFilterModel stores a model, replacing the one before. ErrNotFound
	// for an account that does not exist (other than 0); ErrInvalid for
	// data larger than MaxFilterModel or empty. An account's model is
	// deleted with the account.
	PutFilterModel(ctx context.Context, accountID int64, data []byte) error
}
